"""HCP verification through the handlers: uploads, submit/resubmit, status, the state machine."""

from __future__ import annotations

import base64
import io
import json
import struct
import threading
import zlib
from datetime import UTC, datetime
from typing import Any

import pytest

from infra.metering import metered
from shared import config, wiring
from shared.adapters.images import MAX_IMAGE_PIXELS
from shared.domain.verification import (
    MAX_IMAGE_BYTES,
    SUBMITS_PER_DAY,
    UPLOADS_PER_HOUR,
    submit_window,
    upload_window,
)
from shared.store.rates import RateWindowItem
from shared.store.users import UserItem
from shared.store.verification import FingerprintItem, NotificationItem, SubmissionItem
from tests.functional.conftest import Api
from tests.functional.consent_helpers import consented
from tests.functional.verification_helpers import (
    FIELDS,
    GPS_IFD,
    MAKE_TAG,
    image_bytes,
    s3,
    submit,
    upload,
)


def _objects(prefix: str = "") -> list[str]:
    listing = s3().list_objects_v2(Bucket=config.current().bucket, Prefix=prefix)
    return [o["Key"] for o in listing.get("Contents", [])]


def _policy(fields: dict[str, str]) -> dict[str, Any]:
    return dict(json.loads(base64.b64decode(fields["policy"])))


# ---- uploads ----
def test_upload_link_pins_key_type_size_and_expiry(api: Api) -> None:
    user_id = consented(api)
    reply = api.post(
        "/v1/verification/uploads", {"kind": "work_badge", "content_type": "image/png", "size": 1234}
    )
    assert reply.status == 200
    body = reply.body
    assert body["key"].startswith(f"uploads/{user_id}/work_badge/") and body["key"].endswith(".png")
    assert body["fields"]["key"] == body["key"]
    assert body["fields"]["Content-Type"] == "image/png"
    assert body["fields"]["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    policy = _policy(body["fields"])
    conditions = policy["conditions"]
    assert ["eq", "$key", body["key"]] in conditions
    assert ["eq", "$Content-Type", "image/png"] in conditions
    assert ["content-length-range", 1, MAX_IMAGE_BYTES] in conditions
    assert {"bucket": config.current().bucket} in conditions
    from datetime import datetime

    expires = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    assert (
        expires == datetime.fromisoformat(body["expires_at"]).replace(microsecond=0)
        or abs((expires - datetime.fromisoformat(body["expires_at"])).total_seconds()) < 2
    )
    issued = datetime.fromisoformat(body["expires_at"])
    assert 0 < (issued - datetime.now(issued.tzinfo)).total_seconds() <= 600
    second = api.post(
        "/v1/verification/uploads", {"kind": "work_badge", "content_type": "image/png", "size": 9}
    )
    assert second.body["key"] != body["key"]  # a fresh id every time


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"kind": "selfie", "content_type": "image/jpeg", "size": 10}, 400),
        ({"kind": "qualification", "content_type": "image/gif", "size": 10}, 400),
        ({"kind": "qualification", "content_type": "image/jpeg", "size": 0}, 400),
        ({"kind": "qualification", "content_type": "image/jpeg", "size": MAX_IMAGE_BYTES + 1}, 413),
        ({"kind": "qualification", "content_type": "image/jpeg"}, 400),
        ({"kind": "qualification", "content_type": "image/jpeg", "size": 5, "acl": "public-read"}, 400),
    ],
)
def test_bad_upload_requests_are_refused(api: Api, body: dict[str, Any], status: int) -> None:
    consented(api)
    reply = api.post("/v1/verification/uploads", body)
    assert reply.status == status, reply.body
    assert reply.body["error"]["message"]


def test_uploads_need_the_agreement(api: Api) -> None:
    publish = api.login("dora")
    assert publish
    reply = api.post(
        "/v1/verification/uploads", {"kind": "work_badge", "content_type": "image/png", "size": 5}
    )
    assert reply.status == 403
    assert reply.body["error"]["code"] == "consent_required"
    assert api.post("/v1/verification/uploads", {}, token="nope").status == 401


