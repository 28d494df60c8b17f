"""Per-user rate windows (table `comment_guards`, named when commenting was the only user):
one counter item a window, conditioned under its limit, expiring on its own (TTL).

- a write with a transaction enlists its windows in it (`enlist`): the write and the counts, or none;
- a write without one (a presigned upload link) counts first with one conditional UpdateItem (`spend`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model

from shared.domain.outcomes import Outcome
from shared.domain.rates import RateWindow
from shared.store.base import Transaction, attempt, table

# A rate window outlives its end by a day, so a late clock never resets it early.
WINDOW_GRACE_SECONDS = 86_400


@table("comment_guards")
class RateWindowItem(Model):
    """How many writes a user made in a window (`rate#<digest of user>#<span>#<window end>`);
    expires on its own (TTL)."""

    class Meta:
        table_name = "comment_guards"

    key = UnicodeAttribute(hash_key=True)
    used = NumberAttribute(null=True)
    expires_at = TTLAttribute(null=True)


def _counted(window: RateWindow) -> tuple[list[Action], Condition]:
    actions: list[Action] = [
        RateWindowItem.used.add(1),
        RateWindowItem.expires_at.set(datetime.fromtimestamp(window.ends_at + WINDOW_GRACE_SECONDS, UTC)),
    ]
    return actions, RateWindowItem.used.does_not_exist() | (RateWindowItem.used < window.limit)


def enlist(tx: Transaction, window: RateWindow) -> None:
    """+1 on the window inside `tx`, refused under the window's name once its limit is reached."""
    actions, condition = _counted(window)
    tx.update(window.name, RateWindowItem(window.key), actions, condition)


class RateWindowRepository:
    def used(self, windows: list[RateWindow]) -> dict[str, int]:
        """How much of each window is used, by key (one BatchGetItem; unused windows left out)."""
        found = RateWindowItem.batch_get([w.key for w in windows])
        return {str(item.key): int(item.used or 0) for item in found}

    def spend(self, window: RateWindow) -> Outcome:
        """+1 on the window, or `Refused` (the window's name) once its limit is reached."""
        actions, condition = _counted(window)
        return attempt(
            lambda: RateWindowItem(window.key).update(actions=actions, condition=condition), window.name
        )
