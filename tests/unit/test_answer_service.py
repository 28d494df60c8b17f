"""The question collection's answers and their Idempotency-Key, on in-memory repositories."""

from __future__ import annotations

from typing import Any

import pytest
from msgspec.structs import replace

from shared import errors
from shared.domain.gate import CurrentDocuments
from shared.services.questions import AnswerService
from tests.unit.services_setup import AGREEMENT_DOC, ALICE, INFORMED_DOC, World, approved

DOCS = CurrentDocuments(AGREEMENT_DOC.version, INFORMED_DOC.version, has_required_questions=True)
FIRST: list[tuple[str, Any]] = [
    ("years_in_practice", "3-10年"),
    ("institution_level", "三级医院"),
    ("specialty_areas", ["肿瘤", "心血管"]),
]
SECOND: list[tuple[str, Any]] = [*FIRST[:2], ("specialty_areas", ["药学"])]


def service(world: World) -> AnswerService:
    return AnswerService(world.answers, world.idempotency, world.clock)


def test_answers_are_stored_once_and_the_same_answers_again_write_nothing() -> None:
    world = World()
    alice = world.users.add(approved())
    first = service(world).submit(alice, DOCS, FIRST, None)
    assert first["next_step"] == "done"
    assert world.answers.items[ALICE].values["specialty_areas"] == ["心血管", "肿瘤"]  # in option order
    world.clock.advance(minutes=1)
    again = service(world).submit(world.users.users[ALICE], DOCS, FIRST, None)
    assert again == first and world.answers.saves == 1


def test_a_replayed_key_answers_the_first_response_even_after_the_answers_changed() -> None:
    world = World()
    alice = world.users.add(approved())
    first = service(world).submit(alice, DOCS, FIRST, "key-1")
    world.clock.advance(minutes=1)
    service(world).submit(world.users.users[ALICE], DOCS, SECOND, "key-2")  # another request
    world.clock.advance(minutes=1)
    replay = service(world).submit(world.users.users[ALICE], DOCS, FIRST, "key-1")
    assert replay == first and world.answers.saves == 2
    assert world.answers.items[ALICE].values["specialty_areas"] == ["药学"]  # the replay wrote nothing


def test_a_key_reused_for_other_answers_is_a_conflict_and_writes_nothing() -> None:
    world = World()
    alice = world.users.add(approved())
    service(world).submit(alice, DOCS, FIRST, "key-1")
    with pytest.raises(errors.Conflict, match="different request"):
        service(world).submit(world.users.users[ALICE], DOCS, SECOND, "key-1")
    assert world.answers.items[ALICE].values["specialty_areas"] == ["心血管", "肿瘤"]


def test_a_withdrawal_racing_the_answers_leaves_none_behind() -> None:
    world = World()
    alice = world.users.add(approved())
    world.users.users[ALICE] = replace(alice, informed_decision="withdraw")  # after `alice` was read
    with pytest.raises(errors.Conflict):
        service(world).submit(alice, DOCS, FIRST, None)
    assert world.answers.items == {}


def test_without_the_informed_consent_the_collection_is_closed() -> None:
    world = World()
    skipped = world.users.add(approved(informed_decision="skip"))
    with pytest.raises(errors.ConsentRequired):
        service(world).submit(skipped, DOCS, FIRST, None)


def test_a_key_sent_with_the_answers_already_stored_is_used_up_all_the_same() -> None:
    world = World()
    alice = world.users.add(approved())
    service(world).submit(alice, DOCS, FIRST, None)
    unchanged = service(world).submit(world.users.users[ALICE], DOCS, FIRST, "key-9")
    assert world.answers.saves == 1  # nothing new to write ...
    with pytest.raises(errors.Conflict, match="different request"):  # ... but the key is taken
        service(world).submit(world.users.users[ALICE], DOCS, SECOND, "key-9")
    assert service(world).submit(world.users.users[ALICE], DOCS, FIRST, "key-9") == unchanged
