"""The user-data registry: every store that holds something about a user registers here.

`GET /v1/me/export` asks each store for what it holds; `DELETE /v1/me` asks each to erase.
A store may keep a record the law requires (proof of consent) only in a form that no longer
names the person: it re-keys it to the `tombstone` id and drops personal fields.
"""

from __future__ import annotations

from typing import Any, Protocol


class PersonalDataStore(Protocol):
    name: str  # the key of this store's part of the export

    def export(self, user_id: str) -> Any:
        """Everything this store holds about the user, as JSON-ready data."""

    def erase(self, user_id: str, tombstone: str) -> None:
        """Delete the user's personal data (idempotent), keeping only what names `tombstone`."""
