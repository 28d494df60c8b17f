"""Fault injection: every write path, each of its calls failing in turn.

For each write path a clean run counts its AWS calls (botocore hooks on the clients the models and
adapters use) and its WeChat calls; then, from the same starting state, call i alone fails with
each fault that applies to it (AWS: throttling, a timeout, a conditional failure where the call
is conditional; WeChat: errcode -1 busy, busy once, a timeout, an HTTP 502). Every run must give
the client a clear answer (an api.md error code, 503 `upstream_unavailable` with Retry-After for
throttling and timeouts, never a 500) and leave the stored state exactly as before (and then a
retry succeeds) or exactly as after the clean run. The only exceptions are side effects the
services document as best effort after their commit:

- a submission's reviewer notification stays pending for the notifier retry, which then delivers
  it (checked here) and the submitted originals may be left to the bucket's lifecycle rule
  (shared/services/verification.py);
- a decision's user message is recorded as owed or not recorded, and images not tagged
  (shared/services/review.py: "best effort, never undoing the decision"); a withdrawal's images
  not tagged (shared/services/verification.py);
- an account deletion that fails half-way is finished by the client's retry with the same token
  (shared/services/account.py): checked here by retrying;
- a user the funnel count could not move is reported to the stream, which delivers them again
  (functions/funnel.py): here, the client's retry;
- a sign-in link that SNS did not take is not resent (the page says the same either way; the
  member asks again), and a deactivated member's e-mail subscription that could not be removed is
  removed by running `staff deactivate` again (shared/services/staff.py).

The staff commands (`python -m infra.ops staff add|deactivate`) are write paths too: their answer
here is the error the command reports (an AWS fault: "run the command again", exit 3); so is the
consent keys' migration (`consent migrate-keys`: a key it could not move is reported, exit 1). The
deletions re-applied after a restore (`account reapply-deletions`) run the account deletion's path.

`CONDITION_TRUSTED` lists the conditional calls whose failure the code reads as "already done";
an injected failure there claims what the real service would only say if it were true.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest

from functions.funnel import count as funnel_count
from infra import resources
from infra.fake_robot import FakeRobot
from infra.fake_wechat import FakeWeChatServer
from infra.ops import staff as staff_ops
from shared import config, wiring
from shared.domain.consent import AGREEMENT
from tests.functional.article_helpers import ARTICLE, post, seed_articles, verified
from tests.functional.conftest import Api, Reply, _wipe_moto
from tests.functional.consent_helpers import (
    agree_all,
    approve,
    consented,
    current_version,
    decide,
    publish_seed,
)
from tests.functional.console_helpers import Browser, hidden, member, multipart_post, sign_in_links
from tests.functional.faults import (
    AWS_FAULTS,
    WECHAT_FAULTS,
    AwsCall,
    AwsFaults,
    Relaxation,
    Saved,
    Snapshot,
    WeChatFaults,
    cold_start,
    difference,
    normalized,
    relaxed,
    restore,
    save,
    stored,
)
from tests.functional.verification_helpers import (
    add_reviewer,
    form_fields,
    image_bytes,
    link_path,
    post_decision,
    reviewer_links,
    submit,
    upload,
)

API_CODES = {
    400: {"bad_request"},
    401: {"unauthorized"},
    403: {"consent_required", "verification_required", "forbidden"},
    404: {"not_found"},
    409: {"conflict"},
    413: {"payload_too_large"},
    422: {"content_rejected"},
    429: {"rate_limited"},
    503: {"upstream_unavailable"},
}
TRANSIENT = {"throttle", "timeout", "busy", "http_5xx"}  # the client should come back later: 503
RESULT_TEMPLATE = "tmpl-verification-result"
ANSWERS = [
    {"question_id": "years_in_practice", "value": "11-20年"},
    {"question_id": "institution_level", "value": "二级医院"},
    {"question_id": "specialty_areas", "value": ["肿瘤"]},
]
# (path, call): a conditional failure there means "already done", which the code rightly believes.
CONDITION_TRUSTED = {
    # erasure: a comment that no longer names the user was anonymized already
    ("account deletion", "dynamodb.UpdateItem(comments)"),
    # a report: the reader's report of this round is there already (a repeat counts nothing)
    ("report", "dynamodb.TransactWriteItems(comment_reports,comments,comment_guards)"),
    (
        "report that hides the comment",
        "dynamodb.TransactWriteItems(comment_reports,comments,articles,comment_guards)",
    ),
    # a member's message window refused: reminded within the hour, or messaged within the window
    ("SLA reminders", "dynamodb.UpdateItem(notifications)"),
    # the content check's budget refused: the minute's share is spent (the post is held and queued;
    # the worker waits for the next minute)
    ("comment post", "dynamodb.UpdateItem(comment_guards)"),
    ("paced content check (the worker)", "dynamodb.UpdateItem(comment_guards)"),
    # the comment no longer waits for its check: its author deleted it, or a moderator decided
    ("paced content check (the worker)", "dynamodb.TransactWriteItems(comments,articles)"),
}
# Reviewer messages batched as in a deployed stage (the functional stage sends each link at once).
BATCHED = ((config.ENV_REVIEWER_BATCH_SECONDS, "60"),)


# ---- documented best-effort effects, as relaxations of the comparison ----
def _without_table(table: str) -> Relaxation:
    return lambda name, item: None if name == table else item


def _without_uploads(name: str, item: str) -> str | None:
    return None if name == "bucket" and item.startswith("uploads/") else item


def _without_user_message(name: str, item: str) -> str | None:
    if name != "submissions":
        return item
    fields = json.loads(item)
    fields.pop("user_message", None)
    return json.dumps(fields, sort_keys=True, ensure_ascii=False)


def _without_subscription(name: str, item: str) -> str | None:
    if name != "staff":
        return item
    fields = json.loads(item)
    fields.pop("subscription_arn", None)
    return json.dumps(fields, sort_keys=True, ensure_ascii=False)


# ---- the write paths ----
@dataclass
class Harness:
    env: dict[str, str]
    wechat: FakeWeChatServer
    monkeypatch: pytest.MonkeyPatch
    aws: AwsFaults
    robot: FakeRobot | None = None


Setup = Callable[[Harness, Api], dict[str, Any]]
Act = Callable[[Api, dict[str, Any]], Reply]


@dataclass(frozen=True)
class WritePath:
    name: str
    setup: Setup
    act: Act
    commit: str | None = None  # the call (its name's start) after which the write stands
    after_commit: tuple[Relaxation, ...] = ()  # documented best effort once it stands
    resumable: bool = False  # a failure half-way is finished by the client's retry
    html: bool = False  # the reviewer's pages answer HTML, errors too
    env: tuple[tuple[str, str], ...] = ()
    reviewers_notified: bool = False
    stores: bool = True  # False: the request writes nothing of its own
    mail: bool = False  # the stage's staff topic is configured (e-mail subscriptions, sign-in mail)


def _login_setup(h: Harness, api: Api) -> dict[str, Any]:
    publish_seed()
    api.login("alice")
    return {}


def _first_login_setup(h: Harness, api: Api) -> dict[str, Any]:
    publish_seed()
    return {}


def _login(api: Api, ctx: dict[str, Any]) -> Reply:
    return api.post("/v1/auth/login", {"code": "dev:alice"}, token="")


def _consent_setup(h: Harness, api: Api) -> dict[str, Any]:
    publish_seed()
    api.login("alice")
    return {"version": current_version(api, AGREEMENT)}


def _consent(api: Api, ctx: dict[str, Any]) -> Reply:
    return decide(api, AGREEMENT, "agree", version=ctx["version"])  # type: ignore[no-any-return]


def _consented_setup(h: Harness, api: Api) -> dict[str, Any]:
    consented(api)
    return {}


def _upload_link(api: Api, ctx: dict[str, Any]) -> Reply:
    return api.post(
        "/v1/verification/uploads", {"kind": "practice_license", "content_type": "image/jpeg", "size": 5000}
    )


def _submit_setup(h: Harness, api: Api) -> dict[str, Any]:
    assert h.robot is not None
    email = add_reviewer("甲", email="a@example.com")
    hook = add_reviewer("乙", webhook=h.robot.url)
    consented(api)
    return {"keys": [upload(api)], "email_reviewer": email, "webhook_reviewer": hook}


def _submit(api: Api, ctx: dict[str, Any]) -> Reply:
    return submit(api, ctx["keys"])


def _batched_submit_setup(h: Harness, api: Api) -> dict[str, Any]:
    """Two others submitted first: the first took the reviewers' windows, the second waits in them;
    the request comes a window later, and its message carries the waiting link too."""
    ctx = _submit_setup(h, api)
    for name in ("earlier", "waiting"):
        other = Api()
        consented(other, name)
        assert submit(other, [upload(other)]).status == 201
    return ctx


def _later_by(seconds: int, act: Callable[[], Reply]) -> Reply:
    """`act` in a container whose clock is `seconds` ahead (built after the clock moved)."""
    with pytest.MonkeyPatch.context() as later:
        real = wiring.utcnow
        later.setattr(wiring, "utcnow", lambda: real() + timedelta(seconds=seconds))
        cold_start()
        try:
            return act()
        finally:
            cold_start()


def _submit_a_window_later(api: Api, ctx: dict[str, Any]) -> Reply:
    return _later_by(61, lambda: submit(api, ctx["keys"]))


def _reminders_setup(h: Harness, api: Api) -> dict[str, Any]:
    add_reviewer("甲", email="a@example.com")
    add_reviewer("乙")  # the outbox alone
    member("admin", "管理员甲", email="admin@example.com")
    consented(api)
    assert submit(api, [upload(api)]).status == 201
    return {}


def _remind(api: Api, ctx: dict[str, Any]) -> Reply:
    """The scheduled run past twice the SLA, answered as a run that must be run again (a member no
    channel reached, or a fault) or not."""
    from functions import notifier as notifier_fn
    from shared.edge import upstream_error

    def run_once() -> Reply:
        try:
            summary = notifier_fn.remind()
        except Exception as exc:
            mapped = upstream_error(exc)
            if mapped is None:
                raise
            return Reply(mapped.status, dict(mapped.headers), {"error": mapped.body("en")})
        if summary["unreached"] or not summary["reminded"]:
            return Reply(503, {"Retry-After": "900"}, {"error": {"code": "upstream_unavailable"}})
        return Reply(200, {}, {})

    return _later_by(49 * 3600, run_once)


def _decision_setup(h: Harness, api: Api) -> dict[str, Any]:
    add_reviewer()
    consented(api)
    reply = submit(api, [upload(api)])
    assert reply.status == 201, reply.body
    link = reviewer_links(h.env["OUTBOX_PATH"], reply.body["submission_id"])[0]
    return {"link": link, "fields": form_fields(api.get(link_path(link), token="").text, "approve")}


def _decision(api: Api, ctx: dict[str, Any]) -> Reply:
    return post_decision(api, ctx["link"], "approve", fields=ctx["fields"])


def _review_page(api: Api, ctx: dict[str, Any]) -> Reply:
    return api.get(link_path(ctx["link"]), token="")


def _approved_with_link(h: Harness, api: Api) -> str:
    """A consented user approved through a reviewer link on one image (a practice licence)."""
    consented(api)
    reply = submit(api, [upload(api)])
    assert reply.status == 201, reply.body
    link = reviewer_links(h.env["OUTBOX_PATH"], reply.body["submission_id"])[0]
    assert post_decision(api, link, "approve").status == 200
    return str(reply.body["submission_id"])


def _update_keeping_setup(h: Harness, api: Api) -> dict[str, Any]:
    assert h.robot is not None
    email = add_reviewer("甲", email="a@example.com")
    hook = add_reviewer("乙", webhook=h.robot.url)
    _approved_with_link(h, api)
    badge = upload(api, image_bytes(color=(20, 120, 220)), kind="work_badge")
    return {"keys": [badge], "email_reviewer": email, "webhook_reviewer": hook}


def _update_keeping(api: Api, ctx: dict[str, Any]) -> Reply:
    return submit(api, ctx["keys"], keep=["practice_license"], hospital="华山医院")


def _withdraw_setup(h: Harness, api: Api) -> dict[str, Any]:
    add_reviewer()
    consented(api)
    assert submit(api, [upload(api)]).status == 201
    return {}


def _withdraw(api: Api, ctx: dict[str, Any]) -> Reply:
    return api.post("/v1/verification/withdraw")


def _update_decision_setup(h: Harness, api: Api) -> dict[str, Any]:
    add_reviewer()
    _approved_with_link(h, api)
    reply = submit(api, [], keep=["practice_license"], department="神经内科")
    assert reply.status == 201, reply.body
    link = reviewer_links(h.env["OUTBOX_PATH"], reply.body["submission_id"])[0]
    return {"link": link, "fields": form_fields(api.get(link_path(link), token="").text, "approve")}


def _answers_setup(h: Harness, api: Api) -> dict[str, Any]:
    publish_seed()
    user_id = api.login("alice")["user"]["id"]
    agree_all(api)
    approve(user_id)
    return {}


def _answers(api: Api, ctx: dict[str, Any]) -> Reply:
    return api.post("/v1/answers", {"answers": ANSWERS}, headers={"Idempotency-Key": "answers-1"})


def _answered_setup(h: Harness, api: Api) -> dict[str, Any]:
    _answers_setup(h, api)
    assert api.post("/v1/answers", {"answers": ANSWERS}).status == 200
    return {}


def _answers_change(api: Api, ctx: dict[str, Any]) -> Reply:
    changed = [*ANSWERS[:2], {"question_id": "specialty_areas", "value": ["药学", "护理"]}]
    return api.post("/v1/answers", {"answers": changed})


def _informed_withdrawal(api: Api, ctx: dict[str, Any]) -> Reply:
    return api.post("/v1/consents/informed-consent/withdraw")


def _comment_setup(h: Harness, api: Api) -> dict[str, Any]:
    seed_articles()
    verified(api)
    return {}


def _comment(api: Api, ctx: dict[str, Any]) -> Reply:
    return post(api, "请问老年高血压的降压目标是多少？", headers={"Idempotency-Key": "comment-1"})


def _queued_setup(h: Harness, api: Api) -> dict[str, Any]:
    """The minute's inline share of the content check spent (for the matrix's duration)."""
    from shared.domain.content_check import INLINE_SHARE
    from tests.functional.test_content_queue import spend

    _comment_setup(h, api)
    spend(INLINE_SHARE, minutes=60)
    return {}


def _held_setup(h: Harness, api: Api) -> dict[str, Any]:
    """A comment held past the inline share, its id in the queue."""
    _queued_setup(h, api)
    posted = post(api, "高峰时排队检查的评论")
    assert posted.status == 201 and posted.body["state"] == "held", posted.body
    return {"id": posted.body["id"]}


def _paced_check(api: Api, ctx: dict[str, Any]) -> Reply:
    """The worker on the comment's message, answered as Lambda reads it: a message reported
    failed is delivered again (after its backoff), as a client's retry."""
    from functions.content_check import check

    event = {"Records": [{"messageId": "m-1", "body": json.dumps({"c": ctx["id"]})}]}
    if check(event)["batchItemFailures"]:
        return Reply(503, {"Retry-After": "30"}, {"error": {"code": "upstream_unavailable"}})
    return Reply(200, {}, {})


