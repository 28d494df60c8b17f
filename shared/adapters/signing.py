"""Signed, tamper-proof tokens (cursors, review links) with the stage's signing key."""

from __future__ import annotations

from itsdangerous import URLSafeSerializer

from shared.adapters import secrets
from shared.config import Config


def signing_key(cfg: Config) -> str:
    return secrets.secret(cfg, cfg.signing_key, cfg.signing_key_param)


def serializer(cfg: Config, purpose: str) -> URLSafeSerializer:
    """A serializer whose tokens are valid only for `purpose` (the salt)."""
    return URLSafeSerializer(signing_key(cfg), salt=purpose)


def keyed_digest(cfg: Config, text: str) -> str:
    """HMAC-SHA256 of `text` with the signing key: a stable name for a value (a typed handle, an
    address) that does not give the value away. Rotating the key renames them all."""
    import hashlib
    import hmac

    return hmac.new(signing_key(cfg).encode(), text.encode(), hashlib.sha256).hexdigest()
