"""A fake of the WeChat server API on loopback, for the local stage and the tests.

It speaks the shapes of ../shared/docs/wechat.md over real HTTP. Codes it understands:
- `dev:<name>`: logs in as the same user every time (a stable openid derived from the name);
- `err:<errcode>`: answers that WeChat error (e.g. `err:40029`, `err:45011`, `err:-1`);
- `busy-once:<name>`: answers -1 (system busy) the first time, then logs in as `dev:<name>`;
- `slow:<seconds>`: answers after that delay (to exercise timeouts);
- `http500`: answers an HTTP 500; `garbage`: answers a body that is not JSON.
Anything else is an invalid code (40029). Only ever bound to 127.0.0.1.

Access tokens (`/cgi-bin/stable_token`) live `token_lifetime` seconds; a plain call returns the
current token until its last 5 minutes, then a new one; `force_refresh` always mints a new one.
The previous token stays valid for the 5-minute overlap unless `invalidate_token()` killed it.
msgSecCheck answers `risky` for a text containing 风险, `review` for one containing 待审, else `pass`.
Tests script one-off WeChat errors per API path with `state.fail_next(path, errcode, times)`.
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
TOKEN_OVERLAP_SECONDS = 300


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
    token_expires_at: float = 0.0
    token_lifetime: int = 7200
    previous_token: str = ""
    previous_valid_until: float = 0.0
    # {path: [errcode, ...]}: answered (and consumed) before the path's normal answer
    failures: dict[str, list[int]] = field(default_factory=dict)
    # Optional override: a function of (path, params) returning an answer dict, or None to fall through.
    script: Callable[[str, dict[str, Any]], dict[str, Any] | None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, path: str, errcode: int, times: int = 1) -> None:
        """Answer the next `times` calls to `path` with WeChat error `errcode`."""
        with self.lock:
            self.failures.setdefault(path, []).extend([errcode] * times)

    def invalidate_token(self) -> None:
        """Kill every issued token at once (as WeChat does when another party forces a refresh)."""
        with self.lock:
            self.access_token = ""
            self.previous_token = ""

    def token_valid(self, token: object) -> bool:
        with self.lock:
            now = time.time()
            if token and token == self.access_token and now < self.token_expires_at:
                return True
            return bool(token and token == self.previous_token and now < self.previous_valid_until)

    def token_calls(self) -> list[dict[str, Any]]:
        with self.lock:
            return [params for path, params in self.calls if path == "/cgi-bin/stable_token"]


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
        now = time.time()
        near_expiry = state.token_expires_at - now < TOKEN_OVERLAP_SECONDS
        if not state.access_token or body.get("force_refresh") or near_expiry:
            if state.access_token:
                state.previous_token = state.access_token
                state.previous_valid_until = min(state.token_expires_at, now + TOKEN_OVERLAP_SECONDS)
            state.access_token = "fake-token-" + secrets.token_hex(8)
            state.token_expires_at = now + state.token_lifetime
        expires_in = max(1, int(state.token_expires_at - now))
        return {"access_token": state.access_token, "expires_in": expires_in}


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
            with state.lock:
                queued = state.failures.get(path)
                errcode = queued.pop(0) if queued else None
            if errcode is not None:
                return 200, {"errcode": errcode, "errmsg": "scripted error"}
            if path == "/sns/jscode2session":
                return _login(state, params)
            if path == "/cgi-bin/stable_token":
                return 200, _stable_token(state, params)
            if path == "/cgi-bin/message/subscribe/send":
                if not state.token_valid(params.get("access_token")):
                    return 200, {"errcode": 40001, "errmsg": "invalid credential"}
                with state.lock:
                    state.messages.append(params)
                return 200, {"errcode": 0, "errmsg": "ok"}
            if path == "/wxa/msg_sec_check":
                if not state.token_valid(params.get("access_token")):
                    return 200, {"errcode": 40001, "errmsg": "invalid credential"}
                content = str(params.get("content", ""))
                suggest = "risky" if "风险" in content else "review" if "待审" in content else "pass"
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
