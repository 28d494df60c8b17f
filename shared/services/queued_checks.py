"""The content check's pacing: inline while the app is under its share of the quota, queued past it.

A post takes one unit of the minute's inline share (`CheckPacing.inline`: one conditional +1 on
one of BUDGET_SHARDS counters, `shared.domain.content_check`); when there is none left the
comment is stored at once as `held` for the check (`held_for: check`: its author sees it with
`state: held`, nobody else does, it is not counted and not in the moderation queue) and its id is
sent to an SQS queue. The worker (`functions/content_check.py`, a few containers at most) takes
each message, spends a unit of its reserve or of what the posts left (waiting for the next minute
when there is none), checks the text, and settles the comment from the state it was queued in:

- "pass": shown to everyone and counted, in one transaction (a second delivery finds it settled:
  counted exactly once);
- "review": held for a moderator (the moderation queue, `held_for: review`);
- "risky": hidden by the check: its author sees it with `state: hidden` and the reason
  「未通过内容安全检测」; moderators find it with what they hid, and may restore it;
- the check cannot take it (WeChat's 61010: the author has not opened the mini-program for two
  hours; 40003; the author's account deleted meanwhile, so no openid): held for a moderator
  (`held_for: uncheckable`, which the console names), never lost;
- the check unavailable (WeChat's -1 twice, a timeout, a 5xx, TMS's RequestLimitExceeded): the
  message comes back after a growing pause (30 s, 60 s, ... up to 15 minutes), and after the
  queue's receive limit it goes to the dead-letter queue, which alarms.

A comment deleted by its author, or decided by a moderator, before its check stays as they left
it: the worker finds it no longer waiting and drops the message.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from shared import errors
from shared.domain import comments as rules
from shared.domain.content_check import BUDGET_SHARDS, Budget, window_end_at
from shared.domain.ids import ulid_seconds
from shared.domain.outcomes import Contended, Outcome, Written
from shared.domain.rates import RateWindow
from shared.log import logger
from shared.services.contention import until_uncontended

if TYPE_CHECKING:
    from shared.domain.comments import Comment, CommentRef
    from shared.services.ports import TextChecker, Users

RETRY_BASE_SECONDS = 30
RETRY_MAX_SECONDS = 900
LANDING_SECONDS = 60  # a message may arrive before its comment's transaction: looked for this long
SETTLE_ATTEMPTS = 5  # a count shard busy with another transaction: tried again this often
WAIT_MARGIN_SECONDS = 10  # the worker waits for the next minute only with this much time left


class BudgetCounters(Protocol):
    def spend(self, window: RateWindow) -> Outcome:
        """+1 under the window's limit, or `Refused`."""


class CheckQueue(Protocol):
    def send(self, public_id: str) -> None: ...
    def retry_later(self, receipt: str, seconds: int) -> None: ...


class CheckedComments(Protocol):
    def get(self, ref: CommentRef) -> Comment | None: ...
    def settle(self, comment: Comment, to: str, held_for: str | None, now: datetime) -> Outcome: ...


class CheckPacing:
    """The app-wide budget of content checks a minute, spent without a hot key."""

    def __init__(
        self, counters: BudgetCounters, per_minute: int, clock: Callable[[], float] = time.time
    ) -> None:
        self._counters = counters
        self._budget = Budget(per_minute)
        self._clock = clock

    def inline(self) -> bool:
        """A unit of the inline share for a post (one conditional write on a shard at random: a
        full shard queues the post although another may have room, the price of one write)."""
        windows = self._budget.windows(int(self._clock()))
        window = windows[random.randrange(BUDGET_SHARDS)]  # noqa: S311 - spreading writes only
        return isinstance(self._counters.spend(window), Written)

    def worker(self) -> bool:
        """A unit for the worker: its reserve, else what the posts left of the inline share so far
        this minute; the shards in a random order until one has room."""
        epoch = int(self._clock())
        for windows in (self._budget.reserve(epoch), self._budget.borrowed(epoch)):
            random.shuffle(windows)
            if any(isinstance(self._counters.spend(w), Written) for w in windows):
                return True
        return False

    def seconds_to_next_minute(self) -> float:
        now = self._clock()
        return max(0.0, window_end_at(int(now)) - now)


class NotYet(Exception):
    """The message must come back later: `seconds` from now."""

    def __init__(self, seconds: int) -> None:
        super().__init__(seconds)
        self.seconds = seconds


