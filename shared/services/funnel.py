"""Counting users by gate state as their items change (the users table's stream), and reading
the counts for the console's funnel.

A recount reads the user (one consistent read) and the state they were counted in, and when the
two differ moves them in one conditional transaction. It is about the user, not about the change
that woke it: a change delivered twice, late or out of order recounts to the same answer, and
`python -m infra.ops funnel recount` can run beside the stream at any time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared.domain.funnel import shard_of, signature, state_of
from shared.domain.outcomes import Written
from shared.log import logger
from shared.services.console import FunnelCounts

if TYPE_CHECKING:
    from shared.services.ports import FunnelStore, Users

MAX_TRIES = 3


class CountContended(RuntimeError):
    """Others moved this user or its counters meanwhile, every try: the stream delivers it again."""


class FunnelData:
    """The gate state the console's funnel last counted the user in (keyed by their id): exported.
    Not erased here: the account's deletion is a change of the users table's stream, whose recount
    finds the user gone and removes the item (and their count)."""

    name = "funnel"

    def __init__(self, funnel: FunnelStore) -> None:
        self._funnel = funnel

    def export(self, user_id: str) -> Any:
        state = self._funnel.counted(user_id)
        return None if state is None else {"counted_state": state}

    def erase(self, user_id: str) -> None:
        return None


class FunnelCounter:
    def __init__(self, users: Users, funnel: FunnelStore) -> None:
        self._users = users
        self._funnel = funnel

    def recount(self, user_id: str) -> bool:
        """Count the user in the state their item now holds (or not at all when gone); whether
        anything moved."""
        for _ in range(MAX_TRIES):
            user = self._users.get(user_id)
            after = None if user is None else signature(user.gate)
            before = self._funnel.counted(user_id)
            if before == after:
                return False
            if isinstance(self._funnel.move(user_id, before, after, shard_of(user_id)), Written):
                return True
        raise CountContended()

    def recount_all(self, user_ids: list[str]) -> list[str]:
        """Recount each user; the ones that failed (to be delivered again), in order."""
        failed, moved = [], 0
        for user_id in user_ids:
            try:
                moved += self.recount(user_id)
            except Exception:  # retried by the stream: the others go on
                failed.append(user_id)
        logger.info("funnel recounted", extra={"users": len(user_ids), "moved": moved, "failed": len(failed)})
        return failed

    def counts(self) -> FunnelCounts:
        return FunnelCounts([(state_of(state), users) for state, users in self._funnel.counts() if users > 0])
