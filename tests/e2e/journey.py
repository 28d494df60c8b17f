"""The user journey over real HTTP, step by step, for the e2e tests and the fuzzer's hooks.

Each step of `STEPS` brings a dev user from nothing to that point of the journey (the `next_step`
that `/v1/me` then shows), with reviewer decisions taken through the links in the outbox.
"""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

AGREEMENT, INFORMED = "hcp-identity-agreement", "informed-consent"
FIELDS = {
    "real_name": "李<b>医生</b>",
    "hospital": "上海瑞金医院",
    "department": "内分泌科",
    "title": "副主任医师",
    "profession": "doctor",
}


class StackView:
    """Where a running local stack answers, and its var/ directory (the outbox)."""

    def __init__(self, base_url: str, var: Path) -> None:
        self.base_url = base_url
        self.var = var

    def url(self, path: str) -> str:
        return self.base_url + path

    def outbox(self) -> list[str]:
        path = self.var / "outbox.jsonl"
        return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


class Client:
    """A mini-program, as far as the backend can tell."""

    def __init__(self, stack: StackView) -> None:
        self.stack = stack
        self.http = requests.Session()
        self.token: str | None = None

    def call(self, method: str, path: str, body: Any = None, **kw: Any) -> requests.Response:
        headers = dict(kw.pop("headers", {}))
        if self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        return self.http.request(method, self.stack.url(path), json=body, headers=headers, timeout=15, **kw)

    def login(self, name: str) -> dict[str, Any]:
        reply = self.call("POST", "/v1/auth/login", {"code": f"dev:{name}"})
        assert reply.status_code == 200, reply.text
        self.token = reply.json()["token"]
        return dict(reply.json())

    def next_step(self) -> str:
        return str(self.call("GET", "/v1/me").json()["next_step"])


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


def image(color: tuple[int, int, int]) -> bytes:
    from PIL import Image, ImageDraw

    picture = Image.new("RGB", (120, 90), color)
    ImageDraw.Draw(picture).rectangle((10, 10, 60, 50), fill=(255, 255, 255))
    out = io.BytesIO()
    picture.save(out, "JPEG")
    return out.getvalue()


def decide_consent(client: Client, key: str, decision: str) -> None:
    docs = client.call("GET", "/v1/consents/documents").json()["items"]
    version = next(d["version"] for d in docs if d["key"] == key)
    reply = client.call("POST", "/v1/consents", {"document": key, "version": version, "decision": decision})
    assert reply.status_code == 201, reply.text


def consent(client: Client, informed: str = "agree") -> None:
    decide_consent(client, AGREEMENT, "agree")
    decide_consent(client, INFORMED, informed)


def wx_upload_file(url: str, form_data: dict[str, str], data: bytes, name: str = "file") -> requests.Response:
    """Post as the mini-program's `wx.uploadFile({url, filePath, name, formData})` does: one
    multipart/form-data body, the formData fields first in their order, then the file part, named
    `name`, with the temporary file's name and a generic type (S3 reads the type from the fields)."""
    boundary = "----WeChatUploadBoundary7MA4YWxkTrZu0gW"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        for key, value in form_data.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="tmp_4f1c2e.jpg"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}", "User-Agent": "wechatdevtools"}
    return requests.post(url, data=b"".join(parts), headers=headers, timeout=10)


def upload(client: Client, data: bytes, kind: str = "practice_license") -> str:
    """Ask for a presigned POST and send the image to it the way wx.uploadFile does."""
    body = client.call(
        "POST", "/v1/verification/uploads", {"kind": kind, "content_type": "image/jpeg", "size": len(data)}
    ).json()
    answer = wx_upload_file(body["url"], body["fields"], data)
    assert answer.status_code in (200, 204), answer.text
    return str(body["key"])


def submit(client: Client, color: tuple[int, int, int], data: bytes | None = None, **fields: Any) -> str:
    """Upload one image (`data`, or a plain one of `color`) and submit; the submission id."""
    documents = [upload(client, data if data is not None else image(color))]
    reply = client.call("POST", "/v1/verification", {**FIELDS, **fields, "documents": documents})
    assert reply.status_code == 201, reply.text
    return str(reply.json()["submission_id"])


def links(stack: StackView, submission_id: str) -> list[str]:
    entries = [json.loads(line) for line in stack.outbox()]
    return [
        e["link"] for e in entries if e.get("channel") == "reviewer" and e["submission_id"] == submission_id
    ]


def form(html: str, decision: str) -> dict[str, str]:
    found = next(f for f in re.findall(r"<form .*?</form>", html, flags=re.S) if f'value="{decision}"' in f)
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', found))


def decide(client: Client, link: str, decision: str, **extra: Any) -> requests.Response:
    """A reviewer opens the link and posts the decision from the page's own form."""
    reviewer = requests.Session()  # a reviewer's phone: no user token, its own cookies
    page = reviewer.get(link, timeout=10)
    assert page.status_code == 200 and "<form" in page.text, page.text[:500]
    fields = {**form(page.text, decision), "decision": decision, **extra}
    action = link.split("?", maxsplit=1)[0] + "/decision"
    headers = {"Origin": client.stack.base_url, "Referer": link}
    return reviewer.post(action, data=fields, headers=headers, timeout=10)


def review(client: Client, submission_id: str, decision: str, **extra: Any) -> None:
    link = wait_for(lambda: links(client.stack, submission_id))[0]
    reply = decide(client, link, decision, **extra)
    assert reply.status_code == 200, reply.text[:500]


def answer_questions(client: Client) -> None:
    answers: list[dict[str, Any]] = []
    for q in client.call("GET", "/v1/questions").json()["items"]:
        value: Any = {"single": q["options"][:1] and q["options"][0], "multi": q["options"][:1]}.get(
            q["kind"], "无"
        )
        answers.append({"question_id": q["id"], "value": value})
    reply = client.call("POST", "/v1/answers", {"answers": answers})
    assert reply.status_code == 200, reply.text


# ---- the steps: each brings a logged-in client's user from scratch to that `next_step` ----
def _nothing(client: Client) -> None:
    return None


def _refused(client: Client) -> None:
    decide_consent(client, AGREEMENT, "refuse")


def _informed(client: Client) -> None:
    decide_consent(client, AGREEMENT, "agree")


def _verify(client: Client) -> None:
    consent(client, informed="skip")


def _pending(client: Client) -> None:
    consent(client)
    submit(client, (200, 0, 0))


def _rejected(client: Client) -> None:
    consent(client)
    review(client, submit(client, (0, 200, 0)), "reject", reason="image_unreadable")


def _questions(client: Client) -> None:
    consent(client)
    review(client, submit(client, (0, 0, 200)), "approve")


def _done(client: Client) -> None:
    _questions(client)
    answer_questions(client)


STEPS: dict[str, Callable[[Client], None]] = {
    "identity_agreement": _nothing,
    "refused": _refused,
    "informed_consent": _informed,
    "verify": _verify,
    "pending": _pending,
    "rejected": _rejected,
    "questions": _questions,
    "done": _done,
}


def bring(client: Client, name: str, step: str) -> bool:
    """Log `name` in and bring them to `step` unless they are there already: whether it had to."""
    client.login(name)
    now = client.next_step()
    if now == step:
        return False
    if now != "identity_agreement":  # elsewhere (a fuzzed withdrawal, say): start a new account
        assert client.call("DELETE", "/v1/me").status_code == 200
        client.login(name)
    STEPS[step](client)
    now = client.next_step()
    assert now == step, f"brought {name} to {now}, not {step}"
    return True
