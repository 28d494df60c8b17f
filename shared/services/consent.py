"""Consent: the catalog of current documents, decisions, withdrawal and the user's history.

Records are append-only, filed under a random per-user pseudonym (`subject`). The personal fields
of a record are sealed with AES-GCM under a random per-user key; pseudonym and key live in the
consent keys' own table (`ConsentKey`), whose backups last least: deleting the account deletes
them, after which a record proves that *some* subject took a decision on a version with a given
sha256 at a given time, and names no one ("crypto-shredding").
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec
from msgspec.structs import replace

from shared import errors
from shared.domain import times
from shared.domain.consent import (
    AGREEMENT,
    DOCUMENT_KEYS,
    INFORMED,
    WITHDRAW,
    ConsentChange,
    ConsentKey,
    ConsentRecord,
    Document,
    check_decision,
    check_document_key,
)
from shared.domain.gate import CurrentDocuments, Step, agreement_in_force, next_step
from shared.domain.ids import is_ulid, new_id
from shared.domain.outcomes import Written
from shared.domain.questions import HAS_REQUIRED_QUESTIONS
from shared.domain.users import User

if TYPE_CHECKING:
    from shared.services.ports import ConsentKeys, ConsentRecords, Documents, Users

DATA_KEY_BYTES = 32  # AES-256-GCM
NONCE_BYTES = 12
MAX_USER_AGENT_CHARS = 512


class ConsentCatalog:
    """The current documents, cached per container for `ttl` seconds.

    The gate runs on every request; with the cache it costs no read. Publishing a new version
    therefore takes effect in every container within `ttl` seconds (30 s by default in deployed
    stages), at once in the process that published it.
    """

    def __init__(
        self,
        load: Callable[[], dict[str, Document]],
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load = load
        self._ttl = ttl
        self._clock = clock
        self._documents: dict[str, Document] | None = None
        self._expires = 0.0

    def documents(self) -> dict[str, Document]:
        now = self._clock()
        if self._documents is None or now >= self._expires:
            self._documents = self._load()
            self._expires = now + self._ttl
        return self._documents

    def invalidate(self) -> None:
        self._documents = None

    def current(self) -> CurrentDocuments:
        docs = self.documents()
        agreement, informed = docs.get(AGREEMENT), docs.get(INFORMED)
        return CurrentDocuments(
            agreement_version=agreement.version if agreement else None,
            informed_version=informed.version if informed else None,
            has_required_questions=HAS_REQUIRED_QUESTIONS,
        )

    def document(self, key: str) -> Document:
        check_document_key(key)
        doc = self.documents().get(key)
        if doc is None:
            raise errors.NotFound("consent_unpublished")
        return doc


def seal(key: bytes, subject: str, record_id: str, fields: dict[str, str]) -> bytes:
    """Encrypt a record's personal fields, bound to the record they belong to."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # deferred: ~20 ms import

    nonce = secrets.token_bytes(NONCE_BYTES)
    plain = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()
    return nonce + AESGCM(key).encrypt(nonce, plain, f"{subject}/{record_id}".encode())


def unseal(key: bytes | None, subject: str, record_id: str, sealed: bytes) -> dict[str, str] | None:
    """The personal fields of a record, or None once the key is gone (or the blob was altered)."""
    if not key:
        return None
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        plain = AESGCM(key).decrypt(
            sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], f"{subject}/{record_id}".encode()
        )
    except (InvalidTag, ValueError):
        return None
    return dict(json.loads(plain))


def record_view(record: ConsentRecord, key: bytes | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": record.record_id,
        "document": record.document,
        "version": record.version,
        "sha256": record.sha256,
        "decision": record.decision,
        "decided_at": times.iso(record.decided_at),
    }
    if key is not None:
        personal = unseal(key, record.subject, record.record_id, record.sealed) or {}
        view["source_ip"] = personal.get("source_ip")
        view["user_agent"] = personal.get("user_agent")
    return view


def consent_key(keys: ConsentKeys, user: User) -> ConsentKey | None:
    """The user's pseudonym and sealing key (one read), or the copy their item kept before the
    keys had a table of their own."""
    found = keys.get(user.user_id)
    if found is None and user.consent_subject and user.consent_key:
        found = ConsentKey(user.consent_subject, user.consent_key)
    return found


class Decided(msgspec.Struct, frozen=True):
    record: ConsentRecord
    next_step: Step


