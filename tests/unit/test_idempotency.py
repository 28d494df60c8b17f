"""Idempotency keys: their rules, and the guard a replay finds."""

from __future__ import annotations

import pytest

from shared import errors
from shared.domain.idempotency import KEY_LIFETIME_SECONDS, check_key, new_guard, owner_digest
from shared.services.idempotency import Idempotency
from tests.unit.fakes import FakeGuards
from tests.unit.services_setup import ALICE, BOB, World


@pytest.mark.parametrize("key", ["a", "x" * 128, "2b7e-40f1 ~!@#$%^&*()_+{}|:<>?"])
def test_keys_of_1_to_128_printable_ascii_characters_are_accepted(key: str) -> None:
    assert check_key(key) == key


@pytest.mark.parametrize("key", ["", "x" * 129, "键", "tab\there", "new\nline", "\x7f"])
def test_other_keys_are_a_bad_request(key: str) -> None:
    with pytest.raises(errors.BadRequest, match="128"):
        check_key(key)


def test_a_guard_is_scoped_to_the_caller_and_the_operation() -> None:
    mine = new_guard(ALICE, "comment", "k", {"text": "a"}, 0)
    assert mine.key != new_guard(ALICE, "answers", "k", {"text": "a"}, 0).key
    assert mine.owner != new_guard(BOB, "comment", "k", {"text": "a"}, 0).owner
    assert mine.owner == owner_digest(ALICE) and ALICE not in mine.owner
    assert mine.request != new_guard(ALICE, "comment", "k", {"text": "b"}, 0).request
    assert mine.expires_at == KEY_LIFETIME_SECONDS


def test_a_guard_is_found_for_24_hours_then_counts_as_unused() -> None:
    world = World()
    idempotency = Idempotency(world.guards, world.clock)
    guard = idempotency.guard(ALICE, "comment", "k", {"text": "a"})
    assert guard is not None and idempotency.first_response(guard) is None
    world.guards.put(guard.answering({"id": "c1"}))
    assert idempotency.first_response(guard) == {"id": "c1"}
    other = idempotency.guard(ALICE, "comment", "k", {"text": "b"})
    with pytest.raises(errors.Conflict):
        idempotency.first_response(other)
    world.clock.advance(hours=24, seconds=1)
    later = idempotency.guard(ALICE, "comment", "k", {"text": "b"})
    assert idempotency.first_response(later) is None
    assert idempotency.guard(ALICE, "comment", None, {"text": "b"}) is None


def test_an_accounts_guards_go_with_it() -> None:
    guards = FakeGuards()
    guards.put(new_guard(ALICE, "comment", "k1", {}, 0))
    guards.put(new_guard(ALICE, "answers", "k2", {}, 0))
    guards.put(new_guard(BOB, "comment", "k1", {}, 0))
    assert guards.erase(owner_digest(ALICE)) == 2 and len(guards.guards) == 1
