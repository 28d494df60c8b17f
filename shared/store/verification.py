"""Submissions, the credential fingerprint index, reviewers, pending notifications, the audit trail.

Access patterns:
- submit: one TransactWriteItems puts the submission, its fingerprints and its pending
  notification, and moves the user's gate fields under a condition on the state it read, so two
  racing submits cannot both win;
- status: one GetItem of the submission the user item names (consistent);
- review page: GetItem of the submission, one Query of the user's earlier submissions (GSI
  `by_user`), one Query per fingerprint of the index (hash -> user ids);
- decision: one TransactWriteItems (submission conditioned on pending, user item conditioned on
  still naming it, audit entry put);
- notifier retries: one Query of the sparse GSI `pending` (items leave it once delivered);
- reviewers: one Query of the single `reviewers` partition (a handful of people).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from shared.store.base import connection_for, table
from shared.store.users import UserRecord

REVIEWER_POOL = "reviewers"
PENDING = "1"  # the value of `pending` while a notification waits (sparse index key)


class DocumentAttribute(MapAttribute[str, Any]):
    kind = UnicodeAttribute()
    key = UnicodeAttribute()  # the sanitized copy
    sha256 = UnicodeAttribute()
    dhash = UnicodeAttribute()
    width = NumberAttribute()
    height = NumberAttribute()


def document(kind: str, key: str, sha256: str, dhash: str, width: int, height: int) -> DocumentAttribute:
    return DocumentAttribute(kind=kind, key=key, sha256=sha256, dhash=dhash, width=width, height=height)


class SubmissionsByUser(GlobalSecondaryIndex["SubmissionRecord"]):
    class Meta:
        index_name = "by_user"
        projection = AllProjection()

    user_id = UnicodeAttribute(hash_key=True)
    submission_id = UnicodeAttribute(range_key=True)


@table("submissions")
class SubmissionRecord(Model):
    """One submission (or resubmission) of HCP credentials; personal data."""

    class Meta:
        table_name = "submissions"

    submission_id = UnicodeAttribute(hash_key=True)  # ULID: time-ordered
    user_id = UnicodeAttribute()
    revision = NumberAttribute()  # the user's n-th submission
    status = UnicodeAttribute()  # pending | approved | rejected
    real_name = UnicodeAttribute()
    hospital = UnicodeAttribute()
    department = UnicodeAttribute()
    title = UnicodeAttribute()
    profession = UnicodeAttribute()
    license_number = UnicodeAttribute(null=True)
    documents = ListAttribute(of=DocumentAttribute)
    submitted_at = UTCDateTimeAttribute()
    request_key = UnicodeAttribute(null=True)  # sha256 of the Idempotency-Key
    decided_at = UTCDateTimeAttribute(null=True)
    decided_by = UnicodeAttribute(null=True)  # reviewer id
    reason = UnicodeAttribute(null=True)  # a code of shared.domain.verification.REASONS
    note = UnicodeAttribute(null=True)
    redo = ListAttribute(of=UnicodeAttribute, null=True)
    user_message = UnicodeAttribute(null=True)  # sent | owed | failed: the WeChat message of the result

    by_user = SubmissionsByUser()


@table("credential_index")
class FingerprintRecord(Model):
    """Which accounts used an image (sha256, dHash) or a licence number: `fingerprint -> user ids`."""

    class Meta:
        table_name = "credential_index"

    fingerprint = UnicodeAttribute(hash_key=True)  # "sha256:<hex>", "dhash:<hex>", "license:<n>"
    user_id = UnicodeAttribute(range_key=True)
    submission_id = UnicodeAttribute()


@table("reviewers")
class ReviewerRecord(Model):
    class Meta:
        table_name = "reviewers"

    pool = UnicodeAttribute(hash_key=True, default=REVIEWER_POOL)
    reviewer_id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    email = UnicodeAttribute(null=True)
    webhook = UnicodeAttribute(null=True)
    webhook_secret_param = UnicodeAttribute(null=True)
    subscription_arn = UnicodeAttribute(null=True)
    active = BooleanAttribute(default=True)
    created_at = UTCDateTimeAttribute()


class PendingNotifications(GlobalSecondaryIndex["NotificationRecord"]):
    class Meta:
        index_name = "pending"
        projection = KeysOnlyProjection()

    pending = UnicodeAttribute(hash_key=True)
    next_attempt_at = NumberAttribute(range_key=True)


@table("notifications")
class NotificationRecord(Model):
    """The outbox: a submission's reviewer notification, written with it, delivered after commit."""

    class Meta:
        table_name = "notifications"

    submission_id = UnicodeAttribute(hash_key=True)
    revision = NumberAttribute()
    created_at = UTCDateTimeAttribute()
    pending = UnicodeAttribute(null=True)  # PENDING while undelivered; removed after (sparse index)
    next_attempt_at = NumberAttribute(null=True)  # epoch seconds
    attempts = NumberAttribute(default=0)
    delivered = UnicodeSetAttribute(null=True)  # "<reviewer_id>:<channel>" already sent
    last_error = UnicodeAttribute(null=True)  # a class of failure, never a message body
    outcome = UnicodeAttribute(null=True)  # delivered | gave_up | moot (decided before delivery)

    pending_index = PendingNotifications()


