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
from tests.e2e.journey import consent

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
