"""Articles, their comments, and the guards of commenting (rate windows, idempotency keys).

Access patterns (no Scan anywhere):
- article list: one Query of the GSI `feed` (a constant partition: articles are few), newest
  first, projecting the list fields (comment_count included);
- article detail: one BatchGetItem of the article's two items: the head (every field but the
  sections, the count included; in the feed) and the body (the sections; key `<id>#body`, no
  feed attributes, so not in the index). The count moves on the head alone, and DynamoDB charges
  an update by the size of the whole item: a post costs the same for a long article as a short;
- comments page: one Query of the article's partition, newest first (ULID sort keys), from the
  signed cursor's key; a filter hides tombstones and other users' held comments;
- post: one TransactWriteItems: put the comment, +1 on the article's count, +1 on the user's
  minute and day windows (conditioned under the limits), the parent's existence when replying,
  and the Idempotency-Key guard when one is given;
- delete: one TransactWriteItems: the tombstone (conditioned on author and state) and -1;
- import: one TransactWriteItems: the head and the body, or neither;
- export and erase: one Query of the GSI `by_author` (keys only), then per comment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.expressions.operand import Path
from pynamodb.expressions.update import Action
from pynamodb.indexes import GlobalSecondaryIndex, IncludeProjection, KeysOnlyProjection
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from shared.domain.comments import DELETED, DELETED_USER_NAME, HELD, VISIBLE
from shared.store.base import connection_for, table
from shared.store.users import UserRecord

FEED = "published"  # the one partition of the `feed` index
BODY_SUFFIX = "#body"  # an article's body item: `<article id>#body` (ids never hold a "#")
LIST_FIELDS = ("title", "author", "original", "source", "summary", "published_at", "comment_count")


class SectionAttribute(MapAttribute[str, Any]):
    heading = UnicodeAttribute()
    body = UnicodeAttribute()


def section(heading: str, body: str) -> SectionAttribute:
    return SectionAttribute(heading=heading, body=body)


class ArticleFeed(GlobalSecondaryIndex["ArticleRecord"]):
    class Meta:
        index_name = "feed"
        projection = IncludeProjection(list(LIST_FIELDS))

    feed = UnicodeAttribute(hash_key=True)
    feed_key = UnicodeAttribute(range_key=True)  # "<published_at ISO>#<article id>"


@table("articles")
class ArticleRecord(Model):
    """An article's head: everything but the sections (those are its `ArticleBody`)."""

    class Meta:
        table_name = "articles"

    article_id = UnicodeAttribute(hash_key=True)
    title = UnicodeAttribute()
    author = UnicodeAttribute()
    original = BooleanAttribute()
    source = UnicodeAttribute(null=True)
    summary = UnicodeAttribute()
    published_at = UTCDateTimeAttribute()
    comment_count = NumberAttribute(default=0)  # exact: moved only inside comment transactions
    content_sha256 = UnicodeAttribute()
    updated_at = UTCDateTimeAttribute()
    feed = UnicodeAttribute(default=FEED)
    feed_key = UnicodeAttribute()

    feed_index = ArticleFeed()


@table("articles", creates=False)
class ArticleBody(Model):
    """An article's sections, beside its head in the same table (outside the feed index)."""

    class Meta:
        table_name = "articles"

    article_id = UnicodeAttribute(hash_key=True)  # "<article id>#body"
    sections = ListAttribute(of=SectionAttribute)


def body_key(article_id: str) -> str:
    return f"{article_id}{BODY_SUFFIX}"


@dataclass(frozen=True)
class Article:
    """An article whole: its head (list fields, count, feed keys) and its sections."""

    head: ArticleRecord
    sections: list[SectionAttribute]


class CommentsByAuthor(GlobalSecondaryIndex["CommentRecord"]):
    class Meta:
        index_name = "by_author"
        projection = KeysOnlyProjection()

    author_id = UnicodeAttribute(hash_key=True)
    comment_id = UnicodeAttribute(range_key=True)


@table("comments")
class CommentRecord(Model):
    class Meta:
        table_name = "comments"

    article_id = UnicodeAttribute(hash_key=True)
    comment_id = UnicodeAttribute(range_key=True)  # ULID: newest first = descending
    author_id = UnicodeAttribute(null=True)  # removed when the author deletes their account
    author_name = UnicodeAttribute()  # the display name, fixed at write time (王医生)
    author_department = UnicodeAttribute(null=True)
    author_verified = BooleanAttribute(default=True)
    text = UnicodeAttribute(null=True)  # removed by a delete
    reply_to = UnicodeAttribute(null=True)  # the parent's public id
    status = UnicodeAttribute(default=VISIBLE)  # visible | held | deleted
    created_at = UTCDateTimeAttribute()
    deleted_at = UTCDateTimeAttribute(null=True)

    by_author = CommentsByAuthor()


