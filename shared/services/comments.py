"""Comments: reading, posting, deleting, the author display, and the comments in a user's data.

Costs (calls to DynamoDB, the gate's user read included; `make bench` meters them): a page 2 at
any depth, a post 3 (gate read, a unit of the content check's budget, one transaction), a
delete 2. A keyed replay adds one read of its guard; a reply one read of what it answers (its
answer shows it, as a page does); the first post after a verification adds one read of the
approved submission (the author display is then remembered on the user item).

Content check: the blocked words of config, then the stage's check (WeChat's msgSecCheck or
Tencent Cloud's TMS, `contentCheck`), inline while the app is under its share of the check's quota
this minute (one conditional write on a budget shard: a post costs one call more), else later:
- "risky" (or a blocked word): 422 content_rejected; nothing is stored.
- "review": the comment is stored as `held`: shown to its author only (marked so), not counted,
  and queued for a moderator (the console's `/console/comments`, or `python -m infra.ops articles
  held|release`), who restores, hides or deletes it (`shared.services.moderation`).
- over the inline share: the comment is stored as `held` at once (its author sees it so), its id
  sent to the paced queue first, and the worker settles it (`shared.services.queued_checks`).
- the check cannot take the text (WeChat's 61010): stored `held` for a moderator, never lost.
- the check unavailable: 503 upstream_unavailable with Retry-After; nothing is stored, so the
  client keeps the text and retries with the same Idempotency-Key. A comment is never silently
  stored unchecked, nor silently lost.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shared import errors
from shared.domain import comments as rules
from shared.domain import times
from shared.domain.articles import check_article_id
from shared.domain.comments import AuthorDisplay, Comment
from shared.domain.idempotency import Guard
from shared.domain.ids import new_id
from shared.domain.outcomes import Contended, Outcome, Refused, Written
from shared.domain.rates import RateWindow
from shared.domain.users import AuthorCache, User
from shared.domain.verification import Submission
from shared.services.articles import COUNT_SECONDS, wrote_lately
from shared.services.contention import MAX_ATTEMPTS, until_uncontended
from shared.services.cursors import Cursors
from shared.services.fresh import Fresh
from shared.services.idempotency import Idempotency

if TYPE_CHECKING:
    from shared.services.ports import Comments, Reports, TextChecker, Users
    from shared.services.queued_checks import CheckPacing, CheckQueue

COMMENTS_CURSOR = "comments-cursor"
OPERATION = "comment"
CHECK_RETRY_AFTER_SECONDS = 30
DEFAULT_BLOCKED_WORDS = Path(__file__).resolve().parents[1] / "domain" / "blocked_words.txt"


def load_blocked_words(path: str | None) -> frozenset[str]:
    file = Path(path) if path else DEFAULT_BLOCKED_WORDS
    lines = file.read_text(encoding="utf-8").splitlines()
    return frozenset(
        line.strip().casefold() for line in lines if line.strip() and not line.lstrip().startswith("#")
    )


class ContentCheck:
    """The blocked words, then the stage's check (when `checker` is given), inline while `pacing`
    grants a unit of the minute's inline share: "pass", "review", "uncheckable" (for a moderator)
    or "queue" (over the share: the paced worker checks it)."""

    def __init__(
        self,
        words: Callable[[], frozenset[str]],
        checker: Callable[[], TextChecker] | None,
        pacing: Callable[[], CheckPacing] | None = None,
        queue: Callable[[], CheckQueue] | None = None,
    ) -> None:
        self._words = words
        self._checker = checker
        self._pacing = pacing
        self._queue = queue

    def verdict(self, openid: str, text: str) -> str:
        if rules.blocked_word(text, self._words()) is not None:
            raise errors.ContentRejected("blocked_word")
        if self._checker is None:
            return "pass"
        if self._pacing is not None and self._queue is not None and not self._pacing().inline():
            return "queue"
        try:
            suggest = self._checker().check_text(openid, text)
        except errors.UpstreamUnavailable as exc:
            raise errors.UpstreamUnavailable(
                "content_check",
                retry_after=CHECK_RETRY_AFTER_SECONDS,
            ) from exc
        except errors.ContentUncheckable:
            return "uncheckable"
        if suggest == "risky":
            raise errors.ContentRejected()
        return "review" if suggest == "review" else "pass"

    def enqueue(self, public_id: str) -> None:
        """Send a comment's id to the paced check (before its transaction: see `post`)."""
        if self._queue is None:  # pragma: no cover - "queue" is only answered with a queue
            raise errors.UpstreamUnavailable("content_check")
        self._queue().send(public_id)


HELD_FOR = {
    "review": rules.HELD_FOR_REVIEW,
    "uncheckable": rules.HELD_UNCHECKABLE,
    "queue": rules.HELD_FOR_CHECK,
}


