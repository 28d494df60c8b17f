"""The staff console: sign-in by one-time link, sessions, CSRF and origin, roles, the dashboard."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import boto3
import pytest

from infra.metering import metered
from infra.ops import staff as ops
from shared import config, wiring
from shared.domain.staff import SIGN_IN_PER_ADDRESS, SIGN_IN_PER_WHO
from shared.store.audit import AuditItem as StaffAuditItem
from shared.store.staff import SignInLinkItem
from tests.functional.conftest import Api
from tests.functional.consent_helpers import consented
from tests.functional.console_helpers import Browser, hidden, member, sign_in_links
from tests.functional.verification_helpers import add_reviewer, outbox, submit, upload
from tests.language import CHINESE, ENGLISH_SENTENCE


def _later(monkeypatch: pytest.MonkeyPatch, **delta: float) -> None:
    real = wiring.utcnow
    monkeypatch.setattr(wiring, "utcnow", lambda: real() + timedelta(**delta))
    wiring.reset()


def _topic(monkeypatch: pytest.MonkeyPatch, cfg: config.Config) -> str:
    arn = boto3.client("sns", region_name=cfg.region).create_topic(Name=f"{cfg.table_prefix}reviewers")
    monkeypatch.setenv("REVIEWER_TOPIC_ARN", arn["TopicArn"])
    wiring.reset()
    return str(arn["TopicArn"])


def _published(arn: str) -> list[tuple[str, str]]:
    """(the staff id it is filtered to, the text) of every message sent to the topic."""
    from moto.core import DEFAULT_ACCOUNT_ID  # type: ignore[attr-defined]
    from moto.sns.models import sns_backends

    topic = sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].topics[arn]
    return [(m[3]["reviewer_id"]["Value"], m[1]) for m in topic.sent_notifications]


def _audit() -> list[tuple[str, str, str, str | None]]:
    lines = sorted(StaffAuditItem.scan(), key=lambda i: i.entry)
    return [(i.action, i.actor, i.staff_id, i.outcome) for i in lines if i.subject.startswith("staff#")]


def _visible(html: str) -> str:
    body = html.split("<body>", 1)[-1]
    return re.sub(r"<[^>]*>", " ", body)


def _links() -> list[dict[str, object]]:
    return sorted((i.attribute_values for i in SignInLinkItem.scan()), key=lambda v: str(v["key"]))


def _cookie_line(reply_headers: dict[str, str], name: str) -> str:
    return next(
        line for line in reply_headers.get("Set-Cookie", "").splitlines() if line.startswith(f"{name}=")
    )


def test_a_member_signs_in_through_the_link_in_their_own_channel(api: Api, env: dict[str, str]) -> None:
    admin = member("admin", "管理员甲", email="admin@example.com")
    browser = Browser(api)
    login = browser.get("/console/login")
    assert login.status == 200 and "控制台登录" in login.text
    pre = _cookie_line(login.headers, "hcp_console_pre")
    assert "HttpOnly" in pre and "SameSite=Strict" in pre and "Path=/console" in pre and "Secure" not in pre
    sent = browser.post("/console/login", {"csrf": hidden(login.text), "who": "Admin@Example.com"})
    assert sent.status == 200 and 'data-state="sent"' in sent.text
    (entry,) = [e for e in outbox(env["OUTBOX_PATH"]) if e["channel"] == "staff"]
    assert (entry["staff_id"], entry["kind"]) == (admin, "sign_in")
    link = entry["link"]
    assert link.startswith(f"{config.current().public_base_url}/console/auth?t=") and link in entry["text"]
    # opening the link's page twice (a mail scanner, then the member) uses nothing
    parts = urlsplit(link)
    for _ in range(2):
        page = browser.get(f"{parts.path}?{parts.query}")
        assert page.status == 200 and "确认登录" in page.text
    assert [i.used_at for i in SignInLinkItem.scan() if i.staff_id] == [None]
    confirmed = browser.post("/console/auth", {"t": hidden(page.text, "t"), "csrf": hidden(page.text)})
    assert confirmed.status == 303 and confirmed.headers["Location"] == "/console"
    session = _cookie_line(confirmed.headers, "hcp_console")
    assert re.search(r"Max-Age=(\d+)", session)[1] == str(12 * 3600)  # type: ignore[index]
    assert all(part in session for part in ("HttpOnly", "SameSite=Strict", "Path=/console"))
    assert "Secure" not in session  # the test stage is served over plain HTTP; deployed stages add it
    dashboard = browser.get("/console")
    assert dashboard.status == 200 and "管理员甲" in dashboard.text and "待审核的认证申请" in dashboard.text
    # the link works once
    again = Browser(api).confirm(link)
    assert again.status == 403 and "链接无效" in again.text
    assert _audit() == [
        ("staff_add", "ops", admin, None),
        ("sign_in_link", "-", admin, "sent"),  # asked anonymously
        ("sign_in", admin, admin, None),
    ]


def test_a_request_answers_and_works_the_same_whoever_it_names(
    api: Api, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Known by id, e-mail or name, unknown, a group robot, deactivated: the same page, and the
    same AWS calls (counted on every client the request uses), in the same order."""
    arn = _topic(monkeypatch, config.current())
    admin = member("admin", "管理员甲", email="admin@example.com")
    add_reviewer("值班群", webhook="https://robot.example/hook")
    gone = member("editor", "离职编辑", email="gone@example.com")
    ops.deactivate(gone)
    browser = Browser(api)
    csrf = hidden(browser.get("/console/login").text)
    answers: dict[str, tuple[int, str, list[str]]] = {}
    for label, who in (
        ("id", admin.lower()),
        ("email", "ADMIN@example.com"),
        ("name", " 管理员甲 "),
        ("unknown", "nobody@example.com"),
        ("robot", "值班群"),
        ("inactive", gone),
    ):
        with metered(wiring.services().sns.client) as meter:
            reply = browser.post("/console/login", {"csrf": csrf, "who": who})
        answers[label] = (reply.status, reply.text, meter.calls)
    assert answers["id"][2] == ["GetItem", "GetItem", "TransactWriteItems", "Publish"]
    assert len({(status, text, tuple(calls)) for status, text, calls in answers.values()}) == 1, answers
    published = _published(arn)
    assert [to for to, _ in published] == [admin, admin, admin, "-", "-", "-"]
    assert all("/console/auth?t=" in text for to, text in published if to == admin)
    assert not any("http" in text for to, text in published if to == "-")
    assert len(sign_in_links(env["OUTBOX_PATH"])) == 3  # the local stand-in of e-mail: the member only
    outcomes = [o for action, _, _, o in _audit() if action == "sign_in_link"]
    assert outcomes == ["sent", "sent", "sent", "unknown", "no_channel", "inactive"]


