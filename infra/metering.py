"""Count the AWS calls a request makes, with a botocore event hook on every model's client."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from shared.store import base


@dataclass
class Meter:
    calls: list[str] = field(default_factory=list)
    capacity: dict[str, float] = field(default_factory=dict)

    def _before(self, model: Any, **kwargs: Any) -> None:
        self.calls.append(str(model.name))

    def _after(self, http_response: Any, parsed: Any, model: Any, **kwargs: Any) -> None:
        consumed = parsed.get("ConsumedCapacity") if isinstance(parsed, dict) else None
        for item in consumed if isinstance(consumed, list) else [consumed] if consumed else []:
            table = str(item.get("TableName", "?"))
            self.capacity[table] = self.capacity.get(table, 0.0) + float(item.get("CapacityUnits", 0.0))

    @property
    def count(self) -> int:
        return len(self.calls)


def _clients(extra: list[Any]) -> list[Any]:
    seen: dict[int, Any] = {}
    for model in base.registered().values():
        client = model._get_connection().connection.client
        seen[id(client)] = client
    for client in extra:
        seen[id(client)] = client
    return list(seen.values())


@contextmanager
def metered(*extra_clients: Any) -> Iterator[Meter]:
    """Count every call made through the models' clients (and any clients passed in)."""
    meter = Meter()
    clients = _clients(list(extra_clients))
    for client in clients:
        client.meta.events.register("before-call.*.*", meter._before, unique_id=f"meter-b-{id(meter)}")
        client.meta.events.register("after-call.*.*", meter._after, unique_id=f"meter-a-{id(meter)}")
    try:
        yield meter
    finally:
        for client in clients:
            client.meta.events.unregister("before-call.*.*", unique_id=f"meter-b-{id(meter)}")
            client.meta.events.unregister("after-call.*.*", unique_id=f"meter-a-{id(meter)}")
