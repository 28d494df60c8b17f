"""The users table's stream (keys only): recount the funnel for every user whose item changed.

Lambda delivers the records in order per user; a user that could not be recounted is reported as
the batch's first failure (`ReportBatchItemFailures`), and the stream delivers it and what follows
again: recounting is idempotent.
"""

from __future__ import annotations

from typing import Any

from shared.wiring import services


def count(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    first_record: dict[str, str] = {}  # user id -> the sequence number of their first record
    for record in event.get("Records") or []:
        change = record.get("dynamodb") or {}
        user_id = (change.get("Keys") or {}).get("user_id", {}).get("S")
        if user_id and user_id not in first_record:
            first_record[user_id] = str(change.get("SequenceNumber", ""))
    failed = services().funnel.recount_all(list(first_record))
    if not failed:
        return {"batchItemFailures": []}
    earliest = min((first_record[u] for u in failed), key=lambda seq: int(seq or 0))
    return {"batchItemFailures": [{"itemIdentifier": earliest}]}
