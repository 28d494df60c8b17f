"""In-memory fakes of the services' ports (shared/services/ports.py), for the unit tier.

Each fake keeps its items in dicts and applies a use case's writes the way the repository's
transaction does: every condition is checked first, and only if all hold is anything changed,
so a refused write leaves the state exactly as it was. The names in `Refused` are the ones the
real repositories give (their docstrings list them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from msgspec.structs import replace

from shared.domain.articles import PUBLISHED, Article, ArticleHead, FeedPosition
from shared.domain.audit import AuditEvent, month_of
from shared.domain.comments import (
    DELETED,
    DELETED_USER_NAME,
    HELD,
    HELD_FOR_CHECK,
    HIDDEN,
    HIDDEN_BY_REPORTS,
    QUEUE_HIDDEN,
    QUEUE_PENDING,
    REPORT_LOG_ENTRIES,
    VISIBLE,
    Comment,
    CommentRef,
)
from shared.domain.consent import AGREEMENT, ConsentChange, ConsentKey, ConsentRecord, Document
from shared.domain.idempotency import Guard
from shared.domain.outcomes import CONTENDED, WRITTEN, Outcome, refused
from shared.domain.questions import Answers
from shared.domain.rates import RateWindow
from shared.domain.staff import SignInLink, SignInWindow, StaffEvent, StaffMember, StaffSession
from shared.domain.users import AuthorCache, Session, User
from shared.domain.verification import (
    Claim,
    Decision,
    FingerprintUse,
    Notification,
    QueueEntry,
    Reviewer,
    Submission,
    index_keys_of,
)


class FakeUsers:
    def __init__(self) -> None:
        self.users: dict[str, User] = {}
        self.identities: dict[str, str] = {}  # openid key -> user id
        self.writes = 0
        self.audit: list[AuditEvent] = []

    def add(self, user: User, openid_key: str | None = None) -> User:
        self.users[user.user_id] = user
        if openid_key is not None:
            self.identities[openid_key] = user.user_id
        return user

    def find_user_id(self, openid_key: str, *, consistent: bool = False) -> str | None:
        return self.identities.get(openid_key)

    def set_mute(self, user_id: str, until: int | None, audit: AuditEvent) -> Outcome:
        user = self.users.get(user_id)
        if user is None:
            return refused("user")
        self.users[user_id] = replace(user, muted_until=until)
        self.audit.append(audit)
        return WRITTEN

    def get(self, user_id: str) -> User | None:
        return self.users.get(user_id)

    def create(self, user: User, openid_key: str) -> Outcome:
        failed = [
            n
            for n, taken in (
                ("identity", openid_key in self.identities),
                ("user", user.user_id in self.users),
            )
            if taken
        ]
        if failed:
            return refused(*failed)
        self.writes += 1
        self.add(user, openid_key)
        return WRITTEN

    def add_session(self, user_id: str, session_id: str, session: Session) -> User | None:
        user = self.users.get(user_id)
        if user is None:
            return None
        self.writes += 1
        user = self.users[user_id] = replace(user, sessions={**user.sessions, session_id: session})
        return user

    def remove_sessions(self, user_id: str, session_ids: list[str]) -> None:
        user = self.users.get(user_id)
        if user is not None and session_ids:
            self.writes += 1
            kept = {sid: s for sid, s in user.sessions.items() if sid not in session_ids}
            self.users[user_id] = replace(user, sessions=kept)

    def revoke_session(self, user_id: str, session_id: str, secret_hash: str) -> Outcome:
        user = self.users.get(user_id)
        session = user.sessions.get(session_id) if user else None
        if user is None or session is None or session.secret_hash != secret_hash:
            return refused("session")
        self.remove_sessions(user_id, [session_id])
        return WRITTEN

    def choose_author(self, user_id: str, style: str, hide_department: bool, display: AuthorCache) -> Outcome:
        user = self.users.get(user_id)
        if user is None:
            return refused("user")
        self.users[user_id] = replace(
            _remember(user, display), author_style=style, author_hide_department=hide_department
        )
        return WRITTEN

    def delete(self, user_id: str, openid_key: str) -> None:
        self.identities.pop(openid_key, None)
        self.users.pop(user_id, None)


def _remember(user: User, display: AuthorCache) -> User:
    return replace(
        user, author_name=display.name, author_department=display.department, author_source=display.source
    )


class FakeGuards:
    def __init__(self) -> None:
        self.guards: dict[tuple[str, str], Guard] = {}

    def get(self, owner: str, key: str, now: int) -> Guard | None:
        guard = self.guards.get((owner, key))
        return guard if guard is not None and guard.expires_at > now else None

    def owned(self, owner: str) -> list[Guard]:
        return [g for (o, _), g in sorted(self.guards.items()) if o == owner]

    def erase(self, owner: str) -> int:
        gone = [k for k in self.guards if k[0] == owner]
        for k in gone:
            del self.guards[k]
        return len(gone)

    def record(self, guard: Guard) -> Outcome:
        if self.taken(guard):
            return refused("guard")
        self.put(guard)
        return WRITTEN

    def taken(self, guard: Guard | None) -> bool:
        """The transaction's condition on a guard: no live guard with its key."""
        return guard is not None and self.get(guard.owner, guard.key, guard.created_at) is not None

    def put(self, guard: Guard | None) -> None:
        if guard is not None:
            self.guards[(guard.owner, guard.key)] = guard