def _delete_comment_setup(h: Harness, api: Api) -> dict[str, Any]:
    seed_articles()
    verified(api)
    posted = post(api, "一条将被删除的评论")
    assert posted.status == 201, posted.body
    return {"id": posted.body["id"]}


def _delete_comment(api: Api, ctx: dict[str, Any]) -> Reply:
    return api.delete(f"/v1/comments/{ctx['id']}")


def _report_setup(h: Harness, api: Api, reports_before: int = 0) -> dict[str, Any]:
    """A reader's comment, `reports_before` other readers' reports of it, and a reader to report it."""
    seed_articles()
    verified(api, "author")
    posted = post(api, "一条将被举报的评论")
    assert posted.status == 201, posted.body
    for n in range(reports_before):
        verified(api, f"reporter{n}")
        assert api.post(f"/v1/comments/{posted.body['id']}/reports", {"reason": "spam"}).status == 201
    verified(api, "reader")
    return {"id": posted.body["id"]}


def _report(api: Api, ctx: dict[str, Any]) -> Reply:
    return api.post(f"/v1/comments/{ctx['id']}/reports", {"reason": "misinformation", "text": "没有依据"})


def _moderator_setup(h: Harness, api: Api, hidden: bool = True) -> dict[str, Any]:
    """A moderator signed in, and a comment a moderator hid (or a visible one)."""
    seed_articles()
    user_id = verified(api, "author")
    posted = post(api, "一条待管理的评论")
    assert posted.status == 201, posted.body
    if hidden:
        wiring.services().moderation.hide("setup", posted.body["id"], "spam")
    moderator = member("moderator", "评论管理员乙", email="moderator.b@example.com")
    browser = Browser(api)
    assert browser.sign_in(moderator, h.env["OUTBOX_PATH"], moderator).status == 303
    return {
        "cookies": dict(browser.cookies),
        "csrf": browser.csrf(),
        "id": posted.body["id"],
        "user": user_id,
    }


