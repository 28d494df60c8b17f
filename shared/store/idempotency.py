"""Used Idempotency-Keys: one item per caller and key, with the first response, for 24 hours.

Access patterns: a guard is put inside the transaction of the write it protects (conditioned on
no live guard with that key), so it exists exactly when the write happened; a replay reads it by
key (one GetItem, on replays only); an account's guards go with it (one Query of its owner).
Items expire on their own (TTL); until the sweep removes them, an expired guard counts as absent.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.models import Model

from shared.domain.idempotency import Guard
from shared.domain.outcomes import Outcome
from shared.store.base import Transaction, get_item, table


@table("idempotency")
class GuardItem(Model):
    class Meta:
        table_name = "idempotency"

    owner = UnicodeAttribute(hash_key=True)  # a digest of the caller's id
    key = UnicodeAttribute(range_key=True)  # a digest of the operation and the key
    request = UnicodeAttribute()  # a digest of what the first request asked for
    response = UnicodeAttribute()  # the first response's body (JSON)
    created_at = NumberAttribute()  # epoch seconds
    expires_at = TTLAttribute()


def _guard(item: GuardItem) -> Guard:
    return Guard(
        owner=str(item.owner),
        key=str(item.key),
        request=str(item.request),
        created_at=int(item.created_at),
        expires_at=int(item.expires_at.timestamp()),
        response=str(item.response),
    )


class IdempotencyRepository:
    def get(self, owner: str, key: str, now: int) -> Guard | None:
        """The live guard of this key, or None (absent or expired)."""
        item = get_item(GuardItem, owner, key)
        if item is None or int(item.expires_at.timestamp()) <= now:
            return None
        return _guard(item)

    def owned(self, owner: str) -> list[Guard]:
        """Every guard of an owner, expired ones still stored included (the owner's export)."""
        return [_guard(item) for item in GuardItem.query(owner)]

    def record(self, guard: Guard) -> Outcome:
        """Record a guard on its own, for a request that wrote nothing else (its state was already
        what it asked for); `Refused` ("guard") if the key is live."""
        tx = Transaction(GuardItem)
        self.enlist(tx, guard)
        return tx.commit()

    def enlist(self, tx: Transaction, guard: Guard) -> None:
        """Record the guard with the write it protects; `Refused` names "guard" if the key is live."""
        tx.put(
            "guard",
            GuardItem(
                guard.owner,
                guard.key,
                request=guard.request,
                response=guard.response,
                created_at=guard.created_at,
                expires_at=datetime.fromtimestamp(guard.expires_at, UTC),
            ),
            GuardItem.owner.does_not_exist()
            | (GuardItem.expires_at <= datetime.fromtimestamp(guard.created_at, UTC)),
        )

    def erase(self, owner: str) -> int:
        """Delete every guard of an owner (the account's deletion); how many there were."""
        keys = [str(item.key) for item in GuardItem.query(owner, attributes_to_get=["owner", "key"])]
        for key in keys:
            GuardItem(owner, key).delete()
        return len(keys)
