"""A fake of Tencent Cloud's text moderation (TMS `TextModeration`) on loopback, for the local
stage and the tests, in the shapes of the API 3.0 (`shared/adapters/tms.py`).

It checks each request's TC3-HMAC-SHA256 signature against its own key pair (answering
`AuthFailure.SignatureFailure` otherwise) and its action and version headers, then answers
`Block` for a text containing 风险, `Review` for one containing 待审, else `Pass`, as the WeChat
fake does. Tests script one-off errors with `state.fail_next(code, times)` (e.g.
`RequestLimitExceeded`, `InternalError`, `InvalidParameter`, or `http_502`). Only ever bound to
127.0.0.1.
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from shared.adapters.tms import ACTION, SERVICE, VERSION, sign


@dataclass
class FakeTmsState:
    secret_id: str
    secret_key: str
    texts: list[str] = field(default_factory=list)  # what was checked, in order
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, code: str, times: int = 1) -> None:
        with self.lock:
            self.failures.extend([code] * times)


def _answer_for(state: FakeTmsState, headers: Any, payload: bytes) -> tuple[int, dict[str, Any]]:
    request_id = secrets.token_hex(8)
    host = str(headers.get("Host") or "")
    timestamp = str(headers.get("X-TC-Timestamp") or "0")
    expected = sign(state.secret_id, state.secret_key, host, payload, int(timestamp or 0), SERVICE)
    if headers.get("Authorization") != expected:
        return 200, {"Response": {"Error": {"Code": "AuthFailure.SignatureFailure"}, "RequestId": request_id}}
    if headers.get("X-TC-Action") != ACTION or headers.get("X-TC-Version") != VERSION:
        return 200, {"Response": {"Error": {"Code": "InvalidAction"}, "RequestId": request_id}}
    with state.lock:
        failure = state.failures.pop(0) if state.failures else None
    if failure == "http_502":
        return 502, {}
    if failure is not None:
        return 200, {"Response": {"Error": {"Code": failure, "Message": "scripted"}, "RequestId": request_id}}
    try:
        text = base64.b64decode(json.loads(payload)["Content"]).decode()
    except (ValueError, KeyError, TypeError):
        return 200, {"Response": {"Error": {"Code": "InvalidParameter"}, "RequestId": request_id}}
    with state.lock:
        state.texts.append(text)
    suggestion = "Block" if "风险" in text else "Review" if "待审" in text else "Pass"
    label = "Normal" if suggestion == "Pass" else "Polity"
    return 200, {"Response": {"Suggestion": suggestion, "Label": label, "Score": 0, "RequestId": request_id}}


class FakeTmsServer:
    """Serves the fake on 127.0.0.1 (an ephemeral port unless one is given) in a thread."""

    def __init__(self, secret_id: str, secret_key: str, port: int = 0) -> None:
        self.state = FakeTmsState(secret_id, secret_key)
        state = self.state

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass  # the texts are users' words: nothing of a request is printed

            def do_POST(self) -> None:
                length = min(int(self.headers.get("Content-Length") or 0), 1 << 20)
                status, answer = _answer_for(state, self.headers, self.rfile.read(length))
                data = json.dumps(answer, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-tms", daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeTmsServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
