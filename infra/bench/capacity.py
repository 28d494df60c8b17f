"""DynamoDB capacity units of the calls a request makes, computed from item sizes.

moto answers `ConsumedCapacity` with fixed figures (0.5 or 1 a call, 2 a transaction, whatever
the item), so the units are computed here by DynamoDB's own rules from the sizes of the items
involved, read from moto's in-process tables:
- reads: 4 KB a unit for a strongly consistent read, half for an eventually consistent one,
  twice for a transactional one; GetItem and BatchGetItem round each item up (a missing item
  still costs the minimum), Query rounds the sum of the items it evaluated;
- writes: 1 KB a unit of the larger of the item before and after; twice in a transaction,
  condition checks included; every GSI whose entry changes costs one more standard write per
  KB of the projected entry (two when its key moves).
Item size: attribute names plus values (strings and binaries by their bytes, numbers about one
byte per two significant digits plus one, booleans and nulls one byte, lists and maps 3 bytes
plus one a member).
"""

from __future__ import annotations

import base64
import copy
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from shared.store import base

READ_UNIT_BYTES = 4096
WRITE_UNIT_BYTES = 1024
MOTO_ACCOUNT = "123456789012"


def _number_size(text: str) -> int:
    digits = text.lstrip("+-").replace(".", "").split("e")[0].split("E")[0].strip("0") or "0"
    return math.ceil(len(digits) / 2) + 1


def _binary_size(value: Any) -> int:
    if isinstance(value, bytes | bytearray):
        return len(value)
    return len(base64.b64decode(value))


def attribute_size(value: dict[str, Any]) -> int:
    """The size of one typed value, in DynamoDB JSON (`{"S": "..."}`)."""
    ((kind, raw),) = value.items()
    if kind == "S":
        return len(str(raw).encode("utf-8"))
    if kind == "N":
        return _number_size(str(raw))
    if kind == "B":
        return _binary_size(raw)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(v).encode("utf-8")) for v in raw)
    if kind == "NS":
        return sum(_number_size(str(v)) for v in raw)
    if kind == "BS":
        return sum(_binary_size(v) for v in raw)
    if kind == "L":
        return 3 + sum(1 + attribute_size(v) for v in raw)
    if kind == "M":
        return 3 + sum(1 + len(k.encode("utf-8")) + attribute_size(v) for k, v in raw.items())
    raise ValueError(f"unknown DynamoDB type {kind}")


def item_size(item: dict[str, Any] | None) -> int:
    if not item:
        return 0
    return sum(len(name.encode("utf-8")) + attribute_size(value) for name, value in item.items())


def _units(size: int, unit: int) -> int:
    return max(1, math.ceil(size / unit))


@dataclass
class Units:
    read: float = 0.0
    write: float = 0.0
    by_call: list[tuple[str, float, float]] = field(default_factory=list)  # (operation, RRU, WRU)

    def add(self, operation: str, read: float = 0.0, write: float = 0.0) -> None:
        self.read += read
        self.write += write
        self.by_call.append((operation, read, write))


class _Tables:
    """moto's in-process DynamoDB tables: items before and after a write, and the GSIs."""

    def __init__(self, region: str) -> None:
        from moto.backends import get_backend

        self._backend = get_backend("dynamodb")[MOTO_ACCOUNT][region]

    def table(self, name: str) -> Any:
        return self._backend.get_table(name)

    def key_of(self, table_name: str, item: dict[str, Any]) -> dict[str, Any]:
        table = self.table(table_name)
        names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
        return {n: item[n] for n in names}

    def get(self, table_name: str, key: dict[str, Any]) -> Any:
        """moto's Item (None when absent)."""
        return self._backend.get_item(table_name, key)

    def gsi_entries(self, table_name: str, moto_item: Any) -> dict[str, Entry | None]:
        """Per GSI: the item's entry in it (key values, projected attributes), None when absent."""
        entries: dict[str, Entry | None] = {}
        for index in self.table(table_name).global_indexes or []:
            if moto_item is None or any(a not in moto_item.attrs for a in index.schema_key_attrs):
                entries[index.name] = None
                continue
            projected = index.project(moto_item).to_json()["Attributes"]
            entries[index.name] = (tuple(str(projected[a]) for a in index.schema_key_attrs), projected)
        return entries


Entry = tuple[tuple[str, ...], dict[str, Any]]
Image = tuple[dict[str, Any] | None, dict[str, Entry | None]]  # an item and its GSI entries


def _attrs(moto_item: Any) -> dict[str, Any] | None:
    return None if moto_item is None else dict(moto_item.to_json()["Attributes"])


def _gsi_units(before: dict[str, Entry | None], after: dict[str, Entry | None]) -> int:
    """Standard writes to the GSIs whose entry for the item appeared, moved, changed or went."""
    units = 0
    for name in set(before) | set(after):
        old, new = before.get(name), after.get(name)
        sizes = [_units(item_size(e[1]), WRITE_UNIT_BYTES) for e in (old, new) if e is not None]
        if old is not None and new is not None:
            if old[0] != new[0]:
                units += sum(sizes)  # the entry moves: a delete and a put
            elif old[1] != new[1]:
                units += max(sizes)  # rewritten in place
        else:
            units += sum(sizes)  # appeared or went (nothing when absent both times)
    return units