def _moderate(action: str, form: dict[str, str] | None = None) -> Act:
    def act(api: Api, ctx: dict[str, Any]) -> Reply:
        return _console_post(api, ctx, f"/console/comments/{ctx['id']}/{action}", form or {})

    return act


def _mute(api: Api, ctx: dict[str, Any]) -> Reply:
    return _console_post(api, ctx, f"/console/users/{ctx['user']}/mute", {"days": "7"})


def _account_setup(h: Harness, api: Api) -> dict[str, Any]:
    seed_articles()
    user_id = consented(api)
    assert submit(api, [upload(api)]).status == 201
    approve(user_id)
    assert api.post("/v1/answers", {"answers": ANSWERS}).status == 200
    assert post(api, "注销前的评论").status == 201
    return {}


def _delete_account(api: Api, ctx: dict[str, Any]) -> Reply:
    return api.delete("/v1/me")


def _console_setup(h: Harness, api: Api) -> dict[str, Any]:
    admin = member("admin", "管理员甲", email="admin@example.com")
    browser = Browser(api)
    return {"admin": admin, "browser": browser, "csrf": hidden(browser.get("/console/login").text)}


def _request_link(api: Api, ctx: dict[str, Any]) -> Reply:
    browser = Browser(api, cookies=dict(ctx["browser"].cookies))
    return browser.post("/console/login", {"csrf": ctx["csrf"], "who": "admin@example.com"})


