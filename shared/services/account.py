"""Your data: export everything stored about the caller, or delete the account.

Everything that holds data about a user is listed once in `Services.personal_data`
(shared/wiring.py) and implements `PersonalData` (shared/services/ports.py); `TABLES` says which
holder covers each table of serverless.yml, or why a table holds nothing about a user, and a test
walks the template's tables against it. Deletion first logs the account's deletion (a digest of
its id: `python -m infra.ops account reapply-deletions` applies it again after a restore), erases
every holder, then the account itself last, so a deletion that fails half-way can be retried with
the same token and finishes the job; every step is idempotent.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from msgspec.structs import asdict

from shared.domain import times
from shared.domain.comments import rate_windows
from shared.domain.idempotency import Guard, owner_digest
from shared.domain.users import User, deletion_digest, openid_key
from shared.domain.verification import submit_window, upload_window

if TYPE_CHECKING:
    from shared.services.ports import Deletions, Guards, PersonalData, RateWindows, Users

# Every table of serverless.yml (by the name after the stage prefix): the export's part that shows
# what it holds about a user, or why it holds nothing about one. tests/functional/test_account.py
# walks the template's tables against this, so a new table cannot be forgotten.
TABLES: dict[str, str] = {
    "users": "account",
    "identities": "account",  # the openid's hash, linking it to the account
    "idempotency": "account",  # the used Idempotency-Keys with their first responses
    "consents": "consents",
    "consent_keys": "consent_key",
    "answers": "answers",
    "submissions": "verification",
    "notifications": "verification",  # each submission's reviewer notification
    "review_audit": "verification",  # the decisions on each submission (mutes: "moderation")
    "credential_index": "duplicate_index",
    "comments": "comments",
    "comment_guards": "rate_windows",
    "comment_reports": "reports",  # the reports they made
    "user_funnel": "funnel",
}
HOLDS_NO_USER_DATA: dict[str, str] = {
    "documents": "the published consent texts",
    "articles": "articles and their comment counters",
    "staff": "staff members, their handles and console sessions",
    "staff_sign_in": "staff sign-in links and their rate windows",
    "reviewers": "the reviewers before staff existed",
    "wechat_tokens": "the app's WeChat access token",
    "deletions": "deleted accounts only (a digest of the id), never a live one",
    "answer_stats": "counts per option of everyone's answers, never one person's",
}


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


def _guard_view(guard: Guard) -> dict[str, Any]:
    return {
        "owner": guard.owner,  # a digest of the user's id: the partition of their keys
        "key": guard.key,  # a digest of the operation and the key the app sent
        "request": guard.request,  # a digest of what that request asked for
        "response": json.loads(guard.response) if guard.response else None,
        "created_at": times.iso(datetime.fromtimestamp(guard.created_at, UTC)),
        "expires_at": times.iso(datetime.fromtimestamp(guard.expires_at, UTC)),
    }


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
        if user is None:
            return None
        fields = exported_user(user)
        key = openid_key(self._appid, user.openid)
        linked = self._users.find_user_id(key, consistent=True) == user_id
        fields["identity"] = {"openid_hash": key} if linked else None
        fields["idempotency_keys"] = [_guard_view(g) for g in self._guards.owned(owner_digest(user_id))]
        return fields

    def erase(self, user_id: str) -> None:
        self._guards.erase(owner_digest(user_id))
        user = self._users.get(user_id)
        if user is not None:
            self._users.delete(user_id, openid_key(self._appid, user.openid))


class RateWindowData:
    """The rate windows now counting the user's writes (comments, upload links, submits), under a
    digest of their id. Not erased: a window holds a count under that digest and expires on its
    own within a day of its end (ended windows are not exported: their keys cannot be listed)."""

    name = "rate_windows"

    def __init__(self, windows: RateWindows, clock: Callable[[], datetime]) -> None:
        self._windows = windows
        self._clock = clock

    def export(self, user_id: str) -> Any:
        now = self._clock()
        windows = [*rate_windows(user_id, now), upload_window(user_id, now), submit_window(user_id, now)]
        used = self._windows.used(windows)
        return [
            {
                "key": w.key,
                "name": w.name,
                "used": used[w.key],
                "limit": w.limit,
                "ends_at": times.iso(datetime.fromtimestamp(w.ends_at, UTC)),
            }
            for w in windows
            if w.key in used
        ]

    def erase(self, user_id: str) -> None:
        return None


class AccountService:
    def __init__(
        self,
        holders: Callable[[], list[PersonalData]],
        deletions: Deletions,
        clock: Callable[[], datetime],
    ) -> None:
        self._holders = holders
        self._deletions = deletions
        self._clock = clock

    def export(self, user_id: str) -> dict[str, Any]:
        exported: dict[str, Any] = {"exported_at": times.iso(self._clock())}
        for holder in self._holders():
            exported[holder.name] = holder.export(user_id)
        return exported

    def delete(self, user_id: str) -> dict[str, Any]:
        """Log the deletion, erase the user from every holder; the account (and with it the token)
        goes last."""
        self._deletions.record(deletion_digest(user_id), self._clock())
        holders = sorted(self._holders(), key=lambda h: bool(getattr(h, "erase_last", False)))
        for holder in holders:
            holder.erase(user_id)
        return {"deleted": True, "erased": [h.name for h in holders]}
