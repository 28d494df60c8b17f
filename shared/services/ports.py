"""What the services need from storage and the outside world: the ports their adapters fill.

The pynamodb repositories of `shared.store` and the adapters of `shared.adapters` implement these
structurally; the unit tests implement them in memory (tests/unit/fakes.py). Every conditional
write answers an `Outcome` whose `Refused` names the conditions that failed, in the words each
method's docstring gives.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol

from shared.domain.articles import Article, ArticleHead, FeedPosition
from shared.domain.audit import AuditEvent
from shared.domain.comments import Comment, CommentRef
from shared.domain.consent import ConsentChange, ConsentKey, ConsentRecord, Document
from shared.domain.idempotency import Guard
from shared.domain.outcomes import Outcome
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
)


class Users(Protocol):
    def find_user_id(self, openid_key: str, *, consistent: bool = False) -> str | None: ...
    def get(self, user_id: str) -> User | None: ...
    def create(self, user: User, openid_key: str) -> Outcome:
        """`Refused` ("identity", "user") when another login made them first."""

    def add_session(self, user_id: str, session_id: str, session: Session) -> User | None: ...
    def remove_sessions(self, user_id: str, session_ids: list[str]) -> None: ...
    def revoke_session(self, user_id: str, session_id: str, secret_hash: str) -> Outcome:
        """`Refused` ("session") unless the caller holds that session's secret."""

    def choose_author(
        self, user_id: str, style: str, hide_department: bool, display: AuthorCache
    ) -> Outcome: ...
    def delete(self, user_id: str, openid_key: str) -> None: ...
    def set_mute(self, user_id: str, until: int | None, audit: AuditEvent) -> Outcome:
        """`Refused` ("user"): no such user."""


class Documents(Protocol):
    def current(self) -> dict[str, Document]: ...
    def get(self, key: str, version: str) -> Document | None: ...


class ConsentRecords(Protocol):
    def append(
        self, record: ConsentRecord, user_id: str, seen_seq: int | None, change: ConsentChange
    ) -> Outcome:
        """`Refused`: "user" (the user's consent moved since `seen_seq` was read), "key" (a first
        decision's key, when the user has one already)."""

    def history(self, subject: str) -> list[ConsentRecord]: ...
    def get(self, subject: str, record_id: str) -> ConsentRecord | None: ...


class ConsentKeys(Protocol):
    def get(self, user_id: str) -> ConsentKey | None: ...
    def delete(self, user_id: str) -> None: ...


class Deletions(Protocol):
    """The deletion log (digests of deleted accounts' ids), re-applied after a restore."""

    def record(self, digest: str, at: datetime) -> None: ...


class AnswerStore(Protocol):
    def get(self, user_id: str) -> Answers | None: ...
    def save(
        self, answers: Answers, informed_version: str, *, seen: Answers | None, guard: Guard | None
    ) -> Outcome:
        """`Refused`: "user" (the informed consent is no longer held), "answers" (changed since
        `seen`), "guard" (the Idempotency-Key was used)."""

    def delete(self, user_id: str) -> None: ...


class Guards(Protocol):
    def get(self, owner: str, key: str, now: int) -> Guard | None: ...
    def owned(self, owner: str) -> list[Guard]: ...
    def record(self, guard: Guard) -> Outcome:
        """`Refused` ("guard") when the key is live."""

    def erase(self, owner: str) -> int: ...