def _confirm_setup(h: Harness, api: Api) -> dict[str, Any]:
    ctx = _console_setup(h, api)
    assert _request_link(api, ctx).status == 200
    (link,) = sign_in_links(h.env["OUTBOX_PATH"], ctx["admin"])
    parts = urlsplit(link)
    page = ctx["browser"].get(f"{parts.path}?{parts.query}")
    return {**ctx, "form": {"t": hidden(page.text, "t"), "csrf": hidden(page.text)}}


def _confirm(api: Api, ctx: dict[str, Any]) -> Reply:
    return Browser(api, cookies=dict(ctx["browser"].cookies)).post("/console/auth", ctx["form"])


def _sign_out_setup(h: Harness, api: Api) -> dict[str, Any]:
    ctx = _console_setup(h, api)
    browser = ctx["browser"]
    assert browser.sign_in(ctx["admin"], h.env["OUTBOX_PATH"], ctx["admin"]).status == 303
    return {**ctx, "csrf": browser.csrf()}


def _sign_out(api: Api, ctx: dict[str, Any]) -> Reply:
    return Browser(api, cookies=dict(ctx["browser"].cookies)).post("/console/logout", {"csrf": ctx["csrf"]})


def _console_reviewer(h: Harness, api: Api) -> dict[str, Any]:
    """A reviewer signed in to the console: their browser's cookies and the session's CSRF field."""
    reviewer = member("reviewer", "审核员乙", email="reviewer.b@example.com")
    browser = Browser(api)
    assert browser.sign_in(reviewer, h.env["OUTBOX_PATH"], reviewer).status == 303
    return {"cookies": dict(browser.cookies), "csrf": browser.csrf()}


def _console_pending_setup(h: Harness, api: Api) -> dict[str, Any]:
    ctx = _console_reviewer(h, api)
    consented(api)
    reply = submit(api, [upload(api)])
    assert reply.status == 201, reply.body
    return {**ctx, "sid": reply.body["submission_id"]}


def _console_post(api: Api, ctx: dict[str, Any], path: str, form: dict[str, str]) -> Reply:
    return Browser(api, cookies=dict(ctx["cookies"])).post(path, {"csrf": ctx["csrf"], **form})


def _console_open(api: Api, ctx: dict[str, Any]) -> Reply:
    return Browser(api, cookies=dict(ctx["cookies"])).get(f"/console/verifications/{ctx['sid']}")


def _console_claim(api: Api, ctx: dict[str, Any]) -> Reply:
    return _console_post(api, ctx, f"/console/verifications/{ctx['sid']}/claim", {})


def _console_decision(api: Api, ctx: dict[str, Any]) -> Reply:
    form = {"decision": "reject", "reason": "image_unreadable", "note": "请重拍", "redo": "practice_license"}
    return _console_post(api, ctx, f"/console/verifications/{ctx['sid']}/decision", form)


