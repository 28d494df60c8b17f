"""WeChat messaging over loopback: the shared access token, subscribe messages, msgSecCheck."""

from __future__ import annotations

import threading
import time

import pytest

from infra.fake_wechat import FakeWeChatServer
from infra.metering import metered
from shared import config, errors
from shared.adapters.wechat import (
    TOKEN_REFRESH_MARGIN_SECONDS,
    AccessTokens,
    MessageRejected,
    WeChatMessaging,
)
from shared.store.wechat import AccessTokenItem, AccessTokenRepository
from shared.wiring import Services

SEND = "/cgi-bin/message/subscribe/send"
CHECK = "/wxa/msg_sec_check"
DATA = {"thing1": "认证审核结果", "time2": "2026-11-02 10:00"}


@pytest.fixture
def fresh_fake(wechat: FakeWeChatServer) -> FakeWeChatServer:
    """The session's fake with no token issued yet and an empty call log."""
    wechat.state.invalidate_token()
    with wechat.state.lock:
        wechat.state.calls.clear()
        wechat.state.messages.clear()
    return wechat


def send(messaging: WeChatMessaging) -> str:
    return messaging.send_subscribe_message("o-user-1", "tmpl-result", "pages/me/index", DATA)


def test_the_token_is_fetched_once_and_shared_by_every_container(
    aws: config.Config, fresh_fake: FakeWeChatServer
) -> None:
    first, second = Services(aws).wechat_messaging(), Services(aws).wechat_messaging()
    assert send(first) == "sent"
    assert send(second) == "sent"  # a second container: reads the item, asks WeChat nothing
    assert len(fresh_fake.state.token_calls()) == 1
    assert fresh_fake.state.token_calls()[0]["force_refresh"] is False
    stored = AccessTokenItem.get(aws.wechat_appid)
    assert stored.access_token == fresh_fake.state.access_token
    assert stored.expires_at > time.time() + 7000


def test_a_warm_container_pays_no_read_for_the_token(
    aws: config.Config, fresh_fake: FakeWeChatServer
) -> None:
    messaging = Services(aws).wechat_messaging()
    assert send(messaging) == "sent"
    with metered() as meter:
        assert send(messaging) == "sent"
        assert messaging.check_text("o-user-1", "请问老年高血压的降压目标？") == "pass"
    assert meter.calls == []


def test_a_token_near_expiry_is_refreshed_by_one_container(
    aws: config.Config, fresh_fake: FakeWeChatServer
) -> None:
    now = [time.time()]
    repo = AccessTokenRepository()
    client = Services(aws).wechat()
    tokens = AccessTokens(aws.wechat_appid, client, repo, clock=lambda: now[0])
    first = tokens.get()
    assert tokens.get() == first and len(fresh_fake.state.token_calls()) == 1
    # Two hours later, minus less than the margin: another container and this one both need it.
    expiry = repo.read(aws.wechat_appid)
    assert expiry is not None
    now[0] = expiry.expires_at - TOKEN_REFRESH_MARGIN_SECONDS + 1
    fresh_fake.state.token_expires_at = time.time() + 60  # WeChat's view: nearly expired too
    other = AccessTokens(aws.wechat_appid, client, repo, clock=lambda: now[0])
    renewed = other.get()
    assert renewed != first
    assert tokens.get() == renewed  # read from the item the other container wrote
    calls = fresh_fake.state.token_calls()
    assert len(calls) == 2 and calls[1]["force_refresh"] is False
    assert AccessTokenItem.get(aws.wechat_appid).version == 2