@table("review_audit")
class AuditRecord(Model):
    """Who decided what, when and why: non-personal facts only (no names, no free text)."""

    class Meta:
        table_name = "review_audit"

    submission_id = UnicodeAttribute(hash_key=True)
    entry = UnicodeAttribute(range_key=True)  # "<iso time>#<reviewer id>"
    revision = NumberAttribute()
    reviewer_id = UnicodeAttribute()
    decision = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)
    redo = ListAttribute(of=UnicodeAttribute, null=True)
    decided_at = UTCDateTimeAttribute()


class SubmissionConflict(Exception):
    """The transaction's condition failed: someone else moved the state first."""


class VerificationRepository:
    def get(self, submission_id: str) -> SubmissionRecord | None:
        try:
            return SubmissionRecord.get(submission_id, consistent_read=True)
        except DoesNotExist:
            return None

    def history(self, user_id: str) -> list[SubmissionRecord]:
        """The user's submissions, newest first (GSI: eventually consistent)."""
        return list(SubmissionRecord.by_user.query(user_id, scan_index_forward=False))

    def users_with(self, fingerprint: str) -> list[FingerprintRecord]:
        return list(FingerprintRecord.query(fingerprint))

    def submit(
        self,
        submission: SubmissionRecord,
        fingerprints: list[FingerprintRecord],
        notification: NotificationRecord,
        prior_submission: str | None,
    ) -> None:
        """Write it all, or nothing when the user's state moved since it was read."""
        user_condition = UserRecord.user_id.exists() & (
            UserRecord.verification_submission.does_not_exist()
            if prior_submission is None
            else UserRecord.verification_submission == prior_submission
        )
        status_ok = UserRecord.verification_status.does_not_exist() | (
            UserRecord.verification_status == "rejected"
        )
        user_actions: list[Any] = [
            UserRecord.verification_status.set("pending"),
            UserRecord.verification_reason.remove(),
            UserRecord.verification_submission.set(submission.submission_id),
            UserRecord.verification_revision.set(submission.revision),
        ]
        try:
            with TransactWrite(connection=connection_for(SubmissionRecord)) as tx:
                tx.update(
                    UserRecord(submission.user_id), actions=user_actions, condition=user_condition & status_ok
                )
                tx.save(submission, condition=SubmissionRecord.submission_id.does_not_exist())
                tx.save(notification, condition=NotificationRecord.submission_id.does_not_exist())
                for item in fingerprints:
                    tx.save(item)
        except TransactWriteError as exc:
            if exc.cause_response_code == "TransactionCanceledException":
                raise SubmissionConflict() from exc
            raise

    def decide(
        self, submission: SubmissionRecord, status: str, actions: list[Any], audit: AuditRecord
    ) -> None:
        user_actions: list[Any] = [UserRecord.verification_status.set(status)]
        if status == "rejected":
            user_actions.append(UserRecord.verification_reason.set(str(submission.reason)))
        try:
            with TransactWrite(connection=connection_for(SubmissionRecord)) as tx:
                tx.update(submission, actions=actions, condition=SubmissionRecord.status == "pending")
                tx.update(
                    UserRecord(submission.user_id),
                    actions=user_actions,
                    condition=UserRecord.verification_submission == submission.submission_id,
                )
                tx.save(audit, condition=AuditRecord.submission_id.does_not_exist())
        except TransactWriteError as exc:
            if exc.cause_response_code == "TransactionCanceledException":
                raise SubmissionConflict() from exc
            raise

    def set_user_message(self, submission_id: str, outcome: str) -> None:
        SubmissionRecord(submission_id).update(
            actions=[SubmissionRecord.user_message.set(outcome)],
            condition=SubmissionRecord.submission_id.exists(),
        )

    def audit(self, submission_id: str) -> list[AuditRecord]:
        return list(AuditRecord.query(submission_id))

    def erase(self, user_id: str) -> list[SubmissionRecord]:
        """Delete the user's submissions and fingerprints; returns what was deleted."""
        gone = self.history(user_id)
        for item in gone:
            for fingerprint in fingerprints_of(item):
                FingerprintRecord(fingerprint, user_id).delete()
            NotificationRecord(item.submission_id).delete()
            item.delete()
        return gone


