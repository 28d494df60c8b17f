"""Login, logout and token checks.

A token is `<user_id>.<session_id>.<secret>`. The user item holds each session's secret hash
and expiry, so a token check is one consistent read of the user, which also brings the gate
state; logout removes the session with one conditional write and the token is dead at once.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

import msgspec

from shared import errors
from shared.domain.ids import new_id
from shared.domain.outcomes import Written
from shared.domain.users import Session, User, openid_key

if TYPE_CHECKING:
    from shared.services.ports import Users, WeChatLogin

MAX_SESSIONS_PER_USER = 10
MAX_CODE_CHARS = 128
_TOKEN = re.compile(
    r"^(?P<uid>[0-9A-HJKMNP-TV-Z]{26})\.(?P<sid>[0-9a-f]{16})\.(?P<secret>[A-Za-z0-9_-]{43})$"
)


class Code2Session(Protocol):
    def code2session(self, code: str) -> WeChatLogin: ...


class Login(msgspec.Struct, frozen=True):
    token: str
    expires_at: datetime
    user: User


class Caller(msgspec.Struct, frozen=True):
    user: User
    session_id: str
    secret_hash: str


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class SessionService:
    def __init__(
        self,
        users: Users,
        wechat: Callable[[], Code2Session],
        appid: str,
        session_days: int,
        clock: Callable[[], datetime],
    ) -> None:
        self._users = users
        self._wechat = wechat  # built on first login: other requests never pay for it
        self._appid = appid
        self._lifetime = timedelta(days=session_days)
        self._clock = clock

    def login(self, code: str) -> Login:
        code = code.strip()
        if not code or len(code) > MAX_CODE_CHARS:
            raise errors.invalid(
                "code", "required" if not code else "too_long", "login_code", max=MAX_CODE_CHARS
            )
        wx = self._wechat().code2session(code)
        now = self._clock()
        expires_at = now + self._lifetime
        session_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        session = Session(_hash(secret), int(expires_at.timestamp()), int(now.timestamp() * 1000))
        user = self._store_session(openid_key(self._appid, wx.openid), wx.openid, session_id, session, now)
        self._prune(user, now)
        return Login(f"{user.user_id}.{session_id}.{secret}", expires_at, user)

    def _store_session(self, key: str, openid: str, session_id: str, session: Session, now: datetime) -> User:
        # Two tries cover the race of two first logins of one WeChat user: the loser finds the
        # identity the winner created.
        for _ in range(2):
            user_id = self._users.find_user_id(key)
            if user_id is None:
                user = User(new_id(), openid, now, {session_id: session})
                if isinstance(self._users.create(user, key), Written):
                    return user
                continue
            found = self._users.add_session(user_id, session_id, session)
            if found is not None:
                return found
        raise errors.Conflict("login_changed")

    def _prune(self, user: User, now: datetime) -> None:
        stale = [sid for sid, s in user.sessions.items() if s.expires_at <= now.timestamp()]
        live = sorted((s.issued_at_ms, sid) for sid, s in user.sessions.items() if sid not in stale)
        overflow = [sid for _, sid in live[: max(0, len(live) - MAX_SESSIONS_PER_USER)]]
        self._users.remove_sessions(user.user_id, stale + overflow)

    def authenticate(self, token: str | None) -> Caller:
        """The caller of a request, or Unauthorized. One consistent read."""
        match = _TOKEN.fullmatch(token or "")
        if not match:
            raise errors.Unauthorized()
        user = self._users.get(match["uid"])
        if user is None:
            raise errors.Unauthorized()
        session = user.sessions.get(match["sid"])
        secret_hash = _hash(match["secret"])
        if (
            session is None
            or not hmac.compare_digest(session.secret_hash, secret_hash)
            or session.expires_at <= self._clock().timestamp()
        ):
            raise errors.Unauthorized()
        return Caller(user, match["sid"], secret_hash)

    def logout(self, token: str | None) -> None:
        match = _TOKEN.fullmatch(token or "")
        if not match or not isinstance(
            self._users.revoke_session(match["uid"], match["sid"], _hash(match["secret"])), Written
        ):
            raise errors.Unauthorized()
