"""Consent over real HTTP against the local stack: the journey, re-asking, receipts, your data."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from joserfc import jws
from joserfc.jwk import KeySet

from tests.e2e.conftest import ROOT, Client, RunningStack, start_stack, stop_stack, wait_for

pytestmark = pytest.mark.e2e

AGREEMENT, INFORMED = "hcp-identity-agreement", "informed-consent"


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """A stack of its own: publishing a new version here must not disturb other e2e tests."""
    running = start_stack(tmp_path_factory.mktemp("var-consent"))
    yield running
    stop_stack(running)


def current(client: Client, key: str) -> str:
    items = client.call("GET", "/v1/consents/documents").json()["items"]
    return str(next(d["version"] for d in items if d["key"] == key))


def decide(client: Client, key: str, decision: str) -> dict[str, object]:
    reply = client.call(
        "POST", "/v1/consents", {"document": key, "version": current(client, key), "decision": decision}
    )
    assert reply.status_code == 201, reply.text
    return dict(reply.json())


def next_step(client: Client) -> str:
    return str(client.call("GET", "/v1/me").json()["next_step"])


def test_journey_receipt_export_and_delete(own_stack: RunningStack) -> None:
    client = Client(own_stack)
    client.login("e2e-consent-alice")
    assert next_step(client) == "identity_agreement"
    assert decide(client, AGREEMENT, "refuse")["next_step"] == "refused"
    agreed = decide(client, AGREEMENT, "agree")
    assert agreed["next_step"] == "informed_consent"
    assert decide(client, INFORMED, "skip")["next_step"] == "verify"
    assert next_step(client) == "verify"

    receipt = client.call("GET", f"/v1/consents/{agreed['id']}/receipt").json()["receipt"]
    keys = KeySet.import_key_set(client.http.get(own_stack.url("/v1/consents/receipt-key"), timeout=5).json())
    assert b'"decision":"agree"' in jws.deserialize_compact(receipt, keys, algorithms=["ES256"]).payload

    export = client.call("GET", "/v1/me/export").json()
    assert [c["decision"] for c in export["consents"]] == ["refuse", "agree", "skip"]
    assert client.call("DELETE", "/v1/me").json()["deleted"] is True
    assert client.call("GET", "/v1/me").status_code == 401


def test_publishing_a_new_agreement_version_asks_again(own_stack: RunningStack, tmp_path: Path) -> None:
    client = Client(own_stack)
    client.login("e2e-consent-bob")
    decide(client, AGREEMENT, "agree")
    decide(client, INFORMED, "skip")
    assert next_step(client) == "verify"

    seed = ROOT / "infra" / "seed" / "consent" / AGREEMENT / "2026-11-01.md"
    new = tmp_path / AGREEMENT / "2099-01-01.md"
    new.parent.mkdir()
    new.write_text(seed.read_text(encoding="utf-8") + "\n第八条 新增条款。\n", encoding="utf-8")
    endpoint = next(line.split()[-1] for line in own_stack.lines if line.strip().startswith("aws_endpoint"))
    env = {**os.environ, "STAGE": "local", "AWS_ENDPOINT_URL": endpoint}
    for command in (["publish", str(new)], ["list"]):
        done = subprocess.run(
            [sys.executable, "-m", "infra.ops", "consent", *command],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
    assert "* hcp-identity-agreement   2099-01-01" in done.stdout
    # The running gateway's catalog picks it up within its cache window (2 s locally).
    assert wait_for(lambda: next_step(client) == "identity_agreement", timeout=10)
    assert decide(client, AGREEMENT, "agree")["next_step"] == "verify"
