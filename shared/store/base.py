"""What every table model shares, and the one way storage says what a write came to.

Models get explicit timeouts and retries, bound to config at cold start. `get_item` reads by key
(None when absent); `attempt` runs one conditional write and `Transaction` several at once, and
both return the domain's outcome (`Written`, `Refused` naming the failed conditions, `Contended`),
so that no repository or service reads AWS error codes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

import botocore.session
import pynamodb.connection.base
from pynamodb.exceptions import DoesNotExist, PynamoDBException, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from shared.config import Config
from shared.domain.outcomes import CONTENDED, WRITTEN, Outcome, Refused

CONNECT_TIMEOUT_SECONDS = 2
READ_TIMEOUT_SECONDS = 3
MAX_RETRY_ATTEMPTS = 2

_sessions = threading.local()


def _thread_session(env_vars: dict[str, Any] | None = None) -> botocore.session.Session:
    """One botocore session per thread for every model, where pynamodb makes one per table.

    A session caches the service model it loads; a session per table would parse DynamoDB's
    JSON description again for each table a function touches (~50 ms each, at cold start).
    Sessions stay per thread: botocore does not promise that creating clients is thread-safe.
    """
    session = getattr(_sessions, "session", None)
    if session is None:
        session = _sessions.session = botocore.session.get_session(env_vars)
    return session


pynamodb.connection.base.get_session = _thread_session  # type: ignore[attr-defined]


def _cause_error(self: PynamoDBException) -> dict[str, Any]:
    # pynamodb reads `getattr(cause, "response", {})`, but botocore's read timeouts and closed
    # connections carry `response = None`: every `cause_response_code` check on such a failure
    # raised AttributeError, turning a timeout into a 500 instead of the 503 the edge maps it to.
    response = getattr(self.cause, "response", None)
    error = response.get("Error") if isinstance(response, dict) else None
    return error if isinstance(error, dict) else {}


PynamoDBException.cause_response_code = property(  # type: ignore[method-assign,assignment]
    lambda self: _cause_error(self).get("Code")
)
PynamoDBException.cause_response_message = property(  # type: ignore[method-assign,assignment]
    lambda self: _cause_error(self).get("Message")
)

_registry: dict[str, type[Model]] = {}
_companions: list[tuple[str, type[Model]]] = []  # more item shapes in a table another model creates
_bound: list[Config] = []  # the config of the last bind(): models imported later bind to it at once


def table(logical_name: str, *, creates: bool = True) -> Any:
    """Class decorator: register a model under its logical table name (prefixed from config).

    A model whose module is imported after `bind()` (handlers import lazily) is bound on the spot.
    `creates=False`: another item shape in the table of the model registered under that name; it
    is bound like it, but the table (keys, indexes) is created from the registered model alone.
    """

    def register(model: type[Model]) -> type[Model]:
        if creates:
            _registry[logical_name] = model
        else:
            _companions.append((logical_name, model))
        if _bound:
            _bind_one(_bound[0], logical_name, model)
        return model

    return register


def registered() -> dict[str, type[Model]]:
    return dict(_registry)


def models() -> list[type[Model]]:
    """Every model class, those sharing another's table too (each has its own connection)."""
    return [*_registry.values(), *(model for _, model in _companions)]


def bind(cfg: Config) -> None:
    """Point every registered model (and any registered later) at its table for this stage."""
    _bound[:] = [cfg]
    for logical_name, model in [*_registry.items(), *_companions]:
        _bind_one(cfg, logical_name, model)


def _bind_one(cfg: Config, logical_name: str, model: type[Model]) -> None:
    meta = model.Meta
    meta.table_name = cfg.table(logical_name)
    meta.region = cfg.region
    meta.host = cfg.endpoint_url
    meta.connect_timeout_seconds = CONNECT_TIMEOUT_SECONDS
    meta.read_timeout_seconds = READ_TIMEOUT_SECONDS
    meta.max_retry_attempts = MAX_RETRY_ATTEMPTS
    model._connection = None  # drops a cached connection to another stage's endpoint


def connection_for(model: type[Model]) -> Any:
    """The low-level connection a model uses, for transactions spanning several tables."""
    return model._get_connection().connection


M = TypeVar("M", bound=Model)

CONDITION_FAILED = "ConditionalCheckFailedException"
_CANCELLED = "TransactionCanceledException"
_REASON_FAILED = "ConditionalCheckFailed"
_REASON_CONFLICT = "TransactionConflict"


def get_item(model: type[M], hash_key: Any, range_key: Any = None, *, consistent: bool = True) -> M | None:
    """The item with this key, or None."""
    try:
        return model.get(hash_key, range_key, consistent_read=consistent)
    except DoesNotExist:
        return None


def attempt(write: Callable[[], object], name: str = "item") -> Outcome:
    """Run one conditional write (`item.update(..., condition=...)`, `save`, `delete`):
    `Written`, or `Refused` naming `name` when its condition failed. Other faults propagate."""
    try:
        write()
    except PynamoDBException as exc:
        if exc.cause_response_code == CONDITION_FAILED:
            return Refused(frozenset({name}))
        raise
    return WRITTEN


class Transaction:
    """Named writes committed at once (TransactWriteItems): all of them, or none.

    Each write is named in the domain's words; `commit()` answers `Refused` with the names whose
    condition failed, `Contended` when a concurrent transaction held an item, `Written` otherwise.
    """

    def __init__(self, model: type[Model]) -> None:
        self._model = model
        self._checks: list[tuple[str, Callable[[TransactWrite], None]]] = []
        self._deletes: list[tuple[str, Callable[[TransactWrite], None]]] = []
        self._puts: list[tuple[str, Callable[[TransactWrite], None]]] = []
        self._updates: list[tuple[str, Callable[[TransactWrite], None]]] = []

    def check(
        self, name: str, model: type[Model], hash_key: Any, range_key: Any = None, *, condition: Condition
    ) -> None:
        self._checks.append((name, lambda tx: tx.condition_check(model, hash_key, range_key, condition)))

    def put(self, name: str, item: Model, condition: Condition | None = None) -> None:
        self._puts.append((name, lambda tx: tx.save(item, condition=condition)))

    def update(
        self, name: str, item: Model, actions: list[Action], condition: Condition | None = None
    ) -> None:
        self._updates.append((name, lambda tx: tx.update(item, actions=actions, condition=condition)))

    def delete(self, name: str, item: Model, condition: Condition | None = None) -> None:
        self._deletes.append((name, lambda tx: tx.delete(item, condition=condition)))

    def commit(self) -> Outcome:
        # pynamodb sends condition checks, deletes, puts, then updates; the cancellation reasons
        # come back one per item in that order, so the names are listed in that order too.
        order = [*self._checks, *self._deletes, *self._puts, *self._updates]
        if not order:
            return WRITTEN
        try:
            with TransactWrite(connection=connection_for(self._model)) as tx:
                for _, add in order:
                    add(tx)
        except TransactWriteError as exc:
            if exc.cause_response_code != _CANCELLED:
                raise
            reasons = [r.code if r is not None else None for r in exc.cancellation_reasons]
            failed = frozenset(n for (n, _), r in zip(order, reasons, strict=False) if r == _REASON_FAILED)
            if failed:
                return Refused(failed)
            if _REASON_CONFLICT in reasons:
                return CONTENDED
            raise  # throttling, a server fault: the edge answers 503
        return WRITTEN