def reply_context(parent: Comment | None) -> dict[str, Any] | None:
    """What a reply shows of the comment it answers: who, and an excerpt while it is visible; a
    deleted or hidden (or held) one says so without its text."""
    if parent is None:
        return None
    state = parent.status if parent.status in (rules.VISIBLE, rules.DELETED) else rules.HIDDEN
    return {
        "author": {"display_name": parent.author_name},
        "excerpt": rules.excerpt(parent.text) if state == rules.VISIBLE else None,
        "state": state,
    }


def comment_view(comment: Comment, viewer_id: str, parent: Comment | None = None) -> dict[str, Any]:
    """A comment as any verified reader sees it: the display name, never who wrote it. Its author
    alone sees it held or hidden, with the hide's reason."""
    reason = comment.hide_reason if comment.status == rules.HIDDEN else None
    return {
        "id": comment.ref.public_id,
        "author": {
            "display_name": comment.author_name,
            "verified": comment.author_verified,
            "department": comment.author_department,
        },
        "text": comment.text,
        "created_at": times.iso(comment.created_at),
        "reply_to": comment.reply_to,
        "reply_context": reply_context(parent),
        "state": comment.status,
        "reason_text": _reason_text(reason) if reason else None,
        "mine": comment.author_id is not None and comment.author_id == viewer_id,
    }


def _reason_text(reason: str) -> str:
    return (
        rules.CHECK_REASONS.get(reason)
        or rules.HIDE_REASONS.get(reason)
        or rules.REPORT_REASONS.get(reason)
        or rules.HIDE_REASONS["other"]
    )


Page = tuple[list[Comment], str | None, dict[str, Comment]]  # comments, where it ended, parents by id


