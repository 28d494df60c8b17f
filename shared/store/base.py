"""What every table model shares: explicit timeouts and retries, bound to config at cold start."""

from __future__ import annotations

import threading
from typing import Any

import botocore.session
import pynamodb.connection.base
from pynamodb.exceptions import PynamoDBException
from pynamodb.models import Model

from shared.config import Config

CONNECT_TIMEOUT_SECONDS = 2
READ_TIMEOUT_SECONDS = 3
MAX_RETRY_ATTEMPTS = 2
BASE_BACKOFF_MS = 25

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
    setattr(meta, "base_backoff_ms", BASE_BACKOFF_MS)  # noqa: B010 - not in pynamodb's Meta protocol
    model._connection = None  # drops a cached connection to another stage's endpoint


def connection_for(model: type[Model]) -> Any:
    """The low-level connection a model uses, for transactions spanning several tables."""
    return model._get_connection().connection
