"""Reviewer links and pages: read-only GET, CSRF-protected decisions, first decision wins, audit."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

import pytest

from infra.ops import staff as staff_ops
from shared import wiring
from shared.store.audit import AuditItem
from shared.store.users import UserItem
from shared.store.verification import SubmissionItem
from tests.functional.conftest import Api
from tests.functional.consent_helpers import consented
from tests.functional.verification_helpers import (
    FIELDS,
    add_reviewer,
    form_fields,
    image_bytes,
    link_path,
    outbox,
    post_decision,
    reviewer_links,
    submit,
    token_of,
    upload,
)


def _decisions(sid: str) -> int:
    """The decision lines of the audit trail about a submission (opening it adds its own lines)."""
    return sum(1 for line in AuditItem.query(sid) if line.action == "decision")


def _submitted(api: Api, env: dict[str, str], name: str = "alice", **fields: Any) -> tuple[str, str, str]:
    """A consented user's pending submission: (user id, submission id, the first reviewer link)."""
    user_id = consented(api, name)
    reply = submit(api, [upload(api, image_bytes(color=(len(name) * 30 % 255, 90, 30)))], **fields)
    assert reply.status == 201, reply.body
    sid = reply.body["submission_id"]
    links = reviewer_links(env["OUTBOX_PATH"], sid)
    assert links
    return user_id, sid, links[0]


def test_every_active_reviewer_gets_a_personal_absolute_link_without_personal_data(
    api: Api, env: dict[str, str]
) -> None:
    first, second = add_reviewer("甲"), add_reviewer("乙")
    staff_ops.deactivate(add_reviewer("丙"))
    _, sid, _ = _submitted(api, env)
    entries = [e for e in outbox(env["OUTBOX_PATH"]) if e["channel"] == "reviewer"]
    assert sorted(e["reviewer_id"] for e in entries) == sorted([first, second])
    assert len({e["link"] for e in entries}) == 2
    for e in entries:
        assert e["link"].startswith(f"http://127.0.0.1:9/review/{sid}?t=")
        assert FIELDS["real_name"] not in e["text"] and FIELDS["hospital"] not in e["text"]


def test_the_page_shows_the_applicant_escaped_in_chinese_with_a_strict_csp(
    api: Api, env: dict[str, str]
) -> None:
    add_reviewer()
    _, sid, link = _submitted(api, env, real_name="<script>alert(1)</script>王", hospital='"><img src=x>')
    page = api.get(link_path(link), token="")
    assert page.status == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert '<html lang="zh-CN">' in page.text and 'name="viewport"' in page.text
    assert "<script>" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;王" in page.text
    assert '"><img src=x>' not in page.text
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "form-action 'self'" in csp and "frame-ancestors 'none'" in csp
    images = re.findall(r'<img src="([^"]+)"', page.text)
    assert len(images) == 1 and "X-Amz-Expires=300" in images[0].replace("&amp;", "&")
    assert not re.search(r'(?:src|href)="(?!https?://[^"]*amazonaws|/review/)', page.text)  # no outside asset
    assert page.headers["Referrer-Policy"] == "same-origin"
    # a GET changes nothing (mail scanners open links)
    assert SubmissionItem.get(sid).status == "pending" and _decisions(sid) == 0


