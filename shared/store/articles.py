"""Articles: a head item and a body item each.

Access patterns (no Scan anywhere):
- article list: one Query of the GSI `feed`, partition `published` (articles are few), newest
  first, its sort key (`<published_at>#<id>`) at most now: a scheduled article waits in the
  index and comes into the readers' range at its time, with no job to move it; the list fields
  (comment_count included) are projected;
- every article for editors: one Query of each of the index's partitions, which are the stored
  statuses (`feed`: `published`, `draft`, `unpublished`): an article's status is its partition;
- article detail: one BatchGetItem of the article's items: the head (every field but the
  sections; in the feed), the body (the sections; key `<id>#body`, no feed attributes, so not in
  the index) and its COUNT_SHARDS counters (`<id>#count#<k>`, a number each: a post adds one to a
  shard at random, see comments.py, so a busy article's count spreads its writes over that many
  keys, and neither the head nor the feed index is written by a post; a counter an article
  imported before them lacks is created by its first ADD). The count is the head's
  `comment_count` (what it held before counters were sharded; no longer moved) plus the shards;
- import: one TransactWriteItems: the head, the body and the counters, or none;
- publish, unpublish: one TransactWriteItems moving the head to its partition, with the audit line,
  conditioned on the status and time the editor saw.
Readers may get these through a short per-container cache (see the article service): reads are
eventually consistent unless `fresh` (a caller who has just written reads their own writes).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any, Literal

from msgspec.structs import replace
from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.expressions.operand import Path
from pynamodb.expressions.update import Action
from pynamodb.indexes import GlobalSecondaryIndex, IncludeProjection
from pynamodb.models import Model

from shared.domain.articles import (
    COUNT_SHARDS,
    PUBLISHED,
    STATUSES,
    Article,
    ArticleHead,
    FeedPosition,
    Section,
)
from shared.domain.audit import AuditEvent
from shared.domain.outcomes import Contended, Outcome, Written
from shared.store.audit import enlist
from shared.store.base import Transaction, attempt, connection_for, table

FEED = PUBLISHED  # the readers' partition of the `feed` index (the others: DRAFT, UNPUBLISHED)
BODY_SUFFIX = "#body"  # an article's body item: `<article id>#body` (ids never hold a "#")
COUNT_INFIX = "#count#"  # its counters: `<article id>#count#<shard>`
MAX_BATCH_KEYS = 100  # BatchGetItem's limit
LIST_FIELDS = ("title", "author", "original", "source", "summary", "published_at", "comment_count")

Saved = Literal["created", "updated", "unchanged"]
MAX_SAVE_ATTEMPTS = 3


class SectionAttribute(MapAttribute[str, Any]):
    heading = UnicodeAttribute()
    body = UnicodeAttribute()
    kind = UnicodeAttribute(null=True)  # absent on articles imported before sections had kinds


class ArticleFeed(GlobalSecondaryIndex["ArticleItem"]):
    class Meta:
        index_name = "feed"
        projection = IncludeProjection(list(LIST_FIELDS))

    feed = UnicodeAttribute(hash_key=True)
    feed_key = UnicodeAttribute(range_key=True)  # "<published_at ISO>#<article id>"


@table("articles")
class ArticleItem(Model):
    """An article's head: everything but the sections (those are its `ArticleBodyItem`)."""

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
    content_sha256 = UnicodeAttribute(null=True)  # not projected into the feed
    updated_at = UTCDateTimeAttribute(null=True)  # idem
    comment_shards = NumberAttribute(null=True)  # idem; absent: 1. Raised by ops, never lowered
    feed = UnicodeAttribute(default=FEED)  # the status: the index partition it is listed in
    feed_key = UnicodeAttribute()

    feed_index = ArticleFeed()


@table("articles", creates=False)
class ArticleBodyItem(Model):
    """An article's sections, beside its head in the same table (outside the feed index)."""

    class Meta:
        table_name = "articles"

    article_id = UnicodeAttribute(hash_key=True)  # "<article id>#body"
    sections = ListAttribute(of=SectionAttribute)


@table("articles", creates=False)
class CountShardItem(Model):
    """One of an article's comment counters, beside its head (outside the feed index)."""

    class Meta:
        table_name = "articles"

    article_id = UnicodeAttribute(hash_key=True)  # "<article id>#count#<shard>"
    delta = NumberAttribute(default=0)


def body_key(article_id: str) -> str:
    return f"{article_id}{BODY_SUFFIX}"


def count_key(article_id: str, shard: int) -> str:
    return f"{article_id}{COUNT_INFIX}{shard}"


def counter(article_id: str) -> CountShardItem:
    """A counter of the article, picked at random: concurrent posts spread over the shards."""
    return CountShardItem(count_key(article_id, secrets.randbelow(COUNT_SHARDS)))


def counters_actions() -> list[Action]:
    """What creates a counter that is missing and leaves one that exists as it is."""
    return [CountShardItem.delta.add(0)]