class FakeDocuments:
    def __init__(self, *docs: Document) -> None:
        self.versions = {(d.key, d.version): d for d in docs}
        self.pointers = {d.key: d for d in docs}

    def current(self) -> dict[str, Document]:
        return dict(self.pointers)

    def get(self, key: str, version: str) -> Document | None:
        return self.versions.get((key, version))


class FakeAnswers:
    def __init__(self, users: FakeUsers, guards: FakeGuards) -> None:
        self.users = users
        self.guards = guards
        self.items: dict[str, Answers] = {}
        self.saves = 0

    def get(self, user_id: str) -> Answers | None:
        return self.items.get(user_id)

    def save(
        self, answers: Answers, informed_version: str, *, seen: Answers | None, guard: Guard | None
    ) -> Outcome:
        user = self.users.get(answers.user_id)
        failed = []
        if user is None or user.informed_decision != "agree" or user.informed_version != informed_version:
            failed.append("user")
        stored = self.items.get(answers.user_id)
        if (stored is None) != (seen is None) or (stored and seen and stored.answered_at != seen.answered_at):
            failed.append("answers")
        if self.guards.taken(guard):
            failed.append("guard")
        if failed:
            return refused(*failed)
        assert user is not None
        self.saves += 1
        self.items[answers.user_id] = answers
        self.users.users[user.user_id] = replace(user, questions_answered=True)
        self.guards.put(guard)
        return WRITTEN

    def delete(self, user_id: str) -> None:
        self.items.pop(user_id, None)


class FakeConsentKeys:
    def __init__(self) -> None:
        self.keys: dict[str, ConsentKey] = {}

    def get(self, user_id: str) -> ConsentKey | None:
        return self.keys.get(user_id)

    def delete(self, user_id: str) -> None:
        self.keys.pop(user_id, None)


class FakeConsentRecords:
    def __init__(self, users: FakeUsers, answers: FakeAnswers, keys: FakeConsentKeys | None = None) -> None:
        self.users = users
        self.answers = answers
        self.keys = keys or FakeConsentKeys()
        self.records: list[ConsentRecord] = []

    def append(
        self, record: ConsentRecord, user_id: str, seen_seq: int | None, change: ConsentChange
    ) -> Outcome:
        user = self.users.get(user_id)
        if user is None or user.consent_seq != seen_seq:
            return refused("user")
        if change.subject and user_id in self.keys.keys:
            return refused("key")
        self.records.append(record)
        moved = replace(user, consent_seq=change.seq)
        if change.subject is not None and change.key is not None:
            self.keys.keys[user_id] = ConsentKey(change.subject, change.key)
        if change.document == AGREEMENT:
            moved = replace(moved, agreement_version=change.version, agreement_decision=change.decision)
        else:
            moved = replace(moved, informed_version=change.version, informed_decision=change.decision)
        if change.clears_answers:
            moved = replace(moved, questions_answered=False)
            self.answers.delete(user_id)
        self.users.users[user_id] = moved
        return WRITTEN

    def history(self, subject: str) -> list[ConsentRecord]:
        return [r for r in self.records if r.subject == subject]

    def get(self, subject: str, record_id: str) -> ConsentRecord | None:
        return next((r for r in self.records if (r.subject, r.record_id) == (subject, record_id)), None)


class FakeRateWindows:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def spend(self, window: RateWindow) -> Outcome:
        if self.counts.get(window.key, 0) >= window.limit:
            return refused(window.name)
        self.counts[window.key] = self.counts.get(window.key, 0) + 1
        return WRITTEN

    def used(self, windows: list[RateWindow]) -> dict[str, int]:
        return {w.key: self.counts[w.key] for w in windows if w.key in self.counts}


