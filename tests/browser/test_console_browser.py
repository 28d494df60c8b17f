"""A staff member signs in to the console in a real Chromium: the link from the outbox, the
confirmation, the dashboard with its funnel (at 375 px and on a desktop), sign-out. Screenshots in
test-artifacts/.

Same requirements as tests/browser/test_review_browser.py (Debian's chromium, the playwright
package, never `playwright install`); skipped, saying why, without them.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS
from tests.e2e.conftest import Client, RunningStack, wait_for
from tests.e2e.journey import FIELDS, bring, consent, image, upload

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 800}


def _sign_in_link(stack: RunningStack, staff_id: str, after: int) -> str:
    def found() -> str | None:
        entries = [json.loads(line) for line in stack.outbox()][after:]
        hits = [e["link"] for e in entries if e.get("kind") == "sign_in" and e.get("staff_id") == staff_id]
        return hits[-1] if hits else None

    return str(wait_for(found))


def test_a_member_signs_in_from_the_outbox_link_and_lands_on_the_dashboard(
    chromium: Any, stack: RunningStack
) -> None:
    waiting, verifying = Client(stack), Client(stack)  # two mini-program users for the funnel
    waiting.login("console-browser-a")
    verifying.login("console-browser-b")
    consent(verifying)
    context = chromium.new_context(viewport=PHONE)
    page = context.new_page()
    blocked: list[str] = []
    page.on(
        "console", lambda msg: blocked.append(msg.text) if "Content Security Policy" in msg.text else None
    )

    page.goto(stack.url("/console"))
    assert page.url.endswith("/console/login") and page.locator("h1").inner_text() == "控制台登录"
    before = len(stack.outbox())
    page.fill("input[name=who]", "demo-admin")
    page.click("button[type=submit]")
    assert page.locator("[data-state=sent]").count() == 1
    link = _sign_in_link(stack, "demo-admin", before)
    assert link.startswith(stack.base_url + "/console/auth?t=")

    page.goto(link)
    assert page.locator("h1").inner_text() == "确认登录"
    page.click("button.primary")
    page.wait_for_url(stack.url("/console"))
    assert page.locator("h1").inner_text() == "概览"
    assert page.locator("[data-number=pending]").inner_text() == "0"

    def counted() -> bool:  # the users table's stream reaches the funnel within a second or so
        page.reload()
        return (
            page.locator("[data-number=users]").count() == 1
            and page.locator("[data-number=users]").inner_text() == "2"
        )

    wait_for(counted)
    assert page.locator("svg.funnel g[data-step=verify]").get_attribute("data-users") == "1"
    assert page.locator("svg.funnel g[data-step=identity_agreement]").get_attribute("data-users") == "1"
    assert "演示管理员（管理员）" in page.locator("nav").inner_text()
    session = next(c for c in context.cookies() if c["name"] == "hcp_console")
    assert session["httpOnly"] and session["sameSite"] == "Strict" and session["path"] == "/console"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scroll
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "console-dashboard-phone.png"), full_page=True)
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(ARTIFACTS / "console-dashboard.png"), full_page=True)

    page.click("text=员工")
    assert page.locator("tr[data-staff=demo-reviewer]").count() == 1
    page.click("button:has-text('退出登录')")
    page.wait_for_url(stack.url("/console/login"))
    page.goto(stack.url("/console"))
    assert page.url.endswith("/console/login")  # the session is gone
    page.goto(link)  # the link was used once
    page.click("button.primary")
    assert "链接无效" in page.locator("h1").inner_text()
    assert not blocked, blocked
    context.close()


def _sign_in(page: Any, stack: RunningStack, staff_id: str) -> None:
    page.goto(stack.url("/console/login"))
    before = len(stack.outbox())
    page.fill("input[name=who]", staff_id)
    page.click("button[type=submit]")
    page.goto(_sign_in_link(stack, staff_id, before))
    page.click("button.primary")
    page.wait_for_url(stack.url("/console"))


def _resubmit_keeping(client: Client) -> str:
    """The applicant reads the note, corrects the name (完善信息), uploads only what must be
    redone and keeps the rest: the new submission's id."""
    status = client.call("GET", "/v1/verification").json()
    assert status["status"] == "rejected" and status["note"] == "执业证书照片反光，请重新拍摄"
    assert status["redo_documents"] == ["practice_license"] and "内部" not in str(status)
    assert {d["kind"]: d["keepable"] for d in status["documents"]} == {
        "practice_license": False,
        "work_badge": True,
    }
    redone = {**FIELDS, **status["fields"], "real_name": "钱医生"}
    redone.update(documents=[upload(client, image((30, 160, 90)))], keep=["work_badge"])
    answer = client.call("POST", "/v1/verification", redone)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["submission_id"])


