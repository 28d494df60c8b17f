"""HCP verification for the applicant: upload links, submit, resubmit and update, withdraw,
status, their data.

Submit checks on the server what S3 would have enforced and more (the key is the caller's, the
object exists, is within size, and decodes as the declared image type), re-encodes every image
without metadata into `credentials/<user>/<submission>/`, copies there the images it keeps from
the latest submission (`keep`: CopyObject, so the old submission's expiry or deletion cannot touch
the new one), and only then commits the submission, its fingerprints, its pending reviewer
notification and the user's new gate state in ONE conditional transaction; images written for a
submission that does not commit are deleted (best effort: the lifecycle backs it up). The
reviewers are notified after the commit; a failure there leaves the notification pending for the
scheduled retry and never fails the submission.

An approved user's submission is an update: reviewed like any other while the approved one stays
in force (`update` in the status), replacing it only when approved.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec
from msgspec.structs import replace

from shared import errors
from shared.domain import times
from shared.domain.audit import AuditEvent
from shared.domain.idempotency import Guard
from shared.domain.ids import new_id
from shared.domain.outcomes import Outcome, Refused, Written
from shared.domain.rates import RateWindow
from shared.domain.users import User
from shared.domain.verification import (
    DEFAULT_IMAGE_RETENTION_DAYS,
    IMAGE_LINK_LIFETIME,
    MAX_IMAGE_BYTES,
    REASONS,
    REFUSED,
    UPLOAD_URL_LIFETIME,
    Applicant,
    CredentialImage,
    Notification,
    Status,
    Submission,
    UploadKey,
    can_submit,
    check_applicant,
    check_documents,
    check_upload_request,
    clean_key,
    index_keys_of,
    keepable_kinds,
    kept_images,
    parse_upload_key,
    submit_window,
    upload_key,
    upload_window,
    user_prefixes,
)
from shared.log import logger
from shared.services.idempotency import Idempotency

if TYPE_CHECKING:
    from shared.services.ports import CleanedImage, CredentialStorage, Notify, RateWindows, Submissions

OPERATION = "verification"


class Submitted(msgspec.Struct, frozen=True):
    submission_id: str
    status: str

    def view(self) -> dict[str, Any]:
        return {"status": self.status, "submission_id": self.submission_id}


def submission_view(
    submission: Submission, status: str, now: datetime, retention_days: int, reason: str | None = None
) -> dict[str, Any]:
    """One submission as its applicant sees it: what they sent, the reviewer's words to them, what
    they may keep. Never who reviewed it, nor the staff's internal note."""
    reason = (submission.reason or reason) if status in REFUSED else None
    keepable = keepable_kinds(submission, now, retention_days)
    return {
        "status": status,
        "submission_id": submission.submission_id,
        "submitted_at": times.iso(submission.submitted_at),
        "decided_at": times.iso_or_none(submission.decided_at),
        "reason": reason,
        "reason_text": REASONS.get(reason) if reason else None,
        "note": submission.note,
        "redo_documents": list(submission.redo),
        "fields": {
            "real_name": submission.real_name,
            "hospital": submission.hospital,
            "department": submission.department,
            "title": submission.title,
            "profession": submission.profession,
            "license_number": submission.license_number,
        },
        "documents": [{"kind": d.kind, "keepable": d.kind in keepable} for d in submission.documents],
    }


def status_view(
    user: User,
    current: Submission | None,
    update: Submission | None,
    now: datetime,
    retention_days: int = DEFAULT_IMAGE_RETENTION_DAYS,
) -> dict[str, Any]:
    """The submission in force (for an approved user the approved one, else the latest) and, for
    an approved user who sent an update, that update's state."""
    status = user.verification_status or Status.NONE.value
    view: dict[str, Any] = {
        "status": status,
        "submission_id": None,
        "submitted_at": None,
        "decided_at": None,
        "reason": None,
        "reason_text": None,
        "note": None,
        "redo_documents": [],
        "fields": None,
        "documents": [],
        "update": None,
        "revision": user.verification_revision,
    }
    if current is not None:
        view.update(submission_view(current, status, now, retention_days, user.verification_reason))
    if update is not None and status == Status.APPROVED and user.verification_update_status:
        view["update"] = submission_view(update, user.verification_update_status, now, retention_days)
    return view


def _update_shown(user: User) -> bool:
    """Whether the user is approved and sent an update since (pending, rejected or withdrawn)."""
    return bool(user.verification_status == Status.APPROVED and user.verification_update)