def _revoke_setup(h: Harness, api: Api) -> dict[str, Any]:
    ctx = _console_reviewer(h, api)
    user_id = consented(api)
    reply = submit(api, [upload(api)])
    assert reply.status == 201, reply.body
    approved = _console_post(
        api, ctx, f"/console/verifications/{reply.body['submission_id']}/decision", {"decision": "approve"}
    )
    assert approved.status == 200, approved.text[:300]
    update = submit(api, [upload(api)], hospital="新医院")  # a pending update, withdrawn with the approval
    assert update.status == 201, update.body
    return {**ctx, "user_id": user_id}


def _revoke(api: Api, ctx: dict[str, Any]) -> Reply:
    form = {"reason": "not_hcp_document", "note": "证件与执业注册信息不符", "internal_note": "核查记录"}
    return _console_post(api, ctx, f"/console/users/{ctx['user_id']}/revoke", form)


def _console_editor(h: Harness, api: Api) -> dict[str, Any]:
    """An editor signed in to the console, with the demo articles and a draft."""
    seed_articles()
    editor = member("editor", "编辑丙", email="editor.c@example.com")
    browser = Browser(api)
    assert browser.sign_in(editor, h.env["OUTBOX_PATH"], editor).status == 303
    ctx = {"cookies": dict(browser.cookies), "csrf": browser.csrf()}
    assert _console_import(api, ctx).status == 303
    return ctx


DRAFT_FILE = (
    "---\nid: fault-draft\ntitle: 草稿\npublished_at: 2026-11-01T09:00:00+08:00\nauthor: 编辑\n"
    "original: true\nsummary: 摘要\n---\n导语。\n\n## 问：一\n答：二\n"
)


def _console_import(api: Api, ctx: dict[str, Any], text: str = DRAFT_FILE) -> Reply:
    browser = Browser(api, cookies=dict(ctx["cookies"]))
    fields = {"csrf": ctx["csrf"]}
    return multipart_post(browser, "/console/articles/import", fields, {"file": ("a.md", text.encode())})


def _console_reimport(api: Api, ctx: dict[str, Any]) -> Reply:
    return _console_import(api, ctx, DRAFT_FILE.replace("答：二", "答：改过的回答"))


def _console_schedule(api: Api, ctx: dict[str, Any]) -> Reply:
    from shared.domain import times

    at = times.local(wiring.utcnow() + timedelta(days=3)).strftime("%Y-%m-%d %H:%M")
    return _console_post(api, ctx, "/console/articles/fault-draft/publish", {"publish_at": at})


def _console_unpublish(api: Api, ctx: dict[str, Any]) -> Reply:
    return _console_post(api, ctx, f"/console/articles/{ARTICLE}/unpublish", {})


def _ops(command: Callable[[], object]) -> Reply:
    """A staff command's answer as the command reports it (infra/ops/staff.py `main`)."""
    from shared import errors
    from shared.edge import upstream_error

    try:
        command()
    except errors.DomainError as exc:
        return Reply(exc.status, dict(exc.headers), {"error": exc.body("en")})
    except Exception as exc:
        mapped = upstream_error(exc)
        if mapped is None:
            raise
        return Reply(mapped.status, dict(mapped.headers), {"error": mapped.body("en")})
    return Reply(201, {}, {})


def _recount_setup(h: Harness, api: Api) -> dict[str, Any]:
    publish_seed()
    user_id = api.login("alice")["user"]["id"]
    assert not funnel_count(_stream_event(user_id))["batchItemFailures"]  # counted as logged in
    agree_all(api)  # then moved on: the stream's record of that change is the write path
    return {"user_id": user_id}


def _stream_event(user_id: str) -> dict[str, Any]:
    return {"Records": [{"dynamodb": {"Keys": {"user_id": {"S": user_id}}, "SequenceNumber": "7"}}]}


def _recount(api: Api, ctx: dict[str, Any]) -> Reply:
    """The stream's delivery, answered as Lambda reads it: a reported record is delivered again."""
    failed = funnel_count(_stream_event(ctx["user_id"]))["batchItemFailures"]
    if failed:
        return Reply(503, {"Retry-After": "1"}, {"error": {"code": "upstream_unavailable"}})
    return Reply(200, {}, {})


def _staff_setup(h: Harness, api: Api) -> dict[str, Any]:
    return {"admin": member("admin", "管理员甲", email="admin@example.com")}


def _staff_add(api: Api, ctx: dict[str, Any]) -> Reply:
    return _ops(lambda: staff_ops.add("新编辑", "editor", email="new.editor@example.com"))


def _staff_deactivate(api: Api, ctx: dict[str, Any]) -> Reply:
    return _ops(lambda: staff_ops.deactivate(ctx["admin"]))


def _legacy_key_setup(h: Harness, api: Api) -> dict[str, Any]:
    """A user whose consent key is still on their user item (before the consent keys' table)."""
    from shared.store.consent import ConsentKeyItem
    from shared.store.users import UserItem

    user_id = consented(api)
    moved = ConsentKeyItem.get(user_id)
    UserItem(user_id).update(
        actions=[UserItem.consent_subject.set(moved.subject), UserItem.consent_key.set(bytes(moved.key))]
    )
    moved.delete()
    return {}


def _migrate_keys(api: Api, ctx: dict[str, Any]) -> Reply:
    """`python -m infra.ops consent migrate-keys`: a key it could not move is reported (exit 1)."""
    from infra.ops import consent as consent_ops

    runs: list[consent_ops.Migrated] = []
    answer = _ops(lambda: runs.append(consent_ops.migrate_keys()))
    if runs and runs[0].left:  # a key it could not move: the operator runs it again
        return Reply(409, {}, {"error": {"code": "conflict"}})
    return answer


