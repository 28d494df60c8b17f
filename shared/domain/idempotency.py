"""Idempotency keys: the rules shared by every write that takes an `Idempotency-Key` header.

A key is 1 to 128 printable ASCII characters, scoped to the caller and to the operation, and is
recognised for 24 hours. The first successful request records a digest of what it asked for and
the response it got, inside the same transaction as its write; a replay with the same request gets
that response and writes nothing; the same key with another request is a conflict.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import msgspec
from msgspec.structs import replace

from shared import errors

MAX_KEY_CHARS = 128
KEY_LIFETIME_SECONDS = 24 * 3600
_PRINTABLE_ASCII = frozenset(chr(c) for c in range(0x20, 0x7F))


def check_key(key: str) -> str:
    """The key if it is 1 to 128 printable ASCII characters; else 400."""
    if not 1 <= len(key) <= MAX_KEY_CHARS or not set(key) <= _PRINTABLE_ASCII:
        raise errors.BadRequest("idempotency_key", max=MAX_KEY_CHARS)
    return key


def owner_digest(caller_id: str) -> str:
    """Guards are grouped by a digest of the caller, not their id (erased with the account)."""
    return hashlib.sha256(f"idempotency\n{caller_id}".encode()).hexdigest()[:32]


def key_digest(operation: str, key: str) -> str:
    return hashlib.sha256(f"{operation}\n{key}".encode()).hexdigest()


def request_digest(request: Any) -> str:
    """A digest of what a request asked for (its parameters, as JSON-ready data)."""
    canonical = json.dumps(request, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class Guard(msgspec.Struct, frozen=True):
    """One use of an Idempotency-Key: who, which key, what was asked, and the response to replay."""

    owner: str
    key: str
    request: str
    created_at: int  # epoch seconds
    expires_at: int  # epoch seconds
    response: str = ""  # the first response's body (JSON), set before the write commits

    def answering(self, body: Any) -> Guard:
        return replace(self, response=json.dumps(body, ensure_ascii=False, separators=(",", ":")))


def new_guard(caller_id: str, operation: str, key: str, request: Any, now: int) -> Guard:
    return Guard(
        owner=owner_digest(caller_id),
        key=key_digest(operation, check_key(key)),
        request=request_digest(request),
        created_at=now,
        expires_at=now + KEY_LIFETIME_SECONDS,
    )
