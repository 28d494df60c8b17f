"""Your data: export everything stored about the caller, or delete the account.

Everything that holds data about a user is listed once in `Services.personal_data`
(shared/wiring.py) and implements `PersonalData` (shared/services/ports.py). Deletion erases
every holder, then the account itself last, so a deletion that fails half-way can be retried with
the same token and finishes the job; every step is idempotent.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from msgspec.structs import asdict

from shared.domain import times
from shared.domain.idempotency import owner_digest
from shared.domain.users import User, openid_key

if TYPE_CHECKING:
    from shared.services.ports import Guards, PersonalData, Users


def exported_user(user: User) -> dict[str, Any]:
    """The user item as its owner's export shows it: not the session secrets or the sealing key
    (the system's keys to their data, not their data)."""
    fields = {
        name: times.iso(value) if isinstance(value, datetime) else value
        for name, value in asdict(user).items()
        if name not in ("sessions", "consent_key")
    }
    fields["sessions"] = [{"id": sid, "expires_at": s.expires_at} for sid, s in sorted(user.sessions.items())]
    return fields


class AccountData:
    """The user item, the openid link and the used Idempotency-Keys. Erased last: it holds the
    sessions, so deleting it ends the token."""

    name = "account"
    erase_last = True

    def __init__(self, users: Users, guards: Guards, appid: str) -> None:
        self._users = users
        self._guards = guards
        self._appid = appid

    def export(self, user_id: str) -> Any:
        user = self._users.get(user_id)
        return None if user is None else exported_user(user)

    def erase(self, user_id: str) -> None:
        self._guards.erase(owner_digest(user_id))
        user = self._users.get(user_id)
        if user is not None:
            self._users.delete(user_id, openid_key(self._appid, user.openid))


class AccountService:
    def __init__(self, holders: Callable[[], list[PersonalData]], clock: Callable[[], datetime]) -> None:
        self._holders = holders
        self._clock = clock

    def export(self, user_id: str) -> dict[str, Any]:
        exported: dict[str, Any] = {"exported_at": times.iso(self._clock())}
        for holder in self._holders():
            exported[holder.name] = holder.export(user_id)
        return exported

    def delete(self, user_id: str) -> dict[str, Any]:
        """Erase the user from every holder; the account (and with it the token) goes last."""
        holders = sorted(self._holders(), key=lambda h: bool(getattr(h, "erase_last", False)))
        for holder in holders:
            holder.erase(user_id)
        return {"deleted": True, "erased": [h.name for h in holders]}
