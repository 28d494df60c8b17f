"""The reviewer's side: signed review links, the review page, decisions and their audit trail.

A link's token (itsdangerous, timed, salted for this purpose) names the reviewer, the submission
and its revision; it is refused for any other submission, after `REVIEW_LINK_LIFETIME`, for a
deactivated reviewer, and once a decision stands the page shows that decision and no form.
The page's form carries a CSRF field bound to the link token (HMAC with the signing key), and
the POST refuses a foreign Origin/Referer. The first decision wins through one conditional
transaction (submission still pending, user item still naming it, audit entry put).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from shared import errors
from shared.adapters.storage import CredentialStorage
from shared.domain.verification import (
    IMAGE_LINK_LIFETIME,
    check_decision,
    decision_status,
)
from shared.edge import Request, Response, upstream_error
from shared.log import logger
from shared.services import review_page
from shared.store.verification import (
    AuditRecord,
    ReviewerRecord,
    ReviewerRepository,
    SubmissionConflict,
    SubmissionRecord,
    VerificationRepository,
    fingerprints_of,
    now_entry,
)

LINK_PURPOSE = "review-link"
MAX_FORM_BYTES = 8 * 1024
MAX_TOKEN_CHARS = 512


@dataclass(frozen=True)
class LinkClaims:
    reviewer_id: str
    submission_id: str
    revision: int


class ReviewLinks:
    def __init__(self, signing_key: Callable[[], str], lifetime_seconds: int) -> None:
        self._key = signing_key
        self._lifetime = lifetime_seconds

    def _serializer(self) -> Any:
        from itsdangerous import URLSafeTimedSerializer

        return URLSafeTimedSerializer(self._key(), salt=LINK_PURPOSE)

    def sign(self, reviewer_id: str, submission_id: str, revision: int) -> str:
        return str(self._serializer().dumps({"r": reviewer_id, "s": submission_id, "v": revision}))

    def verify(self, token: str, submission_id: str) -> LinkClaims:
        from itsdangerous import BadSignature, SignatureExpired

        if not token or len(token) > MAX_TOKEN_CHARS:
            raise errors.Forbidden("this review link is not valid")
        try:
            claims = self._serializer().loads(token, max_age=self._lifetime)
        except SignatureExpired as exc:
            raise errors.Forbidden("this review link has expired; ask for a new one") from exc
        except BadSignature as exc:
            raise errors.Forbidden("this review link is not valid") from exc
        if not isinstance(claims, dict) or claims.get("s") != submission_id:
            raise errors.Forbidden("this review link is for another submission")
        return LinkClaims(str(claims.get("r")), submission_id, int(claims.get("v") or 0))

    def csrf(self, token: str) -> str:
        return hmac.new(self._key().encode(), f"review-csrf\n{token}".encode(), hashlib.sha256).hexdigest()


class InformUser(Protocol):
    def __call__(self, submission: SubmissionRecord) -> str: ...


@dataclass(frozen=True)
class DecisionForm:
    token: str
    csrf: str
    decision: str
    reason: str | None
    note: str
    redo: list[str]


def parse_form(request: Request) -> DecisionForm:
    if len(request.body) > MAX_FORM_BYTES:
        raise errors.PayloadTooLarge(f"the form is larger than {MAX_FORM_BYTES} bytes")
    content_type = (request.header("content-type") or "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise errors.UnsupportedMediaType("the decision is a form post (application/x-www-form-urlencoded)")
    try:
        fields = parse_qs(request.body.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError) as exc:
        raise errors.BadRequest("the form is not valid") from exc

    def one(name: str) -> str:
        values = fields.get(name) or [""]
        if len(values) > 1:
            raise errors.BadRequest(f"{name} was sent more than once")
        return values[0].strip()

    return DecisionForm(
        token=one("t"),
        csrf=one("csrf"),
        decision=one("decision"),
        reason=one("reason") or None,
        note=one("note"),
        redo=[v for v in fields.get("redo", []) if v],
    )


def _domain_error(exc: Exception) -> errors.DomainError:
    """The error the page shows: a domain error, or an AWS fault as the edge maps it (503, 409);
    anything else goes on to the edge's logged 500."""
    if isinstance(exc, errors.DomainError):
        return exc
    mapped = upstream_error(exc)
    if mapped is None:
        raise exc
    logger.warning("upstream fault", extra={"status": mapped.status, "error": type(exc).__name__})
    return mapped


