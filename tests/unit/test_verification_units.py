"""Pure rules of verification: the upload policy, keys, fields, decisions, hashes, signatures."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, unquote_plus, urlsplit

import pytest

from shared import errors
from shared.adapters import images
from shared.adapters.notify import dingtalk_signed
from shared.adapters.storage import CredentialStorage
from shared.config import load
from shared.domain import verification as v
from shared.pages import Csrf
from shared.services.notifier import BACKOFF_MAX_SECONDS, backoff_seconds
from shared.services.review import ReviewLinks

UID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
OTHER = "01BX5ZZKBKACTAV9WEVGEMMVRY"


def _storage() -> CredentialStorage:
    cfg = load({"STAGE": "test", "AWS_REGION": "cn-north-1", "CREDENTIALS_BUCKET": "creds"})
    return CredentialStorage(cfg)


def test_the_presigned_post_policy_pins_every_condition() -> None:
    key = v.upload_key(UID, "practice_license", "image/webp", OTHER).key
    now = datetime.now(UTC)
    post = _storage().presigned_post(key, "image/webp", v.MAX_IMAGE_BYTES, v.UPLOAD_URL_LIFETIME, now)
    policy = json.loads(base64.b64decode(post.fields["policy"]))
    conditions = policy["conditions"]
    assert {"bucket": "creds"} in conditions
    assert ["eq", "$key", f"uploads/{UID}/practice_license/{OTHER}.webp"] in conditions
    assert ["eq", "$Content-Type", "image/webp"] in conditions
    assert ["content-length-range", 1, 10 * 1024 * 1024] in conditions
    assert {"x-amz-algorithm": "AWS4-HMAC-SHA256"} in conditions  # s3v4
    expiration = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    # botocore takes its own "now" a moment later (the client is built first), at second precision
    assert timedelta(minutes=9) < expiration - now <= timedelta(minutes=10, seconds=5)
    assert post.fields["key"] == post.key and post.fields["Content-Type"] == "image/webp"
    assert timedelta(minutes=10) == v.UPLOAD_URL_LIFETIME


@pytest.mark.parametrize(
    ("key", "error"),
    [
        (f"uploads/{OTHER}/qualification/{UID}.jpg", errors.Forbidden),
        (f"uploads/{UID}/selfie/{UID}.jpg", errors.BadRequest),
        (f"uploads/{UID}/qualification/{UID}.gif", errors.BadRequest),
        (f"credentials/{UID}/x/0.jpg", errors.BadRequest),
        (f"uploads/{UID}/qualification/../{UID}.jpg", errors.BadRequest),
        ("x" * 5000, errors.BadRequest),
    ],
)
def test_only_the_callers_own_upload_keys_parse(key: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        v.parse_upload_key(key, UID)


def test_an_own_key_parses_with_its_kind_and_type() -> None:
    parsed = v.parse_upload_key(f"uploads/{UID}/work_badge/{OTHER}.heic", UID)
    assert (parsed.kind, parsed.content_type) == ("work_badge", "image/heic")


def test_applicant_fields_are_trimmed_and_bounded() -> None:
    a = v.check_applicant(" 王医生 ", "医院", "科", "主任", "nurse", " 12-3 ")
    assert a.real_name == "王医生" and a.license_number == "12-3"
    with pytest.raises(errors.BadRequest, match="50"):
        v.check_applicant("x" * 51, "医院", "科", "主任", "nurse", None)
    with pytest.raises(errors.BadRequest, match="control"):
        v.check_applicant("a\x00b", "医院", "科", "主任", "nurse", None)
    with pytest.raises(errors.BadRequest, match="profession"):
        v.check_applicant("a", "b", "c", "d", "vet", None)
    assert v.normalized_license(" 11-0 22 x") == "11022X"


@pytest.mark.parametrize(
    ("status", "update", "ok"),
    [
        (None, None, True),
        ("rejected", None, True),
        ("withdrawn", None, True),
        ("revoked", None, True),
        ("approved", None, True),  # an update of their details
        ("approved", "rejected", True),
        ("approved", "withdrawn", True),
        ("pending", None, False),
        ("approved", "pending", False),  # one update at a time
    ],
)
def test_the_state_machine_allows_a_submit_unless_something_is_pending(
    status: str | None, update: str | None, ok: bool
) -> None:
    if ok:
        v.can_submit(status, update)
    else:
        with pytest.raises(errors.Conflict):
            v.can_submit(status, update)


def test_decisions_need_a_listed_reason_to_reject() -> None:
    v.check_decision("approve", None, [], "", "checked against the registry")
    v.check_decision("reject", "document_expired", ["qualification"], "note", "n" * 500)
    for args in [("reject", None, [], ""), ("approve", "other", [], ""), ("x", None, [], ""),
                 ("reject", "other", ["selfie"], ""), ("reject", "other", [], "n" * 501)]:  # fmt: skip
        with pytest.raises(errors.BadRequest):
            v.check_decision(*args)
    with pytest.raises(errors.BadRequest) as long_internal:
        v.check_decision("reject", "other", [], "", "n" * 501)
    assert long_internal.value.case == "internal_note_long"


NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


def _decided(
    status: str, age_days: int, redo: tuple[str, ...] = (), kinds: tuple[str, ...] = ()
) -> v.Submission:
    documents = tuple(
        v.CredentialImage(kind, f"credentials/u/s/{n}.jpg", f"{n}" * 64, f"{n}" * 16, 9, 9)
        for n, kind in enumerate(kinds or ("practice_license", "qualification", "qualification"))
    )
    return v.Submission(
        "01JSSSSSSSSSSSSSSSSSSSSSS1", "u", 1, status, "张三", "协和", "心内科", "主治", "doctor", None,
        documents, NOW - timedelta(days=age_days), redo=redo,
    )  # fmt: skip


def test_what_may_be_kept_is_what_exists_unasked_and_not_yet_expired() -> None:
    rejected = _decided("rejected", 10, redo=("practice_license",))
    assert v.keepable_kinds(rejected, NOW, 180) == {"qualification"}
    kept = v.kept_images(["qualification"], rejected, NOW, 180)
    assert [d.key for d in kept] == ["credentials/u/s/1.jpg", "credentials/u/s/2.jpg"]  # every image of it
    assert v.keepable_kinds(_decided("rejected", 179), NOW, 180) == set()  # the lifecycle is about to act
    assert v.keepable_kinds(_decided("pending", 400), NOW, 180) == {"practice_license", "qualification"}
    assert v.kept_images([], None, NOW, 180) == []


@pytest.mark.parametrize(
    ("keep", "latest", "code", "case"),
    [
        (["selfie"], _decided("rejected", 1), "not_allowed", "document_kind"),
        (["qualification", "qualification"], _decided("rejected", 1), "invalid", "keep_repeat"),
        (
            ["practice_license"],
            _decided("rejected", 1, redo=("practice_license",)),
            "not_allowed",
            "keep_redo",
        ),
        (["work_badge"], _decided("rejected", 1), "invalid", "keep_missing"),
        (["qualification"], None, "invalid", "keep_missing"),
        (["qualification"], _decided("approved", 200), "invalid", "keep_missing"),
    ],
)
def test_keeping_what_cannot_be_kept_is_a_400_naming_keep(
    keep: list[str], latest: v.Submission | None, code: str, case: str
) -> None:
    with pytest.raises(errors.BadRequest) as refused:
        v.kept_images(keep, latest, NOW, 180)
    [fault] = refused.value.fields or ()
    assert (fault.field, fault.code, fault.case) == ("keep", code, case)


def test_the_document_count_counts_the_kept_images() -> None:
    v.check_documents([], kept=1)
    v.check_documents(["a", "b"], kept=3)
    for keys, kept in [([], 0), (["a", "b", "c"], 3)]:
        with pytest.raises(errors.BadRequest):
            v.check_documents(keys, kept)


def test_an_update_says_so_in_the_result_message() -> None:
    first = v.result_message("approved", None, NOW)
    update = v.result_message("approved", None, NOW, is_update=True)
    assert first["thing1"] == "医护身份认证" and update["thing1"] == "医护认证资料更新"
    assert update["thing3"] == "资料已更新"
    assert all(len(value) <= 20 for value in update.values())


def _jpeg(color: tuple[int, int, int], size: int = 80, quality: int = 90) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (size, size), color)
    ImageDraw.Draw(image).ellipse((10, 10, size // 2, size - 5), fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def _resized(data: bytes, side: int) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    with Image.open(io.BytesIO(data)) as image:
        image.resize((side, side)).save(out, "JPEG", quality=80)
    return out.getvalue()


def test_the_perceptual_hash_survives_recompression_but_the_content_hash_does_not() -> None:
    a = images.sanitize(_jpeg((10, 20, 30), quality=95), "image/jpeg")
    b = images.sanitize(_jpeg((10, 20, 30), quality=60), "image/jpeg")
    c = images.sanitize(_resized(_jpeg((10, 20, 30)), 160), "image/jpeg")
    assert a.sha256 != b.sha256
    assert bin(int(a.dhash, 16) ^ int(b.dhash, 16)).count("1") <= 4
    assert bin(int(a.dhash, 16) ^ int(c.dhash, 16)).count("1") <= 8


@pytest.mark.parametrize(
    "data", [b"", b"\xff\xd8\xff" + b"\0" * 100, b"GIF89a" + b"\0" * 50, _jpeg((1, 2, 3))[:200]]
)
def test_broken_or_foreign_bytes_are_a_400(data: bytes) -> None:
    with pytest.raises(errors.BadRequest):
        images.sanitize(data, "image/jpeg")


def test_a_tiny_image_is_refused() -> None:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, "PNG")
    with pytest.raises(errors.BadRequest, match="16 pixels"):
        images.sanitize(out.getvalue(), "image/png")


def test_dingtalk_signature() -> None:
    url = dingtalk_signed("https://oapi.dingtalk.com/robot/send?access_token=T", "SEC1", 1700000000000)
    query = parse_qs(urlsplit(url).query)
    assert query["access_token"] == ["T"] and query["timestamp"] == ["1700000000000"]
    expected = base64.b64encode(hmac.new(b"SEC1", b"1700000000000\nSEC1", hashlib.sha256).digest()).decode()
    assert query["sign"] == [expected]
    assert unquote_plus(url.split("sign=")[1]) == expected


def test_backoff_grows_and_is_capped() -> None:
    assert [backoff_seconds(n) for n in (1, 2, 3)] == [60, 120, 240]
    assert backoff_seconds(50) == BACKOFF_MAX_SECONDS


def test_review_tokens_name_the_submission_and_expire() -> None:
    links = ReviewLinks(lambda: "k" * 32, 3600)
    token = links.sign("rev", "S1", 2)
    claims = links.verify(token, "S1")
    assert (claims.reviewer_id, claims.submission_id, claims.revision) == ("rev", "S1", 2)
    with pytest.raises(errors.Forbidden, match="another submission"):
        links.verify(token, "S2")
    with pytest.raises(errors.Forbidden):
        ReviewLinks(lambda: "other-key" * 4, 3600).verify(token, "S1")
    with pytest.raises(errors.Forbidden, match="expired"):
        ReviewLinks(lambda: "k" * 32, -1).verify(token, "S1")
    csrf = Csrf(lambda: "k" * 32, "review-csrf")
    assert csrf.token(token) != csrf.token(token + "x")
    csrf.check(token, csrf.token(token))
    with pytest.raises(errors.Forbidden):
        csrf.check(token + "x", csrf.token(token))
    assert timedelta(hours=72) == v.REVIEW_LINK_LIFETIME
