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
- withdrawal: one TransactWriteItems (submission conditioned on pending, user item conditioned on
  still naming it as pending);
- notifier retries: one Query of the sparse GSI `pending` (items leave it once delivered);
- reviewers: the old table of reviewers, read only by the migration to staff (shared/store/staff.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.expressions.update import Action
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, IncludeProjection, KeysOnlyProjection
from pynamodb.models import Model

from shared.domain.audit import AuditEvent
from shared.domain.idempotency import Guard
from shared.domain.outcomes import Outcome, Written
from shared.domain.rates import RateWindow
from shared.domain.verification import (
    Claim,
    CredentialImage,
    Decision,
    FingerprintUse,
    Notification,
    Reviewer,
    Submission,
    index_keys_of,
)
from shared.store import audit as audit_store
from shared.store import rates
from shared.store.base import Transaction, attempt, get_item, table
from shared.store.idempotency import IdempotencyRepository
from shared.store.users import UserRepository

REVIEWER_POOL = "reviewers"
PENDING = "1"  # the value of `pending` while a notification waits (sparse index key)


class ImageAttribute(MapAttribute[str, Any]):
    kind = UnicodeAttribute()
    key = UnicodeAttribute()  # the sanitized copy
    sha256 = UnicodeAttribute()
    dhash = UnicodeAttribute()
    width = NumberAttribute()
    height = NumberAttribute()


class SubmissionsByUser(GlobalSecondaryIndex["SubmissionItem"]):
    class Meta:
        index_name = "by_user"
        projection = AllProjection()

    user_id = UnicodeAttribute(hash_key=True)
    submission_id = UnicodeAttribute(range_key=True)


# What the queue page shows of a pending submission, projected into `by_status`.
QUEUE_FIELDS = ["submitted_at", "revision", "is_update", "claimed_by", "claimed_name", "claimed_until"]


class SubmissionsByStatus(GlobalSecondaryIndex["SubmissionItem"]):
    """Submissions by status, oldest first (ULIDs): the pending ones are the review queue. Keyed
    on `status`, which every submission has, so DynamoDB fills it for the items already there.
    It projects what the queue shows and nothing personal (about 150 bytes an entry)."""

    class Meta:
        index_name = "by_status"
        projection = IncludeProjection(QUEUE_FIELDS)

    status = UnicodeAttribute(hash_key=True)
    submission_id = UnicodeAttribute(range_key=True)


@table("submissions")
class SubmissionItem(Model):
    class Meta:
        table_name = "submissions"

    submission_id = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()
    revision = NumberAttribute()
    status = UnicodeAttribute()
    real_name = UnicodeAttribute()
    hospital = UnicodeAttribute()
    department = UnicodeAttribute()
    title = UnicodeAttribute()
    profession = UnicodeAttribute()
    license_number = UnicodeAttribute(null=True)
    documents = ListAttribute(of=ImageAttribute)
    submitted_at = UTCDateTimeAttribute()
    decided_at = UTCDateTimeAttribute(null=True)
    decided_by = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    # Notes written before the applicant could see any were written for staff alone: the stored
    # `note` stays the staff's internal note, and the words to the applicant have their own attribute.
    internal_note = UnicodeAttribute(null=True, attr_name="note")
    applicant_note = UnicodeAttribute(null=True, attr_name="note_to_applicant")
    redo = ListAttribute(of=UnicodeAttribute, null=True)
    user_message = UnicodeAttribute(null=True)
    is_update = BooleanAttribute(null=True)
    claimed_by = UnicodeAttribute(null=True)
    claimed_name = UnicodeAttribute(null=True)
    claimed_until = UTCDateTimeAttribute(null=True)

    by_user = SubmissionsByUser()
    by_status = SubmissionsByStatus()


def to_claim(item: SubmissionItem) -> Claim | None:
    if item.claimed_by is None or item.claimed_until is None:
        return None
    return Claim(str(item.claimed_by), str(item.claimed_name or item.claimed_by), item.claimed_until)


def to_submission(item: SubmissionItem) -> Submission:
    return Submission(
        submission_id=str(item.submission_id),
        user_id=str(item.user_id),
        revision=int(item.revision),
        status=str(item.status),
        real_name=str(item.real_name),
        hospital=str(item.hospital),
        department=str(item.department),
        title=str(item.title),
        profession=str(item.profession),
        license_number=item.license_number,
        documents=tuple(
            CredentialImage(str(d.kind), str(d.key), str(d.sha256), str(d.dhash), int(d.width), int(d.height))
            for d in item.documents or []
        ),
        submitted_at=item.submitted_at,
        decided_at=item.decided_at,
        decided_by=item.decided_by,
        reason=item.reason,
        note=item.applicant_note,
        internal_note=item.internal_note,
        redo=tuple(str(r) for r in item.redo or ()),
        user_message=item.user_message,
        is_update=bool(item.is_update),
        claim=to_claim(item),
    )


@table("credential_index")
class FingerprintItem(Model):
    """Which accounts used an image (sha256, dHash) or a licence number: `fingerprint -> user ids`."""

    class Meta:
        table_name = "credential_index"

    fingerprint = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute(range_key=True)
    submission_id = UnicodeAttribute()


@table("reviewers")
class ReviewerItem(Model):
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


def to_reviewer(item: ReviewerItem) -> Reviewer:
    return Reviewer(
        reviewer_id=str(item.reviewer_id),
        name=str(item.name),
        created_at=item.created_at,
        email=item.email,
        webhook=item.webhook,
        webhook_secret_param=item.webhook_secret_param,
        subscription_arn=item.subscription_arn,
        active=bool(item.active),
    )


class PendingNotifications(GlobalSecondaryIndex["NotificationItem"]):
    class Meta:
        index_name = "pending"
        projection = KeysOnlyProjection()

    pending = UnicodeAttribute(hash_key=True)
    next_attempt_at = NumberAttribute(range_key=True)


@table("notifications")
class NotificationItem(Model):
    class Meta:
        table_name = "notifications"

    submission_id = UnicodeAttribute(hash_key=True)
    revision = NumberAttribute()
    created_at = UTCDateTimeAttribute()
    pending = UnicodeAttribute(null=True)  # PENDING while undelivered; removed after (sparse index)
    next_attempt_at = NumberAttribute(null=True)
    attempts = NumberAttribute(default=0)
    delivered = UnicodeSetAttribute(null=True)
    last_error = UnicodeAttribute(null=True)
    outcome = UnicodeAttribute(null=True)

    pending_index = PendingNotifications()


@table("notifications", creates=False)
class MessageWindowItem(Model):
    """When a staff member was last sent a message, and a reminder (epoch seconds): another item
    shape in the notifications table, keyed `window#<staff id>`, never in the `pending` index."""

    class Meta:
        table_name = "notifications"

    key = UnicodeAttribute(hash_key=True, attr_name="submission_id")
    sent_at = NumberAttribute(null=True)
    reminded_at = NumberAttribute(null=True)


def window_key(staff_id: str) -> str:
    return f"window#{staff_id}"


def to_notification(item: NotificationItem) -> Notification:
    return Notification(
        submission_id=str(item.submission_id),
        revision=int(item.revision),
        created_at=item.created_at,
        pending=bool(item.pending),
        next_attempt_at=None if item.next_attempt_at is None else int(item.next_attempt_at),
        attempts=int(item.attempts or 0),
        delivered=frozenset(item.delivered or ()),
        last_error=item.last_error,
        outcome=item.outcome,
    )


class VerificationRepository:
    def __init__(self, users: UserRepository, guards: IdempotencyRepository) -> None:
        self._users = users
        self._guards = guards

    def get(self, submission_id: str) -> Submission | None:
        item = get_item(SubmissionItem, submission_id)
        return None if item is None else to_submission(item)

    def history(self, user_id: str) -> list[Submission]:
        """The user's submissions, newest first (GSI: eventually consistent)."""
        return [to_submission(i) for i in SubmissionItem.by_user.query(user_id, scan_index_forward=False)]

    def users_with(self, fingerprint: str) -> list[FingerprintUse]:
        return [
            FingerprintUse(str(i.fingerprint), str(i.user_id), str(i.submission_id))
            for i in FingerprintItem.query(fingerprint)
        ]

    def submit(
        self,
        submission: Submission,
        notification: Notification,
        prior: str | None,
        guard: Guard | None,
        window: RateWindow | None = None,
    ) -> Outcome:
        """The submission, its fingerprints, its pending notification, the user's new state and +1
        on the user's submit window, at once. `Refused`: "user" (the user's state moved since it
        was read: another submit won, or they may not submit), "guard" (the Idempotency-Key was used
        meanwhile), the window's name (its limit is reached)."""
        s = submission
        tx = Transaction(SubmissionItem)
        self._users.enlist_submission(
            tx, s.user_id, s.submission_id, s.revision, prior, is_update=s.is_update
        )
        tx.put(
            "submission",
            SubmissionItem(
                s.submission_id,
                user_id=s.user_id,
                revision=s.revision,
                status=s.status,
                real_name=s.real_name,
                hospital=s.hospital,
                department=s.department,
                title=s.title,
                profession=s.profession,
                license_number=s.license_number,
                documents=[
                    ImageAttribute(
                        kind=d.kind, key=d.key, sha256=d.sha256, dhash=d.dhash, width=d.width, height=d.height
                    )
                    for d in s.documents
                ],
                submitted_at=s.submitted_at,
                is_update=s.is_update or None,
            ),
            SubmissionItem.submission_id.does_not_exist(),
        )
        tx.put(
            "notification",
            NotificationItem(
                notification.submission_id,
                revision=notification.revision,
                created_at=notification.created_at,
                pending=PENDING,
                next_attempt_at=notification.next_attempt_at,
                attempts=0,
            ),
            NotificationItem.submission_id.does_not_exist(),
        )
        for fingerprint in index_keys_of(s):
            tx.put("fingerprint", FingerprintItem(fingerprint, s.user_id, submission_id=s.submission_id))
        if guard is not None:
            self._guards.enlist(tx, guard)
        if window is not None:
            rates.enlist(tx, window)
        return tx.commit()

    def decide(self, submission: Submission, decision: Decision, audit: AuditEvent) -> Outcome:
        """The decision, the user's new status and the audit entry, at once. `Refused`:
        "submission" (no longer pending: another decision stands), "user" (the user no longer
        names this submission)."""
        status = decision.status.value
        actions: list[Action] = [
            SubmissionItem.status.set(status),
            SubmissionItem.decided_at.set(decision.decided_at),
            SubmissionItem.decided_by.set(decision.reviewer_id),
            SubmissionItem.reason.set(decision.reason) if decision.reason else SubmissionItem.reason.remove(),
            SubmissionItem.applicant_note.set(decision.note)
            if decision.note
            else SubmissionItem.applicant_note.remove(),
            SubmissionItem.internal_note.set(decision.internal_note)
            if decision.internal_note
            else SubmissionItem.internal_note.remove(),
            SubmissionItem.redo.set(cast(Any, list(decision.redo)))
            if decision.redo
            else SubmissionItem.redo.remove(),
        ]
        tx = Transaction(SubmissionItem)
        tx.update(
            "submission",
            SubmissionItem(submission.submission_id),
            actions,
            SubmissionItem.status == "pending",
        )
        self._users.enlist_decision(
            tx,
            submission.user_id,
            submission.submission_id,
            status,
            decision.reason,
            is_update=submission.is_update,
        )
        audit_store.enlist(tx, audit)
        return tx.commit()

    def withdraw(
        self, user_id: str, submission_id: str, *, is_update: bool, withdrawn_at: datetime
    ) -> Outcome:
        """The applicant takes a pending submission (or update) back. `Refused`: "submission" (no
        longer pending: decided meanwhile), "user" (no longer the user's pending one)."""
        tx = Transaction(SubmissionItem)
        tx.update(
            "submission",
            SubmissionItem(submission_id),
            [SubmissionItem.status.set("withdrawn"), SubmissionItem.decided_at.set(withdrawn_at)],
            SubmissionItem.status == "pending",
        )
        self._users.enlist_withdrawal(tx, user_id, submission_id, is_update=is_update)
        return tx.commit()

    def claim(self, submission_id: str, claim: Claim, now: datetime, audit: AuditEvent) -> Outcome:
        """The claim and its audit line. `Refused` ("submission"): no longer pending, or held by
        another member whose claim has not lapsed."""
        tx = Transaction(SubmissionItem)
        tx.update(
            "submission",
            SubmissionItem(submission_id),
            [
                SubmissionItem.claimed_by.set(claim.staff_id),
                SubmissionItem.claimed_name.set(claim.name),
                SubmissionItem.claimed_until.set(claim.until),
            ],
            (SubmissionItem.status == "pending")
            & (
                SubmissionItem.claimed_until.does_not_exist()
                | (SubmissionItem.claimed_until < now)
                | (SubmissionItem.claimed_by == claim.staff_id)
            ),
        )
        audit_store.enlist(tx, audit)
        return tx.commit()

    def revoke(
        self,
        approved: Submission,
        decision: Decision,
        audit: AuditEvent,
        *,
        pending_update: str | None,
    ) -> Outcome:
        """An approval withdrawn: the approved submission `revoked` (with the reason and notes),
        the user `revoked`, their pending update (if any) withdrawn with it, and the audit line,
        at once. `Refused`: "submission" (no longer approved), "user" (the user's approval is no
        longer this submission, or the update the caller saw is gone), "update" (the update was
        decided meanwhile)."""
        tx = Transaction(SubmissionItem)
        tx.update(
            "submission",
            SubmissionItem(approved.submission_id),
            [
                SubmissionItem.status.set("revoked"),
                SubmissionItem.decided_at.set(decision.decided_at),
                SubmissionItem.decided_by.set(decision.reviewer_id),
                SubmissionItem.reason.set(decision.reason or "other"),
                SubmissionItem.applicant_note.set(decision.note)
                if decision.note
                else SubmissionItem.applicant_note.remove(),
                SubmissionItem.internal_note.set(decision.internal_note)
                if decision.internal_note
                else SubmissionItem.internal_note.remove(),
                SubmissionItem.redo.remove(),
            ],
            SubmissionItem.status == "approved",
        )
        if pending_update is not None:
            tx.update(
                "update",
                SubmissionItem(pending_update),
                [
                    SubmissionItem.status.set("withdrawn"),
                    SubmissionItem.decided_at.set(decision.decided_at),
                ],
                SubmissionItem.status == "pending",
            )
        self._users.enlist_revocation(
            tx, approved.user_id, approved.submission_id, decision.reason, pending_update=pending_update
        )
        audit_store.enlist(tx, audit)
        return tx.commit()

    def set_user_message(self, submission_id: str, outcome: str) -> None:
        attempt(
            lambda: SubmissionItem(submission_id).update(
                actions=[SubmissionItem.user_message.set(outcome)],
                condition=SubmissionItem.submission_id.exists(),
            )
        )

    def audit_of(self, submission_id: str) -> list[AuditEvent]:
        """The audit lines about one submission, oldest first (one Query)."""
        return audit_store.AuditTrail().of_subject(submission_id)

    def notifications_of(self, submission_ids: list[str]) -> list[Notification]:
        """The reviewer notifications of these submissions (one BatchGetItem per hundred)."""
        return [to_notification(i) for i in NotificationItem.batch_get(submission_ids)]

    def fingerprint_uses(self, user_id: str, fingerprints: list[str]) -> list[FingerprintUse]:
        """The user's entries in the duplicate-detection index among these fingerprints."""
        found = FingerprintItem.batch_get([(f, user_id) for f in fingerprints])
        return [FingerprintUse(str(i.fingerprint), str(i.user_id), str(i.submission_id)) for i in found]

    def erase(self, user_id: str) -> list[Submission]:
        """Delete the user's submissions, fingerprints and notifications; returns what went."""
        gone = self.history(user_id)
        for submission in gone:
            for fingerprint in index_keys_of(submission):
                FingerprintItem(fingerprint, user_id).delete()
            NotificationItem(submission.submission_id).delete()
            SubmissionItem(submission.submission_id).delete()
        return gone


class NotificationRepository:
    def get(self, submission_id: str) -> Notification | None:
        item = get_item(NotificationItem, submission_id)
        return None if item is None else to_notification(item)

    def waiting(self, limit: int) -> list[str]:
        """Every pending notification's submission id, due or not (one Query of the sparse index)."""
        return [
            str(item.submission_id) for item in NotificationItem.pending_index.query(PENDING, limit=limit)
        ]

    def due(self, now_epoch: int, limit: int) -> list[str]:
        """Submission ids whose notification is pending and due (sparse index query)."""
        found = NotificationItem.pending_index.query(
            PENDING, NotificationItem.next_attempt_at <= now_epoch, limit=limit
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
        actions: list[Action] = [NotificationItem.attempts.set(attempts)]
        if delivered:
            actions.append(NotificationItem.delivered.add(delivered))
        if done:
            actions += [
                NotificationItem.pending.remove(),
                NotificationItem.next_attempt_at.remove(),
                NotificationItem.outcome.set(outcome or "delivered"),
            ]
        else:
            actions.append(NotificationItem.next_attempt_at.set(next_attempt_at or 0))
        actions.append(
            NotificationItem.last_error.set(error) if error else NotificationItem.last_error.remove()
        )
        # a notification erased with its account meanwhile has nothing left to record
        attempt(
            lambda: NotificationItem(submission_id).update(
                actions=actions, condition=NotificationItem.submission_id.exists()
            )
        )


class MessageWindowRepository:
    """At most one message to a member per window: a conditional write of when the last one went,
    made before sending (so two senders cannot both send) and undone if nothing could be sent."""

    def claim(
        self, staff_id: str, now_epoch: int, every_seconds: int, reminder_every: int | None = None
    ) -> bool:
        """Note a message to `staff_id` as sent now, unless one went less than `every_seconds`
        ago (or, with `reminder_every`, a reminder less than that ago): False then."""
        item = MessageWindowItem(window_key(staff_id))
        condition = MessageWindowItem.sent_at.does_not_exist() | (
            MessageWindowItem.sent_at <= now_epoch - every_seconds
        )
        actions: list[Action] = [MessageWindowItem.sent_at.set(now_epoch)]
        if reminder_every is not None:
            condition &= MessageWindowItem.reminded_at.does_not_exist() | (
                MessageWindowItem.reminded_at <= now_epoch - reminder_every
            )
            actions.append(MessageWindowItem.reminded_at.set(now_epoch))
        return isinstance(attempt(lambda: item.update(actions=actions, condition=condition)), Written)

    def release(self, staff_id: str, claimed_epoch: int, *, reminder: bool = False) -> None:
        """Undo a claim made at `claimed_epoch` whose message could not be sent (best effort: a
        later claim has moved it meanwhile, or it stays and the member waits one window)."""
        item = MessageWindowItem(window_key(staff_id))
        actions: list[Action] = [MessageWindowItem.sent_at.remove()]
        if reminder:
            actions.append(MessageWindowItem.reminded_at.remove())
        attempt(lambda: item.update(actions=actions, condition=(MessageWindowItem.sent_at == claimed_epoch)))
