"""HCP verification for the applicant: upload links, submit and resubmit, status, their data.

Submit checks on the server what S3 would have enforced and more (the key is the caller's, the
object exists, is within size, and decodes as the declared image type), re-encodes every image
without metadata into `credentials/<user>/<submission>/`, and commits the submission, its
fingerprints, its pending reviewer notification and the user's new gate state in ONE conditional
transaction. The reviewers are notified after the commit; a failure there leaves the
notification pending for the scheduled retry and never fails the submission.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from shared import errors
from shared.adapters.storage import CredentialStorage, clean_key, user_prefixes
from shared.domain.verification import (
    MAX_IDEMPOTENCY_KEY_CHARS,
    MAX_IMAGE_BYTES,
    UPLOAD_URL_LIFETIME,
    Applicant,
    Status,
    can_submit,
    check_applicant,
    check_documents,
    check_upload_request,
    parse_upload_key,
    upload_key,
)
from shared.log import logger
from shared.store.users import UserRecord
from shared.store.verification import (
    PENDING,
    DocumentAttribute,
    FingerprintRecord,
    NotificationRecord,
    SubmissionConflict,
    SubmissionRecord,
    VerificationRepository,
    document,
    fingerprints_of,
)

VERIFICATION_STORE = "verification"


class Notify(Protocol):
    def deliver_new(self, submission_id: str, revision: int) -> None: ...


def new_id() -> str:
    from ulid import ULID  # deferred: only writes mint ids

    return str(ULID())


def request_key(user_id: str, idempotency_key: str) -> str:
    return hashlib.sha256(f"{user_id}\n{idempotency_key}".encode()).hexdigest()


@dataclass(frozen=True)
class Submitted:
    submission_id: str
    status: str
    replay: bool


def status_view(user: UserRecord, latest: SubmissionRecord | None) -> dict[str, Any]:
    """What the applicant sees of their verification: never reviewer names or notes."""
    view: dict[str, Any] = {
        "status": user.verification_status or Status.NONE.value,
        "reason": None,
        "submission_id": None,
        "submitted_at": None,
        "decided_at": None,
        "revision": int(user.verification_revision or 0),
    }
    if latest is not None:
        view.update(
            submission_id=latest.submission_id,
            submitted_at=latest.submitted_at.isoformat(),
            decided_at=latest.decided_at.isoformat() if latest.decided_at else None,
            documents=[{"kind": d.kind} for d in latest.documents or []],
        )
        if latest.status == Status.REJECTED:
            view["reason"] = latest.reason
            view["redo_documents"] = list(latest.redo or [])
    return view


class VerificationService:
    def __init__(
        self,
        repo: VerificationRepository,
        storage: CredentialStorage,
        notifier: Callable[[], Notify],
        clock: Callable[[], datetime],
    ) -> None:
        self._repo = repo
        self._storage = storage
        self._notifier = notifier
        self._clock = clock

    def upload(self, user: UserRecord, kind: str, content_type: str, size: int) -> dict[str, Any]:
        """A presigned POST for one credential image under the caller's own prefix."""
        can_submit(user.verification_status)
        check_upload_request(kind, content_type, size)
        key = upload_key(str(user.user_id), kind, content_type, new_id()).key
        post = self._storage.presigned_post(
            key, content_type, MAX_IMAGE_BYTES, UPLOAD_URL_LIFETIME, self._clock()
        )
        return {
            "url": post.url,
            "fields": post.fields,
            "key": post.key,
            "expires_at": post.expires_at.isoformat(),
        }

    def status(self, user: UserRecord) -> dict[str, Any]:
        latest = self._repo.get(str(user.verification_submission)) if user.verification_submission else None
        return status_view(user, latest)

    def _replayed(self, user: UserRecord, key_hash: str | None) -> SubmissionRecord | None:
        if key_hash is None or not user.verification_submission:
            return None
        latest = self._repo.get(str(user.verification_submission))
        return latest if latest is not None and latest.request_key == key_hash else None

    def submit(
        self,
        user: UserRecord,
        fields: dict[str, Any],
        documents: list[str],
        idempotency_key: str | None,
    ) -> Submitted:
        user_id = str(user.user_id)
        key_hash = None
        if idempotency_key is not None:
            if not 0 < len(idempotency_key) <= MAX_IDEMPOTENCY_KEY_CHARS:
                raise errors.BadRequest(
                    f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} characters"
                )
            key_hash = request_key(user_id, idempotency_key)
            first = self._replayed(user, key_hash)
            if first is not None:
                return Submitted(str(first.submission_id), Status.PENDING.value, replay=True)
        can_submit(user.verification_status)
        applicant = check_applicant(**fields)
        check_documents(documents)
        uploads = [parse_upload_key(key, user_id) for key in documents]
        submission_id = new_id()
        revision = int(user.verification_revision or 0) + 1
        written: list[str] = []
        try:
            stored = self._store_images(user_id, submission_id, uploads, written)
            self._commit(user, submission_id, revision, applicant, stored, key_hash)
        except SubmissionConflict:
            self._discard(written)
            fresh = self._repo_user(user_id)
            first = self._replayed(fresh, key_hash) if fresh is not None else None
            if first is not None:  # a racing copy of this very request won
                return Submitted(str(first.submission_id), Status.PENDING.value, replay=True)
            raise errors.Conflict("your verification changed meanwhile (already submitted?)") from None
        except Exception:
            self._discard(written)
            raise
        self._discard([u.key for u in uploads])  # the originals, EXIF and all; lifecycle backs this up
        try:
            self._notifier().deliver_new(submission_id, revision)
        except Exception:  # the notification item stays pending: the scheduled retry delivers it
            logger.exception("reviewer notification deferred", extra={"submission_id": submission_id})
        logger.info("verification submitted", extra={"submission_id": submission_id, "revision": revision})
        return Submitted(submission_id, Status.PENDING.value, replay=False)

    def _repo_user(self, user_id: str) -> UserRecord | None:
        from shared.store.users import UserRepository

        return UserRepository().get(user_id)

    def _store_images(
        self, user_id: str, submission_id: str, uploads: list[Any], written: list[str]
    ) -> list[DocumentAttribute]:
        from shared.adapters import images  # Pillow: only the submit path pays for it

        stored: list[DocumentAttribute] = []
        seen: set[str] = set()
        for index, upload in enumerate(uploads):
            obj = self._storage.read(upload.key, MAX_IMAGE_BYTES)
            if obj.content_type.split(";")[0].strip().lower() != upload.content_type:
                raise errors.BadRequest(f"a document was not uploaded as {upload.content_type}")
            clean = images.sanitize(obj.data, upload.content_type)
            if clean.sha256 in seen:
                raise errors.BadRequest("documents may not hold the same image twice")
            seen.add(clean.sha256)
            key = clean_key(user_id, submission_id, index)
            self._storage.put_clean(key, clean.data, images.CLEAN_CONTENT_TYPE)
            written.append(key)
            stored.append(
                document(
                    kind=upload.kind,
                    key=key,
                    sha256=clean.sha256,
                    dhash=clean.dhash,
                    width=clean.width,
                    height=clean.height,
                )
            )
        return stored

    def _commit(
        self,
        user: UserRecord,
        submission_id: str,
        revision: int,
        applicant: Applicant,
        documents: list[DocumentAttribute],
        key_hash: str | None,
    ) -> None:
        now = self._clock()
        user_id = str(user.user_id)
        submission = SubmissionRecord(
            submission_id,
            user_id=user_id,
            revision=revision,
            status=Status.PENDING.value,
            real_name=applicant.real_name,
            hospital=applicant.hospital,
            department=applicant.department,
            title=applicant.title,
            profession=applicant.profession,
            license_number=applicant.license_number,
            documents=documents,
            submitted_at=now,
            request_key=key_hash,
        )
        fingerprints = [
            FingerprintRecord(fp, user_id, submission_id=submission_id) for fp in fingerprints_of(submission)
        ]
        notification = NotificationRecord(
            submission_id,
            revision=revision,
            created_at=now,
            pending=PENDING,
            next_attempt_at=int(now.timestamp()),
            attempts=0,
        )
        prior = str(user.verification_submission) if user.verification_submission else None
        self._repo.submit(submission, fingerprints, notification, prior)

    def _discard(self, keys: list[str]) -> None:
        if not keys:
            return
        try:
            self._storage.delete(keys)
        except Exception:  # the bucket's lifecycle rule removes stale uploads after a day
            logger.warning("objects left for the lifecycle rule", extra={"count": len(keys)})


class VerificationStore:
    """Export and erasure of submissions, fingerprints and credential images."""

    name = VERIFICATION_STORE

    def __init__(self, repo: VerificationRepository, storage: CredentialStorage) -> None:
        self._repo = repo
        self._storage = storage

    def export(self, user_id: str) -> Any:
        return [
            {
                "submission_id": s.submission_id,
                "revision": int(s.revision),
                "status": s.status,
                "real_name": s.real_name,
                "hospital": s.hospital,
                "department": s.department,
                "title": s.title,
                "profession": s.profession,
                "license_number": s.license_number,
                "submitted_at": s.submitted_at.isoformat(),
                "decided_at": s.decided_at.isoformat() if s.decided_at else None,
                "reason": s.reason,
                "redo_documents": list(s.redo or []),
                "documents": [
                    {"kind": d.kind, "key": d.key, "sha256": d.sha256, "dhash": d.dhash}
                    for d in s.documents or []
                ],
            }
            for s in self._repo.history(user_id)
        ]

    def erase(self, user_id: str, tombstone: str) -> None:
        """Images, submissions, fingerprints and notifications go; the audit trail names no one."""
        for prefix in user_prefixes(user_id):
            self._storage.delete_prefix(prefix)
        self._repo.erase(user_id)