class ReviewService:
    def __init__(
        self,
        links: ReviewLinks,
        repo: VerificationRepository,
        reviewers: ReviewerRepository,
        storage: CredentialStorage,
        inform_user: InformUser,
        public_base_url: str,
        clock: Callable[[], datetime],
    ) -> None:
        self._links = links
        self._repo = repo
        self._reviewers = reviewers
        self._storage = storage
        self._inform_user = inform_user
        self._base = public_base_url
        self._clock = clock

    # ---- HTTP: each answer is an HTML page, errors too ----
    def page(self, request: Request) -> Response:
        try:
            return self._page(request.path_params.get("submission_id", ""), request.query.get("t", ""))
        except Exception as exc:
            return self._error_page(_domain_error(exc))

    def decide(self, request: Request) -> Response:
        try:
            return self._decide(request)
        except Exception as exc:
            return self._error_page(_domain_error(exc))

    def _html(self, status: int, body: str) -> Response:
        headers = {
            "Content-Security-Policy": review_page.csp(self._image_origin()),
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "same-origin",  # the token never travels to the image host
            "Cache-Control": "no-store",
        }
        return Response(
            status, raw=body.encode("utf-8"), content_type="text/html; charset=utf-8", headers=headers
        )

    def _image_origin(self) -> str:
        try:
            return self._storage.origin()
        except Exception:  # no images can be shown then; the page still works
            return "'none'"

    def _error_page(self, exc: errors.DomainError) -> Response:
        response = self._html(exc.status, review_page.error_page(exc.status, exc.message))
        response.headers.update(exc.headers)  # Retry-After of a 503
        return response

    # ---- the page ----
    def _open(self, submission_id: str, token: str) -> tuple[LinkClaims, ReviewerRecord, SubmissionRecord]:
        claims = self._links.verify(token, submission_id)
        reviewer = self._reviewers.get(claims.reviewer_id)
        if reviewer is None or not reviewer.active:
            raise errors.Forbidden("this review link's reviewer is no longer active")
        submission = self._repo.get(submission_id)
        if submission is None:
            raise errors.NotFound("this submission no longer exists")
        if int(submission.revision) != claims.revision:
            raise errors.Forbidden("this review link is for another revision")
        return claims, reviewer, submission

    def _page(self, submission_id: str, token: str) -> Response:
        """Read-only (mail scanners open links): shows the submission, or the decision that stands."""
        _, reviewer, submission = self._open(submission_id, token)
        if submission.status != "pending":
            return self._html(200, review_page.decided_page(submission))
        history = [s for s in self._repo.history(str(submission.user_id)) if s.submission_id != submission_id]
        warnings = self._reused(submission)
        images = [
            (str(d.kind), self._storage.view_url(str(d.key), IMAGE_LINK_LIFETIME))
            for d in submission.documents or []
        ]
        body = review_page.review_page(
            submission, reviewer, history, warnings, images, token, self._links.csrf(token)
        )
        return self._html(200, body)

    def _reused(self, submission: SubmissionRecord) -> list[str]:
        """Which of this submission's images or licence number another account also used."""
        found = []
        labels = {
            "sha256": "相同的证件图片文件",
            "dhash": "高度相似的证件图片",
            "license": "相同的执业证书编号",
        }
        for fingerprint in fingerprints_of(submission):
            others = {
                r.user_id for r in self._repo.users_with(fingerprint) if r.user_id != submission.user_id
            }
            if others:
                found.append(f"{labels[fingerprint.split(':')[0]]}已被另外 {len(others)} 个账户使用")
        return list(dict.fromkeys(found))

    # ---- the decision ----
    def _check_origin(self, request: Request) -> None:
        expected = urlsplit(self._base)
        for header in ("origin", "referer"):
            value = request.header(header)
            if value is None:
                continue
            try:
                seen = urlsplit(value)
            except ValueError:  # e.g. "http://[": not a URL, so not the review page either
                seen = None
            if seen is None or (seen.scheme, seen.netloc) != (expected.scheme, expected.netloc):
                raise errors.Forbidden("the decision must be posted from the review page")

    def _decide(self, request: Request) -> Response:
        self._check_origin(request)
        form = parse_form(request)
        submission_id = request.path_params.get("submission_id", "")
        claims, reviewer, submission = self._open(submission_id, form.token)
        if not hmac.compare_digest(form.csrf.encode(), self._links.csrf(form.token).encode()):
            raise errors.Forbidden("the form is not from this review link")
        if submission.status != "pending":
            return self._html(409, review_page.decided_page(submission, conflict=True))
        check_decision(form.decision, form.reason, form.redo, form.note)
        now = self._clock()
        status = decision_status(form.decision).value
        reason = form.reason if status == "rejected" else None
        redo: Any = sorted(set(form.redo)) or None
        submission.reason = reason
        actions = [
            SubmissionRecord.status.set(status),
            SubmissionRecord.decided_at.set(now),
            SubmissionRecord.decided_by.set(str(reviewer.reviewer_id)),
            SubmissionRecord.reason.set(reason) if reason else SubmissionRecord.reason.remove(),
            SubmissionRecord.note.set(form.note) if form.note else SubmissionRecord.note.remove(),
            SubmissionRecord.redo.set(redo) if redo else SubmissionRecord.redo.remove(),
        ]
        audit = AuditRecord(
            submission_id,
            now_entry(now, str(reviewer.reviewer_id)),
            revision=claims.revision,
            reviewer_id=str(reviewer.reviewer_id),
            decision=form.decision,
            reason=reason,
            redo=redo,
            decided_at=now,
        )
        try:
            self._repo.decide(submission, status, actions, audit)
        except SubmissionConflict:
            standing = self._repo.get(submission_id)
            if standing is None:
                raise errors.NotFound("this submission no longer exists") from None
            return self._html(409, review_page.decided_page(standing, conflict=True))
        logger.info("verification decided", extra={"submission_id": submission_id, "decision": form.decision})
        try:
            decided = self._repo.get(submission_id) or submission
        except Exception:  # the decision stands: a failed re-read must not answer that it failed
            logger.warning("decided submission not re-read", extra={"submission_id": submission_id})
            decided = submission
            decided.status, decided.decided_at, decided.decided_by = status, now, str(reviewer.reviewer_id)
            decided.note, decided.redo = form.note or None, redo
        self._after_decision(decided, status)
        return self._html(200, review_page.decided_page(decided))

    def _after_decision(self, submission: SubmissionRecord, status: str) -> None:
        """Best effort, never undoing the decision: tag images for the lifecycle, tell the user."""
        for doc in submission.documents or []:
            try:
                self._storage.tag(str(doc.key), {"verification": status})
            except Exception:
                logger.warning("image not tagged", extra={"submission_id": submission.submission_id})
        try:
            outcome = self._inform_user(submission)
        except errors.MessageRejected as exc:  # our template or field is wrong: an ops fault to fix
            logger.error(
                "user message refused",
                extra={"submission_id": submission.submission_id, "errcode": exc.errcode},
            )
            outcome = "failed"
        except Exception:
            logger.exception("user message failed", extra={"submission_id": submission.submission_id})
            outcome = "owed"
        try:
            self._repo.set_user_message(str(submission.submission_id), outcome)
        except Exception:
            logger.warning(
                "user message outcome not recorded", extra={"submission_id": submission.submission_id}
            )
