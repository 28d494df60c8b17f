"""Your data: export everything stored about the caller, or delete the account.

Every store that holds something about a user is listed once in `Services.personal_data_stores`
(shared/wiring.py) and implements `PersonalDataStore` (shared/services/userdata.py). Deletion
erases every store, then the account itself last, so a deletion that fails half-way can be
retried with the same token and finishes the job; every step is idempotent.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

from shared.services.userdata import PersonalDataStore
from shared.store.users import IdentityRecord, UserRecord, UserRepository, openid_hash, sessions_of

ACCOUNT_STORE = "account"
# Fields of the user item that are not the user's data but the system's keys to it.
_NOT_EXPORTED = frozenset({"sessions", "consent_key"})


class AccountStore:
    """The user item (minus session secrets and the sealing key) and the openid link."""

    name = ACCOUNT_STORE
    erase_last = True  # holds the sessions: deleting it ends the token, so it goes last

    def __init__(self, users: UserRepository, appid: str) -> None:
        self._users = users
        self._appid = appid

    def export(self, user_id: str) -> Any:
        user = self._users.get(user_id)
        if user is None:
            return None
        fields = {
            name: value.isoformat() if isinstance(value, datetime) else value
            for name, value in user.attribute_values.items()
            if name not in _NOT_EXPORTED
        }
        fields["sessions"] = [
            {"id": sid, "expires_at": int(s.get("exp", 0))} for sid, s in sorted(sessions_of(user).items())
        ]
        return fields

    def erase(self, user_id: str, tombstone: str) -> None:
        user = self._users.get(user_id)
        if user is None:
            return
        IdentityRecord(openid_hash(self._appid, str(user.openid))).delete()
        UserRecord(user_id).delete()


class AccountService:
    def __init__(self, stores: Callable[[], list[PersonalDataStore]], clock: Callable[[], datetime]) -> None:
        self._stores = stores
        self._clock = clock

    def export(self, user_id: str) -> dict[str, Any]:
        exported: dict[str, Any] = {"exported_at": self._clock().isoformat()}
        for store in self._stores():
            exported[store.name] = store.export(user_id)
        return exported

    def delete(self, user_id: str) -> dict[str, Any]:
        """Erase the user from every store; the account (and with it the token) goes last."""
        stores = sorted(self._stores(), key=lambda s: bool(getattr(s, "erase_last", False)))
        # What a store keeps as proof (none today: consent records are keyed by a pseudonym)
        # it re-keys to this random id, which nothing links back to the user.
        tombstone = secrets.token_hex(16)
        for store in stores:
            store.erase(user_id, tombstone)
        return {"deleted": True, "erased": [s.name for s in stores]}
