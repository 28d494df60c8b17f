"""The verification journey over real HTTP against the local stack, reviewer links from the outbox."""

from __future__ import annotations

import json
import re

import pytest

from tests.e2e.conftest import Client, RunningStack, wait_for
from tests.e2e.journey import FIELDS, consent, decide, image, links, upload

pytestmark = pytest.mark.e2e


def test_reject_resubmit_approve_over_http(stack: RunningStack) -> None:
    client = Client(stack)
    client.login("e2e-verify-li")
    consent(client)
    assert client.call("GET", "/v1/me").json()["next_step"] == "verify"
    reply = client.call(
        "POST", "/v1/verification", {**FIELDS, "documents": [upload(client, image((200, 0, 0)))]}
    )
    assert reply.status_code == 201, reply.text
    sid = reply.json()["submission_id"]
    link = wait_for(lambda: links(stack, sid))[0]
    assert link.startswith(stack.base_url + f"/review/{sid}?t=")
    page = client.http.get(link, timeout=10)
    assert "李&lt;b&gt;医生&lt;/b&gt;" in page.text
    image_url = re.search(r'<img src="([^"]+)"', page.text)
    assert image_url is not None
    served = client.http.get(image_url.group(1).replace("&amp;", "&"), timeout=10)
    assert served.status_code == 200 and served.content[:2] == b"\xff\xd8"
    rejected = decide(client, link, "reject", reason="image_unreadable")
    assert rejected.status_code == 200 and 'data-decision="rejected"' in rejected.text
    me = client.call("GET", "/v1/me").json()
    assert me["next_step"] == "rejected" and me["verification"]["reason"] == "image_unreadable"
    user_lines = [json.loads(line) for line in stack.outbox() if '"channel": "user"' in line]
    assert user_lines and user_lines[-1]["status"] == "rejected"

    again = client.call(
        "POST", "/v1/verification", {**FIELDS, "documents": [upload(client, image((0, 0, 200)))]}
    )
    assert again.status_code == 201
    sid2 = again.json()["submission_id"]
    link2 = wait_for(lambda: links(stack, sid2))[0]
    assert decide(client, link2, "approve").status_code == 200
    assert client.call("GET", "/v1/verification").json()["status"] == "approved"
    assert client.call("GET", "/v1/me").json()["next_step"] == "questions"
    # after the decision the link shows it and offers no form
    page = client.http.get(link2, timeout=10)
    assert "<form" not in page.text and 'data-decision="approved"' in page.text


def test_correct_keep_withdraw_and_update_over_http(stack: RunningStack) -> None:
    client = Client(stack)
    client.login("e2e-verify-wang")
    consent(client)
    licence, badge = upload(client, image((200, 90, 0))), upload(client, image((0, 90, 200)), "work_badge")
    first = client.call("POST", "/v1/verification", {**FIELDS, "documents": [licence, badge]}).json()
    link = wait_for(lambda: links(stack, first["submission_id"]))[0]
    decided = decide(
        client,
        link,
        "reject",
        reason="name_mismatch",
        note="请核对姓名",
        internal_note="内部核查",
        redo="practice_license",
    )
    assert decided.status_code == 200
    view = client.call("GET", "/v1/verification").json()
    assert (view["reason_text"], view["note"], view["redo_documents"]) == (
        "姓名与证件不符",
        "请核对姓名",
        ["practice_license"],
    )
    assert [d["keepable"] for d in view["documents"]] == [False, True] and "内部核查" not in json.dumps(view)
    # 完善信息: the corrected name, a new licence, the badge kept
    body = {**view["fields"], "real_name": "王医生", "documents": [upload(client, image((250, 120, 0)))],
            "keep": ["work_badge"]}  # fmt: skip
    again = client.call("POST", "/v1/verification", body)
    assert again.status_code == 201, again.text
    sid = again.json()["submission_id"]
    page = client.http.get(wait_for(lambda: links(stack, sid))[0], timeout=10)
    assert page.text.count("<img ") == 2
    # taken back before the review, and the link says so
    assert client.call("POST", "/v1/verification/withdraw").json() == {
        "status": "withdrawn",
        "submission_id": sid,
    }
    assert client.next_step() == "verify"
    page = client.http.get(wait_for(lambda: links(stack, sid))[0], timeout=10)
    assert "<form" not in page.text and "申请人已撤回" in page.text
    # sent again, approved, then an update of the hospital reviewed while still served
    body = {**body, "documents": [], "keep": ["practice_license", "work_badge"]}
    third = client.call("POST", "/v1/verification", body).json()["submission_id"]
    decide(client, wait_for(lambda: links(stack, third))[0], "approve")
    update = client.call("POST", "/v1/verification", {**body, "hospital": "华山医院"})
    assert update.status_code == 201, update.text
    view = client.call("GET", "/v1/verification").json()
    assert view["status"] == "approved" and view["update"]["status"] == "pending"
    assert client.next_step() in ("questions", "done")
