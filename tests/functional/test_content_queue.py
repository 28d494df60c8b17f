"""The content check's pacing (moto's SQS and DynamoDB, the fake WeChat and the fake TMS on loopback).

Under the app's inline share of the quota a post is checked at once; past it the comment is stored
held, its author sees it so, its id goes to the queue, and the worker (`functions.content_check`,
fed by `infra.queues.QueuePump` as Lambda's event source mapping would) checks it: shown and
counted exactly once, held for a moderator, hidden, or delivered again after a failure.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from functions.content_check import check as worker
from infra.fake_tms import FakeTmsServer
from infra.fake_wechat import FakeWeChatServer
from infra.queues import QueuePump
from shared import config, wiring
from shared.domain.content_check import BUDGET_SHARDS, INLINE_SHARE, WORKER_SHARE, Budget
from shared.store.rates import RateWindowItem
from tests.functional.article_helpers import ARTICLE, all_comments, count, post, seed_articles, verified
from tests.functional.conftest import Api

CHECK = "/wxa/msg_sec_check"


@pytest.fixture(autouse=True)
def _no_send_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shared.adapters.check_queue.SEND_DELAY_SECONDS", 0)


@pytest.fixture
def alice(api: Api) -> str:
    seed_articles()
    return verified(api, "alice")


@pytest.fixture
def pump(aws: config.Config) -> QueuePump:
    return QueuePump(aws, aws.check_queue_name, worker)


def spend(share: float, minutes: int = 2) -> list[str]:
    """Every budget shard of this minute and the next ones used up to `share` of the quota (as a
    burst of posts would leave them; the IAM journeys and the fault matrix use it too)."""
    import time

    budget = Budget(config.current().checks_per_minute)
    now = int(time.time())
    keys = []
    for epoch in range(now, now + 60 * minutes, 60):
        reserve = budget.reserve(epoch) if share >= WORKER_SHARE else []
        for window in budget.windows(epoch) + reserve:
            RateWindowItem(window.key, used=window.limit).save()
            keys.append(window.key)
    return keys


def release(keys: list[str]) -> None:
    """The burst over: the budget counters `spend` filled are gone."""
    for key in keys:
        RateWindowItem(key).delete()


def queued(aws: config.Config) -> list[dict[str, Any]]:
    """The queue's messages, left in it (visible again at once)."""
    sqs = boto3.client("sqs", region_name=aws.region)
    url = sqs.get_queue_url(QueueName=aws.check_queue_name)["QueueUrl"]
    found = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
    return [json.loads(m["Body"]) for m in found]


def fresh_count(api: Api) -> int:
    wiring.reset()  # another container: no cached count
    return count(api)


def others_see(api: Api, name: str = "bob") -> list[dict[str, Any]]:
    reader = Api()
    verified(reader, name)
    return all_comments(reader)


def test_under_the_share_a_post_is_checked_inline(api: Api, alice: str, aws: config.Config) -> None:
    reply = post(api, "直播问答：剂量如何调整？")
    assert reply.status == 201 and reply.body["state"] == "visible"
    assert queued(aws) == []
    assert fresh_count(api) == 1


def test_over_the_share_a_comment_is_held_queued_then_shown_and_counted_once(
    api: Api, alice: str, aws: config.Config, pump: QueuePump, wechat: FakeWeChatServer
) -> None:
    spend(INLINE_SHARE)
    checks_before = sum(1 for path, _ in wechat.state.calls if path == CHECK)
    reply = post(api, "高峰时的评论")
    assert reply.status == 201
    assert reply.body["state"] == "held" and reply.body["mine"] is True
    assert sum(1 for path, _ in wechat.state.calls if path == CHECK) == checks_before  # not checked yet
    # the queue holds the comment's id alone: no text, no openid
    assert queued(aws) == [{"c": reply.body["id"]}]
    assert [c["state"] for c in all_comments(api)] == ["held"]  # its author sees it held
    assert others_see(api) == []
    assert fresh_count(api) == 0
    assert pump.drain() == 1
    assert [c["state"] for c in others_see(api, "carol")] == ["visible"]
    assert fresh_count(api) == 1
    # delivered again (SQS is at least once): still counted once
    assert worker({"Records": [{"messageId": "m-again", "body": json.dumps({"c": reply.body["id"]})}]}) == {
        "batchItemFailures": []
    }
    assert fresh_count(api) == 1


