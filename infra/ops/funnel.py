"""`python -m infra.ops funnel recount`: count every user in the console's funnel from scratch.

The users table's stream keeps the funnel counts as users move; this recounts everyone (a Scan of
the users table: an ops tool, never a request path), once after the deploy that added the stream
(users who have not changed since are not counted yet), or whenever the counts are in doubt. It
is safe beside the stream: a recount is about a user's current state, so whichever runs last is
right, and nothing is counted twice.
"""

from __future__ import annotations

import sys

from shared import wiring


def recount() -> tuple[int, int]:
    """(users seen, users moved)."""
    from shared.store.users import UserItem

    app = wiring.services()
    seen = moved = 0
    for item in UserItem.scan(attributes_to_get=["user_id"]):
        seen += 1
        moved += app.funnel.recount(str(item.user_id))
    return seen, moved


def main(argv: list[str]) -> int:
    if argv != ["recount"]:
        print("usage: python -m infra.ops funnel recount", file=sys.stderr)
        return 2
    seen, moved = recount()
    print(f"{seen} users seen, {moved} recounted")
    return 0