def feed_key(head: ArticleHead) -> str:
    return f"{head.published_at.astimezone(UTC).isoformat()}#{head.article_id}"


def feed_bound(now: datetime) -> str:
    """The largest sort key readers see at `now`: every key of an article published by then sorts
    below it (ids are [a-z0-9-], all below "~"; a fraction of a second sorts above "+")."""
    return f"{now.astimezone(UTC).isoformat()}#~"


def to_head(item: ArticleItem) -> ArticleHead:
    return ArticleHead(
        article_id=str(item.article_id),
        title=str(item.title),
        author=str(item.author),
        original=bool(item.original),
        source=item.source,
        summary=str(item.summary),
        published_at=item.published_at,
        comment_count=int(item.comment_count or 0),
        content_sha256=str(item.content_sha256 or ""),
        updated_at=item.updated_at,
        comment_shards=int(item.comment_shards or 1),
        status=str(item.feed) if item.feed in STATUSES else PUBLISHED,
    )


def _head_item(head: ArticleHead) -> ArticleItem:
    return ArticleItem(
        head.article_id,
        title=head.title,
        author=head.author,
        original=head.original,
        source=head.source,
        summary=head.summary,
        published_at=head.published_at,
        comment_count=0,
        content_sha256=head.content_sha256,
        updated_at=head.updated_at,
        feed=head.status,
        feed_key=feed_key(head),
    )


