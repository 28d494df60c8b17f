"""The paced content check: comments held past the app's share of the check's quota, from SQS.

Each message names one comment; one that could not be checked now comes back after its backoff
(`ReportBatchItemFailures`), and after the queue's receive limit goes to its dead letters.
"""

from __future__ import annotations

from typing import Any

from shared.wiring import services


def check(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    def seconds_left() -> float:
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        return remaining() / 1000 if remaining is not None else 60.0

    again = services().queued_checks.deliver(list(event.get("Records") or []), seconds_left)
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in again]}
