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

from datetime import UTC, datetime
from typing import Any, cast

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from shared.domain.audit import AuditEvent
from shared.domain.comments import (
    DELETED,
    DELETED_USER_NAME,
    HELD,
    HELD_FOR_CHECK,
    HIDDEN,
    HIDDEN_BY_CHECK,
    HIDDEN_BY_REPORTS,
    QUEUE_HIDDEN,
    QUEUE_PENDING,
    REPORT_LOG_ENTRIES,
    VISIBLE,
    Comment,
    CommentRef,
)
from shared.domain.idempotency import Guard
from shared.domain.outcomes import Outcome, Refused, refused
from shared.domain.rates import RateWindow
from shared.domain.users import AuthorCache
from shared.store import audit as audit_store
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


class ModerationQueue(GlobalSecondaryIndex["CommentItem"]):
    """Sparse: the comments a moderator has to see (`pending`: held by the content check or hidden
    by reports) or has hidden (`hidden`), oldest first, across every article; an item leaves it
    when it is restored or deleted. Moderation is rare beside reading: one partition per queue."""

    class Meta:
        index_name = "moderation"
        projection = AllProjection()

    moderation = UnicodeAttribute(hash_key=True)
    queued_at = UTCDateTimeAttribute(range_key=True)


class ReportEntry(MapAttribute[str, Any]):
    reason = UnicodeAttribute()
    text = UnicodeAttribute(null=True)


@table("comment_reports")
class CommentReportItem(Model):
    """One reader's report of a comment in one round (a restore starts a new round): its key makes
    a reader count once. In the reader's partition, so their export and erasure are one Query.
    Expires after REPORT_RECORD_DAYS. The comment keeps its first reports' reasons and words for its
    moderator, tied to no reader."""

    class Meta:
        table_name = "comment_reports"

    reporter = UnicodeAttribute(hash_key=True)  # the reader's user id
    report = UnicodeAttribute(range_key=True)  # "<comment public id>#<round>"
    reason = UnicodeAttribute()
    text = UnicodeAttribute(null=True)  # the reader's words (exported; gone with their account)
    created_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute(null=True)


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
    hidden_by = UnicodeAttribute(null=True)
    hide_reason = UnicodeAttribute(null=True)
    reports = NumberAttribute(null=True)
    report_round = NumberAttribute(null=True)
    report_log = ListAttribute(of=ReportEntry, null=True)
    moderation = UnicodeAttribute(null=True)  # QUEUE_PENDING | QUEUE_HIDDEN: the sparse index
    queued_at = UTCDateTimeAttribute(null=True)
    held_for = UnicodeAttribute(null=True)  # while held: HELD_FOR_CHECK, _REVIEW or _UNCHECKABLE

    by_author = CommentsByAuthor()
    moderation_queue = ModerationQueue()


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
        hidden_by=item.hidden_by,
        hide_reason=item.hide_reason,
        reports=int(item.reports or 0),
        report_round=int(item.report_round or 0),
        report_log=tuple((str(e.reason), e.text) for e in item.report_log or ()),
        queued_at=item.queued_at,
        held_for=item.held_for,
    )


def _unqueued() -> list[Action]:
    return [CommentItem.moderation.remove(), CommentItem.queued_at.remove(), CommentItem.held_for.remove()]


def _tombstone(now: datetime) -> list[Action]:
    return [
        CommentItem.status.set(DELETED),
        CommentItem.text.remove(),
        CommentItem.deleted_at.set(now),
        CommentItem.report_log.remove(),
        *_unqueued(),
    ]


def _as_read(comment: Comment) -> Condition:
    """The comment is still as it was read: its state, its round and its count of reports."""
    reports: Condition = (
        CommentItem.reports.does_not_exist() | (CommentItem.reports == 0)
        if comment.reports == 0
        else CommentItem.reports == comment.reports
    )
    round_: Condition = (
        CommentItem.report_round.does_not_exist() | (CommentItem.report_round == 0)
        if comment.report_round == 0
        else CommentItem.report_round == comment.report_round
    )
    state: Condition = CommentItem.status == comment.status
    return cast(Condition, state & reports & round_)