class Submissions(Protocol):
    def get(self, submission_id: str) -> Submission | None: ...
    def history(self, user_id: str) -> list[Submission]: ...
    def users_with(self, fingerprint: str) -> list[FingerprintUse]: ...
    def submit(
        self,
        submission: Submission,
        notification: Notification,
        prior: str | None,
        guard: Guard | None,
        window: RateWindow | None = None,
    ) -> Outcome:
        """`Refused`: "user" (the user's state moved since read), "guard" (the key was used),
        the window's name (its limit is reached)."""

    def decide(self, submission: Submission, decision: Decision, audit: AuditEvent) -> Outcome:
        """`Refused`: "submission" (another decision stands), "user" (it is no longer theirs)."""

    def claim(self, submission_id: str, claim: Claim, now: datetime, audit: AuditEvent) -> Outcome:
        """`Refused` ("submission"): no longer pending, or another member's claim holds."""

    def revoke(
        self, approved: Submission, decision: Decision, audit: AuditEvent, *, pending_update: str | None
    ) -> Outcome:
        """`Refused`: "submission" (no longer approved), "user" (the approval or the pending update
        moved), "update" (the update was decided meanwhile)."""

    def withdraw(
        self, user_id: str, submission_id: str, *, is_update: bool, withdrawn_at: datetime
    ) -> Outcome:
        """`Refused`: "submission" (no longer pending), "user" (no longer their pending one)."""

    def set_user_message(self, submission_id: str, outcome: str) -> None: ...
    def erase(self, user_id: str) -> list[Submission]: ...
    # ---- what the export shows beside the submissions ----
    def audit_of(self, submission_id: str) -> list[AuditEvent]: ...
    def notifications_of(self, submission_ids: list[str]) -> list[Notification]: ...
    def fingerprint_uses(self, user_id: str, fingerprints: list[str]) -> list[FingerprintUse]: ...


class RateWindows(Protocol):
    def spend(self, window: RateWindow) -> Outcome:
        """+1 on the window; `Refused` (the window's name) once its limit is reached."""

    def used(self, windows: list[RateWindow]) -> dict[str, int]:
        """How much of each window is used, by key (the windows never used are left out)."""


class Reviewers(Protocol):
    def active(self) -> list[Reviewer]: ...
    def get(self, reviewer_id: str) -> Reviewer | None: ...


class Staff(Protocol):
    def get(self, staff_id: str, *, consistent: bool = True) -> StaffMember | None: ...
    def find(self, handle: str) -> str | None:
        """The staff id a handle's digest names (one read, whether or not it names anyone)."""

    def all(self) -> list[StaffMember]: ...
    def add(self, member: StaffMember, handles: dict[str, str], event: StaffEvent) -> Outcome:
        """`Refused`: "id" or "id_handle" (the id is taken), "name", "email" (another member's)."""

    def deactivate(self, staff_id: str, event: StaffEvent) -> Outcome:
        """`Refused` ("member") when there is no such member."""

    def forget_subscription(self, staff_id: str) -> None: ...
    def open_session(
        self, link: SignInLink, session_id: str, session: StaffSession, stale: list[str], event: StaffEvent
    ) -> Outcome:
        """`Refused`: "link" (used, expired or naming no one), "member" (not active)."""

    def close_session(self, staff_id: str, session_id: str, secret_hash: str, event: StaffEvent) -> Outcome:
        """`Refused` ("session") unless the caller holds that session's secret."""


class SignInLinks(Protocol):
    def get(self, digest: str) -> SignInLink | None: ...
    def issue(self, link: SignInLink, windows: list[SignInWindow], event: StaffEvent) -> Outcome:
        """`Refused`: a window's name ("who", "address"), "link"."""


class FunnelStore(Protocol):
    def counted(self, user_id: str) -> str | None:
        """The state the user was last counted in, None when they are not counted."""

    def move(self, user_id: str, before: str | None, after: str | None, shard: int) -> Outcome:
        """`Refused` ("user") when the user is no longer counted in `before`."""

    def counts(self) -> list[tuple[str, int]]: ...


class PendingQueue(Protocol):
    """The submissions waiting for a decision, oldest first."""

    def pending(self, limit: int) -> tuple[int, datetime | None, bool]:
        """(how many, when the oldest was submitted, whether there are more than `limit`)."""

    def page(self, limit: int, after: str | None) -> tuple[list[QueueEntry], str | None]:
        """A page oldest first after the submission id `after`, and the id to go on from."""

    def overdue(self, submitted_before: datetime, limit: int) -> tuple[int, datetime | None, bool]:
        """The same of those submitted at or before `submitted_before`."""


class AnswerCounters(Protocol):
    def totals(self) -> dict[str, int]:
        """Every answer statistics counter, summed over its shards."""


