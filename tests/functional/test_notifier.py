"""The notifier never loses a notification: a failing channel leaves it pending for the retry."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends

from functions import notifier as notifier_fn
from infra.fake_robot import FakeRobot
from infra.ops import staff as staff_ops
from shared import config, wiring
from shared.services.notifier import MAX_ATTEMPTS
from shared.store.verification import MessageWindowItem, NotificationItem, SubmissionItem, window_key
from tests.functional.conftest import Api
from tests.functional.consent_helpers import consented
from tests.functional.verification_helpers import FIELDS, add_reviewer, outbox, reviewer_links, submit, upload


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


def _batched(monkeypatch: pytest.MonkeyPatch, seconds: int = 60) -> None:
    monkeypatch.setenv(config.ENV_REVIEWER_BATCH_SECONDS, str(seconds))
    wiring.reset()


def test_batched_links_reach_each_reviewer_once_in_one_message_a_window(
    api: Api, aws: config.Config, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    arn = _topic(monkeypatch, aws)
    _batched(monkeypatch)
    mailed = add_reviewer("甲", email="a@example.com")
    local = add_reviewer("乙")  # the outbox alone
    ids = []
    for name in ("u1", "u2", "u3", "u4"):
        consented(api, name)
        reply = submit(api, [upload(api)])
        assert reply.status == 201, reply.body
        ids.append(reply.body["submission_id"])
    # the first went at once; the others wait for the reviewers' windows
    assert [NotificationItem.get(sid).pending for sid in ids] == [None, "1", "1", "1"]
    assert len(_sent(arn)) == 1
    assert notifier_fn.retry()["tried"] == 0  # not due before the window ends
    _later(monkeypatch, 61)
    # three submissions, each to 甲 (outbox and e-mail) and 乙 (outbox)
    assert notifier_fn.retry() == {"tried": 3, "delivered": 3, "sent": 9}
    mails = [m for m in _sent(arn) if m[3]["reviewer_id"]["Value"] == mailed]
    assert len(mails) == 2  # one message a window
    linked = [sid for m in mails for sid in re.findall(r"/review/(\w+)\?t=", m[1])]
    assert sorted(linked) == sorted(ids)  # every link once
    assert all(FIELDS["real_name"] not in m[1] for m in mails)
    entries = [e for e in outbox(env["OUTBOX_PATH"]) if e.get("reviewer_id") == local]
    assert [e.get("submission_ids", [e.get("submission_id")]) for e in entries] == [ids[:1], ids[1:]]
    assert all(len(reviewer_links(env["OUTBOX_PATH"], sid)) == 2 for sid in ids)  # once per reviewer
    item = MessageWindowItem.get(window_key(mailed))
    assert item.sent_at is not None and item.reminded_at is None
    _later(monkeypatch, 3600)
    assert notifier_fn.retry()["tried"] == 0 and len(_sent(arn)) == 2


def test_a_batch_leaves_out_a_submission_decided_or_withdrawn_meanwhile(
    api: Api, aws: config.Config, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _batched(monkeypatch)
    add_reviewer("甲")
    consented(api, "first")
    assert submit(api, [upload(api)]).status == 201
    consented(api, "second")
    withdrawn = submit(api, [upload(api)]).body["submission_id"]
    assert api.post("/v1/verification/withdraw").status == 200
    _later(monkeypatch, 61)
    notifier_fn.retry()
    assert reviewer_links(env["OUTBOX_PATH"], withdrawn) == []
    assert NotificationItem.get(withdrawn).outcome == "moot"


def test_reminders_past_the_sla_name_no_one_and_come_once_an_hour(
    api: Api, aws: config.Config, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.functional.console_helpers import member

    reviewer = add_reviewer("甲")
    robot_less = add_reviewer("乙")
    admin = member("admin")
    moderator = member("moderator")
    inactive = add_reviewer("丙")
    staff_ops.deactivate(inactive)
    user_id = consented(api, "late")
    assert submit(api, [upload(api)]).status == 201
    assert notifier_fn.remind() == {
        "overdue": 0,
        "oldest_hours": None,
        "reminded": 0,
        "waiting": 0,
        "unreached": 0,
        "failed": 0,
    }

    def reminders() -> list[dict[str, Any]]:
        return [e for e in outbox(env["OUTBOX_PATH"]) if e.get("kind") == "reminder"]

    _later(monkeypatch, 25 * 3600)
    assert notifier_fn.remind()["reminded"] == 2
    assert sorted(e["staff_id"] for e in reminders()) == sorted([reviewer, robot_less])
    for entry in reminders():
        assert entry["channel"] == "staff" and entry["link"] == f"{aws.public_base_url}/console/verifications"
        assert "1份" in entry["text"] and "超过24小时" in entry["text"]
        assert user_id not in json.dumps(entry) and FIELDS["real_name"] not in entry["text"]
    _later(monkeypatch, 45 * 60)
    assert notifier_fn.remind()["waiting"] == 2 and len(reminders()) == 2  # within the hour
    _later(monkeypatch, 23 * 3600)  # 48 h 45 min: past twice the SLA
    assert notifier_fn.remind()["reminded"] == 3
    assert sorted(e["staff_id"] for e in reminders()[2:]) == sorted([reviewer, robot_less, admin])
    assert moderator not in {e["staff_id"] for e in reminders()} and inactive not in {
        e["staff_id"] for e in reminders()
    }


def test_a_reminder_costs_a_query_when_nothing_is_overdue(aws: config.Config, env: dict[str, str]) -> None:
    from infra.metering import metered

    wiring.services().reminders  # noqa: B018  built, as a warm container has it
    with metered() as meter:
        notifier_fn.remind()
    assert meter.calls == ["Query"]


def test_each_reminder_run_logs_the_oldest_overdue_age_as_the_sla_alarms_metric(
    api: Api, env: dict[str, str], monkeypatch: pytest.MonkeyPatch, log_lines: list[str]
) -> None:
    from infra.routes import load_serverless

    alarm = load_serverless()["resources"]["Resources"]["VerificationSlaAlarm"]["Properties"]
    consented(api, "slow")
    assert submit(api, [upload(api)]).status == 201

    def metric() -> tuple[str, float]:
        line = json.loads(next(line for line in reversed(log_lines) if "review reminders" in line))
        (spec,) = line["_aws"]["CloudWatchMetrics"]
        (name,) = [m["Name"] for m in spec["Metrics"]]
        assert name == alarm["MetricName"]
        assert spec["Namespace"] == alarm["Namespace"].replace(
            "${self:custom.prefix}", config.current().table_prefix
        )
        return name, float(line[name])

    notifier_fn.remind()
    assert metric()[1] == 0  # nothing overdue
    _later(monkeypatch, 30 * 3600)
    notifier_fn.remind()
    assert metric()[1] >= 30  # hours: the alarm compares it with reviewSlaHours