class CommentService:
    def __init__(
        self,
        comments: Comments,
        users: Users,
        cursors: Cursors,
        content: ContentCheck,
        submission: Callable[[str], Submission | None],
        idempotency: Idempotency,
        article_shards: Callable[[str, bool], int | None],
        clock: Callable[[], datetime],
        sleep: Callable[[float], None] = time.sleep,
        report_threshold: int = 3,
    ) -> None:
        self._report_threshold = report_threshold
        self._comments = comments
        self._sleep = sleep
        self._users = users
        self._cursors = cursors
        self._content = content
        self._submission = submission  # a submission by id: the author display comes from it
        self._idempotency = idempotency
        # how many partitions an article's comments spread over (None: no such article), through
        # the article service's cache
        self._article_shards = article_shards
        self._clock = clock
        # the first page of each article's comments, for COUNT_SECONDS (as the counts)
        self._first_pages: Fresh[Page] = Fresh(COUNT_SECONDS, size=200)

    # ---- reading ----
    def page(self, user: User, article_id: str, limit: str | None, cursor: str | None) -> dict[str, Any]:
        """One page, newest first; an unknown (well-formed) article has no comments."""
        check_article_id(article_id)
        size = rules.page_size(limit)
        start = self._cursors.load(COMMENTS_CURSOR, cursor, {"a", "c"})
        if start is not None and start["a"] != article_id:
            raise errors.BadRequest("cursor")
        after = None if start is None else start["c"]
        fresh = wrote_lately(user, self._clock())
        found = None if after is not None or fresh else self._first_pages.get((article_id, size))
        if found is None:  # the first page is what most readers ask for: it is kept a few seconds
            # the partitions as readers know them (up to a minute late): spread an article a minute
            # before its event, or a writer may miss their comment in a new partition that long
            shards = self._article_shards(article_id, False) or 1
            items, last = self._comments.page(article_id, shards, size, after, fresh)
            found = (items, last, self._parents(items))
            if after is None and not fresh:
                self._first_pages.put((article_id, size), found)
        items, last, parents = found
        next_cursor = (
            None if last is None else self._cursors.sign(COMMENTS_CURSOR, {"a": article_id, "c": last})
        )
        shown = [
            comment_view(c, user.user_id, parents.get(c.reply_to or ""))
            for c in items
            if rules.shown_to(c, user.user_id)
        ]
        return {"items": shown, "next_cursor": next_cursor}

    def _parents(self, items: list[Comment]) -> dict[str, Comment]:
        """The comments the page's replies answer: from the page itself, the others in one batch."""
        on_page = {c.ref.public_id: c for c in items}
        wanted = {c.reply_to for c in items if c.reply_to} - set(on_page)
        refs = [ref for public_id in wanted if (ref := rules.parse_comment_id(public_id)) is not None]
        fetched = {c.ref.public_id: c for c in self._comments.batch(refs)} if refs else {}
        return {**on_page, **fetched}

    def forget(self) -> None:
        """Empty this container's cache of first pages (the bench times the reads behind it)."""
        self._first_pages.clear()

    # ---- posting ----
    def post(
        self, user: User, article_id: str, raw_text: str, reply_to: str | None, idempotency_key: str | None
    ) -> dict[str, Any]:
        check_article_id(article_id)
        rules.check_not_muted(user.muted_until, self._clock())
        text = rules.normalize_text(raw_text)
        parent = None
        if reply_to is not None:
            parent = rules.parse_comment_id(reply_to)
            if parent is None or parent.article_id != article_id:
                raise errors.invalid("reply_to", "not_allowed", "reply_to")
        shards = self._article_shards(article_id, False)
        if shards is None:
            raise errors.NotFound("article")
        guard = self._idempotency.guard(
            user.user_id,
            OPERATION,
            idempotency_key,
            {"article": article_id, "text": text, "reply_to": reply_to},
        )
        verdict = self._content.verdict(user.openid, text)
        display, remember = self._author(user)
        now = self._clock()
        comment = Comment(
            article_id=article_id,
            shard=random.randrange(shards),  # noqa: S311 - spreading writes, not a secret
            comment_id=new_id(),
            author_id=user.user_id,
            author_name=display.name,
            author_department=display.department,
            author_verified=display.verified,
            text=text,
            reply_to=reply_to,
            status=rules.VISIBLE if verdict == "pass" else rules.HELD,
            created_at=now,
            held_for=HELD_FOR.get(verdict),
        )
        # A reply answers with what it replies to, as a page shows it (one read, replies only).
        view = comment_view(comment, user.user_id, self._comments.get(parent) if parent else None)
        windows = rules.rate_windows(user.user_id, now)
        answered = guard.answering(view) if guard is not None else None
        if verdict == "queue":
            # Sent before the write: a comment stored held always has its message. A message whose
            # write then fails finds no comment and is dropped (`QueuedChecks.check`).
            self._content.enqueue(comment.ref.public_id)
        outcome = self._contended(lambda: self._comments.post(comment, windows, parent, answered, remember))
        if isinstance(outcome, Written) or self._landed(outcome, comment):
            return view
        if isinstance(outcome, Refused):
            return self._refused(outcome, windows, answered, int(now.timestamp()))
        raise errors.Conflict("article_busy")

    def _landed(self, outcome: Outcome, comment: Comment) -> bool:
        """Whether a write refused on "comment" (its fresh id taken) is this comment's own: an attempt
        the client library retried after a lost answer had landed (one read, on that path only)."""
        return (
            isinstance(outcome, Refused)
            and "comment" in outcome
            and self._comments.get(comment.ref) is not None
        )

    def _contended(self, write: Callable[[], Outcome]) -> Outcome:
        return until_uncontended(write, self._sleep, MAX_ATTEMPTS)

    def _refused(
        self, outcome: Refused, windows: list[RateWindow], guard: Guard | None, epoch: int
    ) -> dict[str, Any]:
        # The most telling first: a replay is not rate limited.
        if guard is not None and "guard" in outcome:
            first: dict[str, Any] = self._idempotency.replay(guard)
            return first
        if "reply" in outcome:
            raise errors.invalid("reply_to", "not_allowed", "reply_to")
        for window in windows:
            if window.name in outcome:
                raise errors.RateLimited(
                    f"comments_{window.name}",
                    limit=window.limit,
                    retry_after=max(1, window.ends_at - epoch),
                )
        raise errors.Conflict("comment_not_stored")

    def _author(self, user: User) -> tuple[AuthorDisplay, AuthorCache | None]:
        """The display fixed on the comment, and what to remember of it on the user item (once
        per approved submission: the first post after a verification reads the submission)."""
        source = user.verification_submission
        if user.author_name and (source is None or user.author_source == source):
            return AuthorDisplay(user.author_name, user.author_department, True), None
        submission = self._submission(source) if source else None
        if submission is None or submission.status != "approved":
            return rules.author_display(None, None, None, True), None
        display = rules.author_display(
            submission.real_name,
            submission.profession,
            submission.department,
            True,
            style=user.author_style or rules.DEFAULT_AUTHOR_STYLE,
            show_department=not user.author_hide_department,
        )
        return display, AuthorCache(display.name, display.department, submission.submission_id)

    # ---- how the author is shown (PUT /v1/me/author) ----
    def choose_author(self, user: User, style: str, show_department: bool) -> dict[str, Any]:
        """Record how the user is shown and restyle their comments; idempotent, so a retry after
        a failure half-way through finishes the job."""
        if style not in rules.AUTHOR_STYLES:
            raise errors.invalid("style", "not_allowed", "author_style")
        source = user.verification_submission
        submission = self._submission(source) if source else None
        if submission is None or submission.status != "approved":
            raise errors.VerificationRequired()
        display = rules.author_display(
            submission.real_name,
            submission.profession,
            submission.department,
            True,
            style=style,
            show_department=show_department,
        )
        remember = AuthorCache(display.name, display.department, submission.submission_id)
        if not isinstance(
            self._users.choose_author(user.user_id, style, not show_department, remember), Written
        ):
            raise errors.Unauthorized()  # the account was deleted meanwhile
        restyled = sum(
            isinstance(self._comments.restyle(ref, user.user_id, remember), Written)
            for ref in self._comments.refs_by_author(user.user_id)
        )
        return {
            "style": style,
            "show_department": show_department,
            "display_name": display.name,
            "department": display.department,
            "verified": True,
            "comments_updated": restyled,
        }

    # ---- deleting ----
    def delete(self, user: User, public_id: str) -> dict[str, Any]:
        ref = rules.parse_comment_id(public_id)
        if ref is None:
            raise errors.NotFound("comment")
        now = self._clock()
        outcome = self._contended(lambda: self._comments.delete(ref, user.user_id, now))
        if isinstance(outcome, Contended):
            raise errors.Conflict("article_busy")
        if isinstance(outcome, Refused) and "author" in outcome:
            raise errors.Forbidden("not_author")
        if not isinstance(outcome, Written):
            raise errors.NotFound("comment")
        return {"id": ref.public_id, "deleted": True}

    # ---- reports ----
    def report(
        self, user: User, public_id: str, reason: str, raw_text: str | None
    ) -> tuple[bool, dict[str, Any]]:
        """A reader reports another's visible comment: (counted, the report). One report per reader
        and round counts; a repeat is answered the same and counts nothing. At the stage's
        threshold of distinct readers the comment is hidden from everyone but its author, leaves
        the count and waits for a moderator. Costs the gate's read, one read of the comment and
        one transaction (more only when another report moved the comment meanwhile)."""
        now = self._clock()
        rules.check_not_muted(user.muted_until, now)
        text = rules.check_report(reason, raw_text)
        ref = rules.parse_comment_id(public_id)
        if ref is None:
            raise errors.NotFound("comment")
        windows = rules.report_windows(user.user_id, now)
        record_until = int(now.timestamp()) + rules.REPORT_RECORD_DAYS * rules.DAY_SECONDS
        answer = {"comment_id": ref.public_id, "reason": reason, "created_at": times.iso(now)}
        outcome: Outcome = Contended()
        for attempt in range(MAX_ATTEMPTS):
            comment = self._comments.get(ref)
            if comment is None or comment.status != rules.VISIBLE:
                raise errors.NotFound("comment")
            if comment.author_id == user.user_id:
                raise errors.Forbidden("own_comment")
            outcome = self._comments.report(
                comment, user.user_id, reason, text, windows, self._report_threshold, now, record_until
            )
            if isinstance(outcome, Written):
                return True, answer
            if isinstance(outcome, Refused) and "report" in outcome:
                return False, answer  # this reader's report of this round counts already
            if isinstance(outcome, Refused) and "comment" not in outcome:
                for window in windows:
                    if window.name in outcome:
                        raise errors.RateLimited(
                            "reports_hour",
                            limit=window.limit,
                            retry_after=max(1, window.ends_at - int(now.timestamp())),
                        )
                break
            self._sleep(random.uniform(0.01, 0.05) * 2**attempt)  # noqa: S311 - jitter only
        raise errors.Conflict("article_busy")


