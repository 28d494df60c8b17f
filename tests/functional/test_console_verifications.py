"""The console's verification side: the queue, a submission with its claim and decision, users,
search, revocation and the audit trail, through the real handlers on moto."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from infra.metering import metered
from shared import wiring
from shared.store.audit import AuditItem
from shared.store.verification import SubmissionItem
from tests.functional.article_helpers import ARTICLE, post, seed_articles
from tests.functional.conftest import Api
from tests.functional.consent_helpers import consented
from tests.functional.console_helpers import Browser, member
from tests.functional.verification_helpers import (
    link_path,
    post_decision,
    reviewer_links,
    submit,
    upload,
)

HOSTILE = '<script>alert("x")</script>'
NOTE = "请上传执业证书第二页"
INTERNAL = "与执业注册系统核对不一致"


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]*>", " ", html.split("<body>", 1)[-1]))


def _signed_in(api: Api, env: dict[str, str], role: str, name: str | None = None) -> tuple[Browser, str]:
    who = member(role, name or f"{role}-某")
    browser = Browser(api)
    assert browser.sign_in(who, env["OUTBOX_PATH"], who).status == 303
    return browser, who


def _applicant(api: Api, name: str, **fields: Any) -> tuple[str, str]:
    """A consented user with a pending submission: (user id, submission id). The token stays on api."""
    user_id = consented(api, name)
    reply = submit(api, [upload(api)], **fields)
    assert reply.status == 201, reply.body
    return user_id, str(reply.body["submission_id"])


def _decide(browser: Browser, sid: str, **form: str) -> Any:
    return browser.post(f"/console/verifications/{sid}/decision", {"csrf": browser.csrf(), **form})


def test_the_queue_is_oldest_first_with_ages_against_the_sla_and_costs_one_query(
    api: Api, env: dict[str, str]
) -> None:
    _, first = _applicant(api, "ann")
    _, second = _applicant(api, "ben", hospital=HOSTILE)
    browser, _ = _signed_in(api, env, "reviewer")
    for sid in (first, second):  # submitted 25 hours ago: past the 24-hour SLA
        item = SubmissionItem.get(sid)
        item.update(actions=[SubmissionItem.submitted_at.set(item.submitted_at - timedelta(hours=25))])
    with metered(wiring.services().storage.client) as calls:
        page = browser.get("/console/verifications")
    assert page.status == 200
    assert calls.calls.count("Query") == 1 and "Scan" not in calls.calls, calls.calls
    rows = re.findall(r'data-submission="([0-9A-Z]{26})"', page.text)
    assert rows == [first, second]
    assert page.text.count("data-late") == 2 and "已超时" in page.text
    assert HOSTILE not in page.text and "ben" not in page.text  # the queue shows no personal value


def test_a_console_decision_reaches_the_applicant_and_a_link_after_it_sees_it_stand(
    api: Api, env: dict[str, str]
) -> None:
    member("reviewer", "链接审核员")  # gets the submission's personal link
    _, sid = _applicant(api, "cai", real_name=HOSTILE, department="<b>心内科</b>")
    browser, who = _signed_in(api, env, "reviewer", name='审核员"><img src=x>')
    page = browser.get(f"/console/verifications/{sid}")
    assert page.status == 200 and HOSTILE not in page.text and "&lt;script&gt;" in page.text
    assert "<img src=x>" not in page.text and "<b>心内科</b>" not in page.text
    assert "img-src" in page.headers["Content-Security-Policy"]
    decided = _decide(
        browser,
        sid,
        decision="reject",
        reason="image_unreadable",
        note=NOTE,
        internal_note=INTERNAL,
        redo="practice_license",
    )
    assert decided.status == 200 and "审核决定已记录" in decided.text
    mine = api.get("/v1/verification").body
    assert (mine["status"], mine["note"], mine["redo_documents"]) == ("rejected", NOTE, ["practice_license"])
    assert INTERNAL not in str(mine)
    link = reviewer_links(env["OUTBOX_PATH"], sid)[0]
    shown = api.get(link_path(link), token="")
    assert shown.status == 200 and 'data-decision="rejected"' in shown.text  # no form: the decision stands
    late = post_decision(api, link, "approve", fields={"t": link.split("t=", 1)[1], "csrf": "x"})
    assert late.status == 403  # the page it would come from has no form, so no CSRF field either
    again = _decide(browser, sid, decision="approve")
    assert again.status == 409 and "您的操作未被执行" in again.text
    lines = [(a.action, a.actor, a.outcome) for a in AuditItem.query(sid)]
    assert ("credentials_open", who, None) in lines and lines.count(("decision", who, "reject")) == 1
    assert all(a.action != "decision" or a.actor == who for a in AuditItem.query(sid))


def test_a_claim_shows_others_who_is_on_it_and_never_blocks_a_decision(api: Api, env: dict[str, str]) -> None:
    _, sid = _applicant(api, "dan")
    first, first_id = _signed_in(api, env, "reviewer", name="李审核")
    second, _ = _signed_in(api, env, "admin", name="王管理")
    claimed = first.post(f"/console/verifications/{sid}/claim", {"csrf": first.csrf()})
    assert claimed.status == 303 and claimed.headers["Location"] == f"/console/verifications/{sid}"
    queue = second.get("/console/verifications").text
    assert f'data-claimed="{first_id}"' in queue and "李审核" in queue
    page = second.get(f"/console/verifications/{sid}").text
    assert 'data-claim="other"' in page and "李审核 正在审核此申请" in _text(page)
    refused = second.post(f"/console/verifications/{sid}/claim", {"csrf": second.csrf()})
    assert refused.status == 409 and "李审核" in refused.text
    assert _decide(second, sid, decision="approve").status == 200  # advisory: the first decision wins
    assert _decide(first, sid, decision="reject", reason="other").status == 409


def test_support_finds_users_and_each_role_sees_what_it_may(api: Api, env: dict[str, str]) -> None:
    seed_articles()
    user_id, sid = _applicant(api, "eve", real_name="欧阳明日", license_number="110-2233-4455")
    reviewer, _ = _signed_in(api, env, "reviewer")
    assert _decide(reviewer, sid, decision="approve").status == 200
    assert post(api, "关于指南第三条的补充").status == 201
    comment_id = api.get(f"/v1/articles/{ARTICLE}/comments").body["items"][0]["id"]
    moderator, _ = _signed_in(api, env, "moderator")
    editor, _ = _signed_in(api, env, "editor")

    as_moderator = moderator.get(f"/console/users/{user_id}")
    assert as_moderator.status == 200 and 'data-step="' in as_moderator.text
    assert "关于指南第三条的补充" in as_moderator.text
    assert (
        "欧阳明日" not in as_moderator.text and "北京协和医院" not in as_moderator.text
    )  # no verification details
    assert "/revoke" not in as_moderator.text
    as_reviewer = reviewer.get(f"/console/users/{user_id}").text
    assert "北京协和医院" in as_reviewer and f"/console/users/{user_id}/revoke" in as_reviewer
    assert editor.get(f"/console/users/{user_id}").status == 403

    def found(browser: Browser, q: str) -> list[str]:
        page = browser.get(f"/console/search?q={q}")
        assert page.status == 200, page.text[:300]
        return re.findall(r'href="/console/users/([0-9A-Z]{26})"', page.text)

    assert found(moderator, user_id) == [user_id]
    assert found(moderator, sid) == [user_id]
    assert found(moderator, comment_id) == [user_id]
    assert found(moderator, "欧阳明日") == [] and found(moderator, "110-2233-4455") == []
    assert found(reviewer, "欧阳明日") == [user_id]
    assert found(reviewer, "110 2233 4455") == [user_id]  # compared without spaces and dashes
    assert found(reviewer, "欧阳") == []  # exact names only
    assert moderator.get("/console/search?q=" + "x" * 101).status == 400
    assert moderator.get("/console/users/not-a-user").status == 404


def test_a_revocation_sends_the_user_back_to_resubmit_with_the_reason_and_note(
    api: Api, env: dict[str, str]
) -> None:
    user_id, sid = _applicant(api, "fay")
    reviewer, who = _signed_in(api, env, "reviewer")
    assert _decide(reviewer, sid, decision="approve").status == 200
    update = submit(api, [upload(api)], hospital="新的医院")
    assert update.status == 201
    moderator, _ = _signed_in(api, env, "moderator")
    form = {"reason": "not_hcp_document", "note": NOTE, "internal_note": INTERNAL}
    refused = moderator.post(f"/console/users/{user_id}/revoke", {"csrf": moderator.csrf(), **form})
    assert refused.status == 403
    assert api.get("/v1/me").body["next_step"] in ("done", "questions")
    revoked = reviewer.post(f"/console/users/{user_id}/revoke", {"csrf": reviewer.csrf(), **form})
    assert revoked.status == 303
    me = api.get("/v1/me").body
    assert me["next_step"] == "rejected"
    mine = api.get("/v1/verification").body
    assert (mine["status"], mine["reason"], mine["note"]) == ("revoked", "not_hcp_document", NOTE)
    assert mine["update"] is None or mine["update"]["status"] == "withdrawn"
    assert api.get(f"/v1/articles/{ARTICLE}").status == 403
    again = reviewer.post(f"/console/users/{user_id}/revoke", {"csrf": reviewer.csrf(), **form})
    assert again.status == 409
    (line,) = [a for a in AuditItem.query(sid) if a.action == "revoke"]
    assert (line.actor, line.reason) == (who, "not_hcp_document")
    assert submit(api, [upload(api)]).status == 201  # they resubmit


def test_the_audit_page_lists_every_staff_action_newest_first_with_ids_and_codes_only(
    api: Api, env: dict[str, str]
) -> None:
    _, sid = _applicant(api, "gus", real_name="审计标记姓名")
    reviewer, who = _signed_in(api, env, "reviewer")
    reviewer.get(f"/console/verifications/{sid}")
    reviewer.post(f"/console/verifications/{sid}/claim", {"csrf": reviewer.csrf()})
    _decide(reviewer, sid, decision="reject", reason="other", note=NOTE, internal_note=INTERNAL)
    admin, _ = _signed_in(api, env, "admin")
    assert reviewer.get("/console/audit").status == 403
    page = admin.get("/console/audit")
    assert page.status == 200
    actions = re.findall(r'data-action="([a-z_]+)"', page.text)
    assert actions[:6] == ["sign_in", "sign_in_link", "staff_add", "decision", "claim", "credentials_open"]
    assert {"credentials_open", "staff_add"} <= set(actions)
    text = _text(page.text)
    assert sid in text and who in text and "其他原因" in text
    for personal in ("审计标记姓名", NOTE, INTERNAL, "example.com"):
        assert personal not in page.text
    for item in AuditItem.scan():
        assert not set(str(item.attribute_values)) & set("审计标记姓名"), item.attribute_values
    assert admin.get("/console/audit?month=2026-13").status == 400
    assert admin.get("/console/audit?month=2026-11&after=forged").status == 400
    earlier = admin.get("/console/audit?month=2020-01")
    assert earlier.status == 200 and "data-empty" in earlier.text


def test_the_audit_page_pages_through_a_month(
    api: Api, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import functions.console as console_fn

    monkeypatch.setattr(console_fn, "AUDIT_PAGE", 3)
    admin, _ = _signed_in(api, env, "admin")
    for n in range(4):
        member("editor", f"编辑{n}")
    first = admin.get("/console/audit")
    more = re.search(r'href="/console/audit\?month=([0-9-]+)&amp;after=([^"]+)"', first.text)
    assert more, first.text[-800:]
    second = admin.get(f"/console/audit?month={more[1]}&after={more[2]}")
    shown = re.findall(r'data-action="([a-z_]+)"', first.text) + re.findall(
        r'data-action="([a-z_]+)"', second.text
    )
    assert len(shown) == 6 and shown.count("staff_add") >= 4


def test_lines_written_before_the_audit_page_are_listed_after_the_backfill(
    api: Api, env: dict[str, str]
) -> None:
    from datetime import UTC, datetime

    from infra.ops import audit as audit_ops

    wiring.services()
    decided = datetime.now(UTC) - timedelta(minutes=5)
    AuditItem(  # a decision's line in the trail's first shape: no month, no action
        "01JOLDOLDOLDOLDOLDOLDOLD01",
        f"{decided.isoformat()}#rev-old",
        reviewer_id="rev-old",
        decision="approve",
        decided_at=decided,
        revision=1,
    ).save()
    admin, _ = _signed_in(api, env, "admin")
    assert "01JOLDOLDOLDOLDOLDOLDOLD01" not in admin.get("/console/audit").text
    assert audit_ops.main(["backfill"]) == 0
    assert audit_ops.main(["backfill"]) == 0  # again: nothing left to do
    page = admin.get("/console/audit").text
    assert "01JOLDOLDOLDOLDOLDOLDOLD01" in page and "rev-old" in page and "审核决定" in page
    assert audit_ops.main(["nothing"]) == 2


def test_each_console_page_costs_a_few_calls_and_never_a_scan(api: Api, env: dict[str, str]) -> None:
    from infra.metering import metered

    user_id, sid = _applicant(api, "hal")
    reviewer, _ = _signed_in(api, env, "admin")
    csrf = reviewer.csrf()
    client = wiring.services().storage.client
    measured: dict[str, list[str]] = {}

    def measure(name: str, call: Any, status: int) -> None:
        with metered(client) as m:
            reply = call()
        assert reply.status == status, (name, reply.status, reply.text[:300])
        assert "Scan" not in m.calls, (name, m.calls)
        measured[name] = list(m.calls)

    measure("queue", lambda: reviewer.get("/console/verifications"), 200)
    measure("submission", lambda: reviewer.get(f"/console/verifications/{sid}"), 200)
    measure("claim", lambda: reviewer.post(f"/console/verifications/{sid}/claim", {"csrf": csrf}), 303)
    decide = {"csrf": csrf, "decision": "approve"}
    measure("decision", lambda: reviewer.post(f"/console/verifications/{sid}/decision", decide), 200)
    measure("user", lambda: reviewer.get(f"/console/users/{user_id}"), 200)
    measure("search by id", lambda: reviewer.get(f"/console/search?q={user_id}"), 200)
    measure("search by name", lambda: reviewer.get("/console/search?q=张医生"), 200)
    revoke = {"csrf": csrf, "reason": "other"}
    measure("revoke", lambda: reviewer.post(f"/console/users/{user_id}/revoke", revoke), 303)
    measure("audit", lambda: reviewer.get("/console/audit"), 200)
    print("console AWS calls:", measured)
    most = {
        "queue": 2,  # the session's member, one Query of by_status
        "submission": 6,  # member, submission, history, two fingerprints, the audit line
        "claim": 2,  # member, one transaction
        "decision": 5,  # member, submission, the transaction, a tag per image, the message outcome
        "user": 5,  # member, user, recent comments (Query + BatchGet), history
        "search by id": 3,  # member, the user, the submission
        "search by name": 3,  # member, the licence shape is not looked up, the name's index key
        "revoke": 4,  # member, user, approved submission, the transaction
        "audit": 2,  # member, one Query of by_month
    }
    over = {name: calls for name, calls in measured.items() if len(calls) > most[name]}
    assert not over, over


def test_an_audit_filter_too_long_is_a_clear_400_page(api: Api, env: dict[str, str]) -> None:
    admin, _ = _signed_in(api, env, "admin")
    page = admin.get("/console/audit?subject=" + "x" * 121)
    assert page.status == 400 and "筛选对象最多120个字符" in page.text