def test_requests_are_limited_per_handle_and_per_address(api: Api) -> None:
    browser = Browser(api)
    csrf = hidden(browser.get("/console/login").text)
    for _ in range(SIGN_IN_PER_WHO):
        assert browser.post("/console/login", {"csrf": csrf, "who": "someone@example.com"}).status == 200
    limited = browser.post("/console/login", {"csrf": csrf, "who": "SOMEONE@example.com"})
    assert limited.status == 429 and 0 < int(limited.headers["Retry-After"]) <= 900
    assert "太频繁" in limited.text and "分钟后再试" in limited.text
    assert not ENGLISH_SENTENCE.search(_visible(limited.text))
    for n in range(SIGN_IN_PER_ADDRESS - SIGN_IN_PER_WHO):
        assert browser.post("/console/login", {"csrf": csrf, "who": f"other{n}"}).status == 200
    assert browser.post("/console/login", {"csrf": csrf, "who": "yet-another"}).status == 429
    # another address is not held back by this one
    page = api.call("GET", "/console/login", token="")
    assert page.status == 200


def test_a_link_lasts_fifteen_minutes(api: Api, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    admin = member("admin", "管理员甲")
    browser = Browser(api)
    assert browser.request_link(admin).status == 200
    (link,) = sign_in_links(env["OUTBOX_PATH"], admin)
    _later(monkeypatch, minutes=15, seconds=1)
    expired = browser.confirm(link)
    assert expired.status == 403 and "链接无效、已使用或已过期" in expired.text
    assert "hcp_console=" not in expired.headers.get("Set-Cookie", "")


def test_sign_out_deactivation_and_twelve_hours_end_a_session(
    api: Api, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = member("admin", "管理员甲")
    editor = member("editor", "编辑乙")
    first, second, third = Browser(api), Browser(api), Browser(api)
    for browser, who in ((first, admin), (second, editor), (third, admin)):
        assert browser.sign_in(who, env["OUTBOX_PATH"], who).status == 303
    out = first.post("/console/logout", {"csrf": first.csrf()})
    assert out.status == 303 and out.headers["Location"] == "/console/login"
    assert "hcp_console" not in first.cookies
    assert third.get("/console").status == 200  # another session of the same member lives on
    dead = Browser(api, cookies={"hcp_console": third.cookies["hcp_console"]})
    assert dead.get("/console").status == 200
    ops.deactivate(admin)
    gone = third.get("/console")
    assert gone.status == 303 and gone.headers["Location"] == "/console/login"
    assert second.get("/console").status == 200
    _later(monkeypatch, hours=12, seconds=1)
    assert second.get("/console").status == 303
    assert [a for a, *_ in _audit()].count("sign_out") == 1
    assert ("staff_deactivate", "ops", admin, None) in _audit()


def test_a_post_without_its_fields_origin_or_session_is_403_and_changes_nothing(
    api: Api, env: dict[str, str]
) -> None:
    admin = member("admin", "管理员甲")
    browser = Browser(api)
    assert browser.sign_in(admin, env["OUTBOX_PATH"], admin).status == 303
    csrf = browser.csrf()
    before = (_audit(), _links())
    for form, origin in (
        ({"csrf": "0" * 64}, None),
        ({}, None),
        ({"csrf": csrf}, "https://evil.example"),
        ({"csrf": csrf}, ""),  # neither Origin nor Referer: refused on the console
    ):
        refused = browser.post("/console/logout", form, origin=origin)
        assert refused.status == 403 and refused.headers["Content-Type"].startswith("text/html")
        assert CHINESE.search(refused.text)
    stranger = Browser(api)  # no pre-sign-in cookie, so no CSRF field it could know
    assert stranger.post("/console/login", {"csrf": csrf, "who": admin}).status == 403
    signed_out = Browser(api)
    assert signed_out.post("/console/logout", {"csrf": csrf}).status == 403
    link_page = browser.get(f"/console/auth?t={'A' * 43}")
    assert browser.post("/console/auth", {"t": "A" * 43, "csrf": "0" * 64}).status == 403
    assert browser.post("/console/auth", {"t": "A" * 43, "csrf": hidden(link_page.text)}).status == 403
    assert browser.get("/console/auth?t=short").status == 403
    assert (_audit(), _links()) == before
    assert browser.get("/console").status == 200


def test_a_page_outside_the_role_is_a_403_page(api: Api, env: dict[str, str]) -> None:
    for role in ("reviewer", "moderator", "editor", "admin"):
        who = member(role, f"{role}成员")
        browser = Browser(api)
        browser.sign_in(who, env["OUTBOX_PATH"], who)
        assert browser.get("/console").status == 200
        staff = browser.get("/console/staff")
        if role == "admin":
            assert staff.status == 200 and 'data-staff="' in staff.text and "@example.com" not in staff.text
        else:
            assert staff.status == 403 and "无权访问" in staff.text and "data-staff" not in staff.text
            assert 'href="/console/staff"' not in browser.get("/console").text
    stranger = Browser(api)
    for path in ("/console", "/console/staff"):
        reply = stranger.get(path)
        assert reply.status == 303 and reply.headers["Location"] == "/console/login"


def test_the_dashboard_counts_pending_submissions_and_the_oldest_ones_age(
    api: Api, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    add_reviewer()
    for name in ("alice", "bob"):
        consented(api, name)
        assert submit(api, [upload(api)]).status == 201
    _later(monkeypatch, hours=26, minutes=5)
    reviewer = member("reviewer", "审核员乙")
    browser = Browser(api)
    browser.sign_in(reviewer, env["OUTBOX_PATH"], reviewer)
    page = browser.get("/console")
    assert re.search(r'data-number="pending">2<', page.text)
    assert re.search(r'data-number="oldest">1天2小时<', page.text)
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script" not in page.text.lower()
