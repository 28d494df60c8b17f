"""`python -m infra.ops secrets`: a stage gets one key per purpose, an upgraded stage keeps what it signed."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from infra.ops import secrets as ops
from shared import config, wiring

STAGE = "prod"
LEGACY = "legacy-signing-key-0123456789abcdef0123456789"
RECEIPT = ops.RECEIPT_KEY


@pytest.fixture
def ssm(aws: config.Config) -> Any:
    return boto3.client("ssm", region_name=aws.region)


def values(ssm: Any) -> dict[str, str]:
    found = ssm.get_parameters_by_path(Path=ops.prefix(STAGE), WithDecryption=True)["Parameters"]
    return {p["Name"].removeprefix(ops.prefix(STAGE)): p["Value"] for p in found}


def put(ssm: Any, name: str, value: str, kind: str = "SecureString") -> None:
    ssm.put_parameter(Name=ops.prefix(STAGE) + name, Value=value, Type=kind)


def test_a_new_stage_gets_a_distinct_random_key_per_purpose_and_is_told_what_it_must_put(ssm: Any) -> None:
    created, missing = ops.ensure(ssm, STAGE)
    assert created == list(ops.KEYS)
    assert missing == ["wechat-appid", "wechat-secret"]
    stored = values(ssm)
    hmac_keys = [stored[name] for name in ops.HMAC_KEYS]
    assert len(set(hmac_keys)) == 3 and all(len(key) >= 64 for key in hmac_keys)
    assert stored[ops.RECEIPT_KEY].startswith("-----BEGIN PRIVATE KEY-----")
    types = {p["Name"]: p["Type"] for p in ssm.describe_parameters()["Parameters"]}
    assert set(types.values()) == {"SecureString"}


def test_ensure_keeps_what_exists_and_a_complete_stage_passes(ssm: Any) -> None:
    put(ssm, "wechat-appid", "wx0123", "String")
    put(ssm, "wechat-secret", "s")
    put(ssm, "cursor-key", "kept-cursor-key")
    created, missing = ops.ensure(ssm, STAGE)
    assert (created, missing) == (["review-link-key", "console-key", RECEIPT], [])
    assert values(ssm)["cursor-key"] == "kept-cursor-key"
    assert ops.ensure(ssm, STAGE) == ([], [])


def test_an_upgraded_stage_keeps_its_links_cursors_and_forms_valid(
    ssm: Any, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The keys start as the old signing key, so what it signed before the upgrade still verifies."""
    put(ssm, ops.LEGACY_KEY, LEGACY)
    ops.ensure(ssm, STAGE)
    stored = values(ssm)
    assert all(stored[name] == LEGACY for name in ops.HMAC_KEYS)
    assert stored[RECEIPT] != LEGACY
    # a link, a cursor and a console form signed with the single key, as before the upgrade
    from shared.adapters import secrets as adapter

    for name in ("REVIEW_LINK_KEY", "CONSOLE_KEY", "CURSOR_KEY"):
        monkeypatch.setenv(name, LEGACY)
    wiring.reset()
    app = wiring.services()
    link = app.review_links.sign("r1", "s1", 1)
    cursor = app.cursors.sign("articles", {"k": "1", "id": "a"})
    csrf = app.console_csrf.token("session")
    # the functions after the upgrade read the new parameters, each its own
    for name in ("REVIEW_LINK_KEY", "CONSOLE_KEY", "CURSOR_KEY"):
        monkeypatch.delenv(name)
        monkeypatch.setenv(f"{name}_PARAM", ops.prefix(STAGE) + name.lower().replace("_", "-"))
    adapter._cache.clear()
    adapter._clients.clear()
    wiring.reset()
    app = wiring.services()
    assert app.review_links.verify(link, "s1").reviewer_id == "r1"
    assert app.cursors.load("articles", cursor, {"k", "id"}) == {"k": "1", "id": "a"}
    app.console_csrf.check("session", csrf)
    adapter._cache.clear()
    adapter._clients.clear()


def test_rotating_changes_one_key_and_status_names_what_still_shares_the_old_one(ssm: Any) -> None:
    put(ssm, ops.LEGACY_KEY, LEGACY)
    ops.ensure(ssm, STAGE)
    before = values(ssm)
    ops.rotate(ssm, STAGE, "console-key")
    after = values(ssm)
    assert {name for name in before if before[name] != after[name]} == {"console-key"}
    lines = ops.status(ssm, STAGE)
    shared = [line for line in lines if "still the old" in line]
    assert [line.split(":")[0] for line in shared] == [
        ops.prefix(STAGE) + n for n in ("review-link-key", "cursor-key")
    ]
    assert not any(LEGACY in line or after["console-key"] in line for line in lines)
    with pytest.raises(SystemExit):
        ops.rotate(ssm, STAGE, "wechat-secret")
