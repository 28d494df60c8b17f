"""Login, logout and /v1/me through the handlers, with moto and the fake WeChat server."""

from __future__ import annotations

import json

import pytest

from infra.fake_wechat import FakeWeChatServer, dev_openid
from infra.metering import metered
from shared.store.users import IdentityItem, UserItem
from tests.functional.conftest import Api


def test_new_user_logs_in_and_is_asked_for_the_identity_agreement(api: Api) -> None:
    body = api.login("alice")
    assert body["token"] and body["expires_at"]
    assert body["user"]["next_step"] == "identity_agreement"
    me = api.get("/v1/me")
    assert me.status == 200
    assert me.body["next_step"] == "identity_agreement"
    assert me.body["id"] == body["user"]["id"]


def test_the_same_dev_code_logs_in_as_the_same_user_and_others_differ(api: Api) -> None:
    first = api.login("alice")["user"]["id"]
    again = api.login("alice")["user"]["id"]
    other = api.login("bob")["user"]["id"]
    assert first == again != other


def test_logout_kills_the_token_at_once_but_not_other_sessions(api: Api) -> None:
    phone = api.login("alice")["token"]
    tablet = api.login("alice")["token"]
    assert api.post("/v1/auth/logout", token=phone).status == 200
    dead = api.get("/v1/me", token=phone)
    assert dead.status == 401
    assert dead.body["error"]["code"] == "unauthorized"
    assert api.get("/v1/me", token=tablet).status == 200
    assert api.post("/v1/auth/logout", token=phone).status == 401


@pytest.mark.parametrize(
    "token",
    ["", "garbage", "a.b.c", "01ARZ3NDEKTSV4RRFFQ69G5FAV.0123456789abcdef." + "A" * 43, "x" * 5000],
)
def test_bad_tokens_get_401(api: Api, token: str) -> None:
    api.login("alice")
    reply = api.get("/v1/me", token=token or "", headers={} if token else {"authorization": ""})
    assert reply.status == 401
    assert reply.body["error"]["code"] == "unauthorized"


def test_a_tampered_secret_is_refused(api: Api) -> None:
    token = api.login("alice")["token"]
    head, _, secret = token.rpartition(".")
    forged = head + "." + ("B" if secret[0] != "B" else "C") + secret[1:]
    assert api.get("/v1/me", token=forged).status == 401


def test_an_expired_session_is_refused(api: Api) -> None:
    body = api.login("alice")
    user_id, sid, _ = body["token"].split(".")
    user = UserItem.get(user_id)
    user.update(actions=[UserItem.sessions[sid]["exp"].set(1)])
    assert api.get("/v1/me").status == 401


def test_sessions_are_capped_per_user(api: Api) -> None:
    tokens = [api.login("alice")["token"] for _ in range(12)]
    user = UserItem.get(tokens[0].split(".")[0])
    assert len(user.sessions.as_dict()) == 10
    assert api.get("/v1/me", token=tokens[0]).status == 401  # the oldest went
    assert api.get("/v1/me", token=tokens[-1]).status == 200


def test_session_key_is_never_returned_or_stored(api: Api, wechat: FakeWeChatServer) -> None:
    reply = api.post("/v1/auth/login", {"code": "dev:carol"})
    assert "session_key" not in reply.text
    user = UserItem.get(reply.body["user"]["id"])
    stored = json.dumps(user.serialize())
    assert "session_key" not in stored
    assert dev_openid("carol") not in reply.text  # the openid stays on the server
    assert IdentityItem.count() == 1


def test_me_costs_one_dynamodb_read(api: Api) -> None:
    api.login("alice")
    with metered() as meter:
        assert api.get("/v1/me").status == 200
    assert meter.calls == ["GetItem"]


def test_logout_costs_one_write(api: Api) -> None:
    api.login("alice")
    with metered() as meter:
        assert api.post("/v1/auth/logout").status == 200
    assert meter.calls == ["UpdateItem"]


