"""Personal data never reaches a log line: the whole journey over HTTP with marked personal fields.

A stack of its own, logging at DEBUG and sending result messages through the fake WeChat, serves
one user from login to account deletion: consent, credential upload (an image whose EXIF names a
marked maker), a rejected then an approved submission decided through the outbox links, the
questions, articles, comments, the receipt, the export. Every personal field holds a marker
(ASCII, so that an escaped form is found too); none of them, nor the user's openid, token or id,
may appear in anything the stack printed. After the deletion, every item and object of the stack's
own storage is scanned too: none holds a marker or names the user, but for the comment's text.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from infra.fake_wechat import dev_openid
from tests.e2e.conftest import RunningStack, start_stack, stop_stack
from tests.e2e.journey import AGREEMENT, INFORMED, Client, consent, review, submit

pytestmark = pytest.mark.e2e

LOGIN_NAME = "pm-login-name-4b7e"  # the dev code names the user; the openid derives from it
MARKERS = {
    "real_name": "隐私PM-REALNAME-91c2",
    "hospital": "PM-HOSPITAL-5d0a医院",
    "department": "PM-DEPARTMENT-77e1科",
    "title": "PM-TITLE-3f9b医师",
    "license_number": "PM-LICENCE-0a6d",
    "comment": "很有帮助 PM-COMMENT-c4e8",
    "reply": "同意 PM-REPLY-2b5f",
    "answer": "建议 PM-ANSWER-e1d3",
    "exif_maker": "PM-EXIF-MAKER-8a44",
    "login_name": LOGIN_NAME,
}
FIELDS = {
    "real_name": MARKERS["real_name"],
    "hospital": MARKERS["hospital"],
    "department": MARKERS["department"],
    "title": MARKERS["title"],
    "profession": "doctor",
    "license_number": MARKERS["license_number"],
}
MAKE_TAG, GPS_IFD = 0x010F, 0x8825


def _marked_image(color: tuple[int, int, int]) -> bytes:
    from PIL import Image, ImageDraw

    picture = Image.new("RGB", (120, 90), color)
    ImageDraw.Draw(picture).rectangle((10, 10, 60, 50), fill=(255, 255, 255))
    exif = Image.Exif()
    exif[MAKE_TAG] = MARKERS["exif_maker"]
    exif[GPS_IFD] = {1: "N", 2: (31.0, 12.0, 5.0), 3: "E", 4: (121.0, 28.0, 9.0)}
    out = io.BytesIO()
    picture.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """A stack of this module's own (not the session's): its lines hold this journey only, and the
    test stops it to read the last of them."""
    # With a result template, each decision also sends the user a WeChat message (to the openid).
    extra = {"LOG_LEVEL": "DEBUG", "WECHAT_RESULT_TEMPLATE_ID": "tmpl-privacy-check"}
    running = start_stack(tmp_path_factory.mktemp("privacy-var"), extra)
    try:
        yield running
    finally:
        if running.process.poll() is None:
            stop_stack(running)


def _ok(reply: requests.Response, status: int = 200) -> Any:
    assert reply.status_code == status, reply.text[:500]
    return reply.json() if reply.content else None


def _answers(client: Client) -> list[dict[str, Any]]:
    answers: list[dict[str, Any]] = []
    for q in _ok(client.call("GET", "/v1/questions"))["items"]:
        if q["kind"] == "text":
            answers.append({"question_id": q["id"], "value": MARKERS["answer"]})
        elif q["kind"] == "single":
            answers.append({"question_id": q["id"], "value": q["options"][0]})
        else:
            answers.append({"question_id": q["id"], "value": q["options"][:1]})
    return answers


def _journey(client: Client) -> dict[str, str]:
    """The user's whole life on the platform; what identifies them, for the log check."""
    login = client.login(LOGIN_NAME)
    secret = {"token": str(login["token"]), "openid": dev_openid(LOGIN_NAME), "user_id": login["user"]["id"]}
    consent(client)
    _ok(client.call("GET", "/v1/consents"))
    first = submit(client, (150, 40, 40), _marked_image((150, 40, 40)), **FIELDS)
    review(client, first, "reject", reason="name_mismatch")
    assert client.next_step() == "rejected"
    _ok(client.call("GET", "/v1/verification"))
    review(client, submit(client, (40, 150, 40), _marked_image((40, 150, 40)), **FIELDS), "approve")
    _ok(client.call("POST", "/v1/answers", {"answers": _answers(client)}))
    assert client.next_step() == "done"

    article = _ok(client.call("GET", "/v1/articles"))["items"][0]["id"]
    _ok(client.call("GET", f"/v1/articles/{article}"))
    comment = _ok(client.call("POST", f"/v1/articles/{article}/comments", {"text": MARKERS["comment"]}), 201)
    reply = {"text": MARKERS["reply"], "reply_to": comment["id"]}
    answer = _ok(client.call("POST", f"/v1/articles/{article}/comments", reply), 201)
    _ok(client.call("GET", f"/v1/articles/{article}/comments"))
    _ok(client.call("PUT", "/v1/me/author", {"style": "surname", "show_department": True}))
    _ok(client.call("DELETE", f"/v1/comments/{answer['id']}"))
    refused = {"text": "风险 " + MARKERS["comment"]}  # the content check refuses it: error paths log too
    assert client.call("POST", f"/v1/articles/{article}/comments", refused).status_code == 422
    records = _ok(client.call("GET", "/v1/consents"))["items"]
    _ok(client.call("GET", f"/v1/consents/{records[0]['id']}/receipt"))
    exported = json.dumps(_ok(client.call("GET", "/v1/me/export")), ensure_ascii=False)
    assert MARKERS["real_name"] in exported and MARKERS["answer"] in exported  # the markers were stored
    _ok(client.call("POST", f"/v1/consents/{INFORMED}/withdraw"), 201)
    _ok(client.call("POST", f"/v1/consents/{AGREEMENT}/withdraw"), 201)
    _ok(client.call("DELETE", "/v1/me"))
    return secret