def fingerprints_of(item: SubmissionRecord) -> list[str]:
    from shared.domain.verification import normalized_license

    found: list[str] = []
    for doc in item.documents or []:
        found += [f"sha256:{doc.sha256}", f"dhash:{doc.dhash}"]
    if item.license_number:
        found.append(f"license:{normalized_license(str(item.license_number))}")
    return list(dict.fromkeys(found))


# Reviewers change rarely (an ops command): a container reuses the active list this long, so a
# submission costs no reviewer read on a warm container. A reviewer added meanwhile is informed
# from the next container or after this window; a deactivated one may get a message whose link
# no longer opens (links check the reviewer on every use).
REVIEWER_CACHE_SECONDS = 60.0


class ReviewerRepository:
    def __init__(self, max_age: float = REVIEWER_CACHE_SECONDS, clock: Any = None) -> None:
        import time

        self._max_age = max_age
        self._clock = clock or time.monotonic
        self._cached: tuple[float, list[ReviewerRecord]] | None = None

    def active(self) -> list[ReviewerRecord]:
        now = self._clock()
        if self._cached is not None and now - self._cached[0] < self._max_age:
            return list(self._cached[1])
        found = [r for r in ReviewerRecord.query(REVIEWER_POOL) if r.active]
        self._cached = (now, found)
        return list(found)

    def invalidate(self) -> None:
        """Forget the cached list (ops commands, in their own process)."""
        self._cached = None

    def all(self) -> list[ReviewerRecord]:
        return list(ReviewerRecord.query(REVIEWER_POOL))

    def get(self, reviewer_id: str) -> ReviewerRecord | None:
        try:
            return ReviewerRecord.get(REVIEWER_POOL, reviewer_id)
        except DoesNotExist:
            return None


class NotificationRepository:
    def get(self, submission_id: str) -> NotificationRecord | None:
        try:
            return NotificationRecord.get(submission_id, consistent_read=True)
        except DoesNotExist:
            return None

    def due(self, now_epoch: int, limit: int) -> list[str]:
        """Submission ids whose notification is pending and due (sparse index query)."""
        found = NotificationRecord.pending_index.query(
            PENDING, NotificationRecord.next_attempt_at <= now_epoch, limit=limit
        )
        return [str(item.submission_id) for item in found]

    def record(
        self,
        submission_id: str,
        delivered: set[str],
        *,
        done: bool,
        outcome: str | None,
        attempts: int,
        next_attempt_at: int | None,
        error: str | None,
    ) -> None:
        actions: list[Any] = [NotificationRecord.attempts.set(attempts)]
        if delivered:
            actions.append(NotificationRecord.delivered.add(delivered))
        if done:
            actions += [
                NotificationRecord.pending.remove(),
                NotificationRecord.next_attempt_at.remove(),
                NotificationRecord.outcome.set(outcome or "delivered"),
            ]
        else:
            actions.append(NotificationRecord.next_attempt_at.set(next_attempt_at or 0))
        actions.append(
            NotificationRecord.last_error.set(error) if error else NotificationRecord.last_error.remove()
        )
        NotificationRecord(submission_id).update(
            actions=actions, condition=NotificationRecord.submission_id.exists()
        )


def now_entry(now: datetime, reviewer_id: str) -> str:
    return f"{now.isoformat()}#{reviewer_id}"
