"""Login, token checks and logout on in-memory users."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from shared import errors
from shared.domain.users import openid_key
from shared.services.sessions import MAX_SESSIONS_PER_USER, SessionService
from tests.unit.fakes import Clock, FakeUsers
from tests.unit.services_setup import NOW


@dataclass(frozen=True)
class WxSession:
    openid: str
    session_key: str = "sk"
    unionid: str | None = None


class FakeWeChat:
    def code2session(self, code: str) -> WxSession:
        return WxSession(openid=f"o-{code}")


def service(users: FakeUsers, clock: Clock | None = None) -> SessionService:
    return SessionService(users, FakeWeChat, "wx-app", 30, clock or Clock(NOW))


def test_a_first_login_creates_the_user_and_the_next_finds_them() -> None:
    users = FakeUsers()
    first = service(users).login("alice")
    again = service(users).login(" alice ")
    assert first.user.user_id == again.user.user_id and len(users.users) == 1
    assert users.find_user_id(openid_key("wx-app", "o-alice")) == first.user.user_id
    assert set(users.users[first.user.user_id].sessions) == {
        first.token.split(".")[1],
        again.token.split(".")[1],
    }


def test_a_token_authenticates_until_it_expires_or_is_logged_out() -> None:
    users, clock = FakeUsers(), Clock(NOW)
    sessions = service(users, clock)
    token = sessions.login("alice").token
    assert sessions.authenticate(token).user.openid == "o-alice"
    with pytest.raises(errors.Unauthorized):
        sessions.authenticate(token[:-1] + ("A" if token[-1] != "A" else "B"))  # another secret
    sessions.logout(token)
    with pytest.raises(errors.Unauthorized):
        sessions.authenticate(token)
    with pytest.raises(errors.Unauthorized):
        sessions.logout(token)  # a second logout: the session is gone
    later = sessions.login("alice").token
    clock.advance(days=31)
    with pytest.raises(errors.Unauthorized):
        sessions.authenticate(later)


def test_a_login_prunes_the_oldest_sessions_beyond_the_limit() -> None:
    users, clock = FakeUsers(), Clock(NOW)
    sessions = service(users, clock)
    tokens = []
    for _ in range(MAX_SESSIONS_PER_USER + 3):
        tokens.append(sessions.login("alice").token)
        clock.advance(seconds=1)
    user = next(iter(users.users.values()))
    assert len(user.sessions) == MAX_SESSIONS_PER_USER
    with pytest.raises(errors.Unauthorized):
        sessions.authenticate(tokens[0])
    assert sessions.authenticate(tokens[-1]).user.user_id == user.user_id


def test_a_login_racing_another_first_login_finds_the_winner() -> None:
    users = FakeUsers()
    winner = service(users).login("alice").user

    class RacingUsers(FakeUsers):
        """The identity is not there at the first look, and the create is refused."""

        looked = False

        def find_user_id(self, key: str) -> str | None:
            if not self.looked:
                self.looked = True
                return None
            return super().find_user_id(key)

    racing = RacingUsers()
    racing.users, racing.identities = users.users, users.identities
    assert service(racing).login("alice").user.user_id == winner.user_id


@pytest.mark.parametrize("code", ["", "   ", "x" * 129])
def test_a_missing_or_oversized_code_is_refused_before_wechat(code: str) -> None:
    with pytest.raises(errors.BadRequest):
        service(FakeUsers()).login(code)


def test_a_deleted_user_cannot_authenticate_and_logs_in_anew() -> None:
    users = FakeUsers()
    sessions = service(users)
    login = sessions.login("alice")
    users.delete(login.user.user_id, openid_key("wx-app", "o-alice"))
    with pytest.raises(errors.Unauthorized):
        sessions.authenticate(login.token)
    assert sessions.login("alice").user.user_id != login.user.user_id