class CapacityMeter:
    """Registers on DynamoDB clients: the API parameters before a call, the units after it."""

    def __init__(self, region: str) -> None:
        self.units = Units()
        self._tables = _Tables(region)
        self._pending: list[tuple[str, dict[str, Any], list[Image]]] = []

    # ---- hooks ----
    def before(self, params: dict[str, Any], model: Any, **kwargs: Any) -> None:
        operation = str(model.name)
        self._pending.append((operation, params, self._before_images(operation, params)))

    def after(self, parsed: Any, model: Any, **kwargs: Any) -> None:
        operation, params, befores = self._pending.pop()
        if operation != model.name:  # never expected: calls are sequential
            raise RuntimeError(f"capacity hooks out of order: {operation} vs {model.name}")
        response = parsed if isinstance(parsed, dict) else {}
        if "Error" in response:
            return  # a refused call: not on a happy path
        read, write = self._charge(operation, params, response, befores)
        self.units.add(operation, read, write)

    # ---- writes: the items they touch, before and after ----
    def _targets(self, operation: str, params: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
        """(kind, table, key) of each item a write touches."""
        if operation == "PutItem":
            table = params["TableName"]
            return [("Put", table, self._tables.key_of(table, params["Item"]))]
        if operation in ("UpdateItem", "DeleteItem"):
            return [(operation[:-4], params["TableName"], params["Key"])]
        if operation == "TransactWriteItems":
            found = []
            for entry in params["TransactItems"]:
                ((kind, spec),) = entry.items()
                key = spec.get("Key") or self._tables.key_of(spec["TableName"], spec["Item"])
                found.append((kind, spec["TableName"], key))
            return found
        if operation == "BatchWriteItem":
            found = []
            for table, requests in params["RequestItems"].items():
                for request in requests:
                    if "PutRequest" in request:
                        found.append(
                            ("Put", table, self._tables.key_of(table, request["PutRequest"]["Item"]))
                        )
                    else:
                        found.append(("Delete", table, request["DeleteRequest"]["Key"]))
            return found
        return []

    def _before_images(self, operation: str, params: dict[str, Any]) -> list[Image]:
        # copied now: moto updates its items in place
        images = []
        for _, table, key in self._targets(operation, params):
            item = self._tables.get(table, key)
            images.append((copy.deepcopy(_attrs(item)), copy.deepcopy(self._tables.gsi_entries(table, item))))
        return images

    def _write_units(self, operation: str, params: dict[str, Any], befores: list[Image]) -> float:
        transactional = operation == "TransactWriteItems"
        units = 0.0
        for (kind, table, key), (before, before_gsi) in zip(
            self._targets(operation, params), befores, strict=True
        ):
            after_item = self._tables.get(table, key)
            size = max(item_size(before), item_size(_attrs(after_item)))
            units += _units(size, WRITE_UNIT_BYTES) * (2 if transactional else 1)
            if kind != "ConditionCheck":
                units += _gsi_units(before_gsi, self._tables.gsi_entries(table, after_item))
        return units

    # ---- reads ----
    def _read_units(self, operation: str, params: dict[str, Any], response: dict[str, Any]) -> float:
        if operation == "GetItem":
            # billed on the whole item, whatever a projection returns
            item = self._tables.get(params["TableName"], params["Key"])
            factor = 1.0 if params.get("ConsistentRead") else 0.5
            return _units(item_size(_attrs(item)), READ_UNIT_BYTES) * factor
        if operation == "BatchGetItem":
            total = 0.0
            for table, spec in params["RequestItems"].items():
                factor = 1.0 if spec.get("ConsistentRead") else 0.5
                for key in spec["Keys"]:
                    total += _units(item_size(_attrs(self._tables.get(table, key))), READ_UNIT_BYTES) * factor
            return total
        if operation == "TransactGetItems":
            total = 0.0
            for entry in params["TransactItems"]:
                spec = entry["Get"]
                total += 2 * _units(
                    item_size(_attrs(self._tables.get(spec["TableName"], spec["Key"]))), READ_UNIT_BYTES
                )
            return total
        if operation in ("Query", "Scan"):
            items = response.get("Items") or []
            size = sum(item_size(i) for i in items)
            count, scanned = len(items), int(response.get("ScannedCount", len(items)))
            if scanned > count and count:  # a filter dropped some: they were read too
                size = math.ceil(size * scanned / count)
            consistent = params.get("ConsistentRead") and "IndexName" not in params
            return _units(size, READ_UNIT_BYTES) * (1.0 if consistent else 0.5)
        return 0.0

    def _charge(
        self, operation: str, params: dict[str, Any], response: dict[str, Any], befores: list[Image]
    ) -> tuple[float, float]:
        if operation in ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"):
            return 0.0, self._write_units(operation, params, befores)
        return self._read_units(operation, params, response), 0.0


def _dynamodb_clients() -> list[Any]:
    seen: dict[int, Any] = {}
    for model in base.models():
        client = model._get_connection().connection.client
        seen[id(client)] = client
    return list(seen.values())


M = TypeVar("M", bound="CapacityMeter")


@contextmanager
def hooked(meter: M) -> Iterator[M]:
    """`meter` sees every DynamoDB call made through the models' clients inside the block."""
    clients = _dynamodb_clients()
    uid = f"capacity-{id(meter)}"
    for client in clients:
        client.meta.events.register("before-parameter-build.dynamodb.*", meter.before, unique_id=f"{uid}-b")
        client.meta.events.register("after-call.dynamodb.*", meter.after, unique_id=f"{uid}-a")
    try:
        yield meter
    finally:
        for client in clients:
            client.meta.events.unregister("before-parameter-build.dynamodb.*", unique_id=f"{uid}-b")
            client.meta.events.unregister("after-call.dynamodb.*", unique_id=f"{uid}-a")


@contextmanager
def capacity(region: str) -> Iterator[Units]:
    """The units of every DynamoDB call made through the models' clients inside the block."""
    with hooked(CapacityMeter(region)) as meter:
        yield meter.units