class FakeSubmissions:
    def __init__(self, users: FakeUsers, guards: FakeGuards, windows: FakeRateWindows | None = None) -> None:
        self.users = users
        self.guards = guards
        self.windows = windows or FakeRateWindows()
        self.items: dict[str, Submission] = {}
        self.notifications: dict[str, Notification] = {}
        self.fingerprints: dict[tuple[str, str], FingerprintUse] = {}
        self.audit: list[AuditEvent] = []
        self.user_messages: dict[str, str] = {}

    def add(self, submission: Submission) -> Submission:
        self.items[submission.submission_id] = submission
        return submission

    def get(self, submission_id: str) -> Submission | None:
        return self.items.get(submission_id)

    def history(self, user_id: str) -> list[Submission]:
        return sorted(
            (s for s in self.items.values() if s.user_id == user_id),
            key=lambda s: s.submission_id,
            reverse=True,
        )

    def users_with(self, fingerprint: str) -> list[FingerprintUse]:
        return [u for (fp, _), u in self.fingerprints.items() if fp == fingerprint]

    def submit(
        self,
        submission: Submission,
        notification: Notification,
        prior: str | None,
        guard: Guard | None,
        window: RateWindow | None = None,
    ) -> Outcome:
        user = self.users.get(submission.user_id)
        failed = []
        if window is not None and self.windows.counts.get(window.key, 0) >= window.limit:
            failed.append(window.name)
        if submission.is_update:
            may_submit = (
                user is not None
                and user.verification_status == "approved"
                and user.verification_update_status != "pending"
            )
        else:
            may_submit = user is not None and user.verification_status in (
                None,
                "rejected",
                "withdrawn",
                "revoked",
            )
        if user is None or user.verification_submission != prior or not may_submit:
            failed.append("user")
        if self.guards.taken(guard):
            failed.append("guard")
        if submission.submission_id in self.items:
            failed.append("submission")
        if failed:
            return refused(*failed)
        assert user is not None
        if window is not None:
            self.windows.spend(window)
        self.items[submission.submission_id] = submission
        self.notifications[submission.submission_id] = notification
        for fp in index_keys_of(submission):
            self.fingerprints[(fp, submission.user_id)] = FingerprintUse(
                fp, submission.user_id, submission.submission_id
            )
        if submission.is_update:
            moved = replace(
                user,
                verification_update=submission.submission_id,
                verification_update_status="pending",
                verification_revision=submission.revision,
            )
        else:
            moved = replace(
                user,
                verification_status="pending",
                verification_reason=None,
                verification_submission=submission.submission_id,
                verification_revision=submission.revision,
                verification_update=None,
                verification_update_status=None,
            )
        self.users.users[user.user_id] = moved
        self.guards.put(guard)
        return WRITTEN

    def decide(self, submission: Submission, decision: Decision, audit: AuditEvent) -> Outcome:
        stored = self.items.get(submission.submission_id)
        user = self.users.get(submission.user_id)
        failed = []
        if stored is None or stored.status != "pending":
            failed.append("submission")
        names = (
            user.verification_update
            if user and submission.is_update
            else user and user.verification_submission
        )
        if user is None or names != submission.submission_id:
            failed.append("user")
        if failed:
            return refused(*failed)
        assert stored is not None and user is not None
        self.items[stored.submission_id] = replace(
            stored,
            status=decision.status.value,
            decided_at=decision.decided_at,
            decided_by=decision.reviewer_id,
            reason=decision.reason,
            note=decision.note,
            internal_note=decision.internal_note,
            redo=decision.redo,
        )
        if not submission.is_update:
            moved = replace(user, verification_status=decision.status.value)
            if decision.reason is not None:
                moved = replace(moved, verification_reason=decision.reason)
        elif decision.status.value == "approved":
            moved = replace(
                user,
                verification_status="approved",
                verification_reason=None,
                verification_submission=submission.submission_id,
                verification_update=None,
                verification_update_status=None,
            )
        else:
            moved = replace(user, verification_update_status=decision.status.value)
        self.users.users[user.user_id] = moved
        self.audit.append(audit)
        return WRITTEN

    def withdraw(
        self, user_id: str, submission_id: str, *, is_update: bool, withdrawn_at: datetime
    ) -> Outcome:
        stored = self.items.get(submission_id)
        user = self.users.get(user_id)
        failed = []
        if stored is None or stored.status != "pending":
            failed.append("submission")
        if user is None or (
            (user.verification_update, user.verification_update_status) != (submission_id, "pending")
            if is_update
            else (user.verification_submission, user.verification_status) != (submission_id, "pending")
        ):
            failed.append("user")
        if failed:
            return refused(*failed)
        assert stored is not None and user is not None
        self.items[submission_id] = replace(stored, status="withdrawn", decided_at=withdrawn_at)
        self.users.users[user_id] = (
            replace(user, verification_update_status="withdrawn")
            if is_update
            else replace(user, verification_status="withdrawn")
        )
        return WRITTEN

    def claim(self, submission_id: str, claim: Claim, now: datetime, audit: AuditEvent) -> Outcome:
        stored = self.items.get(submission_id)
        held = stored is not None and stored.claim is not None and stored.claim.until >= now
        if (
            stored is None
            or stored.status != "pending"
            or (held and stored.claim is not None and stored.claim.staff_id != claim.staff_id)
        ):
            return refused("submission")
        self.items[submission_id] = replace(stored, claim=claim)
        self.audit.append(audit)
        return WRITTEN

    def revoke(
        self, approved: Submission, decision: Decision, audit: AuditEvent, *, pending_update: str | None
    ) -> Outcome:
        stored = self.items.get(approved.submission_id)
        user = self.users.get(approved.user_id)
        update = self.items.get(pending_update) if pending_update else None
        failed = []
        if stored is None or stored.status != "approved":
            failed.append("submission")
        if (
            user is None
            or (user.verification_submission, user.verification_status)
            != (approved.submission_id, "approved")
            or (
                (user.verification_update, user.verification_update_status) != (pending_update, "pending")
                if pending_update
                else user.verification_update_status == "pending"
            )
        ):
            failed.append("user")
        if pending_update and (update is None or update.status != "pending"):
            failed.append("update")
        if failed:
            return refused(*failed)
        assert stored is not None and user is not None
        self.items[stored.submission_id] = replace(
            stored,
            status="revoked",
            decided_at=decision.decided_at,
            decided_by=decision.reviewer_id,
            reason=decision.reason,
            note=decision.note,
            internal_note=decision.internal_note,
            redo=(),
        )
        moved = replace(user, verification_status="revoked", verification_reason=decision.reason)
        if update is not None:
            self.items[update.submission_id] = replace(
                update, status="withdrawn", decided_at=decision.decided_at
            )
            moved = replace(moved, verification_update_status="withdrawn")
        self.users.users[user.user_id] = moved
        self.audit.append(audit)
        return WRITTEN

    def set_user_message(self, submission_id: str, outcome: str) -> None:
        self.user_messages[submission_id] = outcome

    def audit_of(self, submission_id: str) -> list[AuditEvent]:
        return [a for a in self.audit if a.subject == submission_id]

    def notifications_of(self, submission_ids: list[str]) -> list[Notification]:
        return [self.notifications[i] for i in submission_ids if i in self.notifications]

    def fingerprint_uses(self, user_id: str, fingerprints: list[str]) -> list[FingerprintUse]:
        return [self.fingerprints[(f, user_id)] for f in fingerprints if (f, user_id) in self.fingerprints]

    def erase(self, user_id: str) -> list[Submission]:
        gone = self.history(user_id)
        for s in gone:
            del self.items[s.submission_id]
            self.notifications.pop(s.submission_id, None)
        self.fingerprints = {k: v for k, v in self.fingerprints.items() if k[1] != user_id}
        return gone