def test_the_presigned_post_really_uploads(api: Api) -> None:
    import requests

    consented(api)
    data = image_bytes()
    body = api.post(
        "/v1/verification/uploads", {"kind": "qualification", "content_type": "image/jpeg", "size": len(data)}
    ).body
    answer = requests.post(body["url"], data=body["fields"], files={"file": ("x.jpg", data)}, timeout=5)
    assert answer.status_code in (200, 204), answer.text
    assert _objects(body["key"]) == [body["key"]]


# ---- submit ----
def test_submit_stores_a_clean_copy_and_moves_to_pending(api: Api) -> None:
    user_id = consented(api)
    keys = [
        upload(api),
        upload(api, image_bytes("PNG", (10, 200, 10)), kind="qualification", content_type="image/png"),
    ]
    reply = submit(api, keys, license_number="1101 0823-45")
    assert reply.status == 201, reply.body
    assert reply.body["status"] == "pending"
    sid = reply.body["submission_id"]
    assert api.get("/v1/me").body["next_step"] == "pending"
    status = api.get("/v1/verification").body
    assert status["status"] == "pending" and status["submission_id"] == sid and status["submitted_at"]
    assert status["decided_at"] is None and status["reason"] is None
    item = SubmissionItem.get(sid)
    assert item.real_name == FIELDS["real_name"] and item.revision == 1
    # the originals (EXIF, GPS and all) are gone; only sanitized copies remain
    assert _objects(f"uploads/{user_id}/") == []
    clean = _objects(f"credentials/{user_id}/{sid}/")
    assert len(clean) == 2
    from PIL import Image

    for doc in item.documents:
        data = s3().get_object(Bucket=config.current().bucket, Key=doc.key)["Body"].read()
        with Image.open(io.BytesIO(data)) as image:
            assert image.format == "JPEG"
            exif = image.getexif()
            assert MAKE_TAG not in exif and not exif.get_ifd(GPS_IFD)
            assert "exif" not in image.info and "icc_profile" not in image.info
        assert b"SecretPhone" not in data
        assert len(doc.sha256) == 64 and len(doc.dhash) == 16
    fingerprints = {f.fingerprint for f in FingerprintItem.scan()}
    assert "license:1101082345" in fingerprints
    assert NotificationItem.get(sid).submission_id == sid


@pytest.mark.parametrize("fmt", ["WEBP", "HEIF"])
def test_webp_and_heic_are_accepted(api: Api, fmt: str) -> None:
    consented(api)
    ctype = {"WEBP": "image/webp", "HEIF": "image/heic"}[fmt]
    key = upload(api, image_bytes(fmt), content_type=ctype)
    reply = submit(api, [key])
    assert reply.status == 201, reply.body


def _unchanged(api: Api, user_id: str) -> None:
    assert SubmissionItem.count() == 0
    assert UserItem.get(user_id).verification_status is None
    assert api.get("/v1/me").body["next_step"] == "verify"
    assert _objects("credentials/") == []


def test_another_users_key_is_refused_and_changes_nothing(api: Api) -> None:
    bob_key = (consented(api, "bob"), upload(api))[1]
    alice = consented(api, "alice")
    reply = submit(api, [bob_key])
    assert reply.status == 403
    assert reply.body["error"]["code"] == "forbidden"
    _unchanged(api, alice)
    assert _objects(bob_key) == [bob_key]  # bob's upload untouched


def test_a_non_image_named_jpg_is_refused(api: Api) -> None:
    alice = consented(api)
    key = upload(api, b"%PDF-1.7 this is not a picture" * 10)
    reply = submit(api, [key])
    assert reply.status == 400
    assert "image/jpeg" in reply.body["error"]["message"]
    _unchanged(api, alice)


def test_a_png_declared_as_jpeg_is_refused(api: Api) -> None:
    alice = consented(api)
    key = upload(api, image_bytes("PNG"))
    assert submit(api, [key]).status == 400
    _unchanged(api, alice)


