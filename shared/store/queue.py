"""The review queue as the console reads it: pending submissions, oldest first.

One Query of the submissions' `by_status` index (partition `pending`; entries hold the keys and
`submitted_at`, about 90 bytes each, so a 4 KB read unit covers some 45 of them): counting up to a
limit costs one request and half a read unit per 4 KB, eventually consistent, never a Scan.
"""

from __future__ import annotations

from datetime import datetime

from shared.store.verification import SubmissionItem

PENDING = "pending"


class ReviewQueue:
    def pending(self, limit: int) -> tuple[int, datetime | None, bool]:
        """(how many are pending, up to `limit`; when the oldest was submitted; more than `limit`?)"""
        found = list(SubmissionItem.by_status.query(PENDING, scan_index_forward=True, limit=limit + 1))
        oldest = found[0].submitted_at if found else None
        return min(len(found), limit), oldest, len(found) > limit
