"""Consent decisions, withdrawal and history on in-memory repositories."""

from __future__ import annotations

import pytest
from msgspec.structs import replace

from shared import errors
from shared.domain.consent import AGREEMENT, INFORMED
from shared.domain.gate import Step
from shared.domain.questions import Answers
from shared.services.consent import ConsentData, ConsentService, unseal
from tests.unit.services_setup import AGREEMENT_DOC, ALICE, BOB, INFORMED_DOC, NOW, World, consented, user


def service(world: World) -> ConsentService:
    return ConsentService(world.catalog, world.documents, world.records, world.consent_keys, world.clock)


def test_a_first_decision_gives_the_user_a_pseudonym_and_seals_who_they_are() -> None:
    world = World()
    world.users.add(user())
    done = service(world).decide(user(), AGREEMENT, AGREEMENT_DOC.version, "agree", "10.0.0.1", "ua")
    after = world.users.users[ALICE]
    assert done.next_step is Step.INFORMED_CONSENT
    assert after.agreement_decision == "agree" and after.consent_seq == 1
    assert after.consent_subject is None and after.consent_key is None  # not on the user item
    record = world.records.records[0]
    held = world.consent_keys.keys[ALICE]
    assert record.subject == held.subject and ALICE not in record.subject
    sealed = unseal(held.key, record.subject, record.record_id, record.sealed)
    assert sealed == {"user_id": ALICE, "source_ip": "10.0.0.1", "user_agent": "ua"}
    assert unseal(b"x" * 32, record.subject, record.record_id, record.sealed) is None  # another key


def test_a_decision_on_an_old_version_or_out_of_order_is_refused_and_writes_nothing() -> None:
    world = World()
    world.users.add(user())
    with pytest.raises(errors.Conflict):
        service(world).decide(user(), AGREEMENT, "2025-01-01", "agree", "", "")
    with pytest.raises(errors.ConsentRequired):  # the informed consent before the agreement
        service(world).decide(user(), INFORMED, INFORMED_DOC.version, "agree", "", "")
    with pytest.raises(errors.BadRequest):
        service(world).decide(user(), INFORMED, INFORMED_DOC.version, "refuse", "", "")
    assert world.records.records == [] and world.users.users[ALICE] == user()


def test_a_decision_racing_another_is_a_conflict() -> None:
    world = World()
    world.users.add(consented())
    stale = replace(consented(), consent_seq=1)  # read before another decision moved the seq
    with pytest.raises(errors.Conflict):
        service(world).decide(stale, AGREEMENT, AGREEMENT_DOC.version, "refuse", "", "")
    assert world.records.records == []


def test_withdrawing_the_informed_consent_ends_the_collection_and_deletes_the_answers() -> None:
    world = World()
    alice = world.users.add(consented(questions_answered=True, verification_status="approved"))
    world.answers.items[ALICE] = Answers(ALICE, {"q1": "a"}, "v1", NOW)
    done = service(world).withdraw(alice, INFORMED, "", "")
    after = world.users.users[ALICE]
    assert after.informed_decision == "withdraw" and not after.questions_answered
    assert world.answers.get(ALICE) is None and done.next_step is Step.DONE
    with pytest.raises(errors.Conflict):  # nothing agreed to withdraw any more
        service(world).withdraw(after, INFORMED, "", "")


def test_history_and_export_unseal_only_the_callers_own_records() -> None:
    world = World()
    world.users.add(user())
    consent = service(world)
    consent.decide(user(), AGREEMENT, AGREEMENT_DOC.version, "agree", "10.0.0.1", "ua")
    alice = world.users.users[ALICE]
    history = consent.history(alice)
    assert [h["decision"] for h in history] == ["agree"] and history[0]["source_ip"] == "10.0.0.1"
    assert ConsentData(world.users, world.records, world.consent_keys).export(ALICE) == history
    record_id = history[0]["id"]
    assert consent.record(alice, record_id).record_id == record_id
    with pytest.raises(errors.NotFound):
        consent.record(consented(BOB), record_id)  # another subject
    with pytest.raises(errors.NotFound):
        consent.record(alice, "not-a-ulid")


def test_a_key_kept_on_the_user_item_before_the_key_table_still_serves_and_is_not_replaced() -> None:
    world = World()
    legacy = world.users.add(consented())  # subject and key on the user item, none in the table
    consent = service(world)
    consent.withdraw(legacy, INFORMED, "10.0.0.2", "ua")
    record = world.records.records[0]
    assert record.subject == legacy.consent_subject and world.consent_keys.keys == {}
    assert consent.history(world.users.users[ALICE])[0]["source_ip"] == "10.0.0.2"


def test_the_consent_key_is_exported_as_its_pseudonym_and_erased_with_the_account() -> None:
    from shared.services.consent import ConsentKeyData

    world = World()
    world.users.add(user())
    service(world).decide(user(), AGREEMENT, AGREEMENT_DOC.version, "agree", "", "")
    holder = ConsentKeyData(world.consent_keys)
    exported = holder.export(ALICE)
    assert exported == {"subject": world.records.records[0].subject}
    holder.erase(ALICE)
    assert holder.export(ALICE) is None
    assert ConsentData(world.users, world.records, world.consent_keys).export(ALICE) == []
