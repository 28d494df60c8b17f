"""The answer statistics' counters (`answer_stats`): STAT_SHARDS items keyed `shard`, each holding
one number per option (`c_<digest>`) and `users`; nothing personal. Moved only inside the
transactions that write or delete answers (see `shared.domain.answer_stats`); read by the console
in one BatchGetItem of the STAT_SHARDS keys.
"""

from __future__ import annotations

import secrets
from typing import Any

from pynamodb.attributes import UnicodeAttribute
from pynamodb.expressions.operand import Path
from pynamodb.models import Model

from shared.domain.answer_stats import STAT_SHARDS
from shared.store.base import Transaction, connection_for, table


@table("answer_stats")
class AnswerStatsItem(Model):
    class Meta:
        table_name = "answer_stats"

    shard = UnicodeAttribute(hash_key=True)


class AnswerStatsRepository:
    def enlist(self, tx: Transaction, moved: dict[str, int]) -> None:
        """Move the counters in `tx` ("stats"), on one shard picked at random."""
        if moved:
            shard = AnswerStatsItem(str(secrets.randbelow(STAT_SHARDS)))
            tx.update("stats", shard, [Path(name).add(n) for name, n in moved.items()])

    def totals(self) -> dict[str, int]:
        """Every counter summed over the shards: one BatchGetItem."""
        table_name = AnswerStatsItem.Meta.table_name
        keys: list[dict[str, Any]] = [{"shard": {"S": str(k)}} for k in range(STAT_SHARDS)]
        found: dict[str, int] = {}
        while keys:
            reply = connection_for(AnswerStatsItem).batch_get_item(table_name, keys)
            for item in reply.get("Responses", {}).get(table_name, []):
                for name, value in item.items():
                    if "N" in value:
                        found[name] = found.get(name, 0) + int(value["N"])
            keys = reply.get("UnprocessedKeys", {}).get(table_name, {}).get("Keys", [])
        return found