def test_a_reviewer_works_the_queue_rejects_with_a_note_then_approves_the_resubmission(
    chromium: Any, stack: RunningStack
) -> None:
    client = Client(stack)
    client.login("console-queue-qian")
    consent(client)
    documents = [upload(client, image((30, 120, 200))), upload(client, image((200, 120, 30)), "work_badge")]
    body = {**FIELDS, "real_name": "钱<b>医生</b>", "department": "心内科", "documents": documents}
    first = client.call("POST", "/v1/verification", body).json()["submission_id"]
    context = chromium.new_context(viewport=PHONE)
    page = context.new_page()
    blocked: list[str] = []
    page.on(
        "console", lambda msg: blocked.append(msg.text) if "Content Security Policy" in msg.text else None
    )
    _sign_in(page, stack, "demo-reviewer")
    page.click("nav >> text=认证审核")
    assert page.locator("h1").inner_text() == "待审核的认证申请"
    row = page.locator(f"li[data-submission='{first}']")
    assert row.count() == 1 and "钱" not in row.inner_text()  # the queue lists no personal value
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "console-queue-phone.png"), full_page=True)
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(ARTIFACTS / "console-queue.png"), full_page=True)

    row.locator("a").click()
    assert page.locator("h1").inner_text() == "审核认证申请"
    assert page.get_by_text("钱<b>医生</b>").count() == 1  # shown as typed, never as markup
    page.click("button:has-text('认领此申请')")
    assert page.locator("[data-claim=mine]").count() == 1
    page.locator("figure img").first.wait_for()
    page.screenshot(path=str(ARTIFACTS / "console-decision-page.png"), full_page=True)
    page.select_option("select[name=reason]", "image_unreadable")
    page.check("input[name=redo][value=practice_license]")
    rejecting = page.locator("form", has=page.locator("button.reject"))
    rejecting.locator("textarea[name=note]").fill("执业证书照片反光，请重新拍摄")
    rejecting.locator("textarea[name=internal_note]").fill("内部：核对注册系统")
    page.click("button.reject")
    assert page.locator("[data-decision]").get_attribute("data-decision") == "rejected"

    second = _resubmit_keeping(client)
    page.goto(stack.url("/console/verifications"))
    page.locator(f"li[data-submission='{second}'] a").click()
    assert "此前的提交" in page.content() and page.locator("figure img").count() == 2  # the kept one too
    page.click("button.approve")
    assert page.locator("[data-decision]").get_attribute("data-decision") == "approved"
    assert client.call("GET", "/v1/me").json()["next_step"] in ("questions", "done")
    page.goto(stack.url("/console/verifications"))
    assert (
        page.locator("[data-empty]").count() == 1
        or page.locator(f"li[data-submission='{second}']").count() == 0
    )
    assert not blocked, blocked
    context.close()