PATHS = [
    WritePath("login", _login_setup, _login),
    WritePath("first login", _first_login_setup, _login),
    WritePath("consent decision", _consent_setup, _consent),
    # the link's only write is +1 on the caller's upload window; signing the link calls nothing
    WritePath("upload link", _consented_setup, _upload_link, commit="dynamodb.UpdateItem"),
    WritePath(
        "verification submit",
        _submit_setup,
        _submit,
        commit="dynamodb.TransactWriteItems",
        after_commit=(_without_table("notifications"), _without_uploads),
        reviewers_notified=True,
    ),
    WritePath(
        "verification submit, batched (a window later, with a waiting link)",
        _batched_submit_setup,
        _submit_a_window_later,
        commit="dynamodb.TransactWriteItems",
        after_commit=(_without_table("notifications"), _without_uploads),
        env=BATCHED,
        reviewers_notified=True,
    ),
    WritePath("SLA reminders", _reminders_setup, _remind, resumable=True, mail=True),
    WritePath(
        "review decision",
        _decision_setup,
        _decision,
        commit="dynamodb.TransactWriteItems",
        after_commit=(_without_user_message,),
        html=True,
        env=(("WECHAT_RESULT_TEMPLATE_ID", RESULT_TEMPLATE),),
    ),
    WritePath(
        "verification update keeping an image",
        _update_keeping_setup,
        _update_keeping,
        commit="dynamodb.TransactWriteItems",
        after_commit=(_without_table("notifications"), _without_uploads),
        reviewers_notified=True,
    ),
    WritePath("verification withdrawal", _withdraw_setup, _withdraw, commit="dynamodb.TransactWriteItems"),
    WritePath(
        "update decision",
        _update_decision_setup,
        _decision,
        commit="dynamodb.TransactWriteItems",
        after_commit=(_without_user_message,),
        html=True,
        env=(("WECHAT_RESULT_TEMPLATE_ID", RESULT_TEMPLATE),),
    ),
    WritePath("answers", _answers_setup, _answers),
    # the answers and their statistics' counters move in one transaction
    WritePath("answers change", _answered_setup, _answers_change),
    WritePath("informed consent withdrawal (answers and counts go)", _answered_setup, _informed_withdrawal),
    WritePath("comment post", _comment_setup, _comment),
    # past the content check's inline share: the id to the queue first, then the held comment
    WritePath("comment post past the check's inline share", _queued_setup, _comment),
    WritePath("paced content check (the worker)", _held_setup, _paced_check),
    WritePath("comment delete", _delete_comment_setup, _delete_comment),
    WritePath("report", _report_setup, _report),
    WritePath("report that hides the comment", lambda h, api: _report_setup(h, api, 2), _report),
    WritePath("moderator: restore", _moderator_setup, _moderate("restore"), html=True),
    WritePath(
        "moderator: hide",
        lambda h, api: _moderator_setup(h, api, hidden=False),
        _moderate("hide", {"reason": "abuse"}),
        html=True,
    ),
    WritePath("moderator: delete", _moderator_setup, _moderate("delete"), html=True),
    WritePath("moderator: mute", lambda h, api: _moderator_setup(h, api, hidden=False), _mute, html=True),
    WritePath("account deletion", _account_setup, _delete_account, resumable=True),
    WritePath("sign-in link request", _console_setup, _request_link, html=True, mail=True),
    WritePath("sign-in link use (the session)", _confirm_setup, _confirm, html=True),
    WritePath("sign-out", _sign_out_setup, _sign_out, html=True),
    # opening a submission's credentials writes its audit line first: no line, no images
    WritePath("console: credentials opened", _console_pending_setup, _console_open, html=True),
    WritePath("review link: credentials opened", _decision_setup, _review_page, html=True),
    WritePath("console: claim", _console_pending_setup, _console_claim, html=True),
    WritePath(
        "console: decision",
        _console_pending_setup,
        _console_decision,
        commit="dynamodb.TransactWriteItems",
        after_commit=(_without_user_message,),
        html=True,
    ),
    WritePath("console: revocation", _revoke_setup, _revoke, html=True),
    WritePath("console: article import", _console_editor, _console_reimport, html=True),
    WritePath("console: article schedule", _console_editor, _console_schedule, html=True),
    WritePath("console: article unpublish", _console_editor, _console_unpublish, html=True),
    WritePath("funnel recount (the users table's stream)", _recount_setup, _recount),
    WritePath("consent key migration (an ops command)", _legacy_key_setup, _migrate_keys),
    WritePath("staff add", _staff_setup, _staff_add, mail=True),
    WritePath(
        "staff deactivate",
        _staff_setup,
        _staff_deactivate,
        mail=True,
        commit="dynamodb.TransactWriteItems",
        after_commit=(_without_subscription,),
    ),
]


# ---- running a path with one fault ----
@dataclass
class Prepared:
    """A path's starting state, built once through the API and restored before every run."""

    api: Api
    ctx: dict[str, Any]
    saved: Saved


@dataclass
class Run:
    reply: Reply
    before: Snapshot
    after: Snapshot
    aws: list[AwsCall]
    wechat: list[str]
    injected: int
    api: Api
    ctx: dict[str, Any]


def fresh() -> config.Config:
    """Empty AWS and a cold wiring, as the `aws` fixture leaves them."""
    _wipe_moto()
    wiring.reset()
    cfg = config.current()
    resources.ensure(cfg)
    return cfg