@pytest.mark.parametrize(
    ("code", "status", "error"),
    [
        ("err:40029", 401, "unauthorized"),
        ("err:40163", 401, "unauthorized"),
        ("err:45011", 429, "rate_limited"),
        ("err:40226", 403, "forbidden"),
        ("err:-1", 503, "upstream_unavailable"),
        ("err:40013", 503, "upstream_unavailable"),
        ("http500", 503, "upstream_unavailable"),
        ("garbage", 503, "upstream_unavailable"),
        ("not-a-dev-code", 401, "unauthorized"),
    ],
)
def test_wechat_answers_map_to_clear_errors(api: Api, code: str, status: int, error: str) -> None:
    reply = api.post("/v1/auth/login", {"code": code})
    assert reply.status == status
    assert reply.body["error"]["code"] == error
    assert UserItem.count() == 0


def test_rate_limit_says_when_to_retry(api: Api) -> None:
    reply = api.post("/v1/auth/login", {"code": "err:45011"})
    assert reply.headers["Retry-After"] == "60"


def test_busy_wechat_is_retried_once(api: Api, wechat: FakeWeChatServer) -> None:
    before = len(wechat.state.calls)
    reply = api.post("/v1/auth/login", {"code": "busy-once:dave"})
    assert reply.status == 200
    assert len(wechat.state.calls) - before == 2


def test_a_silent_wechat_is_a_503_not_a_hang(api: Api) -> None:
    reply = api.post("/v1/auth/login", {"code": "slow:4"})
    assert reply.status == 503
    assert reply.body["error"]["code"] == "upstream_unavailable"


def test_an_unreachable_wechat_is_a_503(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from shared import wiring

    monkeypatch.setenv("WECHAT_BASE_URL", "http://127.0.0.1:9")  # discard port: nothing listens
    wiring.reset()
    reply = api.post("/v1/auth/login", {"code": "dev:alice"})
    assert reply.status == 503
    assert reply.body["error"]["code"] == "upstream_unavailable"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        " ",
        "{",
        "null",
        "[]",
        '"code"',
        "{}",
        '{"code": null}',
        '{"code": 1}',
        '{"code": ["dev:a"]}',
        '{"code": {"a": 1}}',
        '{"code": ""}',
        '{"code": "   "}',
        '{"code": "dev:a", "extra": 1}',
        '{"code": "' + "x" * 129 + '"}',
        '{"code": "' + "x" * 70_000 + '"}',
        '{"code": "\\ud800"}',
        "\xff\xfe",
        '{"code": "dev:a"}' * 2,
    ],
)
def test_no_malformed_login_body_gets_a_500(api: Api, raw: str) -> None:
    reply = api.post("/v1/auth/login", raw=raw)
    assert 400 <= reply.status < 500, reply.body
    assert reply.body["error"]["code"] in {"bad_request", "payload_too_large"}


def test_a_non_json_content_type_is_refused(api: Api) -> None:
    reply = api.post("/v1/auth/login", raw="code=dev:a", headers={"content-type": "text/plain"})
    assert reply.status == 415


def test_every_response_carries_a_request_id(api: Api) -> None:
    ok = api.post("/v1/auth/login", {"code": "dev:alice"})
    bad = api.post("/v1/auth/login", raw="{")
    assert ok.headers["X-Request-Id"] and bad.headers["X-Request-Id"]
    assert ok.headers["X-Request-Id"] != bad.headers["X-Request-Id"]


def test_logs_hold_no_token_openid_or_code(api: Api, log_lines: list[str]) -> None:
    body = api.login("zhang-san-marker")
    api.get("/v1/me")
    api.post("/v1/auth/logout")
    api.post("/v1/auth/login", {"code": "err:40029"})
    logs = "\n".join(log_lines)
    assert '"request handled"' in logs  # the log lines are there, as JSON
    for secret in (
        body["token"],
        body["token"].split(".")[2],
        dev_openid("zhang-san-marker"),
        "zhang-san-marker",
    ):
        assert secret not in logs