def test_an_object_stored_with_another_content_type_is_refused(api: Api) -> None:
    alice = consented(api)
    key = upload(api, stored_type="text/html")
    assert submit(api, [key]).status == 400
    _unchanged(api, alice)


def test_an_oversized_object_is_refused(api: Api) -> None:
    alice = consented(api)
    big = image_bytes() + b"\0" * MAX_IMAGE_BYTES  # S3 would refuse it; moto does not
    key = upload(api, big, declared_size=1000)
    reply = submit(api, [key])
    assert reply.status == 413
    assert "10 MB" in reply.body["error"]["message"]
    _unchanged(api, alice)


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"documents": []}, 400),
        ({"profession": "surgeon"}, 400),
        ({"real_name": ""}, 400),
        ({"real_name": "张" * 51}, 400),
        ({"hospital": "医" * 101}, 400),
        ({"license_number": "1" * 41}, 400),
        ({"documents": ["uploads/../../etc/passwd"]}, 400),
        (
            {
                "documents": [
                    "uploads/01ARZ3NDEKTSV4RRFFQ69G5FAV/practice_license/01ARZ3NDEKTSV4RRFFQ69G5FAV.jpg"
                ]
            },
            403,
        ),
        ({"extra": 1}, 400),
    ],
)
def test_bad_submissions_are_refused(api: Api, change: dict[str, Any], status: int) -> None:
    alice = consented(api)
    key = upload(api)
    body = {**FIELDS, "documents": [key], **change}
    reply = api.post("/v1/verification", body)
    assert reply.status == status, reply.body
    _unchanged(api, alice)


def test_a_missing_or_repeated_document_is_refused(api: Api) -> None:
    alice = consented(api)
    key = upload(api)
    assert submit(api, [key, key]).status == 400
    never = key.rsplit("/", 1)[0] + "/01ARZ3NDEKTSV4RRFFQ69G5FAV.jpg"
    assert submit(api, [never]).status == 400
    same = upload(api)  # the very same bytes under another key
    assert submit(api, [key, same]).status == 400
    _unchanged(api, alice)


def test_a_submit_while_pending_is_409(api: Api) -> None:
    consented(api)
    spare = upload(api, image_bytes(color=(1, 2, 3)))
    assert submit(api, [upload(api)]).status == 201
    again = submit(api, [spare])
    assert again.status == 409
    assert again.body["error"]["code"] == "conflict"
    assert SubmissionItem.count() == 1
    assert (
        api.post(
            "/v1/verification/uploads", {"kind": "work_badge", "content_type": "image/png", "size": 5}
        ).status
        == 409
    )


def test_an_idempotency_key_replay_returns_the_first_answer_and_writes_nothing(api: Api) -> None:
    consented(api)
    key = upload(api)
    first = submit(api, [key], headers={"Idempotency-Key": "k-1"})
    assert first.status == 201
    replay = submit(api, [key], headers={"Idempotency-Key": "k-1"})
    assert replay.status == 201
    assert replay.body == first.body
    assert SubmissionItem.count() == 1
    assert NotificationItem.count() == 1
    other = submit(api, [key], headers={"Idempotency-Key": "k-2"})
    assert other.status == 409


def test_two_racing_submits_cannot_both_win(api: Api, atomic_moto: None) -> None:
    user_id = consented(api)
    keys = [upload(api), upload(api, image_bytes(color=(9, 9, 250)))]
    token = api.token
    results: list[int] = []
    barrier = threading.Barrier(2)

    def go(k: str) -> None:
        barrier.wait()
        results.append(Api().post("/v1/verification", {**FIELDS, "documents": [k]}, token=token).status)

    threads = [threading.Thread(target=go, args=(k,)) for k in keys]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == [201, 409]
    assert SubmissionItem.count() == 1
    winner = next(iter(SubmissionItem.scan()))
    assert UserItem.get(user_id).verification_submission == winner.submission_id
    # the loser's sanitized copies were removed
    assert _objects(f"credentials/{user_id}/") == [d.key for d in winner.documents]


def test_status_before_any_submission(api: Api) -> None:
    consented(api)
    body = api.get("/v1/verification").body
    assert body["status"] == "none" and body["submission_id"] is None


