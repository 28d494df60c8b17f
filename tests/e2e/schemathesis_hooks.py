"""Schemathesis hooks: every generated request logs in afresh as the journey user under test.

A fresh token per case keeps a fuzzed logout from starving the cases that follow it.
"""

from __future__ import annotations

import os
from typing import Any

import requests
import schemathesis


@schemathesis.auth(refresh_interval=None)
class DevLogin:
    def get(self, case: Any, context: Any) -> str:
        base = os.environ["ST_BASE_URL"]
        reply = requests.post(
            f"{base}/v1/auth/login", json={"code": f"dev:{os.environ['ST_USER']}"}, timeout=10
        )
        reply.raise_for_status()
        return str(reply.json()["token"])

    def set(self, case: Any, data: str, context: Any) -> None:
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"