class FakeAuditLog:
    """The audit trail in memory (its lines shared with the submissions' own, when given)."""

    def __init__(self, lines: list[AuditEvent] | None = None) -> None:
        self.lines: list[AuditEvent] = lines if lines is not None else []
        self.fail = False  # every append refused (a store that cannot write)

    def append(self, event: AuditEvent) -> Outcome:
        if self.fail:
            return CONTENDED
        self.lines.append(event)
        return WRITTEN

    def month(
        self, month: str, limit: int, after: tuple[str, str] | None
    ) -> tuple[list[AuditEvent], tuple[str, str] | None]:
        found = sorted((e for e in self.lines if month_of(e.at) == month), key=lambda e: e.at, reverse=True)
        start = 0 if after is None else int(after[0])
        more = (str(start + limit), "-") if len(found) > start + limit else None
        return found[start : start + limit], more

    def of_subject(self, subject: str) -> list[AuditEvent]:
        return [e for e in self.lines if e.subject == subject]


class FakeQueue:
    """The review queue over the fake submissions: pending ones, oldest first."""

    def __init__(self, submissions: FakeSubmissions) -> None:
        self.submissions = submissions

    def _pending(self) -> list[Submission]:
        return sorted(
            (s for s in self.submissions.items.values() if s.status == "pending"),
            key=lambda s: s.submission_id,
        )

    def pending(self, limit: int) -> tuple[int, datetime | None, bool]:
        found = self._pending()
        return min(len(found), limit), found[0].submitted_at if found else None, len(found) > limit

    def page(self, limit: int, after: str | None) -> tuple[list[QueueEntry], str | None]:
        found = [s for s in self._pending() if after is None or s.submission_id > after]
        entries = [
            QueueEntry(s.submission_id, s.submitted_at, s.revision, s.is_update, s.claim) for s in found
        ]
        shown = entries[:limit]
        return shown, shown[-1].submission_id if len(entries) > limit else None


class FakeReviewers:
    def __init__(self, *reviewers: Reviewer) -> None:
        self.reviewers = {r.reviewer_id: r for r in reviewers}

    def active(self) -> list[Reviewer]:
        return [r for r in self.reviewers.values() if r.active]

    def get(self, reviewer_id: str) -> Reviewer | None:
        return self.reviewers.get(reviewer_id)


class FakeStaff:
    """Members, their handles (digest -> staff id), the audit lines; `calls` counts each read and
    write by kind, as the metering of the functional tier counts AWS calls."""

    def __init__(self, *members: StaffMember) -> None:
        self.members = {m.staff_id: m for m in members}
        self.handles: dict[str, str] = {}
        self.events: list[StaffEvent] = []
        self.calls: list[str] = []
        self.links: FakeSignInLinks | None = None  # set by FakeSignInLinks: a session uses a link

    def get(self, staff_id: str, *, consistent: bool = True) -> StaffMember | None:
        self.calls.append("get")
        return self.members.get(staff_id)

    def find(self, handle: str) -> str | None:
        self.calls.append("find")
        return self.handles.get(handle)

    def all(self) -> list[StaffMember]:
        self.calls.append("all")
        return list(self.members.values())

    def add(self, member: StaffMember, handles: dict[str, str], event: StaffEvent) -> Outcome:
        self.calls.append("add")
        failed = {"id"} if member.staff_id in self.members else set()
        failed |= {("id_handle" if f == "id" else f) for f, h in handles.items() if h in self.handles}
        if failed:
            return refused(*failed)
        self.members[member.staff_id] = member
        self.handles.update(dict.fromkeys(handles.values(), member.staff_id))
        self.events.append(event)
        return WRITTEN

    def deactivate(self, staff_id: str, event: StaffEvent) -> Outcome:
        self.calls.append("deactivate")
        if staff_id not in self.members:
            return refused("member")
        self.members[staff_id] = replace(self.members[staff_id], active=False, sessions={})
        self.events.append(event)
        return WRITTEN

    def forget_subscription(self, staff_id: str) -> None:
        self.members[staff_id] = replace(self.members[staff_id], subscription_arn=None)

    def open_session(
        self, link: SignInLink, session_id: str, session: StaffSession, stale: list[str], event: StaffEvent
    ) -> Outcome:
        self.calls.append("open_session")
        stored = self.links.links.get(link.digest) if self.links else None
        failed = set()
        if stored is None or not stored.usable(event.at) or stored.staff_id != link.staff_id:
            failed.add("link")
        member = self.members.get(str(link.staff_id))
        if member is None or not member.active:
            failed.add("member")
        if failed:
            return refused(*failed)
        assert self.links is not None and member is not None
        self.links.links[link.digest] = replace(link, used_at=event.at)
        sessions = {k: v for k, v in member.sessions.items() if k not in stale}
        self.members[member.staff_id] = replace(member, sessions={**sessions, session_id: session})
        self.events.append(event)
        return WRITTEN

    def close_session(self, staff_id: str, session_id: str, secret_hash: str, event: StaffEvent) -> Outcome:
        self.calls.append("close_session")
        member = self.members.get(staff_id)
        held = member.sessions.get(session_id) if member else None
        if member is None or held is None or held.secret_hash != secret_hash:
            return refused("session")
        sessions = {k: v for k, v in member.sessions.items() if k != session_id}
        self.members[staff_id] = replace(member, sessions=sessions)
        self.events.append(event)
        return WRITTEN


