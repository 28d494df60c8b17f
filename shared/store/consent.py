"""Consent documents, the append-only consent records, and the answers of the question collection.

Access patterns (all by key):
- the gate's catalog: one BatchGetItem of the two `CURRENT` pointer items (each carries the whole
  current document), at most once per `consent_cache_seconds` per container;
- a decision or withdrawal: one TransactWriteItems (put the record if absent + update the user's
  gate fields under an optimistic `consent_seq` check);
- history and export: one Query of the subject's records, oldest first (ULID sort keys);
- a receipt: one GetItem (subject from the caller's user item, so another user's id is not found).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from shared import errors
from shared.domain.consent import DOCUMENT_KEYS, Document
from shared.store.base import connection_for, table
from shared.store.users import UserRecord

CURRENT = "CURRENT"  # the sort key of the pointer item naming a document's current version


@table("documents")
class DocumentRecord(Model):
    """One published version of a consent document; its text never changes once written."""

    class Meta:
        table_name = "documents"

    key = UnicodeAttribute(hash_key=True)
    version = UnicodeAttribute(range_key=True)  # a version, or CURRENT for the pointer item
    title = UnicodeAttribute()
    body = UnicodeAttribute()
    sha256 = UnicodeAttribute()
    required = BooleanAttribute()
    published_at = UTCDateTimeAttribute()
    current_version = UnicodeAttribute(null=True)  # on the pointer item only

    def document(self) -> Document:
        return Document(
            key=str(self.key),
            version=str(self.current_version or self.version),
            title=str(self.title),
            body=str(self.body),
            sha256=str(self.sha256),
            required=bool(self.required),
            published_at=self.published_at,
        )


@table("consents")
class ConsentRecord(Model):
    """One decision, append-only: written once with PutItem if absent, never updated or deleted.

    Keyed by the user's random `consent_subject`, not the user id. `sealed` holds the fields
    that name the person (user id, source IP, user agent), encrypted with the user's own key,
    so once the user is deleted the record still proves the decision but names no one.
    """

    class Meta:
        table_name = "consents"

    subject = UnicodeAttribute(hash_key=True)
    record_id = UnicodeAttribute(range_key=True)  # ULID: time-ordered
    document = UnicodeAttribute()
    version = UnicodeAttribute()
    sha256 = UnicodeAttribute()
    decision = UnicodeAttribute()
    decided_at = UTCDateTimeAttribute()
    seq = NumberAttribute()
    sealed = BinaryAttribute(legacy_encoding=False)


@table("answers")
class AnswerRecord(Model):
    """The user's answers to the question collection: one item per user, personal data."""

    class Meta:
        table_name = "answers"

    user_id = UnicodeAttribute(hash_key=True)
    answers = MapAttribute[str, Any]()
    questions_version = UnicodeAttribute()
    answered_at = UTCDateTimeAttribute()
    idempotency_key = UnicodeAttribute(null=True)


class DocumentRepository:
    def current(self) -> dict[str, Document]:
        """The current version of every published document (one BatchGetItem)."""
        found = DocumentRecord.batch_get([(key, CURRENT) for key in DOCUMENT_KEYS])
        return {str(item.key): item.document() for item in found}

    def get(self, key: str, version: str) -> Document | None:
        try:
            return DocumentRecord.get(key, version, consistent_read=True).document()
        except DoesNotExist:
            return None

    def pointer_version(self, key: str) -> str | None:
        try:
            return str(DocumentRecord.get(key, CURRENT, consistent_read=True).current_version)
        except DoesNotExist:
            return None

    def publish(self, doc: Document) -> None:
        """Write the version and point CURRENT at it, at once; Conflict if either moved meanwhile."""
        fields: dict[str, Any] = {
            "title": doc.title,
            "body": doc.body,
            "sha256": doc.sha256,
            "required": doc.required,
            "published_at": doc.published_at,
        }
        version = DocumentRecord(doc.key, doc.version, **fields)
        pointer = DocumentRecord(doc.key, CURRENT, current_version=doc.version, **fields)
        try:
            with TransactWrite(connection=connection_for(DocumentRecord)) as tx:
                tx.save(version, condition=DocumentRecord.key.does_not_exist())
                # Only forward: an older version never becomes current again by accident.
                tx.save(
                    pointer,
                    condition=DocumentRecord.key.does_not_exist()
                    | (DocumentRecord.current_version < doc.version),
                )
        except TransactWriteError as exc:
            if exc.cause_response_code == "TransactionCanceledException":
                raise errors.Conflict(
                    f"{doc.key} {doc.version} is not newer than the current version"
                ) from exc
            raise


class ConsentRepository:
    def append(
        self,
        record: ConsentRecord,
        user_id: str,
        seen_seq: int | None,
        user_actions: list[Any],
        *,
        also_delete: list[Model] | None = None,
        new_subject: bool = False,
    ) -> None:
        """Append the record and move the user's gate fields in one transaction.

        The user update is conditioned on `consent_seq` still being what the caller read, so two
        racing decisions cannot leave the gate fields describing one and the log ending with the
        other: the loser gets 409 and retries with fresh state.
        """
        seq_condition = (
            UserRecord.consent_seq.does_not_exist()
            if seen_seq is None
            else UserRecord.consent_seq == seen_seq
        )
        condition = UserRecord.user_id.exists() & seq_condition
        if new_subject:
            condition &= UserRecord.consent_subject.does_not_exist()
        try:
            with TransactWrite(connection=connection_for(ConsentRecord)) as tx:
                tx.save(record, condition=ConsentRecord.subject.does_not_exist())
                tx.update(UserRecord(user_id), actions=user_actions, condition=condition)
                for item in also_delete or []:
                    tx.delete(item)
        except TransactWriteError as exc:
            if exc.cause_response_code == "TransactionCanceledException":
                raise errors.Conflict("your consent changed meanwhile; reload and decide again") from exc
            raise

    def history(self, subject: str) -> list[ConsentRecord]:
        """Every record of the subject, oldest first (one Query, paged by pynamodb if large)."""
        return list(ConsentRecord.query(subject, scan_index_forward=True))

    def get(self, subject: str, record_id: str) -> ConsentRecord | None:
        try:
            return ConsentRecord.get(subject, record_id)
        except DoesNotExist:
            return None


class AnswerRepository:
    def get(self, user_id: str) -> AnswerRecord | None:
        try:
            return AnswerRecord.get(user_id, consistent_read=True)
        except DoesNotExist:
            return None

    def save(self, record: AnswerRecord, informed_version: str, *, seen: datetime | None) -> None:
        """Store the answers and set `questions_answered` in one transaction.

        Conditioned on the user still holding the informed consent that was checked, so a
        withdrawal racing this write cannot leave answers behind; and on the stored answers
        being the ones read, so two racing submissions do not both think they wrote first.
        """
        user_condition = (UserRecord.informed_decision == "agree") & (
            UserRecord.informed_version == informed_version
        )
        answers_condition = (
            AnswerRecord.user_id.does_not_exist() if seen is None else AnswerRecord.answered_at == seen
        )
        try:
            with TransactWrite(connection=connection_for(AnswerRecord)) as tx:
                tx.save(record, condition=answers_condition)
                tx.update(
                    UserRecord(str(record.user_id)),
                    actions=[UserRecord.questions_answered.set(True)],
                    condition=user_condition,
                )
        except TransactWriteError as exc:
            if exc.cause_response_code == "TransactionCanceledException":
                raise errors.Conflict(
                    "your consent or answers changed meanwhile; reload and answer again"
                ) from exc
            raise

    def delete(self, user_id: str) -> None:
        AnswerRecord(user_id).delete()
