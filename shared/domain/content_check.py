"""The content check's share of its quota, per minute, without a hot key.

The check (WeChat's msgSecCheck: about 4,000 calls a minute per app; Tencent Cloud's TMS: what the
contract buys) is paced by one app-wide budget a minute, split over BUDGET_SHARDS counter items so
that no single key takes every post's increment: at 1,000 posts a second each shard takes about
125 conditional writes a second, an eighth of a partition's 1,000.

- a post checks inline only while the minute's INLINE_SHARE of the quota lasts (one conditional
  +1 on one of the inline counters at random, under its limit); past it the comment is stored
  held and queued, and the worker checks it later;
- the worker has a reserve of its own (WORKER_SHARE - INLINE_SHARE, counters of its own), so the
  queue moves every minute even under a burst; beyond it, the worker borrows what the posts left
  of the inline share, but only as much as the minute has elapsed (at second s of 60, up to s/60 of
  it): posts arriving evenly are never refused for the worker's sake, and after a burst the worker
  spends up to WORKER_SHARE a minute;
- the rest (1 - WORKER_SHARE) is margin: WeChat's -1 answers are retried once by the adapter
  (a second call), and the app's minute and WeChat's need not start at the same second.
"""

from __future__ import annotations

import msgspec

from shared.domain.rates import RateWindow, window_end

BUDGET_SHARDS = 8
INLINE_SHARE = 0.6  # of the quota a minute: what posts may check inline
WORKER_SHARE = 0.9  # of the quota a minute: what inline and queued checks may spend together
MINUTE_SECONDS = 60


class Budget(msgspec.Struct, frozen=True):
    """The quota a minute (`per_minute` calls) as the shards' limits."""

    per_minute: int

    def shard_limit(self, share: float) -> int:
        return int(self.per_minute * share) // BUDGET_SHARDS

    def windows(self, epoch: int, share: float = INLINE_SHARE) -> list[RateWindow]:
        """The inline counters of the minute holding `epoch`, limited to `share` of the quota."""
        end = window_end_at(epoch)
        limit = self.shard_limit(share)
        return [RateWindow("check_budget", budget_key(end, k), limit, end) for k in range(BUDGET_SHARDS)]

    def reserve(self, epoch: int) -> list[RateWindow]:
        """The worker's own counters of the minute: WORKER_SHARE - INLINE_SHARE of the quota."""
        end = window_end_at(epoch)
        limit = self.shard_limit(WORKER_SHARE) - self.shard_limit(INLINE_SHARE)
        return [
            RateWindow("check_reserve", budget_key(end, k, "w"), limit, end) for k in range(BUDGET_SHARDS)
        ]

    def borrowed(self, epoch: int) -> list[RateWindow]:
        """The inline counters as the worker may spend them: up to the elapsed part of the minute."""
        elapsed = (epoch % MINUTE_SECONDS + 1) / MINUTE_SECONDS
        limit = int(self.shard_limit(INLINE_SHARE) * elapsed)
        return [msgspec.structs.replace(w, name="check_borrowed", limit=limit) for w in self.windows(epoch)]


def budget_key(minute_end: int, shard: int, kind: str = "") -> str:
    """A counter of the app-wide budget (`kind` "w": the worker's reserve): no user in it."""
    return f"content-check{'-' + kind if kind else ''}#{minute_end}#{shard}"


def window_end_at(epoch: int) -> int:
    from datetime import UTC, datetime

    return window_end(datetime.fromtimestamp(epoch, UTC), MINUTE_SECONDS)
