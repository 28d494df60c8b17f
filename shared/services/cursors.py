"""Opaque, tamper-proof page cursors: a signed position, valid only for its purpose."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from shared import errors


class Signer(Protocol):
    def dumps(self, obj: Any) -> str | bytes: ...
    def loads(self, s: str | bytes) -> Any: ...


class Cursors:
    def __init__(self, signer: Callable[[str], Signer]) -> None:
        self._signer = signer

    def sign(self, purpose: str, payload: dict[str, str]) -> str:
        token = self._signer(purpose).dumps(payload)
        return token if isinstance(token, str) else token.decode()

    def load(self, purpose: str, token: str | None, fields: set[str]) -> dict[str, str] | None:
        """The position a cursor holds (exactly `fields`, all strings); None for no cursor; else 400."""
        if token is None or token == "":
            return None
        from itsdangerous import BadData  # deferred: only pages after the first need it

        try:
            payload = self._signer(purpose).loads(token)
        except BadData as exc:
            raise errors.BadRequest("cursor") from exc
        if (
            not isinstance(payload, dict)
            or set(payload) != fields
            or not all(isinstance(v, str) for v in payload.values())
        ):
            raise errors.BadRequest("cursor")
        return payload