@table("comment_guards")
class GuardRecord(Model):
    """A user's rate window (`rate#<digest of user>#<m|d>#<window end>`) or a used Idempotency-Key
    (`idem#<sha256 of user and key>`); both expire on their own (TTL)."""

    class Meta:
        table_name = "comment_guards"

    key = UnicodeAttribute(hash_key=True)
    used = NumberAttribute(null=True)  # posts in the window
    expires_at = TTLAttribute(null=True)
    request = UnicodeAttribute(null=True)  # sha256 of what the keyed request asked for
    response = UnicodeAttribute(null=True)  # the first response (JSON), returned to a replay


class PostRefused(Exception):
    """The transaction was cancelled; `reason` says by what: replay, article, reply, minute, day."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class RateWindow:
    key: str
    limit: int
    ends_at: int  # epoch seconds


@dataclass(frozen=True)
class IdempotencyGuard:
    key: str
    request: str
    response: str
    expires_at: int


@dataclass(frozen=True)
class AuthorCache:
    """The display fields to remember on the user item (first post after a verification)."""

    name: str
    department: str | None
    source: str


def author_actions(display: AuthorCache) -> list[Action]:
    """Remember a user's author display on their item (posting then reads nothing more)."""
    return [
        UserRecord.author_name.set(display.name),
        UserRecord.author_department.set(display.department)
        if display.department
        else UserRecord.author_department.remove(),
        UserRecord.author_source.set(display.source),
    ]