def test_a_moderator_restores_a_comment_three_readers_reported(chromium: Any, stack: RunningStack) -> None:
    writer = Client(stack)
    bring(writer, "console-moderated-writer", "done")
    article = writer.call("GET", "/v1/articles").json()["items"][0]["id"]
    posted = writer.call(
        "POST", f"/v1/articles/{article}/comments", {"text": "我认为该药物在老年患者中无需减量。"}
    )
    assert posted.status_code == 201, posted.text
    comment = posted.json()["id"]
    for n in range(3):
        reader = Client(stack)
        bring(reader, f"console-moderated-reader-{n}", "done")
        reported = reader.call(
            "POST",
            f"/v1/comments/{comment}/reports",
            {"reason": "misinformation", "text": "<b>与指南不符</b>"},
        )
        assert reported.status_code == 201, reported.text
    mine = writer.call("GET", f"/v1/articles/{article}/comments").json()["items"]
    assert [(c["id"], c["state"]) for c in mine if c["id"] == comment] == [(comment, "hidden")]

    context = chromium.new_context(viewport=PHONE)
    page = context.new_page()
    blocked: list[str] = []
    page.on(
        "console", lambda msg: blocked.append(msg.text) if "Content Security Policy" in msg.text else None
    )
    _sign_in(page, stack, "demo-moderator")
    assert page.locator("[data-number=comments]").inner_text() != "0"
    page.click("nav >> text=评论管理")
    item = page.locator(f"li[data-comment='{comment}']")
    assert item.count() == 1 and "被 3 位读者举报后自动隐藏" in item.inner_text()
    assert item.get_by_text("<b>与指南不符</b>").count() == 3  # the readers' words, shown as typed
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "console-moderation-phone.png"), full_page=True)
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(ARTIFACTS / "console-moderation.png"), full_page=True)
    item.locator("button:has-text('恢复显示')").click()
    page.wait_for_url(stack.url("/console/comments"))
    assert page.locator(f"li[data-comment='{comment}']").count() == 0
    shown = writer.call("GET", f"/v1/articles/{article}/comments").json()["items"]
    assert [(c["id"], c["state"]) for c in shown if c["id"] == comment] == [(comment, "visible")]
    assert not blocked, blocked
    context.close()


BROWSER_ARTICLE = """---
id: browser-scheduled
title: 浏览器定时发布的文章
published_at: 2026-11-20T09:00:00+08:00
author: 编辑部
original: true
summary: 编辑在控制台导入并定时发布。
---
导语：先说背景。

## 问：定时发布需要后台任务吗？
答：不需要，到点即对读者可见。
"""


def test_an_editor_imports_previews_and_schedules_an_article_that_appears_at_its_time(
    chromium: Any, stack: RunningStack
) -> None:
    from datetime import UTC, datetime, timedelta

    from tests.e2e.journey import review, submit

    reader = Client(stack)
    reader.login("console-browser-reader")
    consent(reader)
    review(reader, submit(reader, (10, 120, 60), real_name="读者甲"), "approve")
    context = chromium.new_context(viewport=PHONE)
    page = context.new_page()
    blocked: list[str] = []
    page.on(
        "console", lambda msg: blocked.append(msg.text) if "Content Security Policy" in msg.text else None
    )
    _sign_in(page, stack, "demo-editor")
    page.click("nav >> text=文章")
    assert page.locator("h1").inner_text() == "文章"
    assert page.locator("[data-state=published]").count() >= 3
    page.set_input_files(
        "input[name=file]",
        {"name": "scheduled.md", "mimeType": "text/markdown", "buffer": BROWSER_ARTICLE.encode()},
    )
    page.click("button:has-text('导入')")
    assert "browser-scheduled：已导入" in page.locator("[data-notice]").inner_text()
    card = page.locator("[data-article=browser-scheduled]")
    assert card.get_attribute("data-state") == "draft" and "草稿" in card.inner_text()

    card.locator("text=预览").click()
    assert page.locator("article h1").inner_text() == "浏览器定时发布的文章"
    assert page.locator("section[data-kind=qa] .qa-label").inner_text() == "问答"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "console-article-preview-phone.png"), full_page=True)
    page.go_back()

    # a few seconds ahead, with its offset (the form takes ISO 8601 as well as 2026-12-01 09:00)
    at = (datetime.now(UTC) + timedelta(seconds=8)).replace(microsecond=0).astimezone()
    card = page.locator("[data-article=browser-scheduled]")
    card.locator("input[name=publish_at]").fill(at.isoformat())
    card.locator("button:has-text('发布')").click()
    card = page.locator("[data-article=browser-scheduled]")
    assert card.get_attribute("data-state") == "scheduled" and "定时发布" in card.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    page.screenshot(path=str(ARTIFACTS / "console-articles-scheduled-phone.png"), full_page=True)
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(ARTIFACTS / "console-articles-scheduled.png"), full_page=True)
    assert reader.call("GET", "/v1/articles/browser-scheduled").status_code == 404  # not yet

    def appeared() -> bool:  # at its time, with no job run in between
        return reader.call("GET", "/v1/articles/browser-scheduled").status_code == 200

    wait_for(appeared, timeout=30)
    assert datetime.now(UTC) >= at
    page.reload()
    assert page.locator("[data-article=browser-scheduled]").get_attribute("data-state") == "published"
    assert not blocked, blocked
    context.close()