def test_submit_costs_few_aws_calls(api: Api) -> None:
    consented(api)
    keys = [upload(api), upload(api, image_bytes(color=(0, 90, 200)), kind="qualification")]
    app = wiring.services()
    with metered(app.storage.client) as meter:
        assert submit(api, keys).status == 201
    # 1 user read (token + gate) + 2 per image (get, put clean) + 1 transaction + 1 batch delete
    # of the originals, then the notifier: reviewers Query + the notification's UpdateItem.
    assert meter.count <= 3 + 3 * len(keys), meter.calls
    print("submit AWS calls:", meter.count, meter.calls)


def test_export_and_erase_cover_submissions_and_images(api: Api) -> None:
    user_id = consented(api)
    upload(api, image_bytes(color=(5, 5, 5)))  # an upload never submitted
    assert submit(api, [upload(api)], license_number="A-1").status == 201
    exported = api.get("/v1/me/export")
    assert exported.status == 200, exported.body
    item = exported.body["verification"][0]
    assert item["real_name"] == FIELDS["real_name"] and item["license_number"] == "A-1"
    assert item["documents"][0]["key"].startswith("credentials/")
    store = next(h for h in wiring.services().personal_data() if h.name == "verification")
    assert store.export(user_id)[0]["license_number"] == "A-1"
    store.erase(user_id)
    assert _objects(f"uploads/{user_id}/") == [] and _objects(f"credentials/{user_id}/") == []
    assert SubmissionItem.count() == 0 and FingerprintItem.count() == 0 and NotificationItem.count() == 0
    assert store.export(user_id) == []


def _png_claiming(width: int, height: int) -> bytes:
    """A small real PNG whose header claims another size: what a decompression bomb looks like
    before its pixels are inflated."""
    data = bytearray(image_bytes("PNG"))
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:33] = ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(data)


@pytest.mark.parametrize(
    ("width", "height"), [(6_000, 5_000), (100_000, 100_000)], ids=["30-megapixels", "bomb"]
)
def test_an_image_over_the_pixel_limit_is_refused_from_its_header(api: Api, width: int, height: int) -> None:
    alice = consented(api)
    key = upload(api, _png_claiming(width, height), content_type="image/png")
    reply = submit(api, [key])
    assert reply.status == 400, reply.body
    assert reply.body["error"]["fields"][0]["field"] == "documents"
    assert f"{MAX_IMAGE_PIXELS // 1_000_000} 百万像素" in reply.body["error"]["fields"][0]["message"]
    _unchanged(api, alice)


def test_upload_links_beyond_the_hourly_limit_are_429_with_retry_after(api: Api) -> None:
    alice = consented(api)
    window = upload_window(alice, datetime.now(UTC))
    RateWindowItem(window.key, used=UPLOADS_PER_HOUR - 1).save()
    ask = {"kind": "work_badge", "content_type": "image/png", "size": 1234}
    assert api.post("/v1/verification/uploads", ask).status == 200
    limited = api.post("/v1/verification/uploads", ask)
    assert limited.status == 429 and limited.body["error"]["code"] == "rate_limited"
    assert f"每小时最多 {UPLOADS_PER_HOUR} 张" in limited.body["error"]["message"]
    assert 1 <= int(limited.headers["Retry-After"]) <= 3_600
    assert RateWindowItem.get(window.key).used == UPLOADS_PER_HOUR


def test_a_submit_beyond_the_daily_limit_is_429_and_stores_nothing(api: Api) -> None:
    alice = consented(api)
    key = upload(api)
    RateWindowItem(submit_window(alice, datetime.now(UTC)).key, used=SUBMITS_PER_DAY).save()
    limited = submit(api, [key])
    assert limited.status == 429 and limited.body["error"]["code"] == "rate_limited"
    assert f"每天 {SUBMITS_PER_DAY} 次" in limited.body["error"]["message"]
    assert 1 <= int(limited.headers["Retry-After"]) <= 86_400
    _unchanged(api, alice)