class FakeSignInLinks:
    """Links by digest and the windows' counts, written all at once or not at all."""

    def __init__(self, staff: FakeStaff) -> None:
        self.links: dict[str, SignInLink] = {}
        self.windows: dict[str, int] = {}
        self.staff = staff
        staff.links = self

    def get(self, digest: str) -> SignInLink | None:
        self.staff.calls.append("get_link")
        return self.links.get(digest)

    def issue(self, link: SignInLink, windows: list[SignInWindow], event: StaffEvent) -> Outcome:
        self.staff.calls.append("issue")
        failed = {w.name for w in windows if self.windows.get(w.key, 0) >= w.limit}
        if link.digest in self.links:
            failed.add("link")
        if failed:
            return refused(*failed)
        self.links[link.digest] = link
        for w in windows:
            self.windows[w.key] = self.windows.get(w.key, 0) + 1
        self.staff.events.append(event)
        return WRITTEN


class FakeStaffMail:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []
        self.subscriptions: dict[str, str] = {}  # arn -> staff id
        self.fail_unsubscribe = False

    def send(self, reviewer_id: str, subject: str, text: str) -> None:
        self.sent.append((reviewer_id, subject, text))

    def subscribe_email(self, reviewer_id: str, email: str) -> str:
        arn = f"arn:aws:sns:us-east-1:123456789012:staff:{len(self.subscriptions) + 1}"
        self.subscriptions[arn] = reviewer_id
        return arn

    def unsubscribe(self, subscription_arn: str) -> None:
        if self.fail_unsubscribe:
            raise RuntimeError("unsubscribe failed")
        self.subscriptions.pop(subscription_arn, None)


class FakeArticles:
    """Heads keep the count they were made with (the base); posts move the counters' sum."""

    def __init__(self, *articles: Article) -> None:
        self.articles = {a.head.article_id: a for a in articles}
        self.counted: dict[str, int] = {}
        self.reads = 0
        self.events: list[AuditEvent] = []

    def count(self, article_id: str, by: int) -> None:
        self.counted[article_id] = self.counted.get(article_id, 0) + by

    def total(self, article_id: str) -> int:
        return self.articles[article_id].head.comment_count + self.counted.get(article_id, 0)

    def get(self, article_id: str, fresh: bool = False) -> tuple[Article, int] | None:
        self.reads += 1
        found = self.articles.get(article_id)
        return None if found is None else (found, self.counted.get(article_id, 0))

    def counts(self, article_ids: list[str], fresh: bool = False) -> dict[str, int]:
        self.reads += 1
        return {a: self.counted.get(a, 0) for a in article_ids}

    def feed_page(
        self, limit: int, after: FeedPosition | None, now: datetime
    ) -> tuple[list[ArticleHead], FeedPosition | None]:
        keyed = sorted(
            (
                (f"{a.head.published_at.isoformat()}#{a.head.article_id}", a.head)
                for a in self.articles.values()
                if a.head.status == PUBLISHED and a.head.published_at <= now
            ),
            reverse=True,
        )
        if after is not None:
            keyed = [(k, h) for k, h in keyed if k < after.sort_key]
        page = keyed[:limit]
        # as DynamoDB: a page that reached the limit ends with a position, even if nothing follows
        last = FeedPosition(page[-1][0], page[-1][1].article_id) if len(page) == limit else None
        return [h for _, h in page], last

    def catalog(self) -> list[ArticleHead]:
        return [a.head for a in self.articles.values()]

    def head(self, article_id: str) -> ArticleHead | None:
        found = self.articles.get(article_id)
        return None if found is None else found.head

    def move(self, seen: ArticleHead, status: str, published_at: datetime, event: AuditEvent) -> Outcome:
        found = self.articles.get(seen.article_id)
        if found is None or found.head != seen:
            return refused("head")
        head = replace(seen, status=status, published_at=published_at)
        self.articles[seen.article_id] = Article(head, found.sections)
        self.events.append(event)
        return WRITTEN

    def save(self, article: Article, keep_status: bool = True, event: AuditEvent | None = None) -> str:
        found = self.articles.get(article.head.article_id)
        if found is not None and found.head.content_sha256 == article.head.content_sha256:
            return "unchanged"
        head = article.head
        if found is not None and keep_status:
            head = replace(head, status=found.head.status)
        self.articles[head.article_id] = Article(head, article.sections)
        if event is not None:
            self.events.append(event)
        return "created" if found is None else "updated"


