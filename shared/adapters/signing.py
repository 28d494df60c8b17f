"""Signed, tamper-proof tokens and keyed names, each with the key of its own purpose.

Review links use the review-link key (`shared.services.review`), list cursors the cursor key,
the console's CSRF fields and sign-in rate windows the console key: rotating one of them never
invalidates what the others signed.
"""

from __future__ import annotations

from itsdangerous import URLSafeSerializer

from shared.adapters import secrets
from shared.config import Config


def cursor_serializer(cfg: Config, purpose: str) -> URLSafeSerializer:
    """A serializer of list cursors whose tokens are valid only for `purpose` (the salt)."""
    return URLSafeSerializer(secrets.key(cfg, cfg.cursor_key), salt=purpose)


def console_digest(cfg: Config, text: str) -> str:
    """HMAC-SHA256 of `text` with the console key: a stable name for a value (a typed handle, an
    address) that does not give the value away. Rotating the console key renames them all."""
    import hashlib
    import hmac

    return hmac.new(secrets.key(cfg, cfg.console_key).encode(), text.encode(), hashlib.sha256).hexdigest()
