"""Export and deletion across every holder of a user's data, on in-memory repositories."""

from __future__ import annotations

from typing import Any

from shared.domain.idempotency import new_guard
from shared.domain.questions import Answers
from shared.domain.users import deletion_digest, openid_key
from shared.services.account import AccountData, AccountService
from shared.services.questions import AnswerData
from tests.unit.services_setup import ALICE, BOB, NOW, World, approved


class Deletions:
    def __init__(self) -> None:
        self.logged: list[str] = []

    def record(self, digest: str, at: Any) -> None:
        self.logged.append(digest)


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
    deletions = Deletions()
    exported = AccountService(lambda: holders, deletions, world.clock).export(ALICE)  # type: ignore[arg-type, return-value]
    account = exported["account"]
    assert account["user_id"] == ALICE and account["verification_status"] == "approved"
    assert "consent_key" not in account and account["sessions"] == [{"id": "s1", "expires_at": 2_000_000_000}]
    assert exported["answers"]["answers"] == [{"question_id": "q", "value": "a"}]
    assert account["identity"] == {"openid_hash": openid_key("wx", f"openid-{ALICE}")}
    assert deletions.logged == []


def test_deletion_erases_every_holder_then_the_account_with_its_keys() -> None:
    world, log = World(), []
    world.users.add(approved(), openid_key("wx", f"openid-{ALICE}"))
    world.users.add(approved(BOB), openid_key("wx", f"openid-{BOB}"))
    world.guards.put(new_guard(ALICE, "comment", "k", {}, int(NOW.timestamp())))
    world.guards.put(new_guard(BOB, "comment", "k", {}, int(NOW.timestamp())))
    account = AccountData(world.users, world.guards, "wx")
    holders = [account, Holder("comments", log), Holder("verification", log)]
    deletions = Deletions()
    done = AccountService(lambda: holders, deletions, world.clock).delete(ALICE)  # type: ignore[arg-type, return-value]
    assert done["erased"] == ["comments", "verification", "account"] and log == ["comments", "verification"]
    assert ALICE not in world.users.users and list(world.users.identities.values()) == [BOB]
    assert len(world.guards.guards) == 1  # Bob's key stays
    again = AccountService(lambda: holders, deletions, world.clock).delete(ALICE)  # type: ignore[arg-type, return-value]
    assert again["deleted"] and list(world.users.users) == [BOB] and len(world.guards.guards) == 1
    # each deletion is logged by a digest of the id alone, before anything is erased
    assert deletions.logged == [deletion_digest(ALICE)] * 2 and ALICE not in deletions.logged[0]


def test_the_export_shows_the_used_keys_with_their_first_responses() -> None:
    world = World()
    world.users.add(approved(), openid_key("wx", f"openid-{ALICE}"))
    world.guards.put(new_guard(ALICE, "comment", "k", {}, int(NOW.timestamp())).answering({"id": "c1"}))
    world.guards.put(new_guard(BOB, "comment", "k", {}, int(NOW.timestamp())).answering({"id": "c2"}))
    keys = AccountData(world.users, world.guards, "wx").export(ALICE)["idempotency_keys"]
    assert [k["response"] for k in keys] == [{"id": "c1"}]
