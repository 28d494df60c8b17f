"""Secrets: plain values in the local stage, SSM SecureString parameters elsewhere (cached)."""

from __future__ import annotations

import time
from typing import Any

from shared.config import Config, SecretSource
from shared.errors import ConfigError

CACHE_SECONDS = 300

_cache: dict[str, tuple[float, str]] = {}
_clients: dict[str, Any] = {}


def _ssm(cfg: Config) -> Any:
    if cfg.region not in _clients:
        import botocore.session  # deferred: only deployed stages pay for it

        _clients[cfg.region] = botocore.session.get_session().create_client(
            "ssm", region_name=cfg.region, endpoint_url=cfg.endpoint_url
        )
    return _clients[cfg.region]


def secret(cfg: Config, value: str | None, param: str | None) -> str:
    """The secret's value: `value` locally, else the SSM parameter `param`, cached for a while."""
    if value:
        return value
    if not param:
        raise ConfigError("a secret has neither a local value nor an SSM parameter")
    hit = _cache.get(param)
    now = time.monotonic()
    if hit and hit[0] > now:
        return hit[1]
    answer = _ssm(cfg).get_parameter(Name=param, WithDecryption=True)
    fetched = str(answer["Parameter"]["Value"])
    _cache[param] = (now + CACHE_SECONDS, fetched)
    return fetched


def key(cfg: Config, source: SecretSource) -> str:
    """One of the stage's keys (each serves one purpose: see `shared.config`)."""
    if not (source.value or source.param):
        raise ConfigError(f"{source.name} is not set (nor, in a local stage, its plain value)")
    return secret(cfg, source.value, source.param)
