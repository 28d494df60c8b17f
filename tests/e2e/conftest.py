"""E2E tier: start the local stack the way `make run` does and talk real HTTP to it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = 60


@dataclass
class RunningStack:
    base_url: str
    process: subprocess.Popen[str]
    var: Path
    lines: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base_url + path

    def outbox(self) -> list[str]:
        path = self.var / "outbox.jsonl"
        return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def start_stack(var: Path, extra_env: dict[str, str] | None = None) -> RunningStack:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT")}
    env.update({"PORT": "0", "VAR_DIR": str(var), "PYTHONUNBUFFERED": "1", **(extra_env or {})})
    process = subprocess.Popen(
        [sys.executable, "-m", "infra.local"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    ready = threading.Event()
    found: dict[str, str] = {}

    def drain() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("serving on "):
                found["url"] = line.split()[-1]
            if line.startswith("Ctrl-C stops everything"):  # the last line of the banner
                ready.set()
        ready.set()

    threading.Thread(target=drain, daemon=True).start()
    if not ready.wait(START_TIMEOUT_SECONDS) or "url" not in found:
        process.kill()
        raise RuntimeError("the local stack did not start:\n" + "\n".join(lines[-40:]))
    return RunningStack(found["url"], process, var, lines)


def stop_stack(stack: RunningStack, timeout: float = 15) -> int:
    if stack.process.poll() is None:
        stack.process.send_signal(signal.SIGTERM)
    try:
        return stack.process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(stack.process.pid, signal.SIGKILL)
        raise


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    running = start_stack(tmp_path_factory.mktemp("var"))
    yield running
    stop_stack(running)


class Client:
    """A mini-program, as far as the backend can tell."""

    def __init__(self, stack: RunningStack) -> None:
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


@pytest.fixture
def client(stack: RunningStack) -> Client:
    return Client(stack)


def wait_for(predicate: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    return predicate()