class ArticleRepository:
    def get(self, article_id: str) -> Article | None:
        """The head and the body, in one BatchGetItem (strongly consistent, as the count moves)."""
        head, body = self._items(article_id)
        if head is None:
            return None
        # An article imported before heads and bodies were split keeps its sections on the head
        # until it is imported again.
        sections = ArticleBody.from_raw_data(body if body is not None else head).sections
        return Article(ArticleRecord.from_raw_data(head), list(sections or []))

    def _items(self, article_id: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """The raw head and body items (None when absent)."""
        # pynamodb's batch_get reads one model; both items are in one table, so the head model's
        # connection asks for both keys and each item is read by its own model.
        table_name = ArticleRecord.Meta.table_name
        connection = connection_for(ArticleRecord)
        keys: list[dict[str, Any]] = [
            {"article_id": {"S": article_id}},
            {"article_id": {"S": body_key(article_id)}},
        ]
        found: dict[str, dict[str, Any]] = {}
        while keys:  # as pynamodb's batch_get: unprocessed keys (throttling) are asked for again
            reply = connection.batch_get_item(table_name, keys, consistent_read=True)
            for item in reply.get("Responses", {}).get(table_name, []):
                found[item["article_id"]["S"]] = item
            keys = reply.get("UnprocessedKeys", {}).get(table_name, {}).get("Keys", [])
        return found.get(article_id), found.get(body_key(article_id))

    def feed_page(
        self, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[ArticleRecord], dict[str, Any] | None]:
        pages = ArticleRecord.feed_index.query(
            FEED, scan_index_forward=False, page_size=limit, last_evaluated_key=start
        ).page_iter
        page = next(pages)
        return [ArticleRecord.from_raw_data(raw) for raw in page.get("Items", [])], pages.last_evaluated_key

    def save(self, article: Article) -> str:
        """Create or update an article's head and body together; never touches its comment count."""
        head = article.head
        body = ArticleBody(body_key(head.article_id), sections=article.sections)
        try:
            head.comment_count = 0
            with TransactWrite(connection=connection_for(ArticleRecord)) as tx:
                tx.save(head, condition=ArticleRecord.article_id.does_not_exist())
                tx.save(body)
            return "created"
        except TransactWriteError as exc:
            # the head is the first put (pynamodb sends condition checks, puts, then updates)
            cancelled = exc.cause_response_code == "TransactionCanceledException"
            if not cancelled or _reasons(exc)[0] != "ConditionalCheckFailed":
                raise
        existing, existing_body = self._items(head.article_id)
        if (
            existing is not None
            and existing_body is not None
            and ArticleRecord.from_raw_data(existing).content_sha256 == head.content_sha256
        ):
            return "unchanged"
        with TransactWrite(connection=connection_for(ArticleRecord)) as tx:
            tx.update(
                ArticleRecord(head.article_id),
                actions=[
                    ArticleRecord.title.set(head.title),
                    ArticleRecord.author.set(head.author),
                    ArticleRecord.original.set(head.original),
                    ArticleRecord.source.set(head.source) if head.source else ArticleRecord.source.remove(),
                    ArticleRecord.summary.set(head.summary),
                    ArticleRecord.published_at.set(head.published_at),
                    ArticleRecord.content_sha256.set(head.content_sha256),
                    ArticleRecord.updated_at.set(head.updated_at),
                    ArticleRecord.feed.set(FEED),
                    ArticleRecord.feed_key.set(head.feed_key),
                    Path("sections").remove(),  # where an article from before the split kept them
                ],
                condition=ArticleRecord.article_id.exists(),
            )
            tx.save(body)
        return "updated"


def _reasons(exc: TransactWriteError) -> list[str | None]:
    return [r.code if r is not None else None for r in exc.cancellation_reasons]


def _refusal(exc: TransactWriteError, order: list[str], windows: list[str]) -> Exception:
    """What cancelled a post, by the name of the transaction item whose condition failed."""
    code = exc.cause_response_code
    if code == "IdempotentParameterMismatchException":
        return PostRefused("replay")  # the same key within 10 minutes, with new parameters
    if code == "TransactionInProgressException":
        return PostRefused("in_progress")
    if code != "TransactionCanceledException":
        return exc
    reasons = dict(zip(order, _reasons(exc), strict=False))
    # The most telling first: a replay is not rate limited, a missing article is not a conflict.
    for name in ("replay", "article", "reply", "comment", *windows, "author"):
        if reasons.get(name) == "ConditionalCheckFailed":
            return PostRefused(name)
    if any(reasons.values()):
        return PostRefused("conflict")  # TransactionConflict: a racing writer on the same item
    return exc


class CommentRepository:
    def page(
        self, article_id: str, limit: int, start: dict[str, Any] | None, viewer_id: str
    ) -> tuple[list[CommentRecord], dict[str, Any] | None]:
        """One Query: newest first, from `start`; tombstones and others' held comments filtered out."""
        shown = (CommentRecord.status == VISIBLE) | (
            (CommentRecord.status == HELD) & (CommentRecord.author_id == viewer_id)
        )
        pages = CommentRecord.query(
            article_id,
            filter_condition=shown,
            scan_index_forward=False,
            page_size=limit,
            last_evaluated_key=start,
        ).page_iter
        page = next(pages)
        return [CommentRecord.from_raw_data(raw) for raw in page.get("Items", [])], pages.last_evaluated_key

    def get(self, article_id: str, comment_id: str) -> CommentRecord | None:
        try:
            return CommentRecord.get(article_id, comment_id, consistent_read=True)
        except DoesNotExist:
            return None

    def guard(self, key: str) -> GuardRecord | None:
        try:
            return GuardRecord.get(key, consistent_read=True)
        except DoesNotExist:
            return None

    def post(
        self,
        comment: CommentRecord,
        windows: list[RateWindow],
        parent: tuple[str, str] | None,
        idempotency: IdempotencyGuard | None,
        author_cache: AuthorCache | None,
        token: str | None,
    ) -> None:
        """Write the comment and everything that moves with it, or nothing (PostRefused says why)."""
        # pynamodb sends condition checks, then puts, then updates: `order` mirrors that, so the
        # cancellation reasons (one per item, in order) can be read back by name.
        order: list[str] = []
        with_count = comment.status == VISIBLE
        try:
            with TransactWrite(connection=connection_for(CommentRecord), client_request_token=token) as tx:
                if parent is not None:
                    tx.condition_check(
                        CommentRecord, parent[0], parent[1], condition=CommentRecord.status == VISIBLE
                    )
                    order.append("reply")
                if not with_count:
                    tx.condition_check(
                        ArticleRecord, comment.article_id, condition=ArticleRecord.article_id.exists()
                    )
                    order.append("article")
                tx.save(comment, condition=CommentRecord.comment_id.does_not_exist())
                order.append("comment")
                if idempotency is not None:
                    tx.save(
                        GuardRecord(
                            idempotency.key,
                            request=idempotency.request,
                            response=idempotency.response,
                            expires_at=datetime.fromtimestamp(idempotency.expires_at, UTC),
                        ),
                        condition=GuardRecord.key.does_not_exist(),
                    )
                    order.append("replay")
                if with_count:
                    tx.update(
                        ArticleRecord(comment.article_id),
                        actions=[ArticleRecord.comment_count.add(1)],
                        condition=ArticleRecord.article_id.exists(),
                    )
                    order.append("article")
                for window in windows:
                    tx.update(
                        GuardRecord(window.key),
                        actions=[
                            GuardRecord.used.add(1),
                            # a day past the window's end, so a late clock never resets it early
                            GuardRecord.expires_at.set(datetime.fromtimestamp(window.ends_at + 86_400, UTC)),
                        ],
                        condition=GuardRecord.used.does_not_exist() | (GuardRecord.used < window.limit),
                    )
                    order.append(window.key)
                if author_cache is not None:
                    tx.update(
                        UserRecord(str(comment.author_id)),
                        actions=author_actions(author_cache),
                        condition=UserRecord.user_id.exists(),
                    )
                    order.append("author")
        except TransactWriteError as exc:
            raise _refusal(exc, order, [w.key for w in windows]) from exc

    def delete(self, article_id: str, comment_id: str, author_id: str, now: datetime) -> str:
        """Tombstone a visible comment and drop the count, at once: "deleted", or why not."""
        comment = CommentRecord(article_id, comment_id)
        tombstone: list[Action] = [
            CommentRecord.status.set(DELETED),
            CommentRecord.text.remove(),
            CommentRecord.deleted_at.set(now),
        ]
        try:
            with TransactWrite(connection=connection_for(CommentRecord)) as tx:
                tx.update(
                    comment,
                    actions=tombstone,
                    condition=(CommentRecord.author_id == author_id) & (CommentRecord.status == VISIBLE),
                )
                tx.update(
                    ArticleRecord(article_id),
                    actions=[ArticleRecord.comment_count.add(-1)],
                    condition=ArticleRecord.article_id.exists(),
                )
            return "deleted"
        except TransactWriteError as exc:
            if exc.cause_response_code != "TransactionCanceledException":
                raise
            if _reasons(exc)[0] != "ConditionalCheckFailed":
                raise
        # Not a visible comment of this author (rare path: one more read says which).
        current = self.get(article_id, comment_id)
        if current is None or current.status == DELETED:
            return "missing"
        if current.author_id != author_id:
            return "not_author"
        if current.status == HELD:  # never counted: the tombstone alone
            try:
                comment.update(
                    actions=tombstone,
                    condition=(CommentRecord.author_id == author_id) & (CommentRecord.status == HELD),
                )
            except UpdateError as exc:
                if exc.cause_response_code == "ConditionalCheckFailedException":
                    return "missing"
                raise
            return "deleted"
        return "missing"

    def keys_by_author(self, author_id: str) -> list[tuple[str, str]]:
        return [(c.article_id, c.comment_id) for c in CommentRecord.by_author.query(author_id)]

    def batch(self, keys: list[tuple[str, str]]) -> list[CommentRecord]:
        return list(CommentRecord.batch_get(keys)) if keys else []

    def choose_author(self, user_id: str, display: AuthorCache, style: str, hide_department: bool) -> None:
        """Remember the user's choice and the display it gives (the next comment reads nothing)."""
        UserRecord(user_id).update(
            actions=[
                UserRecord.author_style.set(style),
                UserRecord.author_hide_department.set(hide_department),
                *author_actions(display),
            ],
            condition=UserRecord.user_id.exists(),
        )

    def restyle(self, article_id: str, comment_id: str, author_id: str, display: AuthorCache) -> bool:
        """Show one of the author's comments with their current display; False if not theirs."""
        try:
            CommentRecord(article_id, comment_id).update(
                actions=[
                    CommentRecord.author_name.set(display.name),
                    CommentRecord.author_department.set(display.department)
                    if display.department
                    else CommentRecord.author_department.remove(),
                ],
                condition=CommentRecord.author_id == author_id,
            )
        except UpdateError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def anonymize(self, article_id: str, comment_id: str, author_id: str) -> None:
        """Show the comment as from a deleted user; it leaves the author index (idempotent)."""
        try:
            CommentRecord(article_id, comment_id).update(
                actions=[
                    CommentRecord.author_name.set(DELETED_USER_NAME),
                    CommentRecord.author_department.remove(),
                    CommentRecord.author_verified.set(False),
                    CommentRecord.author_id.remove(),
                ],
                condition=CommentRecord.author_id == author_id,
            )
        except UpdateError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise

    def held(self, article_id: str) -> list[CommentRecord]:
        """Ops only: the article's comments waiting for a human review (a filtered Query)."""
        return list(CommentRecord.query(article_id, filter_condition=CommentRecord.status == HELD))

    def release(self, article_id: str, comment_id: str) -> bool:
        """Ops only: show a held comment to everyone and count it, at once; False if not held."""
        try:
            with TransactWrite(connection=connection_for(CommentRecord)) as tx:
                tx.update(
                    CommentRecord(article_id, comment_id),
                    actions=[CommentRecord.status.set(VISIBLE)],
                    condition=CommentRecord.status == HELD,
                )
                tx.update(
                    ArticleRecord(article_id),
                    actions=[ArticleRecord.comment_count.add(1)],
                    condition=ArticleRecord.article_id.exists(),
                )
        except TransactWriteError as exc:
            if exc.cause_response_code == "TransactionCanceledException":
                return False
            raise
        return True
