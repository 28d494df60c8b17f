"""Export and deletion across every holder of a user's data, on in-memory repositories."""

from __future__ import annotations

from typing import Any

from shared.domain.idempotency import new_guard
from shared.domain.questions import Answers
from shared.domain.users import openid_key
from shared.services.account import AccountData, AccountService
from shared.services.questions import AnswerData
from tests.unit.services_setup import ALICE, BOB, NOW, World, approved


class Holder:
    """A holder that records the order of erasures."""

    def __init__(self, name: str, log: list[str]) -> None:
        self.name = name
        self._log = log

    def export(self, user_id: str) -> Any:
        return {"from": self.name}

    def erase(self, user_id: str) -> None:
        self._log.append(self.name)


def test_export_gathers_every_holder_and_leaves_out_the_systems_keys() -> None:
    world = World()
    world.users.add(approved(), openid_key("wx", f"openid-{ALICE}"))
    world.answers.items[ALICE] = Answers(ALICE, {"q": "a"}, "v", NOW)
    holders = [AccountData(world.users, world.guards, "wx"), AnswerData(world.answers)]
    exported = AccountService(lambda: holders, world.clock).export(ALICE)  # type: ignore[arg-type, return-value]
    account = exported["account"]
    assert account["user_id"] == ALICE and account["verification_status"] == "approved"
    assert "consent_key" not in account and account["sessions"] == [{"id": "s1", "expires_at": 2_000_000_000}]
    assert exported["answers"]["answers"] == [{"question_id": "q", "value": "a"}]


def test_deletion_erases_every_holder_then_the_account_with_its_keys() -> None:
    world, log = World(), []
    world.users.add(approved(), openid_key("wx", f"openid-{ALICE}"))
    world.users.add(approved(BOB), openid_key("wx", f"openid-{BOB}"))
    world.guards.put(new_guard(ALICE, "comment", "k", {}, int(NOW.timestamp())))
    world.guards.put(new_guard(BOB, "comment", "k", {}, int(NOW.timestamp())))
    account = AccountData(world.users, world.guards, "wx")
    holders = [account, Holder("comments", log), Holder("verification", log)]
    done = AccountService(lambda: holders, world.clock).delete(ALICE)  # type: ignore[arg-type, return-value]
    assert done["erased"] == ["comments", "verification", "account"] and log == ["comments", "verification"]
    assert ALICE not in world.users.users and list(world.users.identities.values()) == [BOB]
    assert len(world.guards.guards) == 1  # Bob's key stays
    again = AccountService(lambda: holders, world.clock).delete(ALICE)  # type: ignore[arg-type, return-value]
    assert again["deleted"] and list(world.users.users) == [BOB] and len(world.guards.guards) == 1
