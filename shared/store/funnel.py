"""The users' funnel counters, kept from the users table's stream (functions/funnel.py).

Table `user_funnel` (hash `group`, range `key`):
- counters: `group = count`, `key = <digest of a gate state>#<shard>`, holding the state and how
  many users hold it (`users`): the dashboard reads them all with one Query (a few hundred bytes
  per state and shard; eventually consistent);
- one item per counted user: `group = user#<user id>`, `key = state`, the state they were last
  counted in (the gate codes of their user item, nothing else; deleted with the account).
Moving a user is ONE transaction: their item, conditioned on the state that was read (so two
counts of one user cannot both apply), -1 on the old state's counter and +1 on the new one's.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from shared.domain.funnel import counter_key
from shared.domain.outcomes import Outcome
from shared.store.base import Transaction, get_item, table

COUNTERS = "count"
COUNTED = "state"


@table("user_funnel")
class FunnelItem(Model):
    class Meta:
        table_name = "user_funnel"

    group = UnicodeAttribute(hash_key=True)  # count | user#<user id>
    key = UnicodeAttribute(range_key=True)  # <digest>#<shard> | state
    state = UnicodeAttribute(null=True)  # the gate state's signature
    users = NumberAttribute(null=True)  # a counter's users


def _counted(user_id: str) -> FunnelItem:
    return FunnelItem(f"user#{user_id}", COUNTED)


class FunnelRepository:
    def counted(self, user_id: str) -> str | None:
        """The state the user was last counted in, None when they are not counted."""
        item = get_item(FunnelItem, f"user#{user_id}", COUNTED)
        return None if item is None else item.state

    def move(self, user_id: str, before: str | None, after: str | None, shard: int) -> Outcome:
        """Count the user in `after` instead of `before` (None: not counted). `Refused` ("user")
        when they are no longer counted in `before`."""
        tx = Transaction(FunnelItem)
        was = FunnelItem.group.does_not_exist() if before is None else FunnelItem.state == before
        if after is None:
            tx.delete("user", _counted(user_id), was)
        else:
            item = _counted(user_id)
            item.state = after
            tx.put("user", item, was)
        for name, state, step in (("before", before, -1), ("after", after, 1)):
            if state is not None:
                tx.update(
                    name,
                    FunnelItem(COUNTERS, counter_key(state, shard)),
                    [FunnelItem.users.add(step), FunnelItem.state.set(state)],
                )
        return tx.commit()

    def counts(self) -> list[tuple[str, int]]:
        """Every counted state with its users (the shards summed)."""
        totals: dict[str, int] = {}
        for item in FunnelItem.query(COUNTERS):
            state = str(item.state)
            totals[state] = totals.get(state, 0) + int(item.users or 0)
        return list(totals.items())