def test_reject_then_resubmit_then_approve(api: Api, env: dict[str, str]) -> None:
    reviewer = add_reviewer()
    user_id, sid, link = _submitted(api, env)
    done = post_decision(
        api,
        link,
        "reject",
        reason="name_mismatch",
        note="姓名不一致",
        internal_note="与执业注册系统核对",
        redo=["practice_license"],
    )
    assert done.status == 200, done.text
    assert 'data-decision="rejected"' in done.text
    me = api.get("/v1/me").body
    assert me["next_step"] == "rejected" and me["verification"]["reason"] == "name_mismatch"
    status = api.get("/v1/verification").body
    assert status["status"] == "rejected" and status["reason"] == "name_mismatch"
    assert status["redo_documents"] == ["practice_license"] and status["decided_at"]
    assert status["note"] == "姓名不一致" and status["reason_text"] == "姓名与证件不符"
    assert "与执业注册系统核对" not in json.dumps(status, ensure_ascii=False) and "decided_by" not in status
    assert SubmissionItem.get(sid).internal_note == "与执业注册系统核对"
    exported = api.get("/v1/me/export").body["verification"][0]  # but it is theirs to see (PIPL)
    assert exported["internal_note"] == "与执业注册系统核对" and exported["note"] == "姓名不一致"
    audit = [a for a in AuditItem.query(sid) if a.action == "decision"]
    assert [(a.actor, a.outcome, a.reason, a.revision) for a in audit] == [
        (reviewer, "reject", "name_mismatch", 1)
    ]
    user_messages = [e for e in outbox(env["OUTBOX_PATH"]) if e["channel"] == "user"]
    assert user_messages[-1]["status"] == "rejected"
    assert SubmissionItem.get(sid).user_message == "outbox"
    # the link now shows the decision and no form
    after = api.get(link_path(link), token="")
    assert after.status == 200 and "<form" not in after.text and 'data-decision="rejected"' in after.text

    second = submit(api, [upload(api, image_bytes(color=(20, 200, 90)))])
    assert second.status == 201
    sid2 = second.body["submission_id"]
    assert api.get("/v1/me").body["next_step"] == "pending"
    link2 = reviewer_links(env["OUTBOX_PATH"], sid2)[0]
    page2 = api.get(link_path(link2), token="")
    assert "此前的提交" in page2.text and "未通过" in page2.text
    # the old link is useless for the new submission
    forged = f"/review/{sid2}?t={quote(token_of(link))}"
    assert api.get(forged, token="").status == 403
    assert post_decision(api, link2, "approve").status == 200
    assert UserItem.get(user_id).verification_status == "approved"
    assert api.get("/v1/me").body["next_step"] == "questions"  # the required questions come next
    assert api.get("/v1/verification").body["status"] == "approved"


def test_a_replayed_or_later_decision_gets_409_naming_the_one_that_stands(
    api: Api, env: dict[str, str]
) -> None:
    add_reviewer("甲")
    add_reviewer("乙")
    user_id, sid, _ = _submitted(api, env)
    first, second = reviewer_links(env["OUTBOX_PATH"], sid)
    fields_second = form_fields(api.get(link_path(second), token="").text, "reject")
    fields_first = form_fields(api.get(link_path(first), token="").text, "approve")
    assert post_decision(api, first, "approve", fields=fields_first).status == 200
    replay = post_decision(api, first, "approve", fields=fields_first)
    assert replay.status == 409 and 'data-decision="approved"' in replay.text
    late = post_decision(api, second, "reject", reason="other", fields=fields_second)
    assert late.status == 409 and 'data-decision="approved"' in late.text
    assert UserItem.get(user_id).verification_status == "approved"
    assert _decisions(sid) == 1


@pytest.mark.parametrize("case", ["tampered", "expired", "other_submission", "no_token", "deactivated"])
def test_bad_links_get_403_and_change_nothing(
    api: Api, env: dict[str, str], case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    reviewer = add_reviewer()
    _, sid, link = _submitted(api, env)
    token = token_of(link)
    fields = form_fields(api.get(link_path(link), token="").text, "approve")
    path = f"/review/{sid}?t={quote(token)}"
    if case == "tampered":
        forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
        path, fields = f"/review/{sid}?t={quote(forged)}", {**fields, "t": forged}
    elif case == "expired":
        import itsdangerous.timed

        real = itsdangerous.timed.time.time
        monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: real() + 73 * 3600)
    elif case == "other_submission":
        path = f"/review/01ARZ3NDEKTSV4RRFFQ69G5FAV?t={quote(token)}"
    elif case == "no_token":
        path, fields = f"/review/{sid}", {**fields, "t": ""}
    else:
        staff_ops.deactivate(reviewer)
    page = api.get(path, token="")
    assert page.status == 403, page.text
    assert page.headers["Content-Type"].startswith("text/html") and "<form" not in page.text
    words = re.sub(r"<[^>]+>", " ", page.text.split("<body>", 1)[1])
    assert "链接无效或已过期" in words and not re.search(r"[A-Za-z]{3,}", words), words  # Chinese only
    target = link if case != "other_submission" else f"http://x/review/01ARZ3NDEKTSV4RRFFQ69G5FAV?t={token}"
    decided = post_decision(api, target, "approve", fields=fields)
    assert decided.status == 403
    assert SubmissionItem.get(sid).status == "pending" and _decisions(sid) == 0


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"csrf": "0" * 64}, 403),
        ({"csrf": ""}, 403),
        ({"csrf": "é" * 64}, 403),  # not ASCII: once a 500 from hmac.compare_digest
    ],
)
def test_a_forged_form_is_refused(api: Api, env: dict[str, str], change: dict[str, str], status: int) -> None:
    add_reviewer()
    _, sid, link = _submitted(api, env)
    fields = {**form_fields(api.get(link_path(link), token="").text, "approve"), **change}
    assert post_decision(api, link, "approve", fields=fields).status == status
    assert SubmissionItem.get(sid).status == "pending"


