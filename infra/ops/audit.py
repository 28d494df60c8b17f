"""`python -m infra.ops audit backfill`: list the audit lines written before the console's audit page.

The page lists a month's lines through the `by_month` index; lines written before it existed have
no month. This gives each its month (from its own time), and nothing else: who, what, on what and
when stay as written. A Scan of the audit table (an ops tool, never a request path); safe to run
again (a line that has a month is left alone, by condition).
"""

from __future__ import annotations

import sys

from pynamodb.exceptions import UpdateError

from shared import wiring
from shared.domain.audit import month_of


def backfill() -> tuple[int, int]:
    """(lines seen, lines given their month)."""
    from shared.store.audit import AuditItem

    wiring.services()  # binds the models to this stage's tables
    seen = given = 0
    for item in AuditItem.scan():
        seen += 1
        at = item.at or item.decided_at
        if item.month is not None or at is None:
            continue
        try:
            item.update(
                actions=[AuditItem.month.set(month_of(at))], condition=AuditItem.month.does_not_exist()
            )
        except UpdateError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise
            continue  # given its month meanwhile
        given += 1
    return seen, given


def main(argv: list[str]) -> int:
    if argv != ["backfill"]:
        print("usage: python -m infra.ops audit backfill", file=sys.stderr)
        return 2
    seen, given = backfill()
    print(f"{seen} audit lines seen, {given} given their month")
    return 0
