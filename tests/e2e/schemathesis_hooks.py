"""Schemathesis hooks: every generated request runs as the journey user at the step under test.

The token is reused until a case may have moved the user (a logout, a consent decision, a
submission or its withdrawal, answers, a deletion, or any 401): then the next case logs in again
and, where the user is no longer at the step, brings them back to it first. So every endpoint is exercised at
every step of the journey, at the cost of a login only where state may have changed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import schemathesis

from tests.e2e.journey import Client, StackView, bring

# Calls after which the user may no longer be where the step put them (or the token is dead).
MOVING = {
    ("POST", "/v1/auth/logout"),
    ("POST", "/v1/consents"),
    ("POST", "/v1/verification"),
    ("POST", "/v1/verification/withdraw"),
    ("POST", "/v1/answers"),
    ("DELETE", "/v1/me"),
}
_state: dict[str, str | None] = {"token": None}


@schemathesis.auth(refresh_interval=None)
class JourneyLogin:
    def get(self, case: Any, context: Any) -> str:
        token = _state["token"]
        if token:
            return token
        client = Client(StackView(os.environ["ST_BASE_URL"], Path(os.environ["ST_VAR"])))
        if bring(client, os.environ["ST_USER"], os.environ["ST_STEP"]):
            with (Path(os.environ["ST_VAR"]) / "fuzz-restores.log").open("a", encoding="utf-8") as log:
                log.write(f"{case.method} {case.path}\n")
        assert client.token
        _state["token"] = client.token
        return client.token

    def set(self, case: Any, data: str, context: Any) -> None:
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    if (case.method.upper(), case.path) in MOVING or response.status_code == 401:
        _state["token"] = None
    if response.status_code >= 400:
        _note_error(case, response)


def _note_error(case: Any, response: Any) -> None:
    """Every error answered is noted (method, path, status, code, message): the test then checks
    that each one speaks Chinese to the user."""
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        error = {}  # an HTML page (the review pages) or no body: the page tests check those
    if not error:
        return
    line = json.dumps(
        [case.method.upper(), case.path, response.status_code, error.get("code"), error.get("message")],
        ensure_ascii=False,
    )
    with (Path(os.environ["ST_VAR"]) / f"fuzz-errors-{os.environ['ST_STEP']}.jsonl").open(
        "a", encoding="utf-8"
    ) as log:
        log.write(line + "\n")