def test_a_cross_site_post_is_refused(api: Api, env: dict[str, str]) -> None:
    add_reviewer()
    _, sid, link = _submitted(api, env)
    for header in (
        {"origin": "https://evil.example"},
        {"referer": "https://evil.example/x"},
        {"origin": "null"},
        {"origin": "http://["},  # not a URL: once a 500 from urlsplit
        {"referer": "http://[::1/x"},
    ):
        assert post_decision(api, link, "approve", headers=header).status == 403
    assert SubmissionItem.get(sid).status == "pending"
    ok = post_decision(api, link, "approve", headers={"origin": "http://127.0.0.1:9"})
    assert ok.status == 200


@pytest.mark.parametrize(
    ("decision", "reason", "redo"),
    [("maybe", None, []), ("reject", None, []), ("reject", "bad", []), ("approve", "other", []),
     ("reject", "other", ["selfie"])],
)  # fmt: skip
def test_bad_decisions_are_400(
    api: Api, env: dict[str, str], decision: str, reason: str | None, redo: list[str]
) -> None:
    add_reviewer()
    _, sid, link = _submitted(api, env)
    fields = form_fields(api.get(link_path(link), token="").text, "approve")
    reply = post_decision(api, link, decision, reason=reason, redo=redo, fields=fields)
    assert reply.status == 400
    assert SubmissionItem.get(sid).status == "pending"


def test_a_reused_image_or_licence_is_flagged(api: Api, env: dict[str, str]) -> None:
    add_reviewer()
    data = image_bytes(color=(7, 77, 177))
    consented(api, "alice")
    assert submit(api, [upload(api, data)], license_number="110-22").status == 201
    consented(api, "bob")
    reply = submit(api, [upload(api, data)], license_number="11022")
    sid = reply.body["submission_id"]
    page = api.get(link_path(reviewer_links(env["OUTBOX_PATH"], sid)[0]), token="")
    assert "相同的证件图片文件已被另外 1 个账户使用" in page.text
    assert "相同的执业证书编号已被另外 1 个账户使用" in page.text
    # alice's own page names no other user's data
    assert "bob" not in page.text


def test_the_review_page_is_not_json_even_for_unknown_submissions(api: Api) -> None:
    reply = api.get("/review/nope?t=abc", token="")
    assert reply.status == 403 and reply.headers["Content-Type"].startswith("text/html")
    wiring.reset()


def test_the_review_page_and_decision_cost_few_aws_calls(api: Api, env: dict[str, str]) -> None:
    from infra.metering import metered

    add_reviewer()
    _, _, link = _submitted(api, env)
    fields = form_fields(api.get(link_path(link), token="").text, "approve")
    app = wiring.services()
    with metered(app.storage.client) as page:
        assert api.get(link_path(link), token="").status == 200
    # reviewer + submission GetItem, history Query, one Query per fingerprint (sha256, dHash), the
    # audit line of opening the credentials
    assert page.count <= 6, page.calls
    assert page.calls.count("PutItem") == 1, page.calls
    with metered(app.storage.client) as decision:
        assert post_decision(api, link, "approve", fields=fields).status == 200
    # reviewer + submission GetItem, the transaction, the re-read, a tag per image, the outcome
    assert decision.count <= 7, decision.calls
    print("review page AWS calls:", page.calls, "decision:", decision.calls)


