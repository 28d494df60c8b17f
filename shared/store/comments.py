"""Comments and the rate windows of commenting.

Access patterns (no Scan anywhere):
- comments page: one Query of the article's partition, newest first (ULID sort keys), from the
  signed cursor's key; a filter hides tombstones and other users' held comments;
- post: one TransactWriteItems: put the comment, +1 on one of the article's count shards (at
  random; see articles.py), +1 on the
  user's minute and day windows (conditioned under the limits), the parent's state when replying,
  the Idempotency-Key's guard when one is given, and the author display on the user item the
  first time after a verification;
- delete: one TransactWriteItems: the tombstone (conditioned on author and state) and -1 on a shard;
- export and erasure: one Query of the GSI `by_author` (keys only), then per comment.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.attributes import BooleanAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.expressions.update import Action
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from shared.domain.comments import (
    DELETED,
    DELETED_USER_NAME,
    HELD,
    VISIBLE,
    Comment,
    CommentRef,
)
from shared.domain.idempotency import Guard
from shared.domain.outcomes import Outcome, Refused, refused
from shared.domain.rates import RateWindow
from shared.domain.users import AuthorCache
from shared.store import rates
from shared.store.articles import CountShardItem, counter
from shared.store.base import Transaction, attempt, connection_for, get_item, table
from shared.store.idempotency import IdempotencyRepository
from shared.store.users import UserRepository

# At most this many of a page's Queries at once: botocore's connection pool holds 10.
MAX_PARALLEL_QUERIES = 10


class CommentsByAuthor(GlobalSecondaryIndex["CommentItem"]):
    class Meta:
        index_name = "by_author"
        projection = KeysOnlyProjection()

    author_id = UnicodeAttribute(hash_key=True)
    comment_id = UnicodeAttribute(range_key=True)


@table("comments")
class CommentItem(Model):
    class Meta:
        table_name = "comments"

    article_id = UnicodeAttribute(hash_key=True)
    comment_id = UnicodeAttribute(range_key=True)  # ULID: newest first = descending
    author_id = UnicodeAttribute(null=True)  # removed when the author deletes their account
    author_name = UnicodeAttribute()
    author_department = UnicodeAttribute(null=True)
    author_verified = BooleanAttribute(default=True)
    text = UnicodeAttribute(null=True)  # removed by a delete
    reply_to = UnicodeAttribute(null=True)
    status = UnicodeAttribute(default=VISIBLE)  # visible | held | deleted
    created_at = UTCDateTimeAttribute()
    deleted_at = UTCDateTimeAttribute(null=True)

    by_author = CommentsByAuthor()


def partition(article_id: str, shard: int) -> str:
    """The partition key of one of an article's comment partitions: the article id for the first
    (every comment written before articles spread), `<article id>#<shard>` for the others."""
    return f"{article_id}#{shard}" if shard else article_id


def _located(key: str) -> tuple[str, int]:
    article_id, _, shard = key.partition("#")
    return article_id, int(shard or 0)


def _item(ref: CommentRef) -> CommentItem:
    return CommentItem(partition(ref.article_id, ref.shard), ref.comment_id)


def to_comment(item: CommentItem) -> Comment:
    article_id, shard = _located(str(item.article_id))
    return Comment(
        article_id=article_id,
        shard=shard,
        comment_id=str(item.comment_id),
        author_id=item.author_id,
        author_name=str(item.author_name),
        author_department=item.author_department,
        author_verified=bool(item.author_verified),
        text=item.text,
        reply_to=item.reply_to,
        status=str(item.status),
        created_at=item.created_at,
        deleted_at=item.deleted_at,
    )


def _tombstone(now: datetime) -> list[Action]:
    return [CommentItem.status.set(DELETED), CommentItem.text.remove(), CommentItem.deleted_at.set(now)]


class CommentRepository:
    def __init__(self, users: UserRepository, guards: IdempotencyRepository) -> None:
        self._users = users
        self._guards = guards

    def page(
        self, article_id: str, shards: int, limit: int, after: str | None, fresh: bool = False
    ) -> tuple[list[Comment], str | None]:
        """Newest first, after the comment id `after`: `limit` comments whatever their state (the
        reader filters, as a filter expression would: the same items are read either way, and a
        page read once serves every reader), and the id the page ended at (None at the end).

        One Query per partition of the article (`shards`), in parallel: each reads at most
        `limit` items after `after`, and the newest `limit` of them all make the page. Ids are
        ULIDs, so the cursor (the last id) is a position in every partition at once."""
        if shards <= 1:
            return self._partition_page(article_id, limit, after, fresh)
        from concurrent.futures import ThreadPoolExecutor

        keys = [partition(article_id, k) for k in range(shards)]
        connection_for(CommentItem).client  # noqa: B018 - built here once, shared by the threads
        with ThreadPoolExecutor(max_workers=min(shards, MAX_PARALLEL_QUERIES)) as pool:
            pages = list(pool.map(lambda key: self._partition_page(key, limit, after, fresh), keys))
        merged = sorted((c for items, _ in pages for c in items), key=lambda c: c.comment_id, reverse=True)
        page = merged[:limit]
        more = len(merged) > limit or any(last is not None for _, last in pages)
        return page, page[-1].comment_id if more and page else None

    def _partition_page(
        self, key: str, limit: int, after: str | None, fresh: bool
    ) -> tuple[list[Comment], str | None]:
        start = None
        if after is not None:
            start = {"article_id": {"S": key}, "comment_id": {"S": after}}
        pages = CommentItem.query(
            key,
            scan_index_forward=False,
            page_size=limit,
            last_evaluated_key=start,
            consistent_read=fresh,
        ).page_iter
        page = next(pages)
        items = [to_comment(CommentItem.from_raw_data(raw)) for raw in page.get("Items", [])]
        last: dict[str, Any] | None = pages.last_evaluated_key
        return items, None if last is None else str(last["comment_id"]["S"])

    def get(self, ref: CommentRef) -> Comment | None:
        item = get_item(CommentItem, partition(ref.article_id, ref.shard), ref.comment_id)
        return None if item is None else to_comment(item)

    def post(
        self,
        comment: Comment,
        windows: list[RateWindow],
        parent: CommentRef | None,
        guard: Guard | None,
        author: AuthorCache | None,
    ) -> Outcome:
        """Write the comment and everything that moves with it, or nothing. `Refused` names what
        stopped it: "reply" (the parent is not a visible comment),
        "comment" (the id is taken), "guard" (the Idempotency-Key was used), a window's name
        ("minute", "day": its limit is reached), "author" (the user is gone)."""
        tx = Transaction(CommentItem)
        if parent is not None:
            tx.check(
                "reply",
                CommentItem,
                partition(parent.article_id, parent.shard),
                parent.comment_id,
                condition=CommentItem.status == VISIBLE,
            )
        counted = comment.status == VISIBLE
        tx.put(
            "comment",
            CommentItem(
                partition(comment.article_id, comment.shard),
                comment.comment_id,
                author_id=comment.author_id,
                author_name=comment.author_name,
                author_department=comment.author_department,
                author_verified=comment.author_verified,
                text=comment.text,
                reply_to=comment.reply_to,
                status=comment.status,
                created_at=comment.created_at,
            ),
            CommentItem.comment_id.does_not_exist(),
        )
        if guard is not None:
            self._guards.enlist(tx, guard)
        if counted:
            tx.update("article", counter(comment.article_id), [CountShardItem.delta.add(1)])
        for window in windows:
            rates.enlist(tx, window)
        if comment.author_id is not None:
            self._users.enlist_wrote(tx, comment.author_id, comment.created_at, author)
        return tx.commit()

    def delete(self, ref: CommentRef, author_id: str, now: datetime) -> Outcome:
        """Tombstone the author's comment and drop the count if it was counted, at once.
        `Refused`: "comment" (no such comment, or already deleted), "author" (not theirs)."""
        tx = Transaction(CommentItem)
        tx.update(
            "comment",
            _item(ref),
            _tombstone(now),
            (CommentItem.author_id == author_id) & (CommentItem.status == VISIBLE),
        )
        tx.update("article", counter(ref.article_id), [CountShardItem.delta.add(-1)])
        self._users.enlist_wrote(tx, author_id, now)
        outcome = tx.commit()
        if not isinstance(outcome, Refused):
            return outcome
        # Not a visible comment of this author (rare path: one more read says which).
        current = self.get(ref)
        if current is None or current.status == DELETED:
            return refused("comment")
        if current.author_id != author_id:
            return refused("author")
        if current.status == HELD:  # never counted: the tombstone, and the author's own-write mark
            tx = Transaction(CommentItem)
            tx.update(
                "comment",
                _item(ref),
                _tombstone(now),
                (CommentItem.author_id == author_id) & (CommentItem.status == HELD),
            )
            self._users.enlist_wrote(tx, author_id, now)
            return tx.commit()
        return refused("comment")

    def refs_by_author(self, author_id: str) -> list[CommentRef]:
        refs = []
        for found in CommentItem.by_author.query(author_id):
            article_id, shard = _located(str(found.article_id))
            refs.append(CommentRef(article_id, str(found.comment_id), shard))
        return refs

    def recent_by_author(self, author_id: str, limit: int) -> list[Comment]:
        """The author's newest comments (one Query of `by_author`, one BatchGetItem), newest first."""
        refs = []
        for found in CommentItem.by_author.query(author_id, scan_index_forward=False, limit=limit):
            article_id, shard = _located(str(found.article_id))
            refs.append(CommentRef(article_id, str(found.comment_id), shard))
        return sorted(self.batch(refs), key=lambda c: c.comment_id, reverse=True)

    def batch(self, refs: list[CommentRef]) -> list[Comment]:
        if not refs:
            return []
        keys = [(partition(r.article_id, r.shard), r.comment_id) for r in refs]
        return [to_comment(i) for i in CommentItem.batch_get(keys)]

    def restyle(self, ref: CommentRef, author_id: str, display: AuthorCache) -> Outcome:
        """Show one of the author's comments with their current display; `Refused` if not theirs."""
        return attempt(
            lambda: _item(ref).update(
                actions=[
                    CommentItem.author_name.set(display.name),
                    CommentItem.author_department.set(display.department)
                    if display.department
                    else CommentItem.author_department.remove(),
                ],
                condition=CommentItem.author_id == author_id,
            ),
            "author",
        )

    def anonymize(self, ref: CommentRef, author_id: str) -> None:
        """Show the comment as from a deleted user; it leaves the author index (idempotent)."""
        attempt(
            lambda: _item(ref).update(
                actions=[
                    CommentItem.author_name.set(DELETED_USER_NAME),
                    CommentItem.author_department.remove(),
                    CommentItem.author_verified.set(False),
                    CommentItem.author_id.remove(),
                ],
                condition=CommentItem.author_id == author_id,
            )
        )

    def held(self, article_id: str, shards: int = 1) -> list[Comment]:
        """The article's comments waiting for a human review (a filtered Query a partition; ops)."""
        return [
            to_comment(i)
            for k in range(shards)
            for i in CommentItem.query(partition(article_id, k), filter_condition=CommentItem.status == HELD)
        ]

    def release(self, ref: CommentRef) -> Outcome:
        """Show a held comment to everyone and count it, at once; `Refused` ("comment") if not held."""
        tx = Transaction(CommentItem)
        tx.update(
            "comment",
            _item(ref),
            [CommentItem.status.set(VISIBLE)],
            CommentItem.status == HELD,
        )
        tx.update("article", counter(ref.article_id), [CountShardItem.delta.add(1)])
        return tx.commit()
