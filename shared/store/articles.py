"""Articles: a head item and a body item each.

Access patterns (no Scan anywhere):
- article list: one Query of the GSI `feed` (a constant partition: articles are few), newest
  first, projecting the list fields (comment_count included);
- article detail: one BatchGetItem of the article's two items: the head (every field but the
  sections, the count included; in the feed) and the body (the sections; key `<id>#body`, no
  feed attributes, so not in the index). The count moves on the head alone (see comments.py),
  and DynamoDB charges an update by the size of the whole item: a post costs the same for a long
  article as a short;
- import: one TransactWriteItems: the head and the body, or neither.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

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

from shared.domain.articles import Article, ArticleHead, FeedPosition, Section
from shared.domain.outcomes import Contended, Written
from shared.store.base import Transaction, connection_for, table

FEED = "published"  # the one partition of the `feed` index
BODY_SUFFIX = "#body"  # an article's body item: `<article id>#body` (ids never hold a "#")
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
    feed = UnicodeAttribute(default=FEED)
    feed_key = UnicodeAttribute()

    feed_index = ArticleFeed()


@table("articles", creates=False)
class ArticleBodyItem(Model):
    """An article's sections, beside its head in the same table (outside the feed index)."""

    class Meta:
        table_name = "articles"

    article_id = UnicodeAttribute(hash_key=True)  # "<article id>#body"
    sections = ListAttribute(of=SectionAttribute)


def body_key(article_id: str) -> str:
    return f"{article_id}{BODY_SUFFIX}"


def feed_key(head: ArticleHead) -> str:
    return f"{head.published_at.isoformat()}#{head.article_id}"


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
        feed=FEED,
        feed_key=feed_key(head),
    )


class ArticleRepository:
    def get(self, article_id: str) -> Article | None:
        """The head and the body, in one BatchGetItem (strongly consistent, as the count moves)."""
        head, body = self._items(article_id)
        if head is None:
            return None
        # An article imported before heads and bodies were split keeps its sections on the head
        # until it is imported again.
        raw_sections = ArticleBodyItem.from_raw_data(body if body is not None else head).sections or []
        sections = tuple(Section(str(s.heading), str(s.body), str(s.kind or "text")) for s in raw_sections)
        return Article(to_head(ArticleItem.from_raw_data(head)), sections)

    def _items(self, article_id: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """The raw head and body items (None when absent)."""
        # pynamodb's batch_get reads one model; both items are in one table, so the head model's
        # connection asks for both keys and each item is read by its own model.
        table_name = ArticleItem.Meta.table_name
        connection = connection_for(ArticleItem)
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
        self, limit: int, after: FeedPosition | None
    ) -> tuple[list[ArticleHead], FeedPosition | None]:
        """One Query of the feed, newest first, after `after`; where the page ended (or None)."""
        start = None
        if after is not None:
            start = {
                "feed": {"S": FEED},
                "feed_key": {"S": after.sort_key},
                "article_id": {"S": after.article_id},
            }
        pages = ArticleItem.feed_index.query(
            FEED, scan_index_forward=False, page_size=limit, last_evaluated_key=start
        ).page_iter
        page = next(pages)
        heads = [to_head(ArticleItem.from_raw_data(raw)) for raw in page.get("Items", [])]
        last = pages.last_evaluated_key
        if last is None:
            return heads, None
        return heads, FeedPosition(last["feed_key"]["S"], last["article_id"]["S"])

    def save(self, article: Article) -> Saved:
        """Create or update an article's head and body together; never touches its comment count."""
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
            outcome = tx.commit()
            if isinstance(outcome, Written):
                return "created"
            if isinstance(outcome, Contended):
                continue
            existing, existing_body = self._items(head.article_id)
            if (
                existing is not None
                and existing_body is not None
                and ArticleItem.from_raw_data(existing).content_sha256 == head.content_sha256
            ):
                return "unchanged"
            tx = Transaction(ArticleItem)
            tx.update(
                "head", ArticleItem(head.article_id), _head_actions(head), ArticleItem.article_id.exists()
            )
            tx.put("body", body)
            if isinstance(tx.commit(), Written):
                return "updated"
        raise RuntimeError(f"{head.article_id} kept changing during the import: run it again")


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
        ArticleItem.feed.set(FEED),
        ArticleItem.feed_key.set(feed_key(head)),
        Path("sections").remove(),  # where an article from before the split kept them
    ]