class ConsentService:
    def __init__(
        self,
        catalog: ConsentCatalog,
        documents: Documents,
        records: ConsentRecords,
        keys: ConsentKeys,
        clock: Callable[[], datetime],
    ) -> None:
        self._catalog = catalog
        self._documents = documents
        self._records = records
        self._keys = keys
        self._clock = clock

    def current_documents(self) -> list[Document]:
        docs = self._catalog.documents()
        return [docs[key] for key in DOCUMENT_KEYS if key in docs]

    def decide(
        self, user: User, key: str, version: str, decision: str, source_ip: str, user_agent: str
    ) -> Decided:
        """Record a decision on the current version of a document (agree/refuse, agree/skip)."""
        check_document_key(key)
        check_decision(key, decision)
        doc = self._catalog.document(key)
        if version != doc.version:
            raise errors.Conflict("consent_version", current=doc.version)
        if key == INFORMED and not agreement_in_force(user.gate, self._catalog.current()):
            raise errors.ConsentRequired()
        return self._append(user, doc, decision, source_ip, user_agent)

    def withdraw(self, user: User, key: str, source_ip: str, user_agent: str) -> Decided:
        """Withdraw an agreed document; takes effect at the user's next request."""
        check_document_key(key)
        version, decision = (
            (user.agreement_version, user.agreement_decision)
            if key == AGREEMENT
            else (user.informed_version, user.informed_decision)
        )
        if decision != "agree" or not version:
            raise errors.Conflict("nothing_to_withdraw")
        current = self._catalog.documents().get(key)
        doc = current if current and current.version == version else self._documents.get(key, version)
        if doc is None:  # pragma: no cover - a version a user agreed to is never unpublished
            raise errors.NotFound("consent_version")
        return self._append(user, doc, WITHDRAW, source_ip, user_agent)

    def _append(self, user: User, doc: Document, decision: str, source_ip: str, user_agent: str) -> Decided:
        held = consent_key(self._keys, user)
        first = held is None
        subject = held.subject if held else secrets.token_hex(16)
        data_key = held.key if held else secrets.token_bytes(DATA_KEY_BYTES)
        seq = (user.consent_seq or 0) + 1
        record_id = new_id()
        personal = {
            "user_id": user.user_id,
            "source_ip": source_ip,
            "user_agent": user_agent[:MAX_USER_AGENT_CHARS],
        }
        record = ConsentRecord(
            subject=subject,
            record_id=record_id,
            document=doc.key,
            version=doc.version,
            sha256=doc.sha256,
            decision=decision,
            decided_at=self._clock(),
            seq=seq,
            sealed=seal(data_key, subject, record_id, personal),
        )
        # Withdrawing the informed consent ends the collection: the answers go with it (PIPL Art. 47).
        clears = doc.key == INFORMED and decision == WITHDRAW
        change = ConsentChange(
            seq=seq,
            document=doc.key,
            version=doc.version,
            decision=decision,
            subject=subject if first else None,
            key=data_key if first else None,
            clears_answers=clears,
        )
        outcome = self._records.append(record, user.user_id, user.consent_seq, change)
        if not isinstance(outcome, Written):
            raise errors.Conflict("consent_changed")
        if doc.key == AGREEMENT:
            after = replace(user, agreement_version=doc.version, agreement_decision=decision)
        else:
            after = replace(
                user,
                informed_version=doc.version,
                informed_decision=decision,
                questions_answered=user.questions_answered and not clears,
            )
        return Decided(record, next_step(after.gate, self._catalog.current()))

    def history(self, user: User) -> list[dict[str, Any]]:
        held = consent_key(self._keys, user)
        if held is None:
            return []
        return [record_view(r, held.key) for r in self._records.history(held.subject)]

    def record(self, user: User, record_id: str) -> ConsentRecord:
        """One of the user's own records; anyone else's id is simply not found."""
        found = None
        held = consent_key(self._keys, user) if is_ulid(record_id) else None
        if held is not None:
            found = self._records.get(held.subject, record_id)
        if found is None:
            raise errors.NotFound("consent_record")
        return found


class ConsentData:
    """The user's consent records in their export. Nothing is erased here (records are append-only
    proof of consent): the account's erasure deletes the consent key (`ConsentKeyData`), and with
    it every link to the person."""

    name = "consents"

    def __init__(self, users: Users, records: ConsentRecords, keys: ConsentKeys) -> None:
        self._users = users
        self._records = records
        self._keys = keys

    def export(self, user_id: str) -> Any:
        user = self._users.get(user_id)
        held = None if user is None else consent_key(self._keys, user)
        if held is None:
            return []
        return [record_view(r, held.key) for r in self._records.history(held.subject)]

    def erase(self, user_id: str) -> None:
        return None


class ConsentKeyData:
    """The pseudonym the user's consent records are filed under: exported (the sealing key is the
    system's key to their data, not their data), and deleted with the account, after which the
    kept records name no one."""

    name = "consent_key"

    def __init__(self, keys: ConsentKeys) -> None:
        self._keys = keys

    def export(self, user_id: str) -> Any:
        held = self._keys.get(user_id)
        return None if held is None else {"subject": held.subject}

    def erase(self, user_id: str) -> None:
        self._keys.delete(user_id)
