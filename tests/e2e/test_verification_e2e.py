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
