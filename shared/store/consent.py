"""Consent documents and the append-only consent records.

Access patterns (all by key):
- the gate's catalog: one BatchGetItem of the two `CURRENT` pointer items (each carries the whole
  current document), at most once per `consent_cache_seconds` per container;
- a decision or withdrawal: one TransactWriteItems (put the record if absent + move the user's
  consent fields under an optimistic `consent_seq` check, + delete the answers on withdrawal);
- history and export: one Query of the subject's records, oldest first (ULID sort keys);
- a receipt: one GetItem (subject from the caller's consent key, so another user's id is not found);
- the caller's consent key (pseudonym and sealing key): one GetItem by user id on the paths that
  read or write records, put in the first decision's transaction, deleted with the account.
"""

from __future__ import annotations

from datetime import datetime

from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.models import Model

from shared.domain.consent import (
    DOCUMENT_KEYS,
    ConsentChange,
    ConsentKey,
    ConsentRecord,
    Document,
    DocumentLink,
)
from shared.domain.outcomes import Outcome
from shared.store.answers import AnswerRepository
from shared.store.base import Transaction, get_item, table
from shared.store.users import UserRepository

CURRENT = "CURRENT"  # the sort key of the pointer item naming a document's current version


class LinkAttribute(MapAttribute[str, str]):
    title = UnicodeAttribute()
    path = UnicodeAttribute()


@table("documents")
class DocumentItem(Model):
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
    links = ListAttribute(of=LinkAttribute, null=True)  # absent on versions published before links


def to_document(item: DocumentItem) -> Document:
    return Document(
        key=str(item.key),
        version=str(item.current_version or item.version),
        title=str(item.title),
        body=str(item.body),
        sha256=str(item.sha256),
        required=bool(item.required),
        published_at=item.published_at,
        links=tuple(DocumentLink(str(link.title), str(link.path)) for link in item.links or ()),
    )


@table("consents")
class ConsentItem(Model):
    """One decision, append-only: written once with PutItem if absent, never updated or deleted."""

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


@table("consent_keys")
class ConsentKeyItem(Model):
    """A user's consent pseudonym and sealing key. Its own table, so that its point-in-time
    recovery can be the shortest of all (serverless.yml `consentKeyRecoveryDays`): a deleted key,
    and with it any tie between the kept consent records and the person, outlives the deletion in
    backups that many days, and no longer."""

    class Meta:
        table_name = "consent_keys"

    user_id = UnicodeAttribute(hash_key=True)
    subject = UnicodeAttribute()
    key = BinaryAttribute(legacy_encoding=False)
    created_at = UTCDateTimeAttribute()


def to_record(item: ConsentItem) -> ConsentRecord:
    return ConsentRecord(
        subject=str(item.subject),
        record_id=str(item.record_id),
        document=str(item.document),
        version=str(item.version),
        sha256=str(item.sha256),
        decision=str(item.decision),
        decided_at=item.decided_at,
        seq=int(item.seq),
        sealed=bytes(item.sealed),
    )


class DocumentRepository:
    def current(self) -> dict[str, Document]:
        """The current version of every published document (one BatchGetItem)."""
        found = DocumentItem.batch_get([(key, CURRENT) for key in DOCUMENT_KEYS])
        return {str(item.key): to_document(item) for item in found}

    def get(self, key: str, version: str) -> Document | None:
        item = get_item(DocumentItem, key, version)
        return None if item is None else to_document(item)

    def versions(self, key: str) -> list[Document]:
        """Every published version of a document, oldest first (ops only)."""
        return [to_document(i) for i in DocumentItem.query(key) if i.version != CURRENT]

    def pointer_version(self, key: str) -> str | None:
        item = get_item(DocumentItem, key, CURRENT)
        return None if item is None else str(item.current_version)

    def publish(self, doc: Document) -> Outcome:
        """Write the version and point CURRENT at it, at once. `Refused`: "version" (it exists) or
        "current" (the current version is not older: an older text never becomes current again)."""

        def item(version: str, current: str | None) -> DocumentItem:
            return DocumentItem(
                doc.key,
                version,
                title=doc.title,
                body=doc.body,
                sha256=doc.sha256,
                required=doc.required,
                published_at=doc.published_at,
                current_version=current,
                links=[LinkAttribute(title=link.title, path=link.path) for link in doc.links] or None,
            )

        tx = Transaction(DocumentItem)
        tx.put("version", item(doc.version, None), DocumentItem.key.does_not_exist())
        tx.put(
            "current",
            item(CURRENT, doc.version),
            DocumentItem.key.does_not_exist() | (DocumentItem.current_version < doc.version),
        )
        return tx.commit()