def test_concurrent_cold_containers_elect_one_refresher(
    aws: config.Config, fresh_fake: FakeWeChatServer, atomic_moto: None
) -> None:
    # atomic_moto: moto's in-process conditional writes are not atomic across threads (two
    # lease acquisitions could both succeed, flaky under load); DynamoDB's are.
    results: list[str] = []
    failures: list[BaseException] = []

    def cold_start() -> None:
        try:
            # Waiters are 5x as patient as deployed (10 s, not 2 s), so a loaded CI machine does not
            # make them give up on the elected refresher and fetch a token themselves.
            patient = AccessTokens(
                aws.wechat_appid, client, AccessTokenRepository(), sleep=lambda s: time.sleep(5 * s)
            )
            results.append(patient.get())
        except BaseException as exc:  # reported below
            failures.append(exc)

    client = Services(aws).wechat()
    threads = [threading.Thread(target=cold_start) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not failures
    assert len(results) == 8 and len(set(results)) == 1
    assert len(fresh_fake.state.token_calls()) == 1


def test_an_invalid_token_forces_one_refresh_and_the_message_goes(
    aws: config.Config, fresh_fake: FakeWeChatServer
) -> None:
    messaging = Services(aws).wechat_messaging()
    assert send(messaging) == "sent"
    fresh_fake.state.invalidate_token()  # WeChat now answers 40001 to the cached token
    assert send(messaging) == "sent"
    calls = fresh_fake.state.token_calls()
    assert [c["force_refresh"] for c in calls] == [False, True]
    # Another container holding the old token in memory finds the new one in the item: no force.
    other = Services(aws).wechat_messaging()
    assert other.check_text("o-user-1", "普通文本") == "pass"
    assert len(fresh_fake.state.token_calls()) == 2


def test_a_token_refused_twice_is_not_refreshed_in_a_loop(
    aws: config.Config, fresh_fake: FakeWeChatServer
) -> None:
    messaging = Services(aws).wechat_messaging()
    fresh_fake.state.fail_next(SEND, 40001, times=2)
    with pytest.raises(errors.UpstreamUnavailable):
        send(messaging)
    assert sum(1 for c in fresh_fake.state.token_calls() if c["force_refresh"]) <= 1
    assert len(fresh_fake.state.messages) == 0


def test_no_subscription_left_means_the_message_is_owed(
    aws: config.Config, fresh_fake: FakeWeChatServer
) -> None:
    messaging = Services(aws).wechat_messaging()
    fresh_fake.state.fail_next(SEND, 43101)
    assert send(messaging) == "owed"
    assert send(messaging) == "sent"
    message = fresh_fake.state.messages[-1]
    assert message["touser"] == "o-user-1"
    assert message["data"] == {name: {"value": value} for name, value in DATA.items()}
    assert message["miniprogram_state"] == "developer"  # local stages never message as "formal"


@pytest.mark.parametrize("errcode", [47003, 40037])
def test_a_bad_template_is_a_recorded_refusal(
    aws: config.Config, fresh_fake: FakeWeChatServer, errcode: int
) -> None:
    messaging = Services(aws).wechat_messaging()
    fresh_fake.state.fail_next(SEND, errcode)
    with pytest.raises(MessageRejected) as refused:
        send(messaging)
    assert refused.value.errcode == errcode


def test_a_thing_value_over_twenty_characters_is_refused_before_any_call(
    aws: config.Config, fresh_fake: FakeWeChatServer
) -> None:
    messaging = Services(aws).wechat_messaging()
    with pytest.raises(MessageRejected, match="20"):
        messaging.send_subscribe_message("o-user-1", "tmpl", "pages/x", {"thing1": "字" * 21})
    assert fresh_fake.state.calls == []


def test_content_check_busy_twice_is_upstream_unavailable(
    aws: config.Config, fresh_fake: FakeWeChatServer
) -> None:
    messaging = Services(aws).wechat_messaging()
    fresh_fake.state.fail_next(CHECK, -1, times=2)
    with pytest.raises(errors.UpstreamUnavailable):
        messaging.check_text("o-user-1", "文本")


@pytest.mark.parametrize("errcode", [61010, 40003])
def test_a_text_the_check_will_never_take_is_uncheckable(
    aws: config.Config, fresh_fake: FakeWeChatServer, errcode: int
) -> None:
    """61010 (the user away two hours) and 40003 (no such openid) do not pass with time: the
    comment goes to a moderator instead of being retried."""
    messaging = Services(aws).wechat_messaging()
    fresh_fake.state.fail_next(CHECK, errcode)
    with pytest.raises(errors.ContentUncheckable, match=str(errcode)):
        messaging.check_text("o-user-1", "文本")


def test_content_check_retries_busy_once(aws: config.Config, fresh_fake: FakeWeChatServer) -> None:
    messaging = Services(aws).wechat_messaging()
    fresh_fake.state.fail_next(CHECK, -1)
    assert messaging.check_text("o-user-1", "文本") == "pass"


def test_content_check_decides_on_suggest_and_checks_long_texts_in_chunks(
    aws: config.Config, fresh_fake: FakeWeChatServer
) -> None:
    messaging = Services(aws).wechat_messaging()
    assert messaging.check_text("o-user-1", "有风险的内容") == "risky"
    assert messaging.check_text("o-user-1", "待审的内容") == "review"
    long_text = "安" * 2500 + "风险"
    assert messaging.check_text("o-user-1", long_text) == "risky"
    checks = [p for path, p in fresh_fake.state.calls if path == CHECK]
    assert [len(p["content"]) for p in checks[-2:]] == [2500, 2]
    assert all(p["scene"] == 2 and p["version"] == 2 for p in checks)
    with pytest.raises(errors.BadRequest, match="10000"):
        messaging.check_text("o-user-1", "字" * 10_001)


def test_an_unreachable_wechat_is_upstream_unavailable(
    aws: config.Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WECHAT_BASE_URL", "http://127.0.0.1:9")
    unreachable = config.load()
    with pytest.raises(errors.UpstreamUnavailable):
        Services(unreachable).wechat_messaging().check_text("o-user-1", "文本")


def test_an_unreachable_wechat_leaves_no_secret_in_a_logged_traceback(
    aws: config.Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    """urllib3's errors quote the URL (access token, app secret, login code): they are not chained."""
    import traceback

    from shared.adapters.wechat import WeChatClient

    secret, token, code, openid = "app-secret-7c1f", "access-token-52ab", "login-code-e93d", "o-user-4d0e"
    client = WeChatClient("http://127.0.0.1:9", "wx-app", secret)
    for call in (
        lambda: client.authorized_call(SEND, token, {"touser": openid}),
        lambda: client.code2session(code),
    ):
        with pytest.raises(errors.UpstreamUnavailable) as caught:
            call()
        printed = "".join(traceback.format_exception(caught.value))
        assert not [v for v in (secret, token, code, openid) if v in printed], printed
