"""A user as the services see them: identity, sessions, where they stand, how they are shown."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime

import msgspec

from shared.domain.gate import GateState


class Session(msgspec.Struct, frozen=True):
    secret_hash: str  # sha256 of the token's secret
    expires_at: int  # epoch seconds
    issued_at_ms: int  # orders sessions made in the same second


class User(msgspec.Struct, frozen=True):
    user_id: str
    openid: str  # personal data: used only to message the user and for the content check
    created_at: datetime
    sessions: Mapping[str, Session] = msgspec.field(default_factory=dict)
    # where they stand (read with the session on every request: the gate costs no more reads)
    agreement_version: str | None = None
    agreement_decision: str | None = None  # agree | refuse | withdraw
    informed_version: str | None = None
    informed_decision: str | None = None  # agree | skip | withdraw
    # the submission in force: for an approved user the approved one, otherwise the latest
    verification_status: str | None = None  # pending | approved | rejected | withdrawn | revoked
    verification_reason: str | None = None
    verification_submission: str | None = None
    verification_revision: int = 0  # how many submissions so far
    # an approved user's latest update of their details, until an approval makes it the one in force
    verification_update: str | None = None
    verification_update_status: str | None = None  # pending | rejected | withdrawn
    questions_answered: bool = False
    consent_seq: int | None = None
    # Before the consent keys had a table of their own (`ConsentKey`) they lived here: read as a
    # fallback until `python -m infra.ops consent migrate-keys` has moved them all.
    consent_subject: str | None = None
    consent_key: bytes | None = None
    # the public author display (王医生, department), derived from the approved submission named
    # by author_source and remembered here, so that posting a comment reads nothing more
    author_name: str | None = None
    author_department: str | None = None
    author_source: str | None = None
    author_style: str | None = None  # surname (default) | title: the user's choice
    author_hide_department: bool = False
    # when they last wrote a comment: for a while they read around the readers' caches
    wrote_at: datetime | None = None
    # a moderator suspended their commenting and reporting until then (epoch seconds)
    muted_until: int | None = None

    @property
    def gate(self) -> GateState:
        return GateState(
            agreement_version=self.agreement_version,
            agreement_decision=self.agreement_decision,
            informed_version=self.informed_version,
            informed_decision=self.informed_decision,
            verification_status=self.verification_status,
            questions_answered=self.questions_answered,
        )


class AuthorCache(msgspec.Struct, frozen=True):
    """A user's author display, remembered on their user item with the submission it came from
    (posting then reads nothing more until a new submission is approved)."""

    name: str
    department: str | None
    source: str  # the approved submission's id


def deletion_digest(user_id: str) -> str:
    """How the deletion log names a deleted account: a digest of its id, which names no one unless
    a restored table holds that id again (then the deletion is applied again)."""
    return hashlib.sha256(f"deleted\n{user_id}".encode()).hexdigest()


def openid_key(appid: str, openid: str) -> str:
    """The key of a WeChat identity: a hash, so that the identity table lists no openid."""
    return hashlib.sha256(f"{appid}:{openid}".encode()).hexdigest()
