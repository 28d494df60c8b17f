"""schemathesis against the local stack's OpenAPI: no server errors, no response off the document.

Bounded (examples per operation) and seeded, so a run is repeatable and stops by itself.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import Client, RunningStack
from tests.e2e.journey import STEPS, bring
from tests.language import CHINESE

pytestmark = pytest.mark.e2e

# The step where every endpoint is open gets the deep run (boundary values included); the other
# steps a lighter one, enough to show that no caller state makes an endpoint fail or stray from
# the document. FUZZ_EXAMPLES raises both for a longer run.
DEEP_STEP = "done"
DEEP_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
LIGHT_EXAMPLES = max(5, DEEP_EXAMPLES // 5)
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


@pytest.mark.parametrize("step", list(STEPS))
def test_fuzz_every_endpoint_at_each_journey_step(stack: RunningStack, tmp_path: Path, step: str) -> None:
    user = f"fuzz-{step}"
    bring(Client(stack), user, step)
    binary = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert binary, "schemathesis is a dev dependency"
    env = {
        **os.environ,
        "ST_BASE_URL": stack.base_url,
        "ST_USER": user,
        "ST_STEP": step,
        "ST_VAR": str(stack.var),
        "SCHEMATHESIS_HOOKS": "tests.e2e.schemathesis_hooks",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    result = subprocess.run(
        [
            binary,
            "--config-file",
            str(Path(__file__).with_name("schemathesis.toml")),
            "run",
            stack.url("/openapi.json"),
            "--url",
            stack.base_url,
            "--max-examples",
            str(DEEP_EXAMPLES if step == DEEP_STEP else LIGHT_EXAMPLES),
            "--seed",
            str(SEED),
            "--checks",
            CHECKS,
            "--generation-database",
            "none",
            "--phases",
            "examples,coverage,fuzzing" if step == DEEP_STEP else "examples,fuzzing",
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
    errors_seen = stack.var / f"fuzz-errors-{step}.jsonl"
    answered = [json.loads(line) for line in errors_seen.read_text(encoding="utf-8").splitlines()]
    assert answered, "the fuzz run met no error at all: the run did not reach the API"
    not_chinese = {tuple(e[:4]): e[4] for e in answered if not CHINESE.search(str(e[4] or ""))}
    assert not not_chinese, f"errors without a Chinese message: {not_chinese}"
