"""Helpers for the console's tests: staff members, a browser that keeps cookies, the sign-in dance."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from infra.ops import staff as staff_ops
from shared import config
from tests.functional.conftest import Api, Reply
from tests.functional.verification_helpers import outbox

FORM = "application/x-www-form-urlencoded"
_emails = itertools.count()


def member(role: str, name: str | None = None, **kw: Any) -> str:
    """A new active member of `role` with an e-mail (their sign-in channel): their id."""
    name = name or f"{role}-成员"
    kw.setdefault("email", f"{role}.{next(_emails)}@example.com")
    return staff_ops.add(name, role, **kw).staff_id


def hidden(html: str, name: str = "csrf") -> str:
    found = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)"', html)
    assert found, f"no hidden field {name}"
    return found.group(1)


def sign_in_links(path: str, staff_id: str | None = None) -> list[str]:
    return [
        str(e["link"])
        for e in outbox(path)
        if e.get("channel") == "staff"
        and e.get("kind") == "sign_in"
        and (staff_id is None or e["staff_id"] == staff_id)
    ]


@dataclass
class Browser:
    """A staff member's browser: the cookies it was given, the console's own Origin on posts."""

    api: Api
    cookies: dict[str, str] = field(default_factory=dict)

    def call(
        self, method: str, path: str, form: dict[str, str] | None = None, *, origin: str | None = None
    ) -> Reply:
        headers = {"user-agent": "Mozilla/5.0 (console test)"}
        if self.cookies:
            headers["cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        raw = None
        if form is not None:
            headers["content-type"] = FORM
            if origin != "":  # "": a client that sends no Origin (nor Referer)
                headers["origin"] = origin or config.current().public_base_url
            raw = urlencode(form)
        reply = self.api.call(method, path, token="", headers=headers, raw=raw)
        for line in (reply.headers.get("Set-Cookie") or "").splitlines():
            name, _, rest = line.partition("=")
            value = rest.split(";", 1)[0]
            if "Max-Age=0" in line:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return reply

    def get(self, path: str) -> Reply:
        return self.call("GET", path)

    def post(self, path: str, form: dict[str, str], **kw: Any) -> Reply:
        return self.call("POST", path, form, **kw)

    def request_link(self, who: str) -> Reply:
        page = self.get("/console/login")
        assert page.status == 200, page.text[:300]
        return self.post("/console/login", {"csrf": hidden(page.text), "who": who})

    def confirm(self, link: str) -> Reply:
        parts = urlsplit(link)
        page = self.get(f"{parts.path}?{parts.query}")
        assert page.status == 200, page.text[:300]
        return self.post("/console/auth", {"t": hidden(page.text, "t"), "csrf": hidden(page.text)})

    def sign_in(self, who: str, outbox_path: str, staff_id: str) -> Reply:
        """Ask for a link as `who`, read it from the outbox, confirm it: the 303 to /console."""
        before = len(sign_in_links(outbox_path, staff_id))
        assert self.request_link(who).status == 200
        links = sign_in_links(outbox_path, staff_id)
        assert len(links) == before + 1, "no sign-in link reached the outbox"
        return self.confirm(links[-1])

    def csrf(self) -> str:
        """The session's CSRF field, from the dashboard's sign-out form."""
        return hidden(self.get("/console").text)


def multipart_post(
    browser: Browser, path: str, fields: dict[str, str], files: dict[str, tuple[str, bytes]]
) -> Reply:
    """A multipart/form-data post (a console form with a file), from the console's own origin."""
    import uuid

    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts += [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
        "Content-Type: text/markdown\r\n\r\n".encode()
        + data
        + b"\r\n"
        for name, (filename, data) in files.items()
    ]
    headers = {
        "user-agent": "Mozilla/5.0 (console test)",
        "content-type": f"multipart/form-data; boundary={boundary}",
        "origin": config.current().public_base_url,
    }
    if browser.cookies:
        headers["cookie"] = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
    parts.append(f"--{boundary}--\r\n".encode())
    return browser.api.call("POST", path, token="", headers=headers, raw=b"".join(parts))
