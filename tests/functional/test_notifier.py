"""The notifier never loses a notification: a failing channel leaves it pending for the retry."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends

from functions import notifier as notifier_fn
from infra.fake_robot import FakeRobot
from shared import config, wiring
from shared.services.notifier import MAX_ATTEMPTS
from shared.store.verification import NotificationItem, SubmissionItem
from tests.functional.conftest import Api
from tests.functional.consent_helpers import consented
from tests.functional.verification_helpers import FIELDS, add_reviewer, submit, upload


@pytest.fixture
def robot() -> Iterator[FakeRobot]:
    server = FakeRobot()
    yield server
    server.stop()


def _topic(monkeypatch: pytest.MonkeyPatch, cfg: config.Config) -> str:
    arn = boto3.client("sns", region_name=cfg.region).create_topic(Name=f"{cfg.table_prefix}reviewers")[
        "TopicArn"
    ]
    monkeypatch.setenv("REVIEWER_TOPIC_ARN", arn)
    wiring.reset()
    return str(arn)


def _sent(arn: str) -> list[Any]:
    topic = sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].topics.get(arn)
    return list(topic.sent_notifications) if topic else []


def _later(monkeypatch: pytest.MonkeyPatch, seconds: int) -> None:
    """Move the notifier's clock forward, past the backoff."""
    from datetime import timedelta

    import shared.wiring as wiring_module

    real = wiring_module.utcnow
    monkeypatch.setattr(wiring_module, "utcnow", lambda: real() + timedelta(seconds=seconds))
    wiring.reset()


def test_sns_failing_keeps_the_submission_and_the_retry_delivers_once(
    api: Api, aws: config.Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    arn = _topic(monkeypatch, aws)
    first = add_reviewer("甲", email="a@example.com")
    second = add_reviewer("乙", email="b@example.com")
    boto3.client("sns", region_name=aws.region).delete_topic(TopicArn=arn)  # SNS now fails
    consented(api)
    reply = submit(api, [upload(api)])
    assert reply.status == 201
    sid = reply.body["submission_id"]
    assert SubmissionItem.get(sid).status == "pending"
    item = NotificationItem.get(sid)
    assert item.pending == "1" and item.attempts == 1 and "sns:" in (item.last_error or "")
    # not due yet: the backoff holds it
    assert notifier_fn.retry()["tried"] == 0
    boto3.client("sns", region_name=aws.region).create_topic(Name=arn.rsplit(":", 1)[1])  # recovered
    _later(monkeypatch, 120)
    # the outbox lines went out at once; only the two SNS messages were owed
    assert notifier_fn.retry() == {"tried": 1, "delivered": 1, "sent": 2}
    sent = _sent(arn)
    assert sorted(m[3]["reviewer_id"]["Value"] for m in sent) == sorted([first, second])
    assert all(FIELDS["real_name"] not in m[1] and f"/review/{sid}?t=" in m[1] for m in sent)
    item = NotificationItem.get(sid)
    assert item.pending is None and item.outcome == "delivered"
    _later(monkeypatch, 3600)
    assert notifier_fn.retry()["tried"] == 0
    assert len(_sent(arn)) == 2  # exactly once per reviewer


def test_a_webhook_answering_500_is_retried_and_signed_dingtalk_style(
    api: Api, aws: config.Config, monkeypatch: pytest.MonkeyPatch, robot: FakeRobot
) -> None:
    boto3.client("ssm", region_name=aws.region).put_parameter(
        Name="/hcp/test/reviewer-webhook/robot", Value="SECret", Type="SecureString"
    )
    add_reviewer("甲", webhook=robot.url, webhook_secret_param="/hcp/test/reviewer-webhook/robot")
    robot.statuses = [500]
    consented(api)
    sid = submit(api, [upload(api)]).body["submission_id"]
    assert SubmissionItem.get(sid).status == "pending"
    assert NotificationItem.get(sid).last_error == "webhook:http_500"
    _later(monkeypatch, 120)
    assert notifier_fn.retry()["delivered"] == 1
    assert [p["status"] for p in robot.posts] == [500, 200]
    post = robot.posts[-1]
    assert post["body"]["msgtype"] == "text" and f"/review/{sid}?t=" in post["body"]["text"]["content"]
    assert FIELDS["real_name"] not in post["body"]["text"]["content"]
    query = parse_qs(urlsplit(post["path"]).query)
    assert query["access_token"] == ["robot"]
    # DingTalk's rule, computed here independently: base64(HMAC-SHA256(secret, "ts\nsecret"))
    ts = query["timestamp"][0]
    digest = hmac.new(b"SECret", f"{ts}\nSECret".encode(), hashlib.sha256).digest()
    assert query["sign"] == [base64.b64encode(digest).decode()]  # parse_qs undid the URL quoting
    _later(monkeypatch, 7200)
    assert notifier_fn.retry()["tried"] == 0 and len(robot.posts) == 2


def test_a_notification_is_given_up_after_the_attempt_limit(
    api: Api, aws: config.Config, monkeypatch: pytest.MonkeyPatch, robot: FakeRobot
) -> None:
    add_reviewer("甲", webhook=robot.url)
    robot.statuses = [503] * (MAX_ATTEMPTS + 5)
    consented(api)
    sid = submit(api, [upload(api)]).body["submission_id"]
    for step in range(1, MAX_ATTEMPTS + 2):
        _later(monkeypatch, step * 7 * 3600)
        notifier_fn.retry()
    item = NotificationItem.get(sid)
    assert item.outcome == "gave_up" and item.attempts == MAX_ATTEMPTS and item.pending is None
    assert len(robot.posts) == MAX_ATTEMPTS


def test_with_no_reviewer_the_notification_waits(
    api: Api, monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    consented(api)
    sid = submit(api, [upload(api)]).body["submission_id"]
    assert NotificationItem.get(sid).last_error == "no_active_reviewer"
    add_reviewer("迟到的审核员")
    _later(monkeypatch, 120)
    assert notifier_fn.retry()["delivered"] == 1


def test_the_reviewers_ops_command(
    aws: config.Config, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from infra.ops import reviewers as ops

    arn = _topic(monkeypatch, aws)
    assert ops.main(["add", "--name", "王审核", "--email", "wang@example.com"]) == 0
    rid = capsys.readouterr().out.split()[1]
    sns = boto3.client("sns", region_name=aws.region)
    (sub,) = sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
    policy = sns.get_subscription_attributes(SubscriptionArn=sub["SubscriptionArn"])["Attributes"][
        "FilterPolicy"
    ]
    assert json.loads(policy) == {"reviewer_id": [rid]}  # each reviewer gets only their own links
    assert ops.main(["add", "--name", "x", "--email", "not-an-email"]) == 2
    assert ops.main(["add", "--name", "x", "--webhook", "ftp://robot"]) == 2
    assert ops.main(["list"]) == 0
    assert rid in capsys.readouterr().out
    assert ops.main(["deactivate", rid]) == 0
    assert sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"] == []
    assert wiring.services().reviewers.active() == []
    assert ops.main(["deactivate", "nobody"]) == 1
