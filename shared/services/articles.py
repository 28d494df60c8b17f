"""Articles and comments: reading, posting, deleting, and the user-data store of comments.

Costs (calls to DynamoDB, the gate's user read included; see the tests that meter them):
list 2, detail 2, a comments page 2 at any depth, a post 2 (gate read + one transaction), a
delete 2. A keyed replay adds one read of its guard; the first post after a verification adds
one read of the approved submission (the author display is then remembered on the user item).

Content check: the blocked words of config, then WeChat's msgSecCheck when enabled.
- "risky" (or a blocked word): 422 content_rejected; nothing is stored.
- "review": the comment is stored as `held`: shown to its author only (marked so), not counted,
  until an operator releases or deletes it (`python -m infra.ops articles held|release`).
- the check unavailable: 503 upstream_unavailable with Retry-After; nothing is stored, so the
  client keeps the text and retries with the same Idempotency-Key. A comment is never silently
  stored unchecked, nor silently lost.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from shared import errors
from shared.domain import comments as rules
from shared.domain.comments import AuthorDisplay, CommentRef
from shared.store.articles import (
    FEED,
    Article,
    ArticleRecord,
    ArticleRepository,
    AuthorCache,
    CommentRecord,
    CommentRepository,
    IdempotencyGuard,
    PostRefused,
    RateWindow,
)
from shared.store.users import UserRecord

ARTICLES_CURSOR = "articles-cursor"
COMMENTS_CURSOR = "comments-cursor"
COMMENTS_STORE = "comments"
MAX_POST_ATTEMPTS = 5  # a TransactionConflict on a busy article is retried this often
CHECK_RETRY_AFTER_SECONDS = 30
DEFAULT_BLOCKED_WORDS = Path(__file__).resolve().parents[1] / "domain" / "blocked_words.txt"


class Signer(Protocol):
    def dumps(self, obj: Any) -> str | bytes: ...
    def loads(self, s: str | bytes) -> Any: ...


class TextChecker(Protocol):
    def check_text(self, openid: str, text: str) -> str: ...


class SubmissionLike(Protocol):
    real_name: str
    profession: str
    department: str
    status: str


class Cursors:
    """Opaque, tamper-proof page cursors: a signed last key, valid only for its purpose."""

    def __init__(self, signer: Callable[[str], Signer]) -> None:
        self._signer = signer

    def sign(self, purpose: str, payload: dict[str, str]) -> str:
        token = self._signer(purpose).dumps(payload)
        return token if isinstance(token, str) else token.decode()

    def load(self, purpose: str, token: str | None) -> dict[str, str] | None:
        if token is None or token == "":
            return None
        from itsdangerous import BadData  # deferred: itsdangerous is light, but only pages need it

        try:
            payload = self._signer(purpose).loads(token)
        except BadData as exc:
            raise errors.BadRequest("the cursor is not valid") from exc
        if not isinstance(payload, dict) or not all(isinstance(v, str) for v in payload.values()):
            raise errors.BadRequest("the cursor is not valid")
        return payload


def load_blocked_words(path: str | None) -> frozenset[str]:
    file = Path(path) if path else DEFAULT_BLOCKED_WORDS
    lines = file.read_text(encoding="utf-8").splitlines()
    return frozenset(
        line.strip().casefold() for line in lines if line.strip() and not line.lstrip().startswith("#")
    )


class ContentCheck:
    """The blocked words, then msgSecCheck (when `checker` is given): "pass" or "review"."""

    def __init__(
        self, words: Callable[[], frozenset[str]], checker: Callable[[], TextChecker] | None
    ) -> None:
        self._words = words
        self._checker = checker

    def verdict(self, openid: str, text: str) -> str:
        if rules.blocked_word(text, self._words()) is not None:
            raise errors.ContentRejected("the comment contains a blocked word")
        if self._checker is None:
            return "pass"
        try:
            suggest = self._checker().check_text(openid, text)
        except errors.UpstreamUnavailable as exc:
            raise errors.UpstreamUnavailable(
                "the content check is unavailable; nothing was stored, please retry",
                retry_after=CHECK_RETRY_AFTER_SECONDS,
            ) from exc
        if suggest == "risky":
            raise errors.ContentRejected("the comment was refused by the content check")
        return "review" if suggest == "review" else "pass"


def article_summary(article: ArticleRecord) -> dict[str, Any]:
    return {
        "id": article.article_id,
        "title": article.title,
        "published_at": article.published_at.isoformat(),
        "author": article.author,
        "original": bool(article.original),
        "source": article.source,
        "summary": article.summary,
        "comment_count": int(article.comment_count or 0),
    }


def article_view(article: Article) -> dict[str, Any]:
    return {
        **article_summary(article.head),
        "sections": [{"heading": s.heading, "body": s.body} for s in article.sections],
        "updated_at": article.head.updated_at.isoformat(),
    }


def comment_view(comment: CommentRecord, viewer_id: str) -> dict[str, Any]:
    """A comment as any verified reader sees it: the display name, never who wrote it."""
    return {
        "id": CommentRef(comment.article_id, comment.comment_id).public_id,
        "author": {
            "display_name": comment.author_name,
            "verified": bool(comment.author_verified),
            "department": comment.author_department,
        },
        "text": comment.text,
        "created_at": comment.created_at.isoformat(),
        "reply_to": comment.reply_to,
        "status": comment.status,
        "mine": comment.author_id is not None and comment.author_id == viewer_id,
    }


class ArticleService:
    def __init__(self, articles: ArticleRepository, cursors: Cursors) -> None:
        self._articles = articles
        self._cursors = cursors

    def page(self, limit: str | None, cursor: str | None) -> dict[str, Any]:
        size = rules.page_size(limit)
        start = self._cursors.load(ARTICLES_CURSOR, cursor)
        key = None
        if start is not None:
            if set(start) != {"k", "id"}:
                raise errors.BadRequest("the cursor is not valid")
            key = {"feed": {"S": FEED}, "feed_key": {"S": start["k"]}, "article_id": {"S": start["id"]}}
        items, last = self._articles.feed_page(size, key)
        next_cursor = None
        if last is not None:
            next_cursor = self._cursors.sign(
                ARTICLES_CURSOR, {"k": last["feed_key"]["S"], "id": last["article_id"]["S"]}
            )
        return {"items": [article_summary(a) for a in items], "next_cursor": next_cursor}

    def detail(self, article_id: str) -> dict[str, Any]:
        article = self._articles.get(rules.check_article_id(article_id))
        if article is None:
            raise errors.NotFound("no such article")
        return article_view(article)


class CommentService:
    def __init__(
        self,
        comments: CommentRepository,
        cursors: Cursors,
        content: ContentCheck,
        submission: Callable[[str], SubmissionLike | None],
        clock: Callable[[], datetime],
        new_id: Callable[[], str],
    ) -> None:
        self._comments = comments
        self._cursors = cursors
        self._content = content
        self._submission = submission
        self._clock = clock
        self._new_id = new_id

    # ---- reading ----
    def page(
        self, user: UserRecord, article_id: str, limit: str | None, cursor: str | None
    ) -> dict[str, Any]:
        """One page, newest first; an unknown (well-formed) article has no comments."""
        rules.check_article_id(article_id)
        size = rules.page_size(limit)
        start = self._cursors.load(COMMENTS_CURSOR, cursor)
        key = None
        if start is not None:
            if start.get("a") != article_id or set(start) != {"a", "c"}:
                raise errors.BadRequest("the cursor belongs to another list")
            key = {"article_id": {"S": article_id}, "comment_id": {"S": start["c"]}}
        items, last = self._comments.page(article_id, size, key, user.user_id)
        next_cursor = None
        if last is not None:
            next_cursor = self._cursors.sign(COMMENTS_CURSOR, {"a": article_id, "c": last["comment_id"]["S"]})
        return {"items": [comment_view(c, user.user_id) for c in items], "next_cursor": next_cursor}

    # ---- posting ----
    def post(
        self,
        user: UserRecord,
        article_id: str,
        raw_text: str,
        reply_to: str | None,
        idempotency_key: str | None,
    ) -> dict[str, Any]:
        rules.check_article_id(article_id)
        text = rules.normalize_text(raw_text)
        parent = None
        if reply_to is not None:
            parent = rules.parse_comment_id(reply_to)
            if parent is None or parent.article_id != article_id:
                raise errors.BadRequest("reply_to must be a comment of this article")
        guard_key, request_hash = self._idempotency(user.user_id, idempotency_key, article_id, text, reply_to)
        verdict = self._content.verdict(str(user.openid), text)
        display, cache = self._author(user)
        now = self._clock()
        comment = CommentRecord(
            article_id,
            self._new_id(),
            author_id=user.user_id,
            author_name=display.name,
            author_department=display.department,
            author_verified=display.verified,
            text=text,
            reply_to=reply_to,
            status=rules.HELD if verdict == "review" else rules.VISIBLE,
            created_at=now,
        )
        view = comment_view(comment, user.user_id)
        epoch = int(now.timestamp())
        windows = [
            RateWindow(
                rules.rate_key(user.user_id, "m", rules.window_end(now, rules.MINUTE_SECONDS)),
                rules.COMMENTS_PER_MINUTE,
                rules.window_end(now, rules.MINUTE_SECONDS),
            ),
            RateWindow(
                rules.rate_key(user.user_id, "d", rules.window_end(now, rules.DAY_SECONDS)),
                rules.COMMENTS_PER_DAY,
                rules.window_end(now, rules.DAY_SECONDS),
            ),
        ]
        guard = None
        if guard_key is not None:
            guard = IdempotencyGuard(
                guard_key,
                request_hash,
                json.dumps(view, ensure_ascii=False),
                epoch + rules.IDEMPOTENCY_WINDOW_SECONDS,
            )
        token = guard_key[5:41] if guard_key else None  # idem#<hex>: 36 hex characters of it
        for attempt in range(1, MAX_POST_ATTEMPTS + 1):
            try:
                self._comments.post(
                    comment,
                    windows,
                    (parent.article_id, parent.comment_id) if parent else None,
                    guard,
                    cache,
                    token if attempt == 1 else None,
                )
                return view
            except PostRefused as refused:
                if refused.reason in ("conflict", "in_progress") and attempt < MAX_POST_ATTEMPTS:
                    time.sleep(random.uniform(0.01, 0.05) * 2**attempt)  # noqa: S311 - jitter only
                    continue
                return self._refused(refused.reason, windows, guard_key, request_hash, epoch)
        raise errors.Conflict("the article is busy; try again")  # pragma: no cover - loop returns

    def _idempotency(
        self, user_id: str, key: str | None, article_id: str, text: str, reply_to: str | None
    ) -> tuple[str | None, str]:
        request = hashlib.sha256(
            json.dumps([article_id, text, reply_to], ensure_ascii=False).encode()
        ).hexdigest()
        if key is None:
            return None, request
        if not 1 <= len(key) <= rules.MAX_IDEMPOTENCY_KEY_CHARS or not key.isprintable():
            raise errors.BadRequest(
                f"Idempotency-Key must be 1 to {rules.MAX_IDEMPOTENCY_KEY_CHARS} printable characters"
            )
        return "idem#" + hashlib.sha256(f"{user_id}\n{key}".encode()).hexdigest(), request

    def _refused(
        self, reason: str, windows: list[RateWindow], guard_key: str | None, request: str, epoch: int
    ) -> dict[str, Any]:
        if reason == "replay" and guard_key is not None:
            guard = self._comments.guard(guard_key)
            if guard is None or guard.response is None:
                raise errors.Conflict("the same Idempotency-Key is being processed; retry shortly")
            if guard.request != request:
                raise errors.Conflict("this Idempotency-Key was used for a different comment")
            first: dict[str, Any] = json.loads(guard.response)
            return first
        if reason == "article":
            raise errors.NotFound("no such article")
        if reason == "reply":
            raise errors.BadRequest("reply_to must be a comment of this article that is not deleted")
        for window in windows:
            if reason == window.key:
                per = "a minute" if "#m#" in window.key else "a day"
                raise errors.RateLimited(
                    f"at most {window.limit} comments {per}; try again later",
                    retry_after=max(1, window.ends_at - epoch),
                )
        raise errors.Conflict("the comment could not be stored; try again")

    def _author(self, user: UserRecord) -> tuple[AuthorDisplay, AuthorCache | None]:
        """The display fixed on the comment; remembered on the user item after one read."""
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
        return display, AuthorCache(display.name, display.department, str(source))

    # ---- how the author is shown (PUT /v1/me/author) ----
    def choose_author(self, user: UserRecord, style: str, show_department: bool) -> dict[str, Any]:
        """Record how the user is shown and restyle their comments; idempotent, so a retry after
        a failure half-way through finishes the job."""
        if style not in rules.AUTHOR_STYLES:
            raise errors.BadRequest(f"style must be one of: {', '.join(rules.AUTHOR_STYLES)}")
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
        cache = AuthorCache(display.name, display.department, str(source))
        self._comments.choose_author(user.user_id, cache, style, not show_department)
        restyled = sum(
            self._comments.restyle(article_id, comment_id, user.user_id, cache)
            for article_id, comment_id in self._comments.keys_by_author(user.user_id)
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
    def delete(self, user: UserRecord, public_id: str) -> dict[str, Any]:
        ref = rules.parse_comment_id(public_id)
        if ref is None:
            raise errors.NotFound("no such comment")
        outcome = self._comments.delete(ref.article_id, ref.comment_id, user.user_id, self._clock())
        if outcome == "not_author":
            raise errors.Forbidden("only its author may delete a comment")
        if outcome != "deleted":
            raise errors.NotFound("no such comment (or it was already deleted)")
        return {"id": ref.public_id, "deleted": True}


class CommentStore:
    """The user's comments: exported in full; on erasure they stay, shown as from a deleted user."""

    name = COMMENTS_STORE

    def __init__(self, comments: CommentRepository) -> None:
        self._comments = comments

    def export(self, user_id: str) -> Any:
        found = self._comments.batch(self._comments.keys_by_author(user_id))
        return [
            {
                "id": CommentRef(c.article_id, c.comment_id).public_id,
                "article_id": c.article_id,
                "text": c.text,
                "status": c.status,
                "reply_to": c.reply_to,
                "created_at": c.created_at.isoformat(),
                "display_name": c.author_name,
                "department": c.author_department,
            }
            for c in sorted(found, key=lambda c: c.comment_id)
        ]

    def erase(self, user_id: str, tombstone: str) -> None:
        for article_id, comment_id in self._comments.keys_by_author(user_id):
            self._comments.anonymize(article_id, comment_id, user_id)
