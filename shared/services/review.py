"""The reviewer's side: signed review links, what a review shows, decisions and their audit trail.

A link's token (itsdangerous, timed, salted for this purpose) names the reviewer, the submission
and its revision; it is refused for any other submission, after `REVIEW_LINK_LIFETIME`, for a
deactivated reviewer, and once a decision stands (or the applicant withdrew the submission) the
review shows that and no form. A decision carries a note to the applicant and an internal note for
staff; only the first ever reaches the applicant's answers (both are in their own data export).
The first decision wins through one conditional transaction (submission still pending, user item
still naming it, audit entry put). The HTML, the form and its CSRF field are the page layer's
(`shared.pages`); this module answers in the domain's terms.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec
from msgspec.structs import replace

from shared import errors
from shared.domain.outcomes import Refused, Written
from shared.domain.verification import (
    IMAGE_LINK_LIFETIME,
    AuditEntry,
    Decision,
    Reviewer,
    Submission,
    check_decision,
    decision_status,
    fingerprints_of,
)
from shared.log import logger

if TYPE_CHECKING:
    from shared.services.ports import CredentialStorage, Reviewers, Submissions

LINK_PURPOSE = "review-link"
MAX_TOKEN_CHARS = 512


class LinkClaims(msgspec.Struct, frozen=True):
    reviewer_id: str
    submission_id: str
    revision: int


class ReviewLinks:
    def __init__(self, key: Callable[[], str], lifetime_seconds: int) -> None:
        self._key = key  # the review-link key (read when first used, then cached)
        self._lifetime = lifetime_seconds

    def _serializer(self) -> Any:
        from itsdangerous import URLSafeTimedSerializer

        return URLSafeTimedSerializer(self._key(), salt=LINK_PURPOSE)

    def sign(self, reviewer_id: str, submission_id: str, revision: int) -> str:
        return str(self._serializer().dumps({"r": reviewer_id, "s": submission_id, "v": revision}))

    def verify(self, token: str, submission_id: str) -> LinkClaims:
        from itsdangerous import BadSignature, SignatureExpired

        if not token or len(token) > MAX_TOKEN_CHARS:
            raise errors.Forbidden("link_invalid")
        try:
            claims = self._serializer().loads(token, max_age=self._lifetime)
        except SignatureExpired as exc:
            raise errors.Forbidden("link_expired") from exc
        except BadSignature as exc:
            raise errors.Forbidden("link_invalid") from exc
        if not isinstance(claims, dict) or claims.get("s") != submission_id:
            raise errors.Forbidden("link_other_submission")
        return LinkClaims(str(claims.get("r")), submission_id, int(claims.get("v") or 0))


class ReviewView(msgspec.Struct, frozen=True):
    """A pending submission as its reviewer sees it."""

    submission: Submission
    reviewer: Reviewer
    history: list[Submission]  # the applicant's earlier submissions, newest first
    reused: list[tuple[str, int]]  # (what: sha256 | dhash | license, how many other accounts used it)
    images: list[tuple[str, str]]  # (kind, short-lived link)


class Standing(msgspec.Struct, frozen=True):
    """The decision that stands on a submission; `conflict` when the caller's came too late."""

    submission: Submission
    conflict: bool = False


class DecisionForm(msgspec.Struct, frozen=True):
    decision: str
    reason: str | None
    note: str  # shown to the applicant
    redo: list[str]
    internal_note: str = ""  # for staff; never in a user-facing response (in the applicant's export)


class ReviewService:
    def __init__(
        self,
        links: ReviewLinks,
        submissions: Submissions,
        reviewers: Reviewers,
        storage: CredentialStorage,
        inform_user: Callable[[Submission], str],
        clock: Callable[[], datetime],
    ) -> None:
        self._links = links
        self._submissions = submissions
        self._reviewers = reviewers
        self._storage = storage
        self._inform_user = inform_user
        self._clock = clock

    def _open(self, submission_id: str, token: str) -> tuple[LinkClaims, Reviewer, Submission]:
        claims = self._links.verify(token, submission_id)
        reviewer = self._reviewers.get(claims.reviewer_id)
        if reviewer is None or not reviewer.active:
            raise errors.Forbidden("reviewer_inactive")
        submission = self._submissions.get(submission_id)
        if submission is None:
            raise errors.NotFound("submission")
        if submission.revision != claims.revision:
            raise errors.Forbidden("link_old_revision")
        return claims, reviewer, submission

    def show(self, submission_id: str, token: str) -> ReviewView | Standing:
        """Read-only (mail scanners open links): the submission to decide, or the decision that stands."""
        _, reviewer, submission = self._open(submission_id, token)
        if submission.status != "pending":
            return Standing(submission)
        history = [
            s for s in self._submissions.history(submission.user_id) if s.submission_id != submission_id
        ]
        images = [(d.kind, self._storage.view_url(d.key, IMAGE_LINK_LIFETIME)) for d in submission.documents]
        return ReviewView(submission, reviewer, history, self._reused(submission), images)

    def _reused(self, submission: Submission) -> list[tuple[str, int]]:
        """Which of this submission's images or licence number other accounts also used, and how many."""
        found = []
        for fingerprint in fingerprints_of(submission):
            others = {
                u.user_id
                for u in self._submissions.users_with(fingerprint)
                if u.user_id != submission.user_id
            }
            if others:
                found.append((fingerprint.split(":")[0], len(others)))
        return list(dict.fromkeys(found))

    def decide(self, submission_id: str, token: str, form: DecisionForm) -> Standing:
        """The first decision wins; a later one gets the standing decision with `conflict`."""
        claims, reviewer, submission = self._open(submission_id, token)
        if submission.status != "pending":
            return Standing(submission, conflict=True)
        check_decision(form.decision, form.reason, form.redo, form.note, form.internal_note)
        status = decision_status(form.decision)
        decision = Decision(
            status=status,
            reviewer_id=reviewer.reviewer_id,
            decided_at=self._clock(),
            reason=form.reason if status == "rejected" else None,
            note=form.note or None,
            internal_note=form.internal_note or None,
            redo=tuple(sorted(set(form.redo))),
        )
        audit = AuditEntry(
            submission_id=submission_id,
            revision=claims.revision,
            reviewer_id=reviewer.reviewer_id,
            decision=form.decision,
            decided_at=decision.decided_at,
            reason=decision.reason,
            redo=decision.redo,
        )
        outcome = self._submissions.decide(submission, decision, audit)
        if isinstance(outcome, Refused) and outcome.failed & {"submission", "user"}:
            standing = self._submissions.get(submission_id)
            if standing is None:
                raise errors.NotFound("submission")
            return Standing(standing, conflict=True)
        if not isinstance(outcome, Written):
            raise errors.Conflict("decision_not_stored")
        logger.info("verification decided", extra={"submission_id": submission_id, "decision": form.decision})
        decided = replace(
            submission,
            status=status.value,
            decided_at=decision.decided_at,
            decided_by=decision.reviewer_id,
            reason=decision.reason,
            note=decision.note,
            internal_note=decision.internal_note,
            redo=decision.redo,
        )
        self._after_decision(decided)
        return Standing(decided)

    def _after_decision(self, submission: Submission) -> None:
        """Best effort, never undoing the decision: tag images for the lifecycle, tell the user."""
        for doc in submission.documents:
            try:
                self._storage.tag(doc.key, {"verification": submission.status})
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
            self._submissions.set_user_message(submission.submission_id, outcome)
        except Exception:
            logger.warning(
                "user message outcome not recorded", extra={"submission_id": submission.submission_id}
            )
