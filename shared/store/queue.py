"""The review queue as the console reads it: pending submissions, oldest first.

One Query of the submissions' `by_status` index (partition `pending`; entries hold the keys and
what the queue shows, about 150 bytes each, so a 4 KB read unit covers some 25 of them): counting
up to a limit, or a page of the queue, costs one request, eventually consistent, never a Scan.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from shared.domain.verification import QueueEntry
from shared.store.verification import SubmissionItem, to_claim

PENDING = "pending"
# Submission ids are ULIDs minted by different containers: their order follows submission times to
# within the containers' clock skew, far below this.
ID_CLOCK_SKEW = timedelta(minutes=5)


class ReviewQueue:
    def pending(self, limit: int) -> tuple[int, datetime | None, bool]:
        """(how many are pending, up to `limit`; when the oldest was submitted; more than `limit`?)"""
        found = list(SubmissionItem.by_status.query(PENDING, scan_index_forward=True, limit=limit + 1))
        oldest = found[0].submitted_at if found else None
        return min(len(found), limit), oldest, len(found) > limit

    def page(self, limit: int, after: str | None) -> tuple[list[QueueEntry], str | None]:
        """Up to `limit` pending submissions, oldest first, after the submission id `after`; and
        the id to go on from when there are more."""
        kwargs: dict[str, Any] = {"scan_index_forward": True, "limit": limit + 1}
        if after is not None:
            kwargs["last_evaluated_key"] = {"status": {"S": PENDING}, "submission_id": {"S": after}}
        items = list(SubmissionItem.by_status.query(PENDING, **kwargs))
        entries = [
            QueueEntry(
                submission_id=str(i.submission_id),
                submitted_at=i.submitted_at,
                revision=int(i.revision),
                is_update=bool(i.is_update),
                claim=to_claim(i),
            )
            for i in items[:limit]
        ]
        more = entries[-1].submission_id if len(items) > limit else None
        return entries, more

    def overdue(self, submitted_before: datetime, limit: int) -> tuple[int, datetime | None, bool]:
        """(how many pending submissions were submitted at or before `submitted_before`, up to
        `limit`; when the oldest of them was; more than `limit`?). The same Query, oldest first,
        read until `limit` + 1 of them are found or the entries are newer."""
        count, oldest = 0, None
        for entry in SubmissionItem.by_status.query(PENDING, scan_index_forward=True):
            if entry.submitted_at > submitted_before + ID_CLOCK_SKEW:
                break  # ids sort by time: every later entry is newer still
            if entry.submitted_at > submitted_before:
                continue
            oldest = entry.submitted_at if oldest is None else min(oldest, entry.submitted_at)
            count += 1
            if count > limit:
                break
        return min(count, limit), oldest, count > limit
