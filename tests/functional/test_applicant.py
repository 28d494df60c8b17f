"""The applicant's side of verification through the handlers: what a rejected applicant is told,
resubmitting with kept images, withdrawing, updating approved details, notes kept apart."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared import config
from shared.store.users import UserItem
from shared.store.verification import FingerprintItem, SubmissionItem
from tests.functional.article_helpers import ARTICLE, seed_articles
from tests.functional.conftest import Api
from tests.functional.consent_helpers import consented
from tests.functional.verification_helpers import (
    FIELDS,
    add_reviewer,
    form_fields,
    image_bytes,
    link_path,
    post_decision,
    reviewer_links,
    s3,
    submit,
    upload,
)

LICENCE, BADGE = (200, 30, 30), (30, 60, 200)
INTERNAL = "内部：执业注册系统查无此人"


def _objects(prefix: str) -> dict[str, bytes]:
    bucket = config.current().bucket
    listing = s3().list_objects_v2(Bucket=bucket, Prefix=prefix)
    return {
        o["Key"]: s3().get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
        for o in listing.get("Contents", [])
    }


def _link(env: dict[str, str], sid: str) -> str:
    return reviewer_links(env["OUTBOX_PATH"], sid)[0]


def _two_images(api: Api) -> list[str]:
    return [upload(api, image_bytes(color=LICENCE)), upload(api, image_bytes(color=BADGE), kind="work_badge")]


def _rejected(api: Api, env: dict[str, str], name: str = "alice") -> tuple[str, str]:
    """`name` submitted a licence and a badge; the reviewer asked for the licence again."""
    user_id = consented(api, name)
    reply = submit(api, _two_images(api), license_number="110-1")
    assert reply.status == 201, reply.body
    sid = reply.body["submission_id"]
    done = post_decision(
        api,
        _link(env, sid),
        "reject",
        reason="image_unreadable",
        note="执业证书照片反光，请重新拍摄",
        internal_note=INTERNAL,
        redo=["practice_license"],
    )
    assert done.status == 200, done.text
    return user_id, sid


def test_a_rejected_applicant_sees_the_reason_the_note_and_what_to_redo(
    api: Api, env: dict[str, str]
) -> None:
    add_reviewer()
    _, sid = _rejected(api, env)
    view = api.get("/v1/verification").body
    assert view["status"] == "rejected" and view["submission_id"] == sid
    assert (view["reason"], view["reason_text"]) == ("image_unreadable", "图片无法辨认")
    assert view["note"] == "执业证书照片反光，请重新拍摄" and view["redo_documents"] == ["practice_license"]
    assert view["fields"] == {**FIELDS, "license_number": "110-1"}
    assert view["documents"] == [
        {"kind": "practice_license", "keepable": False},
        {"kind": "work_badge", "keepable": True},
    ]
    assert view["update"] is None and view["decided_at"].endswith("+08:00")
    me = api.get("/v1/me").body
    assert me["next_step"] == "rejected"
    for answer in (view, me):  # the staff's note never reaches the applicant's screens
        assert INTERNAL not in json.dumps(answer, ensure_ascii=False)
    exported = api.get("/v1/me/export").body["verification"][0]  # but it is theirs to see (PIPL)
    assert exported["internal_note"] == INTERNAL and exported["note"] == "执业证书照片反光，请重新拍摄"


def test_a_resubmission_keeps_a_copy_of_an_image_that_outlives_the_old_one(
    api: Api, env: dict[str, str]
) -> None:
    add_reviewer()
    user_id, first = _rejected(api, env)
    old = {k.rsplit("/", 1)[1]: v for k, v in _objects(f"credentials/{user_id}/{first}/").items()}
    reply = submit(
        api, [upload(api, image_bytes(color=(90, 200, 90)))], keep=["work_badge"], license_number="110-1"
    )
    assert reply.status == 201, reply.body
    second = reply.body["submission_id"]
    item = SubmissionItem.get(second)
    assert [d.kind for d in item.documents] == ["practice_license", "work_badge"]
    kept = item.documents[1]
    assert kept.key == f"credentials/{user_id}/{second}/1.jpg"
    old_badge = next(d for d in SubmissionItem.get(first).documents if d.kind == "work_badge")
    assert (kept.sha256, kept.dhash) == (old_badge.sha256, old_badge.dhash)
    copied = _objects(f"credentials/{user_id}/{second}/")
    assert copied[kept.key] == old[old_badge.key.rsplit("/", 1)[1]]
    bucket = config.current().bucket
    assert s3().get_object_tagging(Bucket=bucket, Key=old_badge.key)["TagSet"]  # tagged at the rejection
    assert s3().get_object_tagging(Bucket=bucket, Key=kept.key)["TagSet"] == []  # the copy: not expiring
    # the old submission's images going (lifecycle, deletion) leaves the new one whole
    s3().delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": k} for k in _objects(f"credentials/{user_id}/{first}/")]}
    )
    page = api.get(link_path(_link(env, second)), token="")
    assert page.status == 200 and page.text.count("<img ") == 2
    assert "已被另外" not in page.text  # the applicant's own earlier submission is no duplicate
    uses = {(f.fingerprint, f.submission_id) for f in FingerprintItem.query(f"sha256:{kept.sha256}")}
    assert uses == {(f"sha256:{kept.sha256}", second)}
    assert api.get("/v1/me").body["next_step"] == "pending"


def test_a_kept_image_is_still_seen_by_duplicate_detection(api: Api, env: dict[str, str]) -> None:
    add_reviewer()
    _rejected(api, env, "alice")
    assert submit(api, [upload(api, image_bytes(color=(90, 200, 90)))], keep=["work_badge"]).status == 201
    consented(api, "bob")
    reply = submit(api, [upload(api, image_bytes(color=BADGE), kind="work_badge")])
    page = api.get(link_path(_link(env, reply.body["submission_id"])), token="")
    assert "相同的证件图片文件已被另外 1 个账户使用" in page.text


@pytest.mark.parametrize(
    ("keep", "code", "case_words"),
    [
        (["practice_license"], "not_allowed", "审核人员要求重新上传"),
        (["qualification"], "invalid", "没有可保留"),
        (["selfie"], "not_allowed", "证件类型"),
        (["work_badge", "work_badge"], "invalid", "只需保留一次"),
    ],
)
def test_keeping_what_cannot_be_kept_is_a_400_naming_keep(
    api: Api, env: dict[str, str], keep: list[str], code: str, case_words: str
) -> None:
    add_reviewer()
    user_id, first = _rejected(api, env)
    before = set(_objects(f"credentials/{user_id}/"))
    reply = submit(api, [upload(api, image_bytes(color=(1, 99, 1)))], keep=keep)
    assert reply.status == 400, reply.body
    [fault] = reply.body["error"]["fields"]
    assert (fault["field"], fault["code"]) == ("keep", code) and case_words in fault["message"]
    assert set(_objects(f"credentials/{user_id}/")) == before and SubmissionItem.count() == 1
    assert UserItem.get(user_id).verification_submission == first


def test_keeping_an_image_that_is_gone_is_a_400_and_writes_nothing(api: Api, env: dict[str, str]) -> None:
    add_reviewer()
    user_id, first = _rejected(api, env)
    badge = next(d.key for d in SubmissionItem.get(first).documents if d.kind == "work_badge")
    s3().delete_object(Bucket=config.current().bucket, Key=badge)
    reply = submit(api, [upload(api, image_bytes(color=(1, 99, 1)))], keep=["work_badge"])
    assert reply.status == 400 and reply.body["error"]["fields"][0]["field"] == "keep"
    assert SubmissionItem.count() == 1 and list(_objects(f"credentials/{user_id}/")) == [
        d.key for d in SubmissionItem.get(first).documents if d.kind != "work_badge"
    ]


def test_an_idempotency_key_replay_with_keep_copies_nothing_more(api: Api, env: dict[str, str]) -> None:
    add_reviewer()
    user_id, _ = _rejected(api, env)
    key = upload(api, image_bytes(color=(5, 150, 150)))
    headers = {"Idempotency-Key": "resubmit-1"}
    first = submit(api, [key], headers=headers, keep=["work_badge"])
    assert first.status == 201
    objects = set(_objects(f"credentials/{user_id}/"))
    replay = submit(api, [key], headers=headers, keep=["work_badge"])
    assert (replay.status, replay.body) == (201, first.body)
    assert set(_objects(f"credentials/{user_id}/")) == objects and SubmissionItem.count() == 2
    assert submit(api, [key], headers=headers).status == 409  # the same key without keep: another body


def test_a_withdrawn_submission_is_corrected_and_its_links_stop_working(
    api: Api, env: dict[str, str]
) -> None:
    add_reviewer()
    user_id = consented(api)
    sid = submit(api, _two_images(api)).body["submission_id"]
    link = _link(env, sid)
    fields = form_fields(api.get(link_path(link), token="").text, "approve")
    withdrawn = api.post("/v1/verification/withdraw")
    assert (withdrawn.status, withdrawn.body) == (200, {"status": "withdrawn", "submission_id": sid})
    assert api.get("/v1/me").body["next_step"] == "verify"
    view = api.get("/v1/verification").body
    assert view["status"] == "withdrawn" and view["fields"]["real_name"] == FIELDS["real_name"]
    assert all(d["keepable"] for d in view["documents"])
    page = api.get(link_path(link), token="")
    assert page.status == 200 and "<form" not in page.text and "申请人已撤回" in page.text
    late = post_decision(api, link, "approve", fields=fields)
    assert late.status == 409 and 'data-decision="withdrawn"' in late.text
    assert SubmissionItem.get(sid).status == "withdrawn" and SubmissionItem.get(sid).decided_by is None
    again = api.post("/v1/verification/withdraw")
    assert again.status == 409 and again.body["error"]["code"] == "conflict"
    # corrected (完善信息), keeping both images, and sent again
    reply = submit(api, [], keep=["practice_license", "work_badge"], department="心血管内科")
    assert reply.status == 201, reply.body
    assert UserItem.get(user_id).verification_status == "pending"
    assert api.get("/v1/verification").body["fields"]["department"] == "心血管内科"


def test_nothing_pending_nothing_to_withdraw(api: Api) -> None:
    consented(api)
    reply = api.post("/v1/verification/withdraw")
    assert reply.status == 409 and "没有正在审核中的申请" in reply.body["error"]["message"]


def _comment_department(api: Api, text: str) -> Any:
    posted = api.post(f"/v1/articles/{ARTICLE}/comments", {"text": text})
    assert posted.status == 201, posted.body
    return posted.body["author"]["department"]


def test_an_approved_user_updates_their_details_and_is_served_throughout(
    api: Api, env: dict[str, str]
) -> None:
    add_reviewer()
    seed_articles()
    user_id = consented(api)
    first = submit(api, [upload(api, image_bytes(color=LICENCE))]).body["submission_id"]
    assert post_decision(api, _link(env, first), "approve").status == 200
    assert _comment_department(api, "更新前的评论") == FIELDS["department"]

    reply = submit(api, [], keep=["practice_license"], department="神经内科", hospital="华山医院")
    assert reply.status == 201, reply.body
    update = reply.body["submission_id"]
    view = api.get("/v1/verification").body
    assert view["status"] == "approved" and view["submission_id"] == first
    assert view["fields"]["department"] == FIELDS["department"]
    assert view["update"]["status"] == "pending" and view["update"]["submission_id"] == update
    assert view["update"]["fields"]["department"] == "神经内科"
    assert api.get("/v1/me").body["next_step"] in ("questions", "done")
    assert api.get(f"/v1/articles/{ARTICLE}").status == 200  # still served, with the approved details
    assert _comment_department(api, "审核中的评论") == FIELDS["department"]
    again = submit(api, [], keep=["practice_license"])  # one update at a time
    assert again.status == 409 and again.body["error"]["message"].startswith("您的资料更新正在审核中")
    asked = {"kind": "work_badge", "content_type": "image/png", "size": 5}
    assert api.post("/v1/verification/uploads", asked).status == 409
    page = api.get(link_path(_link(env, update)), token="")
    assert "资料更新" in page.text

    assert post_decision(api, _link(env, update), "approve").status == 200
    assert UserItem.get(user_id).verification_submission == update
    view = api.get("/v1/verification").body
    assert (view["status"], view["submission_id"], view["update"]) == ("approved", update, None)
    assert _comment_department(api, "更新后的评论") == "神经内科"


def test_a_rejected_or_withdrawn_update_leaves_the_approved_details(api: Api, env: dict[str, str]) -> None:
    add_reviewer()
    user_id = consented(api)
    first = submit(api, [upload(api, image_bytes(color=LICENCE))]).body["submission_id"]
    assert post_decision(api, _link(env, first), "approve").status == 200
    update = submit(api, [], keep=["practice_license"], title="主任医师").body["submission_id"]
    assert (
        post_decision(api, _link(env, update), "reject", reason="other", note="请补充职称证明").status == 200
    )
    view = api.get("/v1/verification").body
    assert view["status"] == "approved" and view["submission_id"] == first and view["reason"] is None
    assert view["update"]["status"] == "rejected" and view["update"]["note"] == "请补充职称证明"
    assert view["update"]["reason_text"] == "其他原因"
    assert UserItem.get(user_id).verification_status == "approved"
    # another update, taken back
    again = submit(
        api, [upload(api, image_bytes(color=(80, 80, 10)), kind="qualification")], keep=["practice_license"]
    )
    assert again.status == 201, again.body
    assert api.post("/v1/verification/withdraw").body["submission_id"] == again.body["submission_id"]
    view = api.get("/v1/verification").body
    assert (view["status"], view["submission_id"], view["update"]["status"]) == (
        "approved",
        first,
        "withdrawn",
    )
    assert api.get("/v1/me").body["next_step"] in ("questions", "done")
