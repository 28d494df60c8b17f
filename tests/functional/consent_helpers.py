"""Helpers for tests that need published documents or a user at some consent step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from infra.ops import consent as consent_ops
from shared.domain.consent import AGREEMENT, INFORMED
from shared.store.users import UserItem
from tests.functional.conftest import Api

SEED = consent_ops.SEED_DIR


def publish_seed() -> dict[str, str]:
    return consent_ops.publish_seed()


def publish_version(tmp: Path, key: str, version: str, change: str = "（修订）") -> Path:
    """Publish a new version of `key`: the seed text with a change, under `version`."""
    source = consent_ops.seed_files(SEED)
    text = next(p for p in source if p.parent.name == key).read_text(encoding="utf-8")
    path = tmp / key / f"{version}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.rstrip("\n") + f"\n\n{change}\n", encoding="utf-8")
    assert consent_ops.publish(path) == "published"
    return path


def current_version(api: Api, key: str) -> str:
    docs = api.get("/v1/consents/documents").body["items"]
    return str(next(d["version"] for d in docs if d["key"] == key))


def decide(api: Api, key: str, decision: str, version: str | None = None, **kw: Any) -> Any:
    return api.post(
        "/v1/consents",
        {"document": key, "version": version or current_version(api, key), "decision": decision},
        **kw,
    )


def agree_all(api: Api, informed: str = "agree") -> None:
    assert decide(api, AGREEMENT, "agree").status == 201
    assert decide(api, INFORMED, informed).status == 201


def consented(api: Api, name: str = "alice") -> str:
    """Log `name` in and agree to the current documents; the user id (the token stays on `api`)."""
    publish_seed()
    user_id = str(api.login(name)["user"]["id"])
    agree_all(api)
    return user_id


def approve(user_id: str) -> None:
    """Mark the user an approved HCP (the verification flow does it for real)."""
    UserItem(user_id).update(actions=[UserItem.verification_status.set("approved")])