@pytest.mark.parametrize(
    ("text", "state", "moderation", "reason"),
    [
        ("需要待审的评论", "held", "pending", None),
        ("有风险的评论", "hidden", "hidden", "未通过内容安全检测"),
    ],
)
def test_the_worker_holds_for_review_or_hides_what_is_risky(
    api: Api,
    alice: str,
    pump: QueuePump,
    text: str,
    state: str,
    moderation: str,
    reason: str | None,
) -> None:
    from shared.store.comments import CommentItem

    spend(INLINE_SHARE)
    posted = post(api, text).body
    assert posted["state"] == "held"
    pump.drain()
    mine = all_comments(api)
    assert [(c["state"], c["reason_text"]) for c in mine] == [(state, reason)]
    assert others_see(api) == []
    assert fresh_count(api) == 0
    assert [str(i.comment_id) for i in CommentItem.moderation_queue.query(moderation)] == [
        posted["id"].split(".")[0]
    ]


def test_a_comment_the_check_cannot_take_waits_for_a_moderator(
    api: Api, alice: str, pump: QueuePump, wechat: FakeWeChatServer
) -> None:
    """WeChat's 61010 (the author has not opened the mini-program for two hours): never lost."""
    from shared.store.comments import CommentItem

    spend(INLINE_SHARE)
    posted = post(api, "两小时后才检查的评论").body
    wechat.state.fail_next(CHECK, 61010)
    pump.drain()
    assert [c["state"] for c in all_comments(api)] == ["held"]
    waiting = list(CommentItem.moderation_queue.query("pending"))
    assert [(str(i.comment_id), i.held_for) for i in waiting] == [(posted["id"].split(".")[0], "uncheckable")]


def test_a_busy_check_delivers_the_message_again_then_shows_it(
    api: Api, alice: str, pump: QueuePump, wechat: FakeWeChatServer
) -> None:
    spend(INLINE_SHARE)
    post(api, "检查繁忙时的评论")
    wechat.state.fail_next(CHECK, -1, times=2)  # the adapter's retry answered busy too
    pump.drain()
    assert [c["state"] for c in all_comments(api)] == ["held"]
    # the worker set its backoff (30 s): ask for it again now, as SQS would after the pause
    sqs = boto3.client("sqs", region_name=config.current().region)
    url = pump.url
    message = sqs.receive_message(QueueUrl=url, VisibilityTimeout=0, AttributeNames=["All"]).get("Messages")
    assert message is None  # invisible for the backoff
    _all_visible_now(pump)
    pump.drain()
    assert [c["state"] for c in others_see(api)] == ["visible"]
    assert fresh_count(api) == 1


def _all_visible_now(pump: QueuePump | None) -> None:
    """Ends the backoff of every in-flight message (as time passing would)."""
    from moto.core import DEFAULT_ACCOUNT_ID  # type: ignore[attr-defined]
    from moto.sqs.models import sqs_backends

    region = config.current().region
    for queue in sqs_backends[DEFAULT_ACCOUNT_ID][region].queues.values():
        for message in queue._messages:
            message.change_visibility(0)


def test_a_comment_deleted_meanwhile_stays_deleted_and_uncounted(
    api: Api, alice: str, pump: QueuePump, wechat: FakeWeChatServer
) -> None:
    spend(INLINE_SHARE)
    posted = post(api, "作者很快删掉的评论").body
    assert api.delete(f"/v1/comments/{posted['id']}").status == 200
    checks_before = sum(1 for path, _ in wechat.state.calls if path == CHECK)
    pump.drain()
    assert sum(1 for path, _ in wechat.state.calls if path == CHECK) == checks_before  # nothing to check
    assert all_comments(api) == []
    assert fresh_count(api) == 0


