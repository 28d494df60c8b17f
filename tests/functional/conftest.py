"""Functional tier: moto in-process, the fake WeChat on loopback, handlers fed real v2 events."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from moto import mock_aws

from infra import resources
from infra.fake_wechat import FakeWeChatServer
from infra.local import atomic_dynamodb_calls
from infra.routes import invoke, routes
from shared import config, wiring

APPID = "wx-test-app"
WECHAT_SECRET = "test-wechat-secret"


@pytest.fixture(scope="session")
def wechat() -> Iterator[FakeWeChatServer]:
    server = FakeWeChatServer(APPID, WECHAT_SECRET).start()
    yield server
    server.stop()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, wechat: FakeWeChatServer, tmp_path: Any) -> dict[str, str]:
    values = {
        "STAGE": "test",
        "WECHAT_APPID": APPID,
        "WECHAT_SECRET": WECHAT_SECRET,
        "WECHAT_BASE_URL": wechat.base_url,
        "REVIEW_LINK_KEY": "test-review-link-key-0123456789abcdef",
        "CONSOLE_KEY": "test-console-key-0123456789abcdef",
        "CURSOR_KEY": "test-cursor-key-0123456789abcdef",
        "CONSENT_RECEIPT_KEY": "test-receipt-seed-0123456789abcdef",
        "PUBLIC_BASE_URL": "http://127.0.0.1:9",
        "OUTBOX_PATH": str(tmp_path / "outbox.jsonl"),
        # Cached like a deployed container (the gate costs no read); publishing in-process
        # (infra.ops.consent.publish) invalidates the catalog, so tests see new versions at once.
        "CONSENT_CACHE_SECONDS": "300",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    wechat.state.script = None
    wechat.state.failures.clear()  # errors scripted with fail_next
    wiring.reset()
    return values


@pytest.fixture(scope="session")
def _moto() -> Iterator[None]:
    """One moto for the whole run: tables are created once, and emptied before each test."""
    mock = mock_aws()
    mock.start()
    yield
    mock.stop()


def _wipe_moto() -> None:
    """Every test starts from empty AWS: no item, object, topic or parameter left by another.

    Emptying the tables in place costs microseconds where creating them costs most of a second
    per test; a table another test made (or a nested mock_aws dropped) is handled by `ensure`.
    """
    from collections import defaultdict

    from moto.backends import get_backend

    services: tuple[Any, ...] = ("s3", "sns", "ssm", "sqs")
    for service in services:
        for regions in get_backend(service).values():
            for backend in regions.values():
                backend.reset()
    for regions in get_backend("dynamodb").values():
        for backend in regions.values():
            for table in backend.tables.values():
                table.items = defaultdict(dict)


@pytest.fixture
def aws(env: dict[str, str], _moto: None) -> Iterator[config.Config]:
    _wipe_moto()
    wiring.reset()
    cfg = config.current()
    resources.ensure(cfg)
    yield cfg
    wiring.reset()


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: Any
    text: str = field(repr=False, default="")


_ROUTES = routes()


class Api:
    """Calls handlers the way API Gateway would: the route of serverless.yml, a real v2 event."""

    def __init__(self) -> None:
        self.token: str | None = None

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        raw: bytes | str | None = None,
    ) -> Reply:
        hdrs = {"content-type": "application/json", "user-agent": "pytest"}
        hdrs.update(headers or {})
        bearer = token if token is not None else self.token
        if bearer:
            hdrs["authorization"] = f"Bearer {bearer}"
        payload = raw if raw is not None else (None if body is None else json.dumps(body, ensure_ascii=False))
        status, answer_headers, text, parsed = invoke(_ROUTES, method, path, hdrs, payload)
        return Reply(status, answer_headers, parsed, text)

    def get(self, path: str, **kw: Any) -> Reply:
        return self.call("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.call("POST", path, body, **kw)

    def delete(self, path: str, **kw: Any) -> Reply:
        return self.call("DELETE", path, **kw)

    def login(self, name: str = "alice") -> dict[str, Any]:
        reply = self.post("/v1/auth/login", {"code": f"dev:{name}"})
        assert reply.status == 200, reply.body
        self.token = reply.body["token"]
        return dict(reply.body)


@pytest.fixture
def api(aws: config.Config) -> Api:
    return Api()


@pytest.fixture
def log_lines() -> Iterator[list[str]]:
    """Every JSON log line the handlers write during the test, formatted as in production."""
    import logging

    from shared.log import logger

    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Collect()
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)
    yield lines
    logger.removeHandler(handler)


@pytest.fixture
def atomic_moto() -> Iterator[None]:
    """Make each DynamoDB call atomic, as the real service's are (as the local stack does)."""
    undo = atomic_dynamodb_calls()
    yield
    undo()
