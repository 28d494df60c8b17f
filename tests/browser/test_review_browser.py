"""The reviewer's journey in a real Chromium: outbox link, reject with a reason, resubmit, approve.

Needs Debian's chromium (/usr/bin/chromium) and the `playwright` Python package (never
`playwright install`: it downloads a browser, which fails here). Skipped, saying why, without them.
"""

from __future__ import annotations

import io
from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS
from tests.e2e.conftest import Client, RunningStack, wait_for
from tests.e2e.journey import consent, links, submit

pytestmark = pytest.mark.browser

FIELDS = {
    "real_name": "赵<i>医生</i>",
    "hospital": "四川大学华西医院",
    "department": "神经内科",
    "title": "主任医师",
    "profession": "doctor",
}


def _image(color: tuple[int, int, int]) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (360, 240), color)
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, 200, 120), fill=(250, 250, 250))
    draw.text((30, 60), "LICENSE 1234", fill=(0, 0, 0))
    out = io.BytesIO()
    image.save(out, "JPEG")
    return out.getvalue()


def _submit(client: Client, color: tuple[int, int, int]) -> str:
    return submit(client, color, _image(color), **FIELDS)


def _link(stack: RunningStack, submission_id: str) -> str:
    return str(wait_for(lambda: links(stack, submission_id))[0])


def test_a_reviewer_rejects_then_approves_in_chromium(chromium: Any, stack: RunningStack) -> None:
    client = Client(stack)
    client.login("browser-zhao")
    consent(client)
    page = chromium.new_page(viewport={"width": 390, "height": 844})  # a phone
    blocked: list[str] = []
    page.on(
        "console", lambda msg: blocked.append(msg.text) if "Content Security Policy" in msg.text else None
    )

    page.goto(_link(stack, _submit(client, (180, 40, 40))))
    assert page.locator("h1").inner_text() == "HCP身份认证审核"
    assert page.get_by_text("赵<i>医生</i>").count() == 1  # shown as typed, never as markup
    image = page.locator("figure img").first
    image.wait_for()
    assert page.evaluate("img => img.complete && img.naturalWidth", image.element_handle()) == 360
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "review-page.png"), full_page=True)
    page.select_option("select[name=reason]", "image_unreadable")
    page.check("input[name=redo][value=practice_license]")
    rejecting = page.locator("form", has=page.locator("button.reject"))
    rejecting.locator("textarea[name=note]").fill("照片模糊，请重新拍摄")
    rejecting.locator("textarea[name=internal_note]").fill("与执业注册系统核对：姓名一致")
    assert "导出" in rejecting.inner_text()  # the form says where the internal note may still appear
    page.click("button.reject")
    assert page.locator("[data-decision]").get_attribute("data-decision") == "rejected"
    assert "图片无法辨认" in page.content()
    me = client.call("GET", "/v1/me").json()
    assert me["next_step"] == "rejected" and me["verification"]["reason"] == "image_unreadable"
    status = client.call("GET", "/v1/verification").json()
    assert status["note"] == "照片模糊，请重新拍摄" and "执业注册系统" not in str(status)

    page.goto(_link(stack, _submit(client, (40, 40, 180))))
    assert "此前的提交" in page.content()
    page.click("button.approve")
    assert page.locator("[data-decision]").get_attribute("data-decision") == "approved"
    assert not blocked, blocked

    step = client.call("GET", "/v1/me").json()["next_step"]
    if step == "questions":
        answers = []
        for q in client.call("GET", "/v1/questions").json()["items"]:
            if not q["required"]:
                continue
            value: Any = {"single": q["options"][:1] and q["options"][0], "multi": q["options"][:1]}.get(
                q["kind"], "十年临床经验"
            )
            answers.append({"question_id": q["id"], "value": value})
        assert client.call("POST", "/v1/answers", {"answers": answers}).status_code == 200
        step = client.call("GET", "/v1/me").json()["next_step"]
    assert step == "done"
    page.close()
