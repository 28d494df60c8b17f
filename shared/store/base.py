"""What every table model shares: explicit timeouts and retries, bound to config at cold start."""

from __future__ import annotations

from typing import Any

from pynamodb.models import Model

from shared.config import Config

CONNECT_TIMEOUT_SECONDS = 2
READ_TIMEOUT_SECONDS = 3
MAX_RETRY_ATTEMPTS = 2
BASE_BACKOFF_MS = 25

_registry: dict[str, type[Model]] = {}


def table(logical_name: str) -> Any:
    """Class decorator: register a model under its logical table name (prefixed from config)."""

    def register(model: type[Model]) -> type[Model]:
        _registry[logical_name] = model
        return model

    return register


def registered() -> dict[str, type[Model]]:
    return dict(_registry)


def bind(cfg: Config) -> None:
    """Point every registered model at its table for this stage; drops cached connections."""
    for logical_name, model in _registry.items():
        meta = model.Meta
        meta.table_name = cfg.table(logical_name)
        meta.region = cfg.region
        meta.host = cfg.endpoint_url
        meta.connect_timeout_seconds = CONNECT_TIMEOUT_SECONDS
        meta.read_timeout_seconds = READ_TIMEOUT_SECONDS
        meta.max_retry_attempts = MAX_RETRY_ATTEMPTS
        setattr(meta, "base_backoff_ms", BASE_BACKOFF_MS)  # noqa: B010 - not in pynamodb's Meta protocol
        model._connection = None


def connection_for(model: type[Model]) -> Any:
    """The low-level connection a model uses, for transactions spanning several tables."""
    return model._get_connection().connection
