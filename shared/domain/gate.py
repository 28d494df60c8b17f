"""Where a user stands: `next_step`, derived from their stored state and the current documents.

A pure function of data already in hand (the user item read to check the token, and the
current document versions cached per container), so the gate costs no extra read.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec

from shared import errors


class Step(StrEnum):
    IDENTITY_AGREEMENT = "identity_agreement"
    REFUSED = "refused"
    INFORMED_CONSENT = "informed_consent"
    VERIFY = "verify"
    PENDING = "pending"
    REJECTED = "rejected"
    QUESTIONS = "questions"
    DONE = "done"


class GateState(msgspec.Struct, frozen=True):
    """The fields of a user the gate reads."""

    agreement_version: str | None = None
    agreement_decision: str | None = None
    informed_version: str | None = None
    informed_decision: str | None = None
    verification_status: str | None = None
    questions_answered: bool = False


class CurrentDocuments(msgspec.Struct, frozen=True):
    """The versions now in force; None when a document has never been published."""

    agreement_version: str | None
    informed_version: str | None
    has_required_questions: bool = True


def agreement_in_force(state: GateState, docs: CurrentDocuments) -> bool:
    return (
        state.agreement_decision == "agree"
        and docs.agreement_version is not None
        and state.agreement_version == docs.agreement_version
    )


def informed_answered(state: GateState, docs: CurrentDocuments) -> bool:
    if docs.informed_version is None:
        return True  # never published: there is nothing to ask
    if state.informed_decision == "withdraw":
        return True  # withdrawn: collection stops, and we do not nag
    if state.informed_decision not in ("agree", "skip"):
        return False
    return state.informed_version == docs.informed_version


def collection_agreed(state: GateState, docs: CurrentDocuments) -> bool:
    """The current informed consent is agreed: the question collection may ask."""
    return (
        state.informed_decision == "agree"
        and docs.informed_version is not None
        and state.informed_version == docs.informed_version
    )


def next_step(state: GateState, docs: CurrentDocuments) -> Step:
    if not agreement_in_force(state, docs):
        if state.agreement_decision == "refuse" and state.agreement_version == docs.agreement_version:
            return Step.REFUSED
        return Step.IDENTITY_AGREEMENT
    if not informed_answered(state, docs):
        return Step.INFORMED_CONSENT
    status = state.verification_status
    if status == "pending":
        return Step.PENDING
    if status in ("rejected", "revoked"):  # a revoked approval: the user resubmits, as after a rejection
        return Step.REJECTED
    if status != "approved":  # none, or withdrawn to be corrected
        return Step.VERIFY
    if collection_agreed(state, docs) and docs.has_required_questions and not state.questions_answered:
        return Step.QUESTIONS
    return Step.DONE


def require_agreement(state: GateState, docs: CurrentDocuments) -> None:
    """For endpoints that serve only users under the current identity agreement."""
    if not agreement_in_force(state, docs):
        raise errors.ConsentRequired()


def require_verified(state: GateState, docs: CurrentDocuments) -> None:
    """For content endpoints: the current agreement and an approved HCP verification."""
    require_agreement(state, docs)
    if state.verification_status != "approved":
        raise errors.VerificationRequired()


def require_collection(state: GateState, docs: CurrentDocuments) -> None:
    """For the question collection: a verified HCP who agreed to the current informed consent.

    Without that consent the answer is 403 `consent_required` (the front end offers the informed
    consent again), not `forbidden`: the user can lift it themselves.
    """
    require_verified(state, docs)
    if not collection_agreed(state, docs):
        raise errors.ConsentRequired("informed_consent")