class AuditLog(Protocol):
    def append(self, event: AuditEvent) -> Outcome: ...
    def month(
        self, month: str, limit: int, after: tuple[str, str] | None
    ) -> tuple[list[AuditEvent], tuple[str, str] | None]:
        """A month's lines newest first after the line `after` (key, subject), and where to go on."""

    def of_subject(self, subject: str) -> list[AuditEvent]:
        """The lines about one subject, oldest first."""


class Notifications(Protocol):
    def get(self, submission_id: str) -> Notification | None: ...
    def waiting(self, limit: int) -> list[str]:
        """Every pending notification's submission id, due or not."""

    def due(self, now_epoch: int, limit: int) -> list[str]: ...
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
    ) -> None: ...


class MessageWindows(Protocol):
    """When each staff member was last sent a message, and a reminder: at most one per window."""

    def claim(
        self, staff_id: str, now_epoch: int, every_seconds: int, reminder_every: int | None = None
    ) -> bool:
        """Note a message to the member as sent now, unless one went less than `every_seconds` ago
        (or, with `reminder_every`, a reminder less than that ago): False then."""

    def release(self, staff_id: str, claimed_epoch: int, *, reminder: bool = False) -> None:
        """Undo a claim whose message could not be sent (best effort)."""


class Articles(Protocol):
    def get(self, article_id: str, fresh: bool = False) -> tuple[Article, int] | None:
        """The article (its head's count the base) and the sum of its counters."""

    def counts(self, article_ids: list[str], fresh: bool = False) -> dict[str, int]:
        """The sum of each article's counters (add its head's base for the count)."""

    def feed_page(
        self, limit: int, after: FeedPosition | None, now: datetime
    ) -> tuple[list[ArticleHead], FeedPosition | None]:
        """One Query: the articles published by `now`, newest first, after `after`."""

    def catalog(self) -> list[ArticleHead]:
        """Every article, whatever its status (the editors' list)."""

    def head(self, article_id: str) -> ArticleHead | None:
        """The head as it is now (strongly consistent)."""

    def move(self, seen: ArticleHead, status: str, published_at: datetime, event: AuditEvent) -> Outcome:
        """Status and publication time, with the audit line; `Refused` ("head") if not as `seen`."""

    def save(self, article: Article, keep_status: bool = True, event: AuditEvent | None = None) -> str:
        """Create or update: "created", "updated" or "unchanged"."""


class Comments(Protocol):
    def page(
        self, article_id: str, shards: int, limit: int, after: str | None, fresh: bool = False
    ) -> tuple[list[Comment], str | None]:
        """Every comment of the page over the article's `shards` partitions, tombstones and held
        ones included (the reader filters)."""

    def get(self, ref: CommentRef) -> Comment | None: ...
    def post(
        self,
        comment: Comment,
        windows: list[RateWindow],
        parent: CommentRef | None,
        guard: Guard | None,
        author: AuthorCache | None,
    ) -> Outcome:
        """`Refused`: "reply", "comment", "guard", a window's name, "author". The article's
        existence is the caller's to check (it writes a counter of any id)."""

    def delete(self, ref: CommentRef, author_id: str, now: datetime) -> Outcome:
        """`Refused`: "comment" (none, or already deleted), "author" (not theirs)."""

    def refs_by_author(self, author_id: str) -> list[CommentRef]: ...
    def batch(self, refs: list[CommentRef]) -> list[Comment]: ...
    def restyle(self, ref: CommentRef, author_id: str, display: AuthorCache) -> Outcome: ...
    def anonymize(self, ref: CommentRef, author_id: str) -> None: ...
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
        """`Refused`: "report" (a repeat in this round), "comment" (it moved since read), a window."""


class Reports(Protocol):
    def reports_by(self, reporter: str) -> list[tuple[str, str, str | None, datetime]]: ...
    def forget_reports(self, reporter: str) -> None: ...