def prepare(h: Harness, path: WritePath) -> Prepared:
    cfg = fresh()
    api = Api()
    ctx = path.setup(h, api)
    return Prepared(api, ctx, save(cfg))


def run(
    h: Harness, path: WritePath, start: Prepared, family: str | None = None, target: int = 0, fault: str = ""
) -> Run:
    """The path's request from the prepared state (a cold container), with one fault if asked."""
    cfg = config.current()
    restore(cfg, start.saved)
    if h.robot is not None:
        h.robot.posts.clear()
        h.robot.statuses = [500] if family == "webhook" else []
    client = wiring.services().wechat()
    aws = h.aws
    wechat = WeChatFaults(client._http, h.wechat.state)
    h.monkeypatch.setattr(client, "_http", wechat)
    before = stored(cfg)
    aws.arm(*((target, fault) if family == "aws" else ()))
    wechat.arm(*((target, fault) if family == "wechat" else ()))
    try:
        reply = path.act(start.api, start.ctx)
    finally:
        aws.disarm()
        wechat.disarm()
        h.wechat.state.failures.clear()
    injected = aws.attempts_failed if family == "aws" else wechat.injected if family == "wechat" else 1
    return Run(
        reply, before, stored(cfg), list(aws.calls), list(wechat.paths), injected, start.api, start.ctx
    )


def _answer_problems(path: WritePath, run_: Run, fault: str) -> list[str]:
    reply, problems = run_.reply, []
    status = reply.status
    if status >= 500 and status != 503:
        problems.append(f"answered a bare {status}")
    if status >= 400:
        if path.html:
            if not reply.headers.get("Content-Type", "").startswith("text/html"):
                problems.append("the reviewer page answered an error that is not HTML")
        else:
            code = (reply.body or {}).get("error", {}).get("code") if isinstance(reply.body, dict) else None
            if code not in API_CODES.get(status, set()):
                problems.append(f"answered {status} with code {code!r}, not one of api.md")
    if status == 503 and not reply.headers.get("Retry-After"):
        problems.append("answered 503 without Retry-After")
    if fault in TRANSIENT and 400 <= status != 503:
        problems.append(f"a transient fault answered {status}, not 503")
    return problems


def _committed(path: WritePath, run_: Run, family: str | None, target: int) -> bool:
    made = [str(c) for i, c in enumerate(run_.aws) if not (family == "aws" and i >= target)]
    return path.commit is not None and any(c.startswith(path.commit) for c in made)


def judge(
    h: Harness, path: WritePath, probe: Run, run_: Run, family: str | None, target: int, fault: str
) -> tuple[str, list[str]]:
    """The state the run left ("before", "after", ...) and what is wrong with the run."""
    problems = _answer_problems(path, run_, fault)
    status = run_.reply.status
    want = normalized(probe.after)
    got = normalized(run_.after)
    if run_.after == run_.before:
        state = "before"
        if status < 400 and path.stores:
            problems.append(f"answered {status} but stored nothing")
        else:  # and the client's retry, once the fault is gone, does the write
            retry = path.act(run_.api, run_.ctx)
            again = normalized(stored(config.current()))
            if retry.status >= 400 or again != want:
                problems.append(
                    f"the retry after the fault answered {retry.status}\n{difference(again, want)}"
                )
    elif got == want:
        state = "after"
        if status >= 400:
            problems.append(f"answered {status} although the write was done")
    elif (
        _committed(path, run_, family, target)
        and relaxed(got, list(path.after_commit)) == relaxed(want, list(path.after_commit))
        and path.after_commit
    ):
        state = "after, best effort held"
        if status >= 400:
            problems.append(f"answered {status} although the write was done")
    elif path.resumable and status >= 400:
        retry = path.act(run_.api, run_.ctx)
        again = normalized(stored(config.current()))
        state = "part done, retry finished it"
        if retry.status >= 400 or again != want:
            problems.append(f"half-way, and the retry answered {retry.status}\n{difference(again, want)}")
    else:
        state = "half-written"
        problems.append(f"neither before nor after:\n{difference(got, want)}")
    if path.reviewers_notified and state.startswith("after"):
        problems += notifications_delivered(h, run_, family, target)
    return state, problems


def notifications_delivered(h: Harness, run_: Run, family: str | None, target: int) -> list[str]:
    """After the fault clears, the scheduled retry delivers what the fault held, once per channel."""
    from moto.core import DEFAULT_ACCOUNT_ID  # type: ignore[attr-defined]
    from moto.sns.models import sns_backends

    from functions import notifier as notifier_fn
    from shared.store.verification import NotificationItem

    submission_id = str(run_.reply.body["submission_id"])
    if NotificationItem.get(submission_id).pending:
        with pytest.MonkeyPatch.context() as later:
            real = wiring.utcnow
            later.setattr(wiring, "utcnow", lambda: real() + timedelta(minutes=10))
            cold_start()  # the scheduled function, past the backoff
            notifier_fn.retry()
        cold_start()
    item = NotificationItem.get(submission_id)
    problems = [] if item.outcome == "delivered" else [f"the retry left the notification {item.outcome}"]
    topic = sns_backends[DEFAULT_ACCOUNT_ID][config.current().region].topics[config.current().topic_arn]
    emails = [
        m
        for m in topic.sent_notifications
        if (m[3] or {}).get("reviewer_id", {}).get("Value") == run_.ctx["email_reviewer"]
    ]
    assert h.robot is not None
    hooks = [p for p in h.robot.posts if p["status"] == 200]
    # Sent but not recorded (the notification's own update failed): at least once is the promise.
    recorded = not (
        family == "aws"
        and "notifications" in run_.aws[target].tables
        and run_.aws[target].operation == "UpdateItem"
    )
    for channel, sent in (("sns", len(emails)), ("webhook", len(hooks))):
        if sent < 1 or (recorded and sent != 1):
            problems.append(f"{channel}: the reviewer got {sent} messages")
    return problems