def _stored(stack: RunningStack) -> dict[str, list[str]]:
    """Every item of every table and every object of the stack's own AWS endpoint, as text."""
    import boto3

    endpoint = next(line.split()[-1] for line in stack.lines if line.strip().startswith("aws_endpoint"))
    dynamodb = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    found: dict[str, list[str]] = {}
    for table in dynamodb.list_tables()["TableNames"]:
        pages = dynamodb.get_paginator("scan").paginate(TableName=table)
        found[table] = [repr(item) for page in pages for item in page["Items"]]
    for bucket in s3.list_buckets()["Buckets"]:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket["Name"]):
            for obj in page.get("Contents", []):
                body = s3.get_object(Bucket=bucket["Name"], Key=obj["Key"])["Body"].read()
                found.setdefault(f"s3:{bucket['Name']}", []).append(f"{obj['Key']} {body!r}")
    return found


def _audit_storage(stack: RunningStack, secret: dict[str, str]) -> list[str]:
    """The deletion audit against the running stack's storage: no item or object holds a marker or
    names the user, but for the comment's text (kept by design, from 已注销用户)."""
    deadline = time.monotonic() + 15
    while True:  # the stack delivers the users table's stream (the funnel) every second or so
        stored = _stored(stack)
        leaks = [
            f"{name} in {table}: {item[:200]}"
            for table, items in stored.items()
            for item in items
            for name, value in {**MARKERS, **secret}.items()
            if value in item and not (name == "comment" and table.endswith("comments"))
        ]
        if not leaks or time.monotonic() > deadline:
            kept = [t for t, items in stored.items() for i in items if MARKERS["comment"] in i]
            assert kept and all(t.endswith("comments") for t in kept), "the scan saw no kept comment"
            return leaks
        time.sleep(0.5)


def test_no_personal_data_in_any_line_the_stack_printed(stack: RunningStack) -> None:
    client = Client(stack)
    secret = _journey(client)
    stored_leaks = _audit_storage(stack, secret)
    assert not stored_leaks, "\n".join(stored_leaks)
    user_id = secret.pop("user_id")
    printed_before_stop = len(stack.lines)
    assert stop_stack(stack) == 0
    deadline = time.monotonic() + 5
    while (not stack.lines or stack.lines[-1] != "stopped") and time.monotonic() < deadline:
        time.sleep(0.05)  # the reader thread drains what the process printed last
    lines = list(stack.lines)
    assert len(lines) > printed_before_stop > 20, "the stack printed less than its journey should"
    assert any('"route":"POST /v1/verification"' in line for line in lines), "no request was logged"

    # Each marker is searched whole and by its ASCII part: a JSON logger may \\u-escape the Chinese.
    needles = {
        name: {value, "".join(ch for ch in value if ch.isascii()).strip()} for name, value in MARKERS.items()
    }
    needles.update({name: {value} for name, value in secret.items()})
    leaks = [
        f"{name} in: {line[:300]}"
        for line in lines
        for name, forms in needles.items()
        if any(form in line for form in forms)
    ]
    # No line names the user at all: neither a log line nor the outbox lines printed to the console
    # (the outbox file, what a real channel would receive, may: the user message's addressee).
    leaks += [f"user_id in: {line[:300]}" for line in lines if user_id in line]
    assert not leaks, "\n".join(leaks)
    outbox_lines = [line for line in lines if line.startswith("[outbox]")]
    assert any('"channel": "user"' in line for line in outbox_lines), "no user message was printed"
    assert user_id in (stack.var / "outbox.jsonl").read_text(), "the outbox file lost the addressee"