@dataclass
class FakeComments:
    users: FakeUsers
    guards: FakeGuards
    articles: FakeArticles
    items: dict[tuple[str, str], Comment] = field(default_factory=dict)
    windows: dict[str, int] = field(default_factory=dict)
    contend: int = 0  # the next n posts meet a concurrent transaction
    posts: int = 0
    reads: int = 0
    # (comment#round, reader) -> (reason, text, when)
    reports: dict[tuple[str, str], tuple[str, str | None, datetime]] = field(default_factory=dict)
    audit: list[AuditEvent] = field(default_factory=list)

    def page(
        self, article_id: str, shards: int, limit: int, after: str | None, fresh: bool = False
    ) -> tuple[list[Comment], str | None]:
        self.reads += shards
        newest = sorted(
            (c for (a, _), c in self.items.items() if a == article_id),
            key=lambda c: c.comment_id,
            reverse=True,
        )
        if after is not None:
            newest = [c for c in newest if c.comment_id < after]
        page = newest[:limit]  # the Query reads `limit` items whatever their state
        return page, page[-1].comment_id if len(page) == limit else None

    def get(self, ref: CommentRef) -> Comment | None:
        return self.items.get((ref.article_id, ref.comment_id))

    def post(
        self,
        comment: Comment,
        windows: list[RateWindow],
        parent: CommentRef | None,
        guard: Guard | None,
        author: AuthorCache | None,
    ) -> Outcome:
        self.posts += 1
        if self.contend:
            self.contend -= 1
            return CONTENDED
        failed = []
        if parent is not None:
            replied = self.get(parent)
            if replied is None or replied.status != VISIBLE:
                failed.append("reply")
        if self.guards.taken(guard):
            failed.append("guard")
        failed += [w.name for w in windows if self.windows.get(w.key, 0) >= w.limit]
        if author is not None and (comment.author_id is None or self.users.get(comment.author_id) is None):
            failed.append("author")
        if failed:
            return refused(*failed)
        self.items[(comment.article_id, comment.comment_id)] = comment
        if comment.status == VISIBLE:
            self.articles.count(comment.article_id, 1)
        for w in windows:
            self.windows[w.key] = self.windows.get(w.key, 0) + 1
        self.guards.put(guard)
        if comment.author_id is not None:
            user = self.users.users[comment.author_id]
            if author is not None:
                user = _remember(user, author)
            self.users.users[comment.author_id] = replace(user, wrote_at=comment.created_at)
        return WRITTEN

    def delete(self, ref: CommentRef, author_id: str, now: datetime) -> Outcome:
        if self.contend:
            self.contend -= 1
            return CONTENDED
        current = self.get(ref)
        if current is None or current.status == DELETED:
            return refused("comment")
        if current.author_id != author_id:
            return refused("author")
        if current.status == VISIBLE:
            self.articles.count(ref.article_id, -1)
        self.items[(ref.article_id, ref.comment_id)] = replace(
            current, status=DELETED, text=None, deleted_at=now
        )
        self.users.users[author_id] = replace(self.users.users[author_id], wrote_at=now)
        return WRITTEN

    def refs_by_author(self, author_id: str) -> list[CommentRef]:
        return [c.ref for c in self.items.values() if c.author_id == author_id]

    def batch(self, refs: list[CommentRef]) -> list[Comment]:
        return [c for r in refs if (c := self.get(r)) is not None]

    def restyle(self, ref: CommentRef, author_id: str, display: AuthorCache) -> Outcome:
        current = self.get(ref)
        if current is None or current.author_id != author_id:
            return refused("author")
        self.items[(ref.article_id, ref.comment_id)] = replace(
            current, author_name=display.name, author_department=display.department
        )
        return WRITTEN

    def anonymize(self, ref: CommentRef, author_id: str) -> None:
        current = self.get(ref)
        if current is not None and current.author_id == author_id:
            self.items[(ref.article_id, ref.comment_id)] = replace(
                current,
                author_name=DELETED_USER_NAME,
                author_department=None,
                author_verified=False,
                author_id=None,
            )

    def _as_read(self, comment: Comment) -> bool:
        current = self.get(comment.ref)
        return current is not None and (current.status, current.reports, current.report_round) == (
            comment.status,
            comment.reports,
            comment.report_round,
        )

    def report(
        self,
        comment: Comment,
        reporter: str,
        reason: str,
        text: str | None,
        windows: list[RateWindow],
        threshold: int,
        now: datetime,
        record_until: int,
    ) -> Outcome:
        if self.contend:
            self.contend -= 1
            return CONTENDED
        key = (f"{comment.ref.public_id}#{comment.report_round}", reporter)
        failed = ["report"] if key in self.reports else []
        if not self._as_read(comment):
            failed.append("comment")
        failed += [w.name for w in windows if self.windows.get(w.key, 0) >= w.limit]
        if failed:
            return refused(*failed)
        self.reports[key] = (reason, text, now)
        for w in windows:
            self.windows[w.key] = self.windows.get(w.key, 0) + 1
        log = (
            (*comment.report_log, (reason, text))
            if comment.reports < REPORT_LOG_ENTRIES
            else comment.report_log
        )
        moved = replace(comment, reports=comment.reports + 1, report_log=log)
        if moved.reports >= threshold:
            first = comment.report_log[0][0] if comment.report_log else reason
            moved = replace(
                moved, status=HIDDEN, hidden_by=HIDDEN_BY_REPORTS, hide_reason=first, queued_at=now
            )
            self.articles.count(comment.article_id, -1)
        self.items[(comment.article_id, comment.comment_id)] = moved
        return WRITTEN

    def moderate(
        self, comment: Comment, to: str, audit: AuditEvent, *, staff_id: str, reason: str | None = None
    ) -> Outcome:
        if self.contend:
            self.contend -= 1
            return CONTENDED
        if not self._as_read(comment):
            return refused("comment")
        if to == VISIBLE:
            moved = replace(
                comment,
                status=VISIBLE,
                reports=0,
                report_log=(),
                report_round=comment.report_round + 1,
                hidden_by=None,
                hide_reason=None,
                queued_at=None,
                held_for=None,
            )
        elif to == HIDDEN:
            moved = replace(
                comment, status=HIDDEN, hidden_by=staff_id, hide_reason=reason, queued_at=audit.at
            )
        else:
            moved = replace(
                comment, status=DELETED, text=None, deleted_at=audit.at, queued_at=None, report_log=()
            )
        if (comment.status == VISIBLE) != (to == VISIBLE):
            self.articles.count(comment.article_id, 1 if to == VISIBLE else -1)
        self.items[(comment.article_id, comment.comment_id)] = moved
        self.audit.append(audit)
        return WRITTEN

    def settle(self, comment: Comment, to: str, held_for: str | None, now: datetime) -> Outcome:
        """As the repository: from `held` for the check only; shown and counted at once."""
        if self.contend:
            self.contend -= 1
            return CONTENDED
        current = self.get(comment.ref)
        if current is None or current.status != HELD or current.held_for != HELD_FOR_CHECK:
            return refused("comment")
        if to == VISIBLE:
            moved = replace(current, status=VISIBLE, held_for=None)
            self.articles.count(comment.article_id, 1)
        elif to == HELD:
            moved = replace(current, held_for=held_for, queued_at=now)
        else:
            moved = replace(
                current, status=HIDDEN, held_for=None, hidden_by="content_check", hide_reason="content_check"
            )
        self.items[(comment.article_id, comment.comment_id)] = moved
        return WRITTEN

    def reports_by(self, reporter: str) -> list[tuple[str, str, str | None, datetime]]:
        found = self.reports.items()
        return [
            (key.rsplit("#", 1)[0], reason, text, at)
            for (key, who), (reason, text, at) in found
            if who == reporter
        ]

    def forget_reports(self, reporter: str) -> None:
        self.reports = {k: v for k, v in self.reports.items() if k[1] != reporter}

    def _queue_of(self, comment: Comment) -> str | None:
        if comment.status == HELD or (comment.status == HIDDEN and comment.hidden_by == HIDDEN_BY_REPORTS):
            return QUEUE_PENDING
        return QUEUE_HIDDEN if comment.status == HIDDEN else None

    def queue(self, name: str, limit: int, after: str | None) -> tuple[list[Comment], str | None]:
        found = sorted(
            (c for c in self.items.values() if self._queue_of(c) == name),
            key=lambda c: (c.queued_at or c.created_at, c.comment_id),
        )
        if after is not None:
            found = found[[c.ref.public_id for c in found].index(after) + 1 :]
        shown = found[:limit]
        return shown, shown[-1].ref.public_id if len(found) > limit else None

    def count_queue(self, name: str, limit: int) -> int:
        return min(limit, sum(1 for c in self.items.values() if self._queue_of(c) == name))