class CommentData:
    """The user's comments: exported in full; on erasure they stay, shown as from a deleted user."""

    name = "comments"

    def __init__(self, comments: Comments) -> None:
        self._comments = comments

    def export(self, user_id: str) -> Any:
        found = self._comments.batch(self._comments.refs_by_author(user_id))
        return [
            {
                "id": c.ref.public_id,
                "article_id": c.article_id,
                "text": c.text,
                "status": c.status,
                "reply_to": c.reply_to,
                "created_at": times.iso(c.created_at),
                "display_name": c.author_name,
                "department": c.author_department,
            }
            for c in sorted(found, key=lambda c: c.comment_id)
        ]

    def erase(self, user_id: str) -> None:
        for ref in self._comments.refs_by_author(user_id):
            self._comments.anonymize(ref, user_id)


class ReportData:
    """The reports a user made: exported; erased with the account (the counts they made stay)."""

    name = "reports"

    def __init__(self, reports: Reports) -> None:
        self._reports = reports

    def export(self, user_id: str) -> Any:
        return [
            {"comment_id": comment_id, "reason": reason, "text": text, "created_at": times.iso(at)}
            for comment_id, reason, text, at in self._reports.reports_by(user_id)
        ]

    def erase(self, user_id: str) -> None:
        self._reports.forget_reports(user_id)
