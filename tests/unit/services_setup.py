"""Builders of services on the in-memory fakes, and the users and documents they start from."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from shared.domain.consent import AGREEMENT, INFORMED, Document
from shared.domain.users import Session, User
from shared.services.consent import ConsentCatalog
from shared.services.idempotency import Idempotency
from tests.unit.fakes import (
    Clock,
    FakeAnswers,
    FakeConsentKeys,
    FakeConsentRecords,
    FakeDocuments,
    FakeGuards,
    FakeRateWindows,
    FakeStorage,
    FakeSubmissions,
    FakeUsers,
)

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
ALICE = "01JAAAAAAAAAAAAAAAAAAAAAA1"
BOB = "01JBBBBBBBBBBBBBBBBBBBBBB2"
AGREEMENT_DOC = Document(AGREEMENT, "2026-11-01", "身份认证协议", "……", "a" * 64, True, NOW)
INFORMED_DOC = Document(INFORMED, "2026-11-01", "知情同意书", "……", "b" * 64, False, NOW)


def user(user_id: str = ALICE, **fields: object) -> User:
    return User(user_id, f"openid-{user_id}", NOW, {"s1": Session("h", 2_000_000_000, 1)}, **fields)  # type: ignore[arg-type]


def consented(user_id: str = ALICE, **fields: object) -> User:
    """Under both current documents (the informed consent agreed)."""
    base: dict[str, object] = {
        "agreement_version": AGREEMENT_DOC.version,
        "agreement_decision": "agree",
        "informed_version": INFORMED_DOC.version,
        "informed_decision": "agree",
        "consent_seq": 2,
        "consent_subject": "subject-" + user_id,
        "consent_key": b"k" * 32,
    }
    return user(user_id, **{**base, **fields})


def approved(user_id: str = ALICE, **fields: object) -> User:
    return consented(user_id, verification_status="approved", **fields)


@dataclass
class World:
    """Every fake, sharing one users table and one guards table, as the repositories share items."""

    clock: Clock = field(default_factory=lambda: Clock(NOW))
    users: FakeUsers = field(default_factory=FakeUsers)
    guards: FakeGuards = field(default_factory=FakeGuards)
    documents: FakeDocuments = field(default_factory=lambda: FakeDocuments(AGREEMENT_DOC, INFORMED_DOC))
    storage: FakeStorage = field(default_factory=FakeStorage)

    def __post_init__(self) -> None:
        self.answers = FakeAnswers(self.users, self.guards)
        self.consent_keys = FakeConsentKeys()
        self.records = FakeConsentRecords(self.users, self.answers, self.consent_keys)
        self.windows = FakeRateWindows()
        self.submissions = FakeSubmissions(self.users, self.guards, self.windows)
        self.catalog = ConsentCatalog(self.documents.current, ttl=300)
        self.idempotency = Idempotency(self.guards, self.clock)