@dataclass(frozen=True)
class Posted:
    url: str
    fields: dict[str, str]
    key: str
    expires_at: datetime


@dataclass(frozen=True)
class Stored:
    data: bytes
    content_type: str


class FakeStorage:
    """The credentials bucket in memory; `fail_put` makes the n-th put fail."""

    def __init__(self) -> None:
        self.objects: dict[str, Stored] = {}
        self.tags: dict[str, dict[str, str]] = {}
        self.reads = 0
        self.fail_put: int | None = None
        self.fail_copy = False
        self.copies: list[tuple[str, str]] = []
        self.views = 0  # image links signed

    def presigned_post(
        self, key: str, content_type: str, max_bytes: int, lifetime: timedelta, now: datetime
    ) -> Posted:
        return Posted(
            "https://bucket.example/", {"key": key, "Content-Type": content_type}, key, now + lifetime
        )

    def read(self, key: str, max_bytes: int) -> Stored:
        from shared import errors

        self.reads += 1
        if key not in self.objects:
            raise errors.BadRequest("a document was not uploaded (or has expired)")
        return self.objects[key]

    def put_clean(self, key: str, data: bytes, content_type: str) -> None:
        if self.fail_put is not None:
            self.fail_put -= 1
            if self.fail_put <= 0:
                raise ConnectionError("the bucket is unreachable")
        self.objects[key] = Stored(data, content_type)

    def copy(self, source: str, target: str) -> None:
        from shared import errors

        if self.fail_copy:
            raise ConnectionError("the bucket is unreachable")
        if source not in self.objects:
            raise errors.invalid("keep", "invalid", "keep_missing")
        self.objects[target] = self.objects[source]
        self.copies.append((source, target))

    def delete(self, keys: list[str]) -> None:
        for key in keys:
            self.objects.pop(key, None)

    def keys_under(self, prefix: str) -> list[str]:
        return sorted(k for k in self.objects if k.startswith(prefix))

    def delete_prefix(self, prefix: str) -> int:
        gone = [k for k in self.objects if k.startswith(prefix)]
        self.delete(gone)
        return len(gone)

    def tag(self, key: str, tags: dict[str, str]) -> None:
        self.tags[key] = tags

    def view_url(self, key: str, lifetime: timedelta) -> str:
        self.views += 1
        return f"https://bucket.example/{key}?expires={int(lifetime.total_seconds())}"