def faults_of(probe: Run, path: WritePath) -> Iterator[tuple[str, int, str, str]]:
    """(family, call index, call name, fault) for every call of the clean run."""
    for index, call in enumerate(probe.aws):
        for fault in AWS_FAULTS:
            if fault != "conditional" or call.conditional:
                yield "aws", index, str(call), fault
    for index, wechat_path in enumerate(probe.wechat):
        for fault in WECHAT_FAULTS:
            yield "wechat", index, wechat_path, fault
    if path.reviewers_notified:
        yield "webhook", 0, "reviewer webhook", "http_500"


@pytest.fixture
def harness(
    env: dict[str, str], aws: config.Config, wechat: FakeWeChatServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Harness]:
    # A token refresh left half-way by a fault holds its lease for a few seconds: waiting for it
    # is tested elsewhere (test_wechat_messaging), here it would only slow the matrix down.
    monkeypatch.setattr("shared.adapters.wechat.TOKEN_WAIT_SECONDS", 0.001)
    h = Harness(env, wechat, monkeypatch, AwsFaults().install())
    try:
        yield h
    finally:
        h.aws.uninstall()
        if h.robot is not None:
            h.robot.stop()
        wechat.state.failures.clear()


@pytest.mark.parametrize("path", PATHS, ids=[p.name.replace(" ", "-") for p in PATHS])
def test_each_call_failing_leaves_the_state_before_or_after(harness: Harness, path: WritePath) -> None:
    for name, value in path.env:
        harness.monkeypatch.setenv(name, value)
    if path.reviewers_notified:
        harness.robot = FakeRobot()
    if path.reviewers_notified or path.mail:
        harness.monkeypatch.setenv("REVIEWER_TOPIC_ARN", resources.ensure(config.current()).topic_arn)
    wiring.reset()
    start = prepare(harness, path)
    probe = run(harness, path, start)
    assert probe.reply.status < 400, (probe.reply.status, probe.reply.body)  # a console form: 303
    assert probe.aws, "the clean run made no AWS call: the hooks are not on the clients in use"
    assert (normalized(probe.after) != normalized(probe.before)) == path.stores, "what the clean run stored"
    if path.reviewers_notified:
        assert notifications_delivered(harness, probe, None, 0) == []
    if path.commit is not None:
        assert any(str(c).startswith(path.commit) for c in probe.aws), [str(c) for c in probe.aws]
    rows, problems = [], []
    for family, index, call, fault in faults_of(probe, path):
        if family == "aws" and fault == "conditional" and (path.name, call) in CONDITION_TRUSTED:
            rows.append(f"{index:>2} {call:<60} {fault:<11} (trusted: 'already done')")
            continue
        faulted = run(harness, path, start, family, index, fault)
        if faulted.injected == 0:
            problems.append(f"{index} {call} {fault}: the fault was never injected (the calls changed)")
            continue
        state, found = judge(harness, path, probe, faulted, family, index, fault)
        code = (
            faulted.reply.body.get("error", {}).get("code", "")
            if isinstance(faulted.reply.body, dict)
            else ""
        )
        rows.append(f"{index:>2} {call:<60} {fault:<11} {faulted.reply.status} {code:<21} {state}")
        problems += [f"{path.name}: call {index} {call} {fault}: {p}" for p in found]
    print(f"\n{path.name}: {len(probe.aws)} AWS calls, {len(probe.wechat)} WeChat calls, {len(rows)} faults")
    print("\n".join(rows))
    assert not problems, "\n".join(problems)


# ---- the edge's mapping of AWS faults, on the exceptions as the code meets them ----
def _client_error(code: str, status: int = 400) -> Exception:
    from botocore.exceptions import ClientError

    response: Any = {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, "Op")


@pytest.mark.parametrize(
    ("cause", "status"),
    [
        ("ProvisionedThroughputExceededException", 503),
        ("ThrottlingException", 503),
        ("SlowDown", 503),
        ("read_timeout", 503),
        ("connect_timeout", 503),
        ("InternalServerError", 503),
        ("ConditionalCheckFailedException", 409),
        ("AccessDeniedException", None),  # a deployment fault: stays a logged 500
        ("ValidationException", None),
    ],
)
def test_the_edge_maps_aws_faults_wrapped_by_pynamodb(cause: str, status: int | None) -> None:
    from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError
    from pynamodb.exceptions import TransactWriteError

    from shared.edge import upstream_error

    raw: Exception
    if cause == "read_timeout":
        raw = ReadTimeoutError(endpoint_url="https://dynamodb")
    elif cause == "connect_timeout":
        raw = ConnectTimeoutError(endpoint_url="https://dynamodb")
    else:
        raw = _client_error(cause, 500 if cause == "InternalServerError" else 400)
    wrapped = TransactWriteError("Failed to write transaction items", raw)
    # pynamodb's own check must not crash on a timeout (it did: `response` is None there)
    assert wrapped.cause_response_code == (None if "timeout" in cause else cause)
    mapped = upstream_error(wrapped)
    assert (mapped.status if mapped else None) == status
    if status == 503:
        assert mapped is not None and mapped.headers["Retry-After"]