class ConsentRepository:
    def __init__(self, users: UserRepository, answers: AnswerRepository) -> None:
        self._users = users
        self._answers = answers

    def append(
        self, record: ConsentRecord, user_id: str, seen_seq: int | None, change: ConsentChange
    ) -> Outcome:
        """Append the record and move the user's consent fields in one transaction (and delete
        the answers when the change clears them). `Refused` ("user") when the user's consent moved
        since `seen_seq` was read: two racing decisions cannot leave the gate describing one and
        the log ending with the other. A first decision puts the user's consent key too ("key"
        when one exists already)."""
        tx = Transaction(ConsentItem)
        tx.put(
            "record",
            ConsentItem(
                record.subject,
                record.record_id,
                document=record.document,
                version=record.version,
                sha256=record.sha256,
                decision=record.decision,
                decided_at=record.decided_at,
                seq=record.seq,
                sealed=record.sealed,
            ),
            ConsentItem.subject.does_not_exist(),
        )
        if change.subject is not None and change.key is not None:
            tx.put(
                "key",
                ConsentKeyItem(user_id, subject=change.subject, key=change.key, created_at=record.decided_at),
                ConsentKeyItem.user_id.does_not_exist(),
            )
        self._users.enlist_consent(tx, user_id, seen_seq, change)
        if change.clears_answers:
            self._answers.enlist_delete(tx, user_id)
        return tx.commit()

    def history(self, subject: str) -> list[ConsentRecord]:
        """Every record of the subject, oldest first (one Query, paged by pynamodb if large)."""
        return [to_record(i) for i in ConsentItem.query(subject, scan_index_forward=True)]

    def get(self, subject: str, record_id: str) -> ConsentRecord | None:
        item = get_item(ConsentItem, subject, record_id, consistent=False)
        return None if item is None else to_record(item)


class ConsentKeyRepository:
    """The users' consent keys (table `consent_keys`)."""

    def __init__(self, users: UserRepository) -> None:
        self._users = users

    def get(self, user_id: str) -> ConsentKey | None:
        item = get_item(ConsentKeyItem, user_id)
        return None if item is None else ConsentKey(str(item.subject), bytes(item.key))

    def delete(self, user_id: str) -> None:
        ConsentKeyItem(user_id).delete()

    def user_ids(self) -> set[str]:
        """Whose keys the table holds (a Scan: the ops command after a restore)."""
        return {str(item.user_id) for item in ConsentKeyItem.scan(attributes_to_get=["user_id"])}

    def adopt(self, user_id: str, legacy: ConsentKey, now: datetime) -> Outcome:
        """Move a key kept on the user item (before this table) here, in one transaction: the key
        put unless one exists ("key"), the user item's copy removed if it is still that one
        ("user")."""
        tx = Transaction(ConsentKeyItem)
        tx.put(
            "key",
            ConsentKeyItem(user_id, subject=legacy.subject, key=legacy.key, created_at=now),
            ConsentKeyItem.user_id.does_not_exist(),
        )
        self._users.enlist_forget_consent_key(tx, user_id, legacy.subject)
        return tx.commit()
