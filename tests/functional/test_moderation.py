"""Reports, the moderation queue, mutes and exact counts, through the real handlers on moto."""

from __future__ import annotations

import contextlib
import random
import re
import threading
from datetime import timedelta
from typing import Any

import pytest

from shared import wiring
from shared.services.moderation import user_subject
from shared.store.audit import AuditItem
from tests.functional.article_helpers import ARTICLE, all_comments, count, post, seed_articles, verified
from tests.functional.conftest import Api
from tests.functional.console_helpers import Browser, member
from tests.functional.test_articles import tokens_of

HOSTILE = '<img src=x onerror="alert(1)">'


@pytest.fixture
def writer(api: Api) -> str:
    seed_articles()
    verified(api, "writer")
    assert api.token
    return api.token


def _report(token: str, comment_id: str, reason: str = "misinformation", text: str | None = None) -> Any:
    body: dict[str, Any] = {"reason": reason}
    if text is not None:
        body["text"] = text
    return Api().post(f"/v1/comments/{comment_id}/reports", body, token=token)


def _moderator(api: Api, env: dict[str, str], role: str = "moderator") -> Browser:
    who = member(role, f"{role}-管理")
    browser = Browser(api)
    assert browser.sign_in(who, env["OUTBOX_PATH"], who).status == 303
    return browser


def test_three_readers_hide_a_comment_until_a_moderator_restores_it(
    api: Api, env: dict[str, str], writer: str
) -> None:
    comment = post(api, "某药可根治高血压", token=writer).body["id"]
    readers = tokens_of(api, ["r1", "r2", "r3"])
    first = _report(readers[0], comment, text=HOSTILE)
    assert first.status == 201 and first.body["comment_id"] == comment
    again = _report(readers[0], comment, "spam")
    assert again.status == 200  # a repeat counts nothing
    assert _report(readers[1], comment).status == 201 and count(api, token=writer) == 1
    assert _report(readers[2], comment, "abuse").status == 201
    assert count(api, token=writer) == 0
    assert all_comments(api, token=readers[0]) == []
    (mine,) = all_comments(api, token=writer)
    assert (mine["state"], mine["reason_text"]) == ("hidden", "虚假或误导性医学信息")
    assert _report(readers[0], comment).status == 404  # hidden: nothing to report

    browser = _moderator(api, env)
    page = browser.get("/console/comments")
    assert page.status == 200 and f'data-comment="{comment}"' in page.text
    assert HOSTILE not in page.text and "&lt;img src=x" in page.text  # the reader's words, escaped
    assert "被 3 位读者举报后自动隐藏" in page.text
    dashboard = browser.get("/console").text
    assert re.search(r'data-number="comments">1<', dashboard)
    restored = browser.post(f"/console/comments/{comment}/restore", {"csrf": browser.csrf()})
    assert restored.status == 303 and count(api, token=writer) == 1
    assert "data-empty" in browser.get("/console/comments").text
    assert _report(readers[0], comment).status == 201  # a restored comment starts from no reports
    lines = [(a.action, a.reason) for a in AuditItem.query(f"comment#{comment}")]
    assert lines == [("comment_restore", None)]


def test_a_moderator_hides_with_a_reason_and_deletes(api: Api, env: dict[str, str], writer: str) -> None:
    spam = post(api, "这是一条无关的推销", token=writer).body["id"]
    second = post(api, "正常的讨论", token=writer)
    assert second.status == 201, second.body
    other = second.body["id"]
    browser = _moderator(api, env, "admin")
    csrf = browser.csrf()
    assert browser.post(f"/console/comments/{spam}/hide", {"csrf": csrf, "reason": "nonsense"}).status == 400
    assert count(api, token=writer) == 2
    assert browser.post(f"/console/comments/{spam}/hide", {"csrf": csrf, "reason": "spam"}).status == 303
    assert count(api, token=writer) == 1
    hidden = browser.get("/console/comments?queue=hidden").text
    assert f'data-comment="{spam}"' in hidden and "垃圾广告" in hidden
    by_id = {c["id"]: c for c in all_comments(api, token=writer)}
    assert (by_id[spam]["state"], by_id[spam]["reason_text"]) == ("hidden", "垃圾广告")
    assert browser.post(f"/console/comments/{other}/delete", {"csrf": csrf}).status == 303
    assert count(api, token=writer) == 0
    assert browser.post(f"/console/comments/{other}/delete", {"csrf": csrf}).status == 409
    assert browser.get("/console/comments?queue=elsewhere").status == 400
    audit = browser.get(f"/console/audit?subject=comment%23{spam}")
    assert audit.status == 200 and 'data-action="comment_hide"' in audit.text


def test_reports_say_what_is_wrong_clearly(api: Api, writer: str) -> None:
    comment = post(api, "评论", token=writer).body["id"]
    (reader,) = tokens_of(api, ["r9"])
    bad = _report(reader, comment, "boring", "长" * 201)
    assert bad.status == 400
    assert [f["field"] for f in bad.body["error"]["fields"]] == ["reason", "text"]
    assert _report(writer, comment).status == 403  # one's own
    assert _report(reader, f"01JDDDDDDDDDDDDDDDDDDDDDDD.{ARTICLE}").status == 404
    assert (
        Api().post(f"/v1/comments/{comment}/reports", {"reason": "spam", "x": 1}, token=reader).status == 400
    )