class FakeOutbox:
    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def append(self, entry: dict[str, Any]) -> None:
        self.entries.append(json.loads(json.dumps(entry)))


class FakeMessages:
    def __init__(self, answer: str = "sent") -> None:
        self.sent: list[tuple[str, str, str, dict[str, str]]] = []
        self.answer = answer

    def send_subscribe_message(self, openid: str, template_id: str, page: str, data: dict[str, str]) -> str:
        self.sent.append((openid, template_id, page, data))
        return self.answer


class FakeChecker:
    def __init__(self, suggest: str = "pass") -> None:
        self.suggest = suggest
        self.checked: list[str] = []

    def check_text(self, openid: str, text: str) -> str:
        self.checked.append(text)
        return self.suggest


class Clock:
    """A clock the test moves."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class FakeNotifications:
    """The notifications table: pending ones in the sparse index until done."""

    def __init__(self) -> None:
        self.items: dict[str, Notification] = {}
        self.writes = 0

    def add(self, submission_id: str, revision: int, created_at: datetime) -> None:
        self.items[submission_id] = Notification(submission_id, revision, created_at, next_attempt_at=0)

    def get(self, submission_id: str) -> Notification | None:
        return self.items.get(submission_id)

    def waiting(self, limit: int) -> list[str]:
        return sorted(sid for sid, n in self.items.items() if n.pending)[:limit]

    def due(self, now_epoch: int, limit: int) -> list[str]:
        due = [sid for sid, n in self.items.items() if n.pending and (n.next_attempt_at or 0) <= now_epoch]
        return sorted(due)[:limit]

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
        item = self.items.get(submission_id)
        if item is None:
            return
        self.writes += 1
        self.items[submission_id] = replace(
            item,
            delivered=item.delivered | frozenset(delivered),
            pending=not done,
            outcome=outcome or ("delivered" if done else None),
            attempts=attempts,
            next_attempt_at=None if done else next_attempt_at,
            last_error=error,
        )


class FakeWindows:
    """When each member was last messaged (and reminded), claimed as the repository's condition does."""

    def __init__(self) -> None:
        self.sent_at: dict[str, int] = {}
        self.reminded_at: dict[str, int] = {}
        self.claims = 0

    def claim(
        self, staff_id: str, now_epoch: int, every_seconds: int, reminder_every: int | None = None
    ) -> bool:
        self.claims += 1
        if staff_id in self.sent_at and self.sent_at[staff_id] > now_epoch - every_seconds:
            return False
        if (
            reminder_every is not None
            and self.reminded_at.get(staff_id, -(10**12)) > now_epoch - reminder_every
        ):
            return False
        self.sent_at[staff_id] = now_epoch
        if reminder_every is not None:
            self.reminded_at[staff_id] = now_epoch
        return True

    def release(self, staff_id: str, claimed_epoch: int, *, reminder: bool = False) -> None:
        if self.sent_at.get(staff_id) == claimed_epoch:
            del self.sent_at[staff_id]
            if reminder:
                self.reminded_at.pop(staff_id, None)


class FakePendingTimes:
    """The pending submissions as the by_status index lists them: id -> submitted at."""

    def __init__(self) -> None:
        self.submitted: dict[str, datetime] = {}

    def pending(self, limit: int) -> tuple[int, datetime | None, bool]:
        return self._count(None, limit)

    def overdue(self, submitted_before: datetime, limit: int) -> tuple[int, datetime | None, bool]:
        return self._count(submitted_before, limit)

    def _count(self, before: datetime | None, limit: int) -> tuple[int, datetime | None, bool]:
        found = sorted(at for at in self.submitted.values() if before is None or at <= before)
        return min(len(found), limit), (found[0] if found else None), len(found) > limit


class FakeMail:
    """E-mail through the staff topic: (member, subject, text) per message; `down` fails each."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []
        self.down = False

    def send(self, reviewer_id: str, subject: str, text: str) -> None:
        from shared.errors import ChannelFailed

        if self.down:
            raise ChannelFailed("sns:Throttling")
        self.sent.append((reviewer_id, subject, text))


class FakeWebhook:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, url: str, secret: str | None, text: str) -> None:
        self.sent.append((url, text))
