"""The gate: every step of next_step and every transition between them, as pure functions."""

from __future__ import annotations

import pytest
from msgspec.structs import replace

from shared import errors
from shared.domain.gate import (
    CurrentDocuments,
    GateState,
    Step,
    next_step,
    require_agreement,
    require_collection,
    require_verified,
)

DOCS = CurrentDocuments(agreement_version="v2", informed_version="i2", has_required_questions=True)
AGREED = GateState(agreement_version="v2", agreement_decision="agree")
INFORMED = replace(AGREED, informed_version="i2", informed_decision="agree")
APPROVED = replace(INFORMED, verification_status="approved")


@pytest.mark.parametrize(
    ("state", "docs", "expected"),
    [
        (GateState(), DOCS, Step.IDENTITY_AGREEMENT),
        (GateState(), CurrentDocuments(None, None), Step.IDENTITY_AGREEMENT),  # nothing published
        (GateState("v2", "refuse"), DOCS, Step.REFUSED),
        (GateState("v1", "refuse"), DOCS, Step.IDENTITY_AGREEMENT),  # a new version asks again
        (GateState("v1", "agree"), DOCS, Step.IDENTITY_AGREEMENT),
        (GateState("v2", "withdraw"), DOCS, Step.IDENTITY_AGREEMENT),
        (AGREED, DOCS, Step.INFORMED_CONSENT),
        (AGREED, replace(DOCS, informed_version=None), Step.VERIFY),  # nothing to ask
        (replace(AGREED, informed_version="i1", informed_decision="agree"), DOCS, Step.INFORMED_CONSENT),
        (replace(AGREED, informed_version="i1", informed_decision="skip"), DOCS, Step.INFORMED_CONSENT),
        (replace(AGREED, informed_version="i2", informed_decision="skip"), DOCS, Step.VERIFY),
        (replace(AGREED, informed_version="i1", informed_decision="withdraw"), DOCS, Step.VERIFY),
        (INFORMED, DOCS, Step.VERIFY),
        (replace(INFORMED, verification_status="pending"), DOCS, Step.PENDING),
        (replace(INFORMED, verification_status="rejected"), DOCS, Step.REJECTED),
        (replace(INFORMED, verification_status="revoked"), DOCS, Step.REJECTED),  # resubmits, as rejected
        (replace(INFORMED, verification_status="withdrawn"), DOCS, Step.VERIFY),  # to correct and resend
        (APPROVED, DOCS, Step.QUESTIONS),
        (replace(APPROVED, questions_answered=True), DOCS, Step.DONE),
        (APPROVED, replace(DOCS, has_required_questions=False), Step.DONE),
        (replace(APPROVED, informed_decision="skip"), DOCS, Step.DONE),
        (replace(APPROVED, informed_decision="withdraw"), DOCS, Step.DONE),
        (replace(APPROVED, agreement_decision="withdraw"), DOCS, Step.IDENTITY_AGREEMENT),
        (APPROVED, replace(DOCS, agreement_version="v3"), Step.IDENTITY_AGREEMENT),
        (APPROVED, replace(DOCS, informed_version="i3"), Step.INFORMED_CONSENT),
    ],
)
def test_next_step(state: GateState, docs: CurrentDocuments, expected: Step) -> None:
    assert next_step(state, docs) is expected


def test_the_journey_refuse_agree_skip_verify_approve() -> None:
    state = GateState()
    assert next_step(state, DOCS) is Step.IDENTITY_AGREEMENT
    state = replace(state, agreement_version="v2", agreement_decision="refuse")
    assert next_step(state, DOCS) is Step.REFUSED
    state = replace(state, agreement_decision="agree")
    assert next_step(state, DOCS) is Step.INFORMED_CONSENT
    state = replace(state, informed_version="i2", informed_decision="skip")
    assert next_step(state, DOCS) is Step.VERIFY
    state = replace(state, verification_status="pending")
    assert next_step(state, DOCS) is Step.PENDING
    state = replace(state, verification_status="rejected")
    assert next_step(state, DOCS) is Step.REJECTED
    state = replace(state, verification_status="approved")
    assert next_step(state, DOCS) is Step.DONE


def test_requirements_follow_the_steps() -> None:
    for state in (GateState(), GateState("v2", "refuse"), replace(APPROVED, agreement_decision="withdraw")):
        with pytest.raises(errors.ConsentRequired):
            require_agreement(state, DOCS)
        with pytest.raises(errors.ConsentRequired):
            require_verified(state, DOCS)
    require_agreement(AGREED, DOCS)
    with pytest.raises(errors.VerificationRequired):
        require_verified(AGREED, DOCS)
    require_verified(APPROVED, DOCS)
    require_collection(APPROVED, DOCS)
    for state in (
        replace(APPROVED, informed_decision="skip"),
        replace(APPROVED, informed_decision="withdraw"),
        replace(APPROVED, informed_version="i1"),
    ):
        with pytest.raises(errors.ConsentRequired):
            require_collection(state, DOCS)
    with pytest.raises(errors.VerificationRequired):
        require_collection(INFORMED, DOCS)
    with pytest.raises(errors.ConsentRequired):
        require_collection(APPROVED, replace(DOCS, informed_version=None))