def test_reports_are_limited_per_reader(api: Api, writer: str, monkeypatch: pytest.MonkeyPatch) -> None:
    real = wiring.utcnow
    comments = []
    for n in range(21):
        if n and n % 5 == 0:  # past the writer's own limit of five comments a minute
            shift = timedelta(minutes=n // 5 * 2)
            monkeypatch.setattr(wiring, "utcnow", lambda shift=shift: real() + shift)
            wiring.reset()
        reply = post(api, f"评论{n}", token=writer)
        assert reply.status == 201, reply.body
        comments.append(reply.body["id"])
    (reader,) = tokens_of(api, ["r10"])
    statuses = [_report(reader, c, "spam").status for c in comments]
    assert statuses[:20] == [201] * 20 and statuses[20] == 429
    limited = _report(reader, comments[20], "spam")
    assert int(limited.headers["Retry-After"]) >= 1 and "每小时最多 20 次" in limited.body["error"]["message"]


def test_a_mute_from_the_console_stops_posting_and_reporting_and_ends_by_itself(
    api: Api, env: dict[str, str], writer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    comment = post(api, "评论", token=writer).body["id"]
    (reader,) = tokens_of(api, ["r11"])
    reader_id = Api().get("/v1/me", token=reader).body["id"]
    browser = _moderator(api, env)
    assert (
        browser.post(f"/console/users/{reader_id}/mute", {"csrf": browser.csrf(), "days": "x"}).status == 400
    )
    assert (
        browser.post(f"/console/users/{reader_id}/mute", {"csrf": browser.csrf(), "days": "3"}).status == 303
    )
    refused = post(Api(), "还想说", token=reader)
    assert refused.status == 403 and refused.body["error"]["code"] == "muted"
    assert refused.body["error"]["until"].endswith("+08:00")
    assert _report(reader, comment).status == 403
    page = browser.get(f"/console/users/{reader_id}").text
    assert 'data-mute="until"' in page and 'data-mute-line="mute"' in page and "3 天" in page
    real = wiring.utcnow
    monkeypatch.setattr(wiring, "utcnow", lambda: real() + timedelta(days=3, minutes=1))
    wiring.reset()
    assert post(Api(), "禁言结束了", token=reader).status == 201  # it ended by itself
    monkeypatch.setattr(wiring, "utcnow", real)
    wiring.reset()
    assert (
        browser.post(f"/console/users/{reader_id}/mute", {"csrf": browser.csrf(), "days": "0"}).status == 303
    )
    assert post(Api(), "不限期", token=reader).body["error"]["until"] is None
    assert browser.post(f"/console/users/{reader_id}/unmute", {"csrf": browser.csrf()}).status == 303
    assert post(Api(), "解除了", token=reader).status == 201
    lines = [a.action for a in AuditItem.query(user_subject(reader_id))]
    assert reader_id not in str([a.attribute_values for a in AuditItem.scan()])  # a digest names them
    admin = _moderator(api, env, "admin")
    assert admin.get(f"/console/audit?subject=user%23{reader_id}").text.count('data-action="mute"') == 2
    assert lines == ["mute", "mute", "unmute"]


def test_counts_stay_exact_under_concurrent_reports_restores_hides_and_deletes(
    api: Api, env: dict[str, str], writer: str, atomic_moto: None
) -> None:
    ids = [post(api, f"并发{n}", token=writer).body["id"] for n in range(5)]
    readers = tokens_of(api, [f"cr{n}" for n in range(6)])
    moderation = wiring.services().moderation
    rng = random.Random(7)  # noqa: S311 - a reproducible interleaving
    errors_seen: list[str] = []

    def report(token: str, comment_id: str) -> None:
        reply = _report(token, comment_id, "spam")
        if reply.status not in (200, 201, 404):
            errors_seen.append(f"report {reply.status} {reply.text[:120]}")

    def decide(action: str, comment_id: str) -> None:
        from shared import errors

        with contextlib.suppress(errors.Conflict, errors.NotFound):  # another came first: it moved
            getattr(moderation, action)("mod-x", comment_id, *(["spam"] if action == "hide" else []))

    jobs: list[threading.Thread] = []
    for comment_id in ids:
        jobs += [threading.Thread(target=report, args=(t, comment_id)) for t in readers]
        jobs += [
            threading.Thread(target=decide, args=(rng.choice(["restore", "hide", "delete"]), comment_id))
            for _ in range(3)
        ]
    rng.shuffle(jobs)
    for job in jobs:
        job.start()
    for job in jobs:
        job.join(timeout=120)
    assert not errors_seen, errors_seen
    wiring.reset()
    visible = all_comments(api, token=readers[0])
    assert count(api, token=writer) == len(visible)