def test_when_the_workers_share_is_spent_too_the_message_waits_for_the_next_minute(
    api: Api, alice: str, pump: QueuePump, monkeypatch: pytest.MonkeyPatch
) -> None:
    spend(INLINE_SHARE)
    post(api, "预算用完时的评论")
    spend(WORKER_SHARE)
    monkeypatch.setattr("shared.services.queued_checks.WAIT_MARGIN_SECONDS", 10_000)  # no time to wait
    pump.drain()
    assert [c["state"] for c in all_comments(api)] == ["held"]
    assert fresh_count(api) == 0


def test_a_message_for_a_comment_never_stored_is_dropped_after_a_minute(api: Api, alice: str) -> None:
    from shared.domain.ids import new_id

    fresh = f"{new_id()}.{ARTICLE}"
    old = f"01ARZ3NDEKTSV4RRFFQ69G5FAV.{ARTICLE}"  # 2016: its post's transaction failed long ago
    records = [{"messageId": "young", "body": json.dumps({"c": fresh})}]
    records.append({"messageId": "old", "body": json.dumps({"c": old})})
    answer = worker({"Records": records})
    assert answer == {"batchItemFailures": [{"itemIdentifier": "young"}]}  # its write may still land


def test_the_budget_is_split_over_its_shards(aws: config.Config) -> None:
    """The numbers of the design: 8 counters, the inline share 60% and the worker's 90% of 4,000."""
    budget = Budget(aws.checks_per_minute)
    assert budget.shard_limit(INLINE_SHARE) * BUDGET_SHARDS == 2400
    assert budget.shard_limit(WORKER_SHARE) * BUDGET_SHARDS == 3600


# ---- Tencent Cloud's TMS as the stage's check ----
@pytest.fixture
def tms(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> Iterator[FakeTmsServer]:
    server = FakeTmsServer("AKIDtest", "tms-test-secret-key").start()
    monkeypatch.setenv(config.ENV_CONTENT_CHECK, "tms")
    monkeypatch.setenv(config.ENV_TMS_BASE_URL, server.base_url)
    monkeypatch.setenv(config.ENV_TMS_SECRET_ID, "AKIDtest")
    monkeypatch.setenv(config.ENV_TMS_SECRET_KEY, "tms-test-secret-key")
    wiring.reset()
    yield server
    server.stop()


def test_a_stage_checking_with_tms_signs_its_requests_and_decides_on_the_suggestion(
    tms: FakeTmsServer, api: Api, alice: str, wechat: FakeWeChatServer
) -> None:
    wechat_checks = sum(1 for path, _ in wechat.state.calls if path == CHECK)
    assert post(api, "通过的评论").body["state"] == "visible"
    assert post(api, "需要待审的评论").body["state"] == "held"
    assert post(api, "有风险的评论").status == 422
    assert tms.state.texts == ["通过的评论", "需要待审的评论", "有风险的评论"]  # signed: none refused
    assert sum(1 for path, _ in wechat.state.calls if path == CHECK) == wechat_checks


def test_tms_busy_is_503_and_its_queue_path_works_the_same(
    tms: FakeTmsServer, api: Api, alice: str, pump: QueuePump
) -> None:
    tms.state.fail_next("RequestLimitExceeded")
    reply = post(api, "限流时的评论")
    assert reply.status == 503 and reply.headers["Retry-After"]
    assert all_comments(api) == []  # nothing stored: the client retries
    spend(INLINE_SHARE)
    assert post(api, "高峰时交给 TMS 的评论").body["state"] == "held"
    tms.state.fail_next("InvalidParameter")  # TMS will never take it: a moderator will
    assert post(api, "另一条高峰评论").body["state"] == "held"
    pump.drain()
    states = {c["text"]: c["state"] for c in all_comments(api)}
    assert sorted(states.values()) == ["held", "visible"]  # which one met the scripted error: either
    assert fresh_count(api) == 1