class ArticleRepository:
    def get(self, article_id: str, fresh: bool = False) -> tuple[Article, int] | None:
        """The article (its head's `comment_count` the pre-shard base) and its counters' sum, in
        one BatchGetItem; strongly consistent when `fresh`."""
        counters = [count_key(article_id, k) for k in range(COUNT_SHARDS)]
        found = self._batch([article_id, body_key(article_id), *counters], fresh)
        head, body = found.get(article_id), found.get(body_key(article_id))
        if head is None:
            return None
        return self._article(head, body), sum(_delta(found.get(key)) for key in counters)

    def counts(self, article_ids: list[str], fresh: bool = False) -> dict[str, int]:
        """Each article's counters' sum (add its head's base for the count)."""
        keys = [count_key(a, k) for a in article_ids for k in range(COUNT_SHARDS)]
        found = self._batch(keys, fresh)
        return {a: sum(_delta(found.get(count_key(a, k))) for k in range(COUNT_SHARDS)) for a in article_ids}

    def spread_comments(self, article_id: str, shards: int) -> Outcome:
        """Let the article's comments spread over `shards` partitions from now on; `Refused`
        ("article") when there is no such article or it already spreads wider (never lowered:
        the comments written in a partition stay there)."""
        return attempt(
            lambda: ArticleItem(article_id).update(
                actions=[ArticleItem.comment_shards.set(shards)],
                condition=ArticleItem.article_id.exists()
                & (ArticleItem.comment_shards.does_not_exist() | (ArticleItem.comment_shards <= shards)),
            ),
            "article",
        )

    def _article(self, head: dict[str, Any], body: dict[str, Any] | None) -> Article:
        # An article imported before heads and bodies were split keeps its sections on the head
        # until it is imported again.
        raw_sections = ArticleBodyItem.from_raw_data(body if body is not None else head).sections or []
        sections = tuple(Section(str(s.heading), str(s.body), str(s.kind or "text")) for s in raw_sections)
        return Article(to_head(ArticleItem.from_raw_data(head)), sections)

    def _items(self, article_id: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """The raw head and body items (None when absent), strongly consistent."""
        found = self._batch([article_id, body_key(article_id)], fresh=True)
        return found.get(article_id), found.get(body_key(article_id))

    def _batch(self, ids: list[str], fresh: bool) -> dict[str, dict[str, Any]]:
        """Raw items of the articles table by key, in BatchGetItems of at most 100 keys."""
        # pynamodb's batch_get reads one model; heads, bodies and counters share the table, so
        # the head model's connection asks for the keys and each item is read by its own model.
        table_name = ArticleItem.Meta.table_name
        connection = connection_for(ArticleItem)
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), MAX_BATCH_KEYS):
            keys: list[dict[str, Any]] = [
                {"article_id": {"S": key}} for key in ids[start : start + MAX_BATCH_KEYS]
            ]
            while keys:  # as pynamodb's batch_get: unprocessed keys (throttling) are asked for again
                reply = connection.batch_get_item(table_name, keys, consistent_read=fresh)
                for item in reply.get("Responses", {}).get(table_name, []):
                    found[item["article_id"]["S"]] = item
                keys = reply.get("UnprocessedKeys", {}).get(table_name, {}).get("Keys", [])
        return found

    def feed_page(
        self, limit: int, after: FeedPosition | None, now: datetime
    ) -> tuple[list[ArticleHead], FeedPosition | None]:
        """One Query of the feed, newest first, of the articles published by `now`, after
        `after`; where the page ended (or None)."""
        start = None
        if after is not None:
            start = {
                "feed": {"S": FEED},
                "feed_key": {"S": after.sort_key},
                "article_id": {"S": after.article_id},
            }
        pages = ArticleItem.feed_index.query(
            FEED,
            ArticleItem.feed_key <= feed_bound(now),
            scan_index_forward=False,
            page_size=limit,
            last_evaluated_key=start,
        ).page_iter
        page = next(pages)
        heads = [to_head(ArticleItem.from_raw_data(raw)) for raw in page.get("Items", [])]
        last = pages.last_evaluated_key
        if last is None:
            return heads, None
        return heads, FeedPosition(last["feed_key"]["S"], last["article_id"]["S"])

    def catalog(self) -> list[ArticleHead]:
        """Every article, whatever its status: one Query of each partition of the index (paged
        by pynamodb past 1 MB; articles are few), newest first within each."""
        return [
            to_head(item)
            for status in STATUSES
            for item in ArticleItem.feed_index.query(status, scan_index_forward=False)
        ]

    def head(self, article_id: str) -> ArticleHead | None:
        """The head as it is now (strongly consistent), for an editor about to change it."""
        raw, _ = self._items(article_id)
        return None if raw is None else to_head(ArticleItem.from_raw_data(raw))

    def move(self, seen: ArticleHead, status: str, published_at: datetime, event: AuditEvent) -> Outcome:
        """Give the article its status and publication time, with the audit line. `Refused`
        ("head") when it is not as `seen` any more (another editor moved it meanwhile)."""
        moved = replace(seen, status=status, published_at=published_at)
        tx = Transaction(ArticleItem)
        tx.update(
            "head",
            ArticleItem(seen.article_id),
            [
                ArticleItem.feed.set(status),
                ArticleItem.published_at.set(published_at),
                ArticleItem.feed_key.set(feed_key(moved)),
                ArticleItem.updated_at.set(event.at),
            ],
            ArticleItem.article_id.exists()
            & (ArticleItem.feed == seen.status)
            & (ArticleItem.published_at == seen.published_at),
        )
        enlist(tx, event)
        return tx.commit()

    def save(self, article: Article, keep_status: bool = True, event: AuditEvent | None = None) -> Saved:
        """Create or update an article's head and body together; never touches its comment count.
        A new article takes the head's status; one that exists keeps its own when `keep_status`.
        `event`: the audit line, written with a change (an unchanged import writes nothing)."""
        head = article.head
        body = ArticleBodyItem(
            body_key(head.article_id),
            sections=[
                SectionAttribute(heading=s.heading, body=s.body, kind=s.kind) for s in article.sections
            ],
        )
        for _ in range(MAX_SAVE_ATTEMPTS):
            tx = Transaction(ArticleItem)
            tx.put("head", _head_item(head), ArticleItem.article_id.does_not_exist())
            tx.put("body", body)
            _enlist_counters(tx, head.article_id)
            if event is not None:
                enlist(tx, event)
            outcome = tx.commit()
            if isinstance(outcome, Written):
                return "created"
            if isinstance(outcome, Contended):
                continue
            existing, existing_body = self._items(head.article_id)
            if existing is None:
                continue  # deleted meanwhile: create it again
            stored = ArticleItem.from_raw_data(existing)
            if existing_body is not None and stored.content_sha256 == head.content_sha256:
                return "unchanged"
            kept = to_head(stored).status if keep_status else head.status
            tx = Transaction(ArticleItem)
            tx.update(
                "head",
                ArticleItem(head.article_id),
                _head_actions(replace(head, status=kept)),
                ArticleItem.article_id.exists() & (ArticleItem.feed == stored.feed),
            )
            tx.put("body", body)
            _enlist_counters(tx, head.article_id)
            if event is not None:
                enlist(tx, event)
            if isinstance(tx.commit(), Written):
                return "updated"
        raise RuntimeError(f"{head.article_id} kept changing during the import: run it again")


def _delta(raw: dict[str, Any] | None) -> int:
    return 0 if raw is None else int(CountShardItem.from_raw_data(raw).delta or 0)


def _enlist_counters(tx: Transaction, article_id: str) -> None:
    for shard in range(COUNT_SHARDS):
        tx.update(f"count{shard}", CountShardItem(count_key(article_id, shard)), counters_actions())


def _head_actions(head: ArticleHead) -> list[Action]:
    """Every field of the head but its comment count, which only comments move."""
    return [
        ArticleItem.title.set(head.title),
        ArticleItem.author.set(head.author),
        ArticleItem.original.set(head.original),
        ArticleItem.source.set(head.source) if head.source else ArticleItem.source.remove(),
        ArticleItem.summary.set(head.summary),
        ArticleItem.published_at.set(head.published_at),
        ArticleItem.content_sha256.set(head.content_sha256),
        ArticleItem.updated_at.set(head.updated_at or datetime.now(UTC)),
        ArticleItem.feed.set(head.status),
        ArticleItem.feed_key.set(feed_key(head)),
        Path("sections").remove(),  # where an article from before the split kept them
    ]