def report_key(comment: Comment) -> str:
    return f"{comment.ref.public_id}#{comment.report_round}"


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
        # held for a moderator now (review, uncheckable); one waiting for its paced check is not
        # in the moderation queue until the check says so
        moderated = comment.status == HELD and comment.held_for != HELD_FOR_CHECK
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
                moderation=QUEUE_PENDING if moderated else None,
                queued_at=comment.created_at if moderated else None,
                held_for=comment.held_for if comment.status == HELD else None,
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
        if current.status in (HELD, HIDDEN):  # not counted: the tombstone, and the own-write mark
            tx = Transaction(CommentItem)
            tx.update(
                "comment",
                _item(ref),
                _tombstone(now),
                (CommentItem.author_id == author_id) & (CommentItem.status == current.status),
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

    # ---- reports and moderation ----
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
        """The reader's report, +1 on the comment's reports (and its log, for the first few), and,
        when that reaches `threshold`, the comment hidden, out of the count and into the
        moderation queue, at once. `Refused`: "report" (this reader reported it in this round),
        "comment" (it moved since it was read: try again from a new read), a window's name."""
        tx = Transaction(CommentItem)
        tx.put(
            "report",
            CommentReportItem(
                reporter,
                report_key(comment),
                reason=reason,
                text=text,
                created_at=now,
                expires_at=datetime.fromtimestamp(record_until, UTC),
            ),
            CommentReportItem.report.does_not_exist(),
        )
        count = comment.reports + 1
        actions: list[Action] = [CommentItem.reports.set(count)]
        if comment.reports < REPORT_LOG_ENTRIES:
            entry, log = ReportEntry(reason=reason, text=text), CommentItem.report_log
            actions.append(log.set([entry]) if comment.reports == 0 else log.set(log.append([entry])))
        hides = count >= threshold
        if hides:
            actions += [
                CommentItem.status.set(HIDDEN),
                CommentItem.hidden_by.set(HIDDEN_BY_REPORTS),
                CommentItem.hide_reason.set(comment.report_log[0][0] if comment.report_log else reason),
                CommentItem.moderation.set(QUEUE_PENDING),
                CommentItem.queued_at.set(now),
            ]
        tx.update("comment", _item(comment.ref), actions, _as_read(comment))
        if hides:
            tx.update("article", counter(comment.article_id), [CountShardItem.delta.add(-1)])
        for window in windows:
            rates.enlist(tx, window)
        return tx.commit()

    def moderate(
        self, comment: Comment, to: str, audit: AuditEvent, *, staff_id: str, reason: str | None = None
    ) -> Outcome:
        """Move a comment as a moderator decided, from the state it was read in, with the count and
        the audit line, at once: `visible` (restored: counted again, a new round of reports),
        `hidden` (by this member, for `reason`: it stands until restored), `deleted` (a tombstone).
        `Refused` ("comment"): it moved since it was read."""
        if to == VISIBLE:
            actions: list[Action] = [
                CommentItem.status.set(VISIBLE),
                CommentItem.reports.remove(),
                CommentItem.report_log.remove(),
                CommentItem.report_round.set(comment.report_round + 1),
                CommentItem.hidden_by.remove(),
                CommentItem.hide_reason.remove(),
                *_unqueued(),
            ]
        elif to == HIDDEN:
            actions = [
                CommentItem.status.set(HIDDEN),
                CommentItem.hidden_by.set(staff_id),
                CommentItem.hide_reason.set(reason or "other"),
                CommentItem.moderation.set(QUEUE_HIDDEN),
                CommentItem.queued_at.set(audit.at),
            ]
        else:
            actions = _tombstone(audit.at)
        tx = Transaction(CommentItem)
        tx.update("comment", _item(comment.ref), actions, _as_read(comment))
        was_counted, counted = comment.status == VISIBLE, to == VISIBLE
        if was_counted != counted:
            tx.update(
                "article", counter(comment.article_id), [CountShardItem.delta.add(1 if counted else -1)]
            )
        audit_store.enlist(tx, audit)
        return tx.commit()

    def settle(self, comment: Comment, to: str, held_for: str | None, now: datetime) -> Outcome:
        """The paced check's verdict on a comment held for it, from that state only (a delivery
        again, the author's delete or a moderator's decision meanwhile: `Refused` "comment"):
        `visible` (shown and counted, at once), `held` for a moderator (`held_for` says why, into
        the moderation queue) or `hidden` by the check (the author sees why; moderators find it
        with what they hid)."""
        if to == VISIBLE:
            actions: list[Action] = [CommentItem.status.set(VISIBLE), CommentItem.held_for.remove()]
        elif to == HELD:
            actions = [
                CommentItem.held_for.set(str(held_for)),
                CommentItem.moderation.set(QUEUE_PENDING),
                CommentItem.queued_at.set(now),
            ]
        else:
            actions = [
                CommentItem.status.set(HIDDEN),
                CommentItem.held_for.remove(),
                CommentItem.hidden_by.set(HIDDEN_BY_CHECK),
                CommentItem.hide_reason.set(HIDDEN_BY_CHECK),
                CommentItem.moderation.set(QUEUE_HIDDEN),
                CommentItem.queued_at.set(now),
            ]
        waiting = (CommentItem.status == HELD) & (CommentItem.held_for == HELD_FOR_CHECK)
        if to != VISIBLE:
            return attempt(lambda: _item(comment.ref).update(actions=actions, condition=waiting), "comment")
        tx = Transaction(CommentItem)
        tx.update("comment", _item(comment.ref), actions, waiting)
        tx.update("article", counter(comment.article_id), [CountShardItem.delta.add(1)])
        return tx.commit()

    def reports_by(self, reporter: str) -> list[tuple[str, str, str | None, datetime]]:
        """The reader's reports: (comment public id, reason, text, when), one Query of their partition."""
        return [
            (str(i.report).rsplit("#", 1)[0], str(i.reason), i.text, i.created_at)
            for i in CommentReportItem.query(reporter)
        ]

    def forget_reports(self, reporter: str) -> None:
        """Delete the reader's reports (their account goes; the counts they made stay)."""
        with CommentReportItem.batch_write() as batch:
            for item in CommentReportItem.query(reporter):
                batch.delete(item)

    def queue(self, name: str, limit: int, after: str | None) -> tuple[list[Comment], str | None]:
        """A moderation queue oldest first (one Query of the sparse index), after the comment
        public id `after` (its queue time is read from the page before): the page and where to go on."""
        kwargs: dict[str, Any] = {"scan_index_forward": True, "limit": limit + 1}
        if after is not None:
            at, _, public_id = after.partition("|")
            article_id, comment_id = public_id.split("/", 1)
            kwargs["last_evaluated_key"] = {
                "moderation": {"S": name},
                "queued_at": {"S": at},
                "article_id": {"S": article_id},
                "comment_id": {"S": comment_id},
            }
        items = list(CommentItem.moderation_queue.query(name, **kwargs))
        shown = items[:limit]
        more = None
        if len(items) > limit:
            last = shown[-1]
            raw_at = CommentItem.queued_at.serialize(last.queued_at)
            more = f"{raw_at}|{last.article_id}/{last.comment_id}"
        return [to_comment(i) for i in shown], more

    def count_queue(self, name: str, limit: int) -> int:
        """How many wait in a queue, up to `limit` (one Query of keys)."""
        return int(CommentItem.moderation_queue.count(name, limit=limit))
