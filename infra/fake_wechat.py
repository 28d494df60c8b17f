"""A fake of the WeChat server API on loopback, for the local stage and the tests.

It speaks the shapes of ../shared/docs/wechat.md over real HTTP. Codes it understands:
- `dev:<name>`: logs in as the same user every time (a stable openid derived from the name);
- `err:<errcode>`: answers that WeChat error (e.g. `err:40029`, `err:45011`, `err:-1`);
- `busy-once:<name>`: answers -1 (system busy) the first time, then logs in as `dev:<name>`;
- `slow:<seconds>`: answers after that delay (to exercise timeouts);
- `http500`: answers an HTTP 500; `garbage`: answers a body that is not JSON.
Anything else is an invalid code (40029). Only ever bound to 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

MAX_SLOW_SECONDS = 10.0


def dev_openid(name: str) -> str:
    return "o-dev-" + hashlib.sha256(name.encode()).hexdigest()[:22]


@dataclass
class FakeWeChatState:
    appid: str
    secret: str
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    busy_seen: set[str] = field(default_factory=set)
    access_token: str = ""
    # Optional override: a function of (path, params) returning an answer dict, or None to fall through.
    script: Callable[[str, dict[str, Any]], dict[str, Any] | None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


def _login(state: FakeWeChatState, params: dict[str, str]) -> tuple[int, dict[str, Any] | bytes]:
    if params.get("appid") != state.appid or params.get("secret") != state.secret:
        return 200, {"errcode": 40125, "errmsg": "invalid appsecret"}
    code = params.get("js_code", "")
    kind, _, arg = code.partition(":")
    if kind == "dev" and arg:
        return 200, {"openid": dev_openid(arg), "session_key": secrets.token_urlsafe(16)}
    if kind == "err":
        try:
            return 200, {"errcode": int(arg), "errmsg": "scripted error"}
        except ValueError:
            pass
    if kind == "busy-once" and arg:
        with state.lock:
            first = arg not in state.busy_seen
            state.busy_seen.add(arg)
        if first:
            return 200, {"errcode": -1, "errmsg": "system error"}
        return 200, {"openid": dev_openid(arg), "session_key": secrets.token_urlsafe(16)}
    if kind == "slow":
        with contextlib.suppress(ValueError):
            time.sleep(min(float(arg), MAX_SLOW_SECONDS))
        return 200, {"openid": dev_openid("slow"), "session_key": "x"}
    if code == "http500":
        return 500, b"internal error"
    if code == "garbage":
        return 200, b"<html>not json</html>"
    return 200, {"errcode": 40029, "errmsg": "invalid code"}


def _stable_token(state: FakeWeChatState, body: dict[str, Any]) -> dict[str, Any]:
    if body.get("appid") != state.appid or body.get("secret") != state.secret:
        return {"errcode": 40125, "errmsg": "invalid appsecret"}
    with state.lock:
        if not state.access_token or body.get("force_refresh"):
            state.access_token = "fake-token-" + secrets.token_hex(8)
        return {"access_token": state.access_token, "expires_in": 7200}


def _make_handler(state: FakeWeChatState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass  # the query string carries the app secret and codes: keep it off the console

        def _answer(self, status: int, payload: dict[str, Any] | bytes) -> None:
            data = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(data)  # the client may have timed out on purpose

        def _route(self, path: str, params: dict[str, Any]) -> tuple[int, dict[str, Any] | bytes]:
            with state.lock:
                state.calls.append((path, params))
            if state.script is not None:
                scripted = state.script(path, params)
                if scripted is not None:
                    return 200, scripted
            if path == "/sns/jscode2session":
                return _login(state, params)
            if path == "/cgi-bin/stable_token":
                return 200, _stable_token(state, params)
            if path == "/cgi-bin/message/subscribe/send":
                if params.get("access_token") != state.access_token:
                    return 200, {"errcode": 40001, "errmsg": "invalid credential"}
                with state.lock:
                    state.messages.append(params)
                return 200, {"errcode": 0, "errmsg": "ok"}
            if path == "/wxa/msg_sec_check":
                if params.get("access_token") != state.access_token:
                    return 200, {"errcode": 40001, "errmsg": "invalid credential"}
                risky = "风险" in str(params.get("content", ""))
                suggest = "risky" if risky else "pass"
                return 200, {
                    "errcode": 0,
                    "errmsg": "ok",
                    "result": {"suggest": suggest, "label": 100},
                    "trace_id": secrets.token_hex(8),
                }
            return 404, {"errcode": 404, "errmsg": "no such api in the fake"}

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            params = {k: v[0] for k, v in parse_qs(url.query).items()}
            self._answer(*self._route(url.path, params))

        def do_POST(self) -> None:
            url = urlsplit(self.path)
            length = min(int(self.headers.get("Content-Length") or 0), 1 << 20)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                body = {}
            params = {k: v[0] for k, v in parse_qs(url.query).items()}
            params.update(body if isinstance(body, dict) else {})
            self._answer(*self._route(url.path, params))

    return Handler


class FakeWeChatServer:
    """Serves the fake on 127.0.0.1 (an ephemeral port unless one is given) in a thread."""

    def __init__(self, appid: str, secret: str, port: int = 0) -> None:
        self.state = FakeWeChatState(appid=appid, secret=secret)
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _make_handler(self.state))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-wechat", daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeWeChatServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
