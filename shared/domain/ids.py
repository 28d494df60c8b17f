"""Ids the system mints: ULIDs, time-ordered, so that keys sort by creation."""

from __future__ import annotations

import re

ULID_PATTERN = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


def new_id() -> str:
    """A new ULID (users, submissions, comments, consent records, uploads, staff)."""
    from ulid import ULID  # deferred: only writes mint ids (cold start)

    return str(ULID())


def is_ulid(value: str) -> bool:
    return bool(ULID_PATTERN.fullmatch(value))


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid_seconds(value: str) -> float:
    """When a ULID was minted, in epoch seconds (its first 10 characters are milliseconds)."""
    millis = 0
    for char in value[:10]:
        millis = millis * 32 + _CROCKFORD.index(char)
    return millis / 1000
