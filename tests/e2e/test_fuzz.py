"""schemathesis against the local stack's OpenAPI: no server errors, no response off the document.

Bounded (examples per operation) and seeded, so a run is repeatable and stops by itself.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.conftest import Client, RunningStack

pytestmark = pytest.mark.e2e

MAX_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
SEED = 20261126
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
        "negative_data_rejection",
        "unsupported_method",
        "ignored_auth",
    ]
)


def _new_user(client: Client, name: str) -> None:
    client.login(name)


# Each journey step: a name and how to bring a dev user there. Later capabilities add steps.
JOURNEY: dict[str, Callable[[Client, str], None]] = {
    "identity_agreement": _new_user,
}


@pytest.mark.parametrize("step", list(JOURNEY))
def test_fuzz_every_endpoint_at_each_journey_step(stack: RunningStack, tmp_path: Path, step: str) -> None:
    user = f"fuzz-{step}"
    JOURNEY[step](Client(stack), user)
    binary = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert binary, "schemathesis is a dev dependency"
    env = {
        **os.environ,
        "ST_BASE_URL": stack.base_url,
        "ST_USER": user,
        "SCHEMATHESIS_HOOKS": "tests.e2e.schemathesis_hooks",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    result = subprocess.run(
        [
            binary,
            "run",
            stack.url("/openapi.json"),
            "--url",
            stack.base_url,
            "--max-examples",
            str(MAX_EXAMPLES),
            "--seed",
            str(SEED),
            "--checks",
            CHECKS,
            "--generation-database",
            "none",
            "--phases",
            "examples,coverage,fuzzing",
            "--request-timeout",
            "10",
            "--no-color",
            "--workers",
            "1",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
