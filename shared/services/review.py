"""The reviewer's side: signed review links, the console's verification pages, decisions, claims,
revocations and their audit lines.

Two ways in, one code path: a link's token (itsdangerous, timed, salted for this purpose) names the
reviewer, the submission and its revision, and is refused for any other submission, after
`REVIEW_LINK_LIFETIME`, or for a deactivated reviewer; a console session names a member whose role
may review. Either way, showing a pending submission's credentials appends an audit line first
(no line, no images), and once a decision stands (or the applicant withdrew the submission) the
page shows that and no form. A decision carries a note to the applicant and an internal note for
staff; only the first ever reaches the applicant's answers (both are in their own data export).
The first decision wins through one conditional transaction (submission still pending, user item
still naming it, audit line put), whichever way it came. A claim is advisory: it shows others who
is on a submission for `CLAIM_LIFETIME`, and never stops a decision. The HTML, the form and its
CSRF field are the page layer's (`shared.pages`); this module answers in the domain's terms.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec
from msgspec.structs import replace

from shared import errors
from shared.domain.audit import CLAIMED, CREDENTIALS_OPENED, DECIDED, REVOKED, AuditEvent
from shared.domain.outcomes import Refused, Written
from shared.domain.staff import StaffMember
from shared.domain.verification import (
    CLAIM_LIFETIME,
    IMAGE_LINK_LIFETIME,
    Claim,
    Decision,
    QueueEntry,
    Reviewer,
    Status,
    Submission,
    check_decision,
    check_revocation,
    decision_status,
    fingerprints_of,
)
from shared.log import logger

if TYPE_CHECKING:
    from shared.services.ports import AuditLog, CredentialStorage, PendingQueue, Reviewers, Submissions, Users

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
    reviewer_name: str
    history: list[Submission]  # the applicant's earlier submissions, newest first
    reused: list[tuple[str, int]]  # (what: sha256 | dhash | license, how many other accounts used it)
    images: list[tuple[str, str]]  # (kind, short-lived link)
    claim: Claim | None = None  # a claim that holds now


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


class QueuePage(msgspec.Struct, frozen=True):
    entries: list[QueueEntry]
    more: str | None  # the submission id to go on after


QUEUE_PAGE = 50


class ReviewService:
    def __init__(
        self,
        links: ReviewLinks,
        submissions: Submissions,
        reviewers: Reviewers,
        storage: CredentialStorage,
        inform_user: Callable[[Submission], str],
        clock: Callable[[], datetime],
        *,
        audit: AuditLog,
        queue: PendingQueue,
        users: Users,
    ) -> None:
        self._links = links
        self._submissions = submissions
        self._reviewers = reviewers
        self._storage = storage
        self._inform_user = inform_user
        self._clock = clock
        self._audit = audit
        self._queue = queue
        self._users = users

    # ---- through a link ----
    def _open(self, submission_id: str, token: str) -> tuple[LinkClaims, Reviewer, Submission]:
        claims = self._links.verify(token, submission_id)
        reviewer = self._reviewers.get(claims.reviewer_id)
        if reviewer is None or not reviewer.active:
            raise errors.Forbidden("reviewer_inactive")
        submission = self._submission(submission_id)
        if submission.revision != claims.revision:
            raise errors.Forbidden("link_old_revision")
        return claims, reviewer, submission

    def show(self, submission_id: str, token: str) -> ReviewView | Standing:
        """Consumes nothing (mail scanners open links): the submission to decide, or the decision
        that stands. Showing the credentials is audited."""
        _, reviewer, submission = self._open(submission_id, token)
        return self._view(reviewer.reviewer_id, reviewer.name, submission)

    def decide(self, submission_id: str, token: str, form: DecisionForm) -> Standing:
        """The first decision wins; a later one gets the standing decision with `conflict`."""
        _, reviewer, submission = self._open(submission_id, token)
        return self._decide(reviewer.reviewer_id, submission, form)

    # ---- through the console (the page layer has checked the member's role) ----
    def queue(self, after: str | None) -> QueuePage:
        entries, more = self._queue.page(QUEUE_PAGE, after)
        return QueuePage(entries, more)

    def show_to(self, member: StaffMember, submission_id: str) -> ReviewView | Standing:
        return self._view(member.staff_id, member.name, self._submission(submission_id))

    def decide_as(self, member: StaffMember, submission_id: str, form: DecisionForm) -> Standing:
        return self._decide(member.staff_id, self._submission(submission_id), form)

    def claim(self, member: StaffMember, submission_id: str) -> Claim | Standing:
        """The member is on it for `CLAIM_LIFETIME` (again, if they held it already). Another
        member's claim that holds is a conflict naming them; a decided submission its Standing."""
        now = self._clock()
        claim = Claim(member.staff_id, member.name, now + CLAIM_LIFETIME)
        audit = AuditEvent(CLAIMED, member.staff_id, submission_id, now)
        outcome = self._submissions.claim(submission_id, claim, now, audit)
        if isinstance(outcome, Written):
            return claim
        standing = self._submission(submission_id)
        if standing.status != Status.PENDING:
            return Standing(standing, conflict=True)
        if standing.claim is not None and standing.claim.held(now):
            raise errors.Conflict("claim_held", name=standing.claim.name)
        raise errors.Conflict("claim_contended")

    def revoke(
        self, member: StaffMember, user_id: str, reason: str, note: str, internal_note: str = ""
    ) -> Submission:
        """Withdraw a user's approval: their approved submission is `revoked` with a rejection
        reason (and notes, as a decision's), they resubmit as after a rejection, and a pending
        update of theirs is withdrawn with it."""
        check_revocation(reason, note, internal_note)
        user = self._users.get(user_id)
        if user is None:
            raise errors.NotFound("user")
        if user.verification_status != Status.APPROVED or user.verification_submission is None:
            raise errors.Conflict("not_approved")
        approved = self._submission(user.verification_submission)
        pending_update = (
            user.verification_update if user.verification_update_status == Status.PENDING else None
        )
        now = self._clock()
        decision = Decision(
            status=Status.REVOKED,
            reviewer_id=member.staff_id,
            decided_at=now,
            reason=reason,
            note=note or None,
            internal_note=internal_note or None,
        )
        audit = AuditEvent(REVOKED, member.staff_id, approved.submission_id, now, reason=reason)
        outcome = self._submissions.revoke(approved, decision, audit, pending_update=pending_update)
        if not isinstance(outcome, Written):
            raise errors.Conflict("revoke_moved")
        logger.info("approval revoked", extra={"submission_id": approved.submission_id, "reason": reason})
        return replace(
            approved,
            status=Status.REVOKED.value,
            decided_at=now,
            decided_by=member.staff_id,
            reason=reason,
            note=decision.note,
            internal_note=decision.internal_note,
            redo=(),
        )

    # ---- one code path ----
    def _submission(self, submission_id: str) -> Submission:
        submission = self._submissions.get(submission_id)
        if submission is None:
            raise errors.NotFound("submission")
        return submission

    def _view(self, staff_id: str, name: str, submission: Submission) -> ReviewView | Standing:
        if submission.status != Status.PENDING:
            return Standing(submission)
        history = [
            s
            for s in self._submissions.history(submission.user_id)
            if s.submission_id != submission.submission_id
        ]
        reused = self._reused(submission)
        # Every read is done: the line says the credentials were shown, then they are (signing
        # their links calls nothing).
        now = self._clock()
        opened = AuditEvent(CREDENTIALS_OPENED, staff_id, submission.submission_id, now)
        if not isinstance(self._audit.append(opened), Written):  # no line, no images
            raise errors.Conflict("audit_not_stored")
        images = [(d.kind, self._storage.view_url(d.key, IMAGE_LINK_LIFETIME)) for d in submission.documents]
        claim = submission.claim if submission.claim is not None and submission.claim.held(now) else None
        return ReviewView(submission, name, history, reused, images, claim)

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

    def _decide(self, reviewer_id: str, submission: Submission, form: DecisionForm) -> Standing:
        if submission.status != Status.PENDING:
            return Standing(submission, conflict=True)
        check_decision(form.decision, form.reason, form.redo, form.note, form.internal_note)
        status = decision_status(form.decision)
        decision = Decision(
            status=status,
            reviewer_id=reviewer_id,
            decided_at=self._clock(),
            reason=form.reason if status == "rejected" else None,
            note=form.note or None,
            internal_note=form.internal_note or None,
            redo=tuple(sorted(set(form.redo))),
        )
        audit = AuditEvent(
            DECIDED,
            reviewer_id,
            submission.submission_id,
            decision.decided_at,
            reason=decision.reason,
            outcome=form.decision,
            revision=submission.revision,
            redo=decision.redo,
        )
        outcome = self._submissions.decide(submission, decision, audit)
        if isinstance(outcome, Refused) and outcome.failed & {"submission", "user"}:
            return Standing(self._submission(submission.submission_id), conflict=True)
        if not isinstance(outcome, Written):
            raise errors.Conflict("decision_not_stored")
        logger.info(
            "verification decided",
            extra={"submission_id": submission.submission_id, "decision": form.decision},
        )
        decided = replace(
            submission,
            status=status.value,
            decided_at=decision.decided_at,
            decided_by=decision.reviewer_id,
            reason=decision.reason,
            note=decision.note,
            internal_note=decision.internal_note,
            redo=decision.redo,
            claim=None,
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
