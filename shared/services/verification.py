"""HCP verification for the applicant: upload links, submit and resubmit, status, their data.

Submit checks on the server what S3 would have enforced and more (the key is the caller's, the
object exists, is within size, and decodes as the declared image type), re-encodes every image
without metadata into `credentials/<user>/<submission>/`, and commits the submission, its
fingerprints, its pending reviewer notification and the user's new gate state in ONE conditional
transaction. The reviewers are notified after the commit; a failure there leaves the
notification pending for the scheduled retry and never fails the submission.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec

from shared import errors
from shared.domain import times
from shared.domain.idempotency import Guard
from shared.domain.ids import new_id
from shared.domain.outcomes import Outcome, Refused, Written
from shared.domain.users import User
from shared.domain.verification import (
    MAX_IMAGE_BYTES,
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
    parse_upload_key,
    upload_key,
    user_prefixes,
)
from shared.log import logger
from shared.services.idempotency import Idempotency

if TYPE_CHECKING:
    from shared.services.ports import CleanedImage, CredentialStorage, Notify, Submissions

OPERATION = "verification"


class Submitted(msgspec.Struct, frozen=True):
    submission_id: str
    status: str

    def view(self) -> dict[str, Any]:
        return {"status": self.status, "submission_id": self.submission_id}


def status_view(user: User, latest: Submission | None) -> dict[str, Any]:
    """What the applicant sees of their verification: never reviewer names or the internal note."""
    view: dict[str, Any] = {
        "status": user.verification_status or Status.NONE.value,
        "reason": None,
        "submission_id": None,
        "submitted_at": None,
        "decided_at": None,
        "revision": user.verification_revision,
    }
    if latest is not None:
        view.update(
            submission_id=latest.submission_id,
            submitted_at=times.iso(latest.submitted_at),
            decided_at=times.iso_or_none(latest.decided_at),
            documents=[{"kind": d.kind} for d in latest.documents],
        )
        if latest.status == Status.REJECTED:
            view["reason"] = latest.reason
            view["redo_documents"] = list(latest.redo)
        view["note"] = latest.note  # the reviewer's words to the applicant (审核意见)
    return view


class VerificationService:
    def __init__(
        self,
        submissions: Submissions,
        storage: CredentialStorage,
        clean: Callable[[bytes, str], CleanedImage],
        notifier: Callable[[], Notify],
        idempotency: Idempotency,
        clock: Callable[[], datetime],
    ) -> None:
        self._submissions = submissions
        self._clean = clean  # proves the bytes are an image of that type, strips it, hashes it
        self._storage = storage
        self._notifier = notifier
        self._idempotency = idempotency
        self._clock = clock

    def upload(self, user: User, kind: str, content_type: str, size: int) -> dict[str, Any]:
        """A presigned POST for one credential image under the caller's own prefix."""
        can_submit(user.verification_status)
        check_upload_request(kind, content_type, size)
        key = upload_key(user.user_id, kind, content_type, new_id()).key
        post = self._storage.presigned_post(
            key, content_type, MAX_IMAGE_BYTES, UPLOAD_URL_LIFETIME, self._clock()
        )
        return {
            "url": post.url,
            "fields": post.fields,
            "key": post.key,
            "expires_at": times.iso(post.expires_at),
        }

    def status(self, user: User) -> dict[str, Any]:
        latest = self._submissions.get(user.verification_submission) if user.verification_submission else None
        return status_view(user, latest)

    def submit(
        self, user: User, fields: dict[str, Any], documents: list[str], idempotency_key: str | None
    ) -> dict[str, Any]:
        """Submit or resubmit; the view of the new submission (or of the first, to a replay)."""
        guard = self._idempotency.guard(
            user.user_id, OPERATION, idempotency_key, {"fields": fields, "documents": documents}
        )
        first = self._idempotency.first_response(guard)  # before the costly images: a replay skips them
        if first is not None:
            replayed: dict[str, Any] = first
            return replayed
        can_submit(user.verification_status)
        applicant = check_applicant(**fields)
        check_documents(documents)
        uploads = [parse_upload_key(key, user.user_id) for key in documents]
        submission_id = new_id()
        revision = user.verification_revision + 1
        submitted = Submitted(submission_id, Status.PENDING.value)
        written: list[str] = []
        try:
            images = self._store_images(user.user_id, submission_id, uploads, written)
            outcome = self._commit(user, submission_id, revision, applicant, images, guard, submitted)
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
            raise errors.Conflict("verification_changed")
        self._discard([u.key for u in uploads])  # the originals, EXIF and all; lifecycle backs this up
        try:
            self._notifier().deliver_new(submission_id, revision)
        except Exception:  # the notification item stays pending: the scheduled retry delivers it
            logger.exception("reviewer notification deferred", extra={"submission_id": submission_id})
        logger.info("verification submitted", extra={"submission_id": submission_id, "revision": revision})
        return submitted.view()

    def _store_images(
        self, user_id: str, submission_id: str, uploads: list[UploadKey], written: list[str]
    ) -> list[CredentialImage]:
        stored: list[CredentialImage] = []
        seen: set[str] = set()
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
        return stored

    def _commit(
        self,
        user: User,
        submission_id: str,
        revision: int,
        applicant: Applicant,
        images: list[CredentialImage],
        guard: Guard | None,
        submitted: Submitted,
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
        )
        notification = Notification(submission_id, revision, now, next_attempt_at=int(now.timestamp()))
        return self._submissions.submit(
            submission,
            notification,
            user.verification_submission,
            guard.answering(submitted.view()) if guard is not None else None,
        )

    def _discard(self, keys: list[str]) -> None:
        if not keys:
            return
        try:
            self._storage.delete(keys)
        except Exception:  # the bucket's lifecycle rule removes stale uploads after a day
            logger.warning("objects left for the lifecycle rule", extra={"count": len(keys)})


class VerificationData:
    """Submissions, fingerprints and credential images: exported, and erased with the account."""

    name = "verification"

    def __init__(self, submissions: Submissions, storage: CredentialStorage) -> None:
        self._submissions = submissions
        self._storage = storage

    def export(self, user_id: str) -> Any:
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
                "reason": s.reason,
                # PIPL: the applicant may see everything held about them, the staff's note too
                "note": s.note,
                "internal_note": s.internal_note,
                "redo_documents": list(s.redo),
                "documents": [
                    {"kind": d.kind, "key": d.key, "sha256": d.sha256, "dhash": d.dhash} for d in s.documents
                ],
            }
            for s in self._submissions.history(user_id)
        ]

    def erase(self, user_id: str) -> None:
        """Images, submissions, fingerprints and notifications go; the audit trail names no one."""
        for prefix in user_prefixes(user_id):
            self._storage.delete_prefix(prefix)
        self._submissions.erase(user_id)