class Moderated(Protocol):
    """The comments as moderators move them."""

    def get(self, ref: CommentRef) -> Comment | None: ...
    def moderate(
        self, comment: Comment, to: str, audit: AuditEvent, *, staff_id: str, reason: str | None = None
    ) -> Outcome:
        """`Refused` ("comment"): it moved since it was read."""

    def queue(self, name: str, limit: int, after: str | None) -> tuple[list[Comment], str | None]: ...
    def count_queue(self, name: str, limit: int) -> int: ...


# ---- adapters ----
class PresignedUpload(Protocol):
    @property
    def url(self) -> str: ...
    @property
    def fields(self) -> dict[str, str]: ...
    @property
    def key(self) -> str: ...
    @property
    def expires_at(self) -> datetime: ...


class StoredImage(Protocol):
    @property
    def data(self) -> bytes: ...
    @property
    def content_type(self) -> str: ...


class CredentialStorage(Protocol):
    def presigned_post(
        self, key: str, content_type: str, max_bytes: int, lifetime: timedelta, now: datetime
    ) -> PresignedUpload: ...
    def read(self, key: str, max_bytes: int) -> StoredImage: ...
    def put_clean(self, key: str, data: bytes, content_type: str) -> None: ...
    def copy(self, source: str, target: str) -> None:
        """A copy of a stored image under another key, with no tag of the source's; 400 naming
        `keep` when the source is gone."""

    def delete(self, keys: list[str]) -> None: ...
    def keys_under(self, prefix: str) -> list[str]: ...
    def delete_prefix(self, prefix: str) -> int: ...
    def tag(self, key: str, tags: dict[str, str]) -> None: ...
    def view_url(self, key: str, lifetime: timedelta) -> str: ...


class TextChecker(Protocol):
    def check_text(self, openid: str, text: str) -> str:
        """The content check's suggestion (WeChat's msgSecCheck, Tencent Cloud's TMS): "pass",
        "review" or "risky". Raises `UpstreamUnavailable` when it may answer later,
        `ContentUncheckable` when it never will for this text and author."""


class SubscribeMessages(Protocol):
    def send_subscribe_message(
        self, openid: str, template_id: str, page: str, data: dict[str, str]
    ) -> str: ...


class Credentials(Protocol):
    """A request, as far as the gate is concerned."""

    def bearer_token(self) -> str | None: ...


class Notify(Protocol):
    """Tells the reviewers that a submission waits (after its commit; retried if it fails)."""

    def deliver_new(self, submission_id: str, revision: int) -> None: ...


class Outbox(Protocol):
    def append(self, entry: dict[str, Any]) -> None: ...


class ReviewerMail(Protocol):
    """E-mail to one reviewer (the SNS topic, each subscription filtered on its reviewer)."""

    def send(self, reviewer_id: str, subject: str, text: str) -> None:
        """Raises `errors.ChannelFailed`."""


class StaffMail(Protocol):
    """E-mail to one member: the staff topic, each subscription filtered on its member's id."""

    def send(self, reviewer_id: str, subject: str, text: str) -> None:
        """Raises `errors.ChannelFailed`."""

    def subscribe_email(self, reviewer_id: str, email: str) -> str: ...
    def unsubscribe(self, subscription_arn: str) -> None: ...


class Webhook(Protocol):
    """A chat robot (WeCom / DingTalk style), its URL signed with `secret` when it has one."""

    def send(self, url: str, secret: str | None, text: str) -> None:
        """Raises `errors.ChannelFailed`."""


class WeChatLogin(Protocol):
    @property
    def openid(self) -> str: ...


class CleanedImage(Protocol):
    """A credential image re-encoded without metadata, with its fingerprints."""

    @property
    def data(self) -> bytes: ...
    @property
    def content_type(self) -> str: ...
    @property
    def sha256(self) -> str: ...
    @property
    def dhash(self) -> str: ...
    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...


class PersonalData(Protocol):
    """Something that holds data about a user: it exports it, and erases it with the account."""

    name: str  # the key of this holder's part of the export

    def export(self, user_id: str) -> Any:
        """Everything held about the user, as JSON-ready data."""

    def erase(self, user_id: str) -> None:
        """Delete the user's personal data (idempotent), keeping only what names no one."""
