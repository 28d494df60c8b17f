"""E2E tier: start the local stack the way `make run` does and talk real HTTP to it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.journey import Client, StackView, wait_for

__all__ = ["Client", "RunningStack", "start_stack", "stop_stack", "wait_for"]

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = 60


class RunningStack(StackView):
    """A local stack started as `make run` starts it, with what it printed."""

    def __init__(self, base_url: str, process: subprocess.Popen[str], var: Path, lines: list[str]) -> None:
        super().__init__(base_url, var)
        self.process = process
        self.lines = lines


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


@pytest.fixture
def client(stack: RunningStack) -> Client:
    return Client(stack)