class VerificationService:
    def __init__(
        self,
        submissions: Submissions,
        storage: CredentialStorage,
        clean: Callable[[bytes, str], CleanedImage],
        notifier: Callable[[], Notify],
        idempotency: Idempotency,
        clock: Callable[[], datetime],
        windows: RateWindows,
        retention_days: int = DEFAULT_IMAGE_RETENTION_DAYS,
    ) -> None:
        self._submissions = submissions
        self._windows = windows
        self._clean = clean  # proves the bytes are an image of that type, strips it, hashes it
        self._storage = storage
        self._notifier = notifier
        self._idempotency = idempotency
        self._clock = clock
        self._retention_days = retention_days  # how long the lifecycle keeps decided images

    def upload(self, user: User, kind: str, content_type: str, size: int) -> dict[str, Any]:
        """A presigned POST for one credential image under the caller's own prefix."""
        can_submit(user.verification_status, user.verification_update_status)
        check_upload_request(kind, content_type, size)
        now = self._clock()
        window = upload_window(user.user_id, now)  # counted before the link exists: no transaction to join
        if isinstance(self._windows.spend(window), Refused):
            retry = window.retry_after(int(now.timestamp()))
            raise errors.RateLimited(
                "verification_uploads", retry_after=retry, limit=window.limit, minutes=-(-retry // 60)
            )
        key = upload_key(user.user_id, kind, content_type, new_id()).key
        post = self._storage.presigned_post(key, content_type, MAX_IMAGE_BYTES, UPLOAD_URL_LIFETIME, now)
        return {
            "url": post.url,
            "fields": post.fields,
            "key": post.key,
            "expires_at": times.iso(post.expires_at),
        }

    def status(self, user: User) -> dict[str, Any]:
        current = user.verification_submission
        update = user.verification_update if _update_shown(user) else None
        return status_view(
            user,
            self._submissions.get(current) if current else None,
            self._submissions.get(update) if update else None,
            self._clock(),
            self._retention_days,
        )

    def submit(
        self,
        user: User,
        fields: dict[str, Any],
        documents: list[str],
        idempotency_key: str | None,
        keep: list[str] | None = None,
    ) -> dict[str, Any]:
        """Submit, resubmit or update; the view of the new submission (or of the first, to a replay).

        `keep` names kinds whose images the latest submission holds: they are copied into this one
        instead of being uploaded again.
        """
        keep = list(keep or [])
        asked: dict[str, Any] = {"fields": fields, "documents": documents}
        if keep:  # a request without `keep` digests as it did before `keep` existed
            asked["keep"] = keep
        guard = self._idempotency.guard(user.user_id, OPERATION, idempotency_key, asked)
        first = self._idempotency.first_response(guard)  # before the costly images: a replay skips them
        if first is not None:
            replayed: dict[str, Any] = first
            return replayed
        can_submit(user.verification_status, user.verification_update_status)
        applicant = check_applicant(**fields)
        latest = self._latest(user) if keep else None
        kept = kept_images(keep, latest, self._clock(), self._retention_days)
        check_documents(documents, len(kept))
        uploads = [parse_upload_key(key, user.user_id) for key in documents]
        submission_id = new_id()
        revision = user.verification_revision + 1
        submitted = Submitted(submission_id, Status.PENDING.value)
        window = submit_window(user.user_id, self._clock())
        written: list[str] = []
        try:
            images = self._store_images(user.user_id, submission_id, uploads, kept, written)
            outcome = self._commit(user, submission_id, revision, applicant, images, guard, submitted, window)
        except Exception:
            self._discard(written)
            raise
        # "submission" (its fresh id taken): an attempt the client library retried after a lost answer
        # may have landed; one read on that path says
        landed = isinstance(outcome, Written) or (
            isinstance(outcome, Refused)
            and "submission" in outcome
            and self._submissions.get(submission_id) is not None
        )
        if not landed:
            self._discard(written)
            if guard is not None and isinstance(outcome, Refused) and "guard" in outcome:
                again: dict[str, Any] = self._idempotency.replay(guard)  # a racing copy of it won
                return again
            if isinstance(outcome, Refused) and window.name in outcome:
                raise errors.RateLimited(
                    "verification_submits",
                    retry_after=window.retry_after(int(self._clock().timestamp())),
                    limit=window.limit,
                )
            raise errors.Conflict("verification_changed")
        self._discard([u.key for u in uploads])  # the originals, EXIF and all; lifecycle backs this up
        try:
            self._notifier().deliver_new(submission_id, revision)
        except Exception:  # the notification item stays pending: the scheduled retry delivers it
            logger.exception("reviewer notification deferred", extra={"submission_id": submission_id})
        logger.info(
            "verification submitted",
            extra={"submission_id": submission_id, "revision": revision, "kept": len(kept)},
        )
        return submitted.view()

    def _latest(self, user: User) -> Submission | None:
        """The user's latest submission: an approved user's update, if they sent one."""
        latest = user.verification_update if _update_shown(user) else user.verification_submission
        return self._submissions.get(latest) if latest else None

    def withdraw(self, user: User) -> dict[str, Any]:
        """Take back the pending submission (to correct it) or an approved user's pending update."""
        if user.verification_status == Status.APPROVED and user.verification_update_status == Status.PENDING:
            submission_id, is_update = user.verification_update, True
        elif user.verification_status == Status.PENDING:
            submission_id, is_update = user.verification_submission, False
        else:
            raise errors.Conflict("verification_not_pending")
        if submission_id is None:
            raise errors.Conflict("verification_not_pending")
        outcome = self._submissions.withdraw(
            user.user_id, submission_id, is_update=is_update, withdrawn_at=self._clock()
        )
        withdrawn = None
        if not isinstance(outcome, Written):
            # a retry of a withdrawal whose answer was lost finds it withdrawn: that is the outcome asked for
            withdrawn = self._submissions.get(submission_id)
            if withdrawn is None or withdrawn.status != Status.WITHDRAWN:
                raise errors.Conflict("verification_changed")
        self._tag_withdrawn(submission_id, withdrawn)
        logger.info("verification withdrawn", extra={"submission_id": submission_id, "update": is_update})
        return {"status": Status.WITHDRAWN.value, "submission_id": submission_id}

    def _tag_withdrawn(self, submission_id: str, withdrawn: Submission | None) -> None:
        """Best effort, never undoing the withdrawal: tag its images for the bucket's lifecycle."""
        try:
            withdrawn = withdrawn or self._submissions.get(submission_id)
            for doc in withdrawn.documents if withdrawn else ():
                self._storage.tag(doc.key, {"verification": Status.WITHDRAWN.value})
        except Exception:
            logger.warning("images not tagged", extra={"submission_id": submission_id})

    def _store_images(
        self,
        user_id: str,
        submission_id: str,
        uploads: list[UploadKey],
        kept: list[CredentialImage],
        written: list[str],
    ) -> list[CredentialImage]:
        """The new uploads cleaned, then the kept images copied, under the new submission's keys."""
        copies: list[CredentialImage] = []
        for offset, image in enumerate(kept):  # cheap, and a gone source fails before any decoding
            key = clean_key(user_id, submission_id, len(uploads) + offset)
            self._storage.copy(image.key, key)
            written.append(key)
            copies.append(replace(image, key=key))
        stored: list[CredentialImage] = []
        seen = {image.sha256 for image in kept}
        for index, upload in enumerate(uploads):
            obj = self._storage.read(upload.key, MAX_IMAGE_BYTES)
            if obj.content_type.split(";")[0].strip().lower() != upload.content_type:
                raise errors.invalid(
                    "documents", "invalid", "document_type", content_type=upload.content_type
                )
            clean = self._clean(obj.data, upload.content_type)
            if clean.sha256 in seen:
                raise errors.invalid("documents", "invalid", "same_image")
            seen.add(clean.sha256)
            key = clean_key(user_id, submission_id, index)
            self._storage.put_clean(key, clean.data, clean.content_type)
            written.append(key)
            stored.append(
                CredentialImage(upload.kind, key, clean.sha256, clean.dhash, clean.width, clean.height)
            )
        return stored + copies

    def _commit(
        self,
        user: User,
        submission_id: str,
        revision: int,
        applicant: Applicant,
        images: list[CredentialImage],
        guard: Guard | None,
        submitted: Submitted,
        window: RateWindow,
    ) -> Outcome:
        now = self._clock()
        submission = Submission(
            submission_id=submission_id,
            user_id=user.user_id,
            revision=revision,
            status=Status.PENDING.value,
            real_name=applicant.real_name,
            hospital=applicant.hospital,
            department=applicant.department,
            title=applicant.title,
            profession=applicant.profession,
            license_number=applicant.license_number,
            documents=tuple(images),
            submitted_at=now,
            is_update=user.verification_status == Status.APPROVED,
        )
        notification = Notification(submission_id, revision, now, next_attempt_at=int(now.timestamp()))
        return self._submissions.submit(
            submission,
            notification,
            user.verification_submission,
            guard.answering(submitted.view()) if guard is not None else None,
            window,
        )

    def _discard(self, keys: list[str]) -> None:
        if not keys:
            return
        try:
            self._storage.delete(keys)
        except Exception:  # the bucket's lifecycle rule removes stale uploads after a day
            logger.warning("objects left for the lifecycle rule", extra={"count": len(keys)})


class VerificationData:
    """Submissions with their audit entries, reviewer notifications and credential images (as
    short-lived links, like the review page's), the duplicate-detection entries, and the uploads
    not yet submitted: exported, and erased with the account (the audit entries stay, naming a
    submission that no longer exists: ids and codes, nothing personal)."""

    name = "verification"

    def __init__(
        self, submissions: Submissions, storage: CredentialStorage, clock: Callable[[], datetime]
    ) -> None:
        self._submissions = submissions
        self._storage = storage
        self._clock = clock

    def export(self, user_id: str) -> Any:
        history = self._submissions.history(user_id)
        ids = [s.submission_id for s in history]
        notifications = {n.submission_id: n for n in self._submissions.notifications_of(ids)} if ids else {}
        stored = set(self._storage.keys_under(user_prefixes(user_id)[1]))
        links_die = times.iso(self._clock() + IMAGE_LINK_LIFETIME)

        def image(d: CredentialImage) -> dict[str, Any]:
            # an image the bucket's lifecycle has expired is listed without a link
            link = self._storage.view_url(d.key, IMAGE_LINK_LIFETIME) if d.key in stored else None
            return {
                "kind": d.kind,
                "key": d.key,
                "sha256": d.sha256,
                "dhash": d.dhash,
                "link": link,
                "link_expires_at": links_die if link else None,
            }

        return [
            {
                "submission_id": s.submission_id,
                "revision": s.revision,
                "status": s.status,
                "real_name": s.real_name,
                "hospital": s.hospital,
                "department": s.department,
                "title": s.title,
                "profession": s.profession,
                "license_number": s.license_number,
                "submitted_at": times.iso(s.submitted_at),
                "decided_at": times.iso_or_none(s.decided_at),
                "decided_by": s.decided_by,
                "reason": s.reason,
                # PIPL: the applicant may see everything held about them, the staff's note too
                "note": s.note,
                "internal_note": s.internal_note,
                "redo_documents": list(s.redo),
                "is_update": s.is_update,
                "result_message": s.user_message,
                "documents": [image(d) for d in s.documents],
                "audit": [_audit_view(a) for a in self._submissions.audit_of(s.submission_id)],
                "notification": _notification_view(notifications.get(s.submission_id)),
            }
            for s in history
        ]

    def erase(self, user_id: str) -> None:
        """Images, submissions, fingerprints and notifications go; the audit trail names no one."""
        for prefix in user_prefixes(user_id):
            self._storage.delete_prefix(prefix)
        self._submissions.erase(user_id)


def _audit_view(entry: AuditEvent) -> dict[str, Any]:
    """A line of the audit trail about the submission: staff opened its credentials, claimed it,
    decided it (with the outcome, reason and the documents to redo), or revoked its approval."""
    return {
        "action": entry.action,
        "by": entry.actor,
        "at": times.iso(entry.at),
        "outcome": entry.outcome,
        "reason": entry.reason,
        "revision": entry.revision,
        "redo": list(entry.redo),
    }


def _notification_view(found: Notification | None) -> dict[str, Any] | None:
    if found is None:
        return None
    return {
        "created_at": times.iso(found.created_at),
        "pending": found.pending,
        "attempts": found.attempts,
        "delivered": sorted(found.delivered),
        "last_error": found.last_error,
        "outcome": found.outcome,
    }


class DuplicateIndexData:
    """The user's entries in the credential index (which accounts used an image or a licence
    number, and the digest of each real name they submitted, for the console's search): exported;
    erased with the submissions (`VerificationData`)."""

    name = "duplicate_index"

    def __init__(self, submissions: Submissions) -> None:
        self._submissions = submissions

    def export(self, user_id: str) -> Any:
        prints = [f for s in self._submissions.history(user_id) for f in index_keys_of(s)]
        uses = self._submissions.fingerprint_uses(user_id, list(dict.fromkeys(prints))) if prints else []
        return [{"fingerprint": u.fingerprint, "submission_id": u.submission_id} for u in uses]

    def erase(self, user_id: str) -> None:
        return None


class UploadData:
    """Images uploaded but not (yet) submitted, as short-lived links; erased with the account
    (`VerificationData` deletes the whole prefix), and by the bucket's lifecycle after a day."""

    name = "uploads"

    def __init__(self, storage: CredentialStorage, clock: Callable[[], datetime]) -> None:
        self._storage = storage
        self._clock = clock

    def export(self, user_id: str) -> Any:
        links_die = times.iso(self._clock() + IMAGE_LINK_LIFETIME)
        return [
            {
                "key": key,
                "link": self._storage.view_url(key, IMAGE_LINK_LIFETIME),
                "link_expires_at": links_die,
            }
            for key in self._storage.keys_under(user_prefixes(user_id)[0])
        ]

    def erase(self, user_id: str) -> None:
        return None