def comment_of(body: str) -> str | None:
    """The comment public id a message names (`{"c": ...}`; None: not one of ours)."""
    import json

    try:
        found = json.loads(body)
    except ValueError:
        return None
    value = found.get("c") if isinstance(found, dict) else None
    return value if isinstance(value, str) else None


def backoff(receive_count: int) -> int:
    """How long a message waits before its next delivery after its `receive_count`th failed."""
    return int(min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2 ** max(0, receive_count - 1)))


class QueuedChecks:
    def __init__(
        self,
        comments: CheckedComments,
        users: Users,
        checker: Callable[[], TextChecker],
        pacing: CheckPacing,
        queue: Callable[[], CheckQueue],
        clock: Callable[[], datetime],
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._comments = comments
        self._users = users
        self._checker = checker
        self._pacing = pacing
        self._queue = queue
        self._clock = clock
        self._sleep = sleep

    def deliver(self, records: list[dict[str, Any]], seconds_left: Callable[[], float]) -> list[str]:
        """Check each message's comment; the ids of the messages to deliver again (each set to
        come back after its backoff)."""
        again: list[str] = []
        for record in records:
            public_id = comment_of(str(record.get("body") or ""))
            try:
                outcome = self.check(public_id or "", seconds_left)
            except NotYet as wait:
                again.append(self._later(record, wait.seconds))
                continue
            except Exception as exc:  # each message on its own: the others of the batch go on
                logger.warning("queued content check failed", extra={"error": type(exc).__name__})
                receives = int((record.get("attributes") or {}).get("ApproximateReceiveCount") or 1)
                again.append(self._later(record, backoff(receives)))
                continue
            logger.info("queued content check", extra={"outcome": outcome})
        return again

    def _later(self, record: dict[str, Any], seconds: int) -> str:
        receipt = record.get("receiptHandle")
        if receipt:
            try:
                self._queue().retry_later(str(receipt), seconds)
            except Exception as exc:  # the queue's own visibility timeout brings it back anyway
                logger.warning("backoff not set", extra={"error": type(exc).__name__})
        return str(record.get("messageId"))

    def check(self, public_id: str, seconds_left: Callable[[], float] = lambda: 60.0) -> str:
        """Check one queued comment; what became of it."""
        ref = rules.parse_comment_id(public_id)
        if ref is None:
            return "dropped"  # not a comment id: nothing to check, nothing to lose
        comment = self._comments.get(ref)
        if comment is None:
            age = self._clock().timestamp() - ulid_seconds(ref.comment_id)
            if age < LANDING_SECONDS:
                raise NotYet(int(LANDING_SECONDS - age) + 1)  # its transaction may still land
            return "never_stored"  # the post's transaction failed after the send
        if comment.status != rules.HELD or comment.held_for != rules.HELD_FOR_CHECK:
            return "settled"  # deleted by its author, decided by a moderator, or checked before
        self._spend(seconds_left)
        to, held_for = self._verdict(comment)
        return self._settle(comment, to, held_for)

    def _spend(self, seconds_left: Callable[[], float]) -> None:
        if self._pacing.worker():
            return
        wait = self._pacing.seconds_to_next_minute()
        if seconds_left() - wait < WAIT_MARGIN_SECONDS:
            raise NotYet(int(wait) + 1)
        self._sleep(wait + random.uniform(0, 1))  # noqa: S311 - jitter only
        if not self._pacing.worker():
            raise NotYet(int(self._pacing.seconds_to_next_minute()) + 1)

    def _verdict(self, comment: Comment) -> tuple[str, str | None]:
        user = self._users.get(comment.author_id) if comment.author_id else None
        try:
            suggest = self._checker().check_text(user.openid if user else "", comment.text or "")
        except errors.ContentUncheckable as exc:
            logger.info("content check cannot take a comment", extra={"reason": str(exc)})
            return rules.HELD, rules.HELD_UNCHECKABLE
        if suggest == "risky":
            return rules.HIDDEN, None
        if suggest == "review":
            return rules.HELD, rules.HELD_FOR_REVIEW
        return rules.VISIBLE, None

    def _settle(self, comment: Comment, to: str, held_for: str | None) -> str:
        outcome = until_uncontended(
            lambda: self._comments.settle(comment, to, held_for, self._clock()), self._sleep, SETTLE_ATTEMPTS
        )
        if isinstance(outcome, Contended):
            raise errors.Conflict("article_busy")
        if not isinstance(outcome, Written):
            return "settled"  # moved meanwhile (the author deleted it): it stays as they left it
        return held_for or to