# ---- the applicant learns the result through a WeChat subscribe message ----
RESULT_TEMPLATE = "tmpl-verification-result"
SEND = "/cgi-bin/message/subscribe/send"


@pytest.fixture
def result_template(monkeypatch: pytest.MonkeyPatch, wechat: Any, aws: Any) -> Any:
    monkeypatch.setenv("WECHAT_RESULT_TEMPLATE_ID", RESULT_TEMPLATE)
    wiring.reset()
    wechat.state.messages.clear()
    return wechat


def test_a_decision_sends_the_applicant_a_subscribe_message_naming_no_personal_field(
    api: Api, env: dict[str, str], result_template: Any
) -> None:
    from infra.fake_wechat import dev_openid

    add_reviewer()
    _, sid, link = _submitted(api, env)
    assert post_decision(api, link, "reject", reason="name_mismatch").status == 200
    [message] = result_template.state.messages
    assert message["touser"] == dev_openid("alice") and message["template_id"] == RESULT_TEMPLATE
    data = {name: value["value"] for name, value in message["data"].items()}
    assert data["phrase2"] == "未通过" and data["thing3"] == "姓名与证件不符"
    assert all(len(v) <= 20 for k, v in data.items() if k.startswith("thing"))
    assert FIELDS["real_name"] not in repr(message) and FIELDS["hospital"] not in repr(message)
    assert SubmissionItem.get(sid).user_message == "sent"


@pytest.mark.parametrize(
    ("errcode", "recorded"),
    [(43101, "owed"), (-1, "owed"), (47003, "failed"), (40037, "failed")],
)
def test_a_message_wechat_refuses_never_undoes_the_decision(
    api: Api, env: dict[str, str], result_template: Any, errcode: int, recorded: str
) -> None:
    add_reviewer()
    _, sid, link = _submitted(api, env)
    result_template.state.fail_next(SEND, errcode)
    done = post_decision(api, link, "approve")
    assert done.status == 200 and 'data-decision="approved"' in done.text
    stored = SubmissionItem.get(sid)
    assert stored.status == "approved" and stored.user_message == recorded
    assert api.get("/v1/verification").body["status"] == "approved"  # the app shows it anyway


def test_a_note_written_before_applicants_could_see_notes_stays_internal(api: Api) -> None:
    from datetime import UTC, datetime

    user_id = consented(api)
    table = SubmissionItem._get_connection()
    sid = "01JOLDNOTEAAAAAAAAAAAAAAAA"
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+0000")  # as pynamodb stores times
    table.connection.put_item(
        table.table_name,
        sid,
        attributes={
            "user_id": {"S": user_id}, "revision": {"N": "1"}, "status": {"S": "rejected"},
            "real_name": {"S": "张医生"}, "hospital": {"S": "协和"}, "department": {"S": "心内科"},
            "title": {"S": "主治医师"}, "profession": {"S": "doctor"}, "documents": {"L": []},
            "submitted_at": {"S": now}, "decided_at": {"S": now}, "reason": {"S": "other"},
            "note": {"S": "旧备注：申请人疑似代他人提交"},
        },
    )  # fmt: skip
    UserItem(user_id).update(
        actions=[
            UserItem.verification_status.set("rejected"),
            UserItem.verification_submission.set(sid),
            UserItem.verification_revision.set(1),
        ]
    )
    view = api.get("/v1/verification").body
    assert view["status"] == "rejected" and view["note"] is None
    assert "旧备注" not in json.dumps(view, ensure_ascii=False)
    assert SubmissionItem.get(sid).internal_note == "旧备注：申请人疑似代他人提交"
    assert api.get("/v1/me/export").body["verification"][0]["internal_note"] == "旧备注：申请人疑似代他人提交"
