"""Staff in DynamoDB: uniqueness by conditional writes in one transaction, the ops commands, the
reviewers' migration, and reviewers' links and notifications going to staff with the role."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pytest

from infra.ops import staff as ops
from shared import config, wiring
from shared.store.audit import AuditItem as StaffAuditItem
from shared.store.staff import HandleItem, StaffItem
from shared.store.verification import REVIEWER_POOL, ReviewerItem
from tests.functional.conftest import Api
from tests.functional.consent_helpers import consented
from tests.functional.verification_helpers import (
    add_reviewer,
    link_path,
    outbox,
    reviewer_links,
    submit,
    upload,
)


def _topic(monkeypatch: pytest.MonkeyPatch, cfg: config.Config) -> str:
    arn = boto3.client("sns", region_name=cfg.region).create_topic(Name=f"{cfg.table_prefix}reviewers")
    monkeypatch.setenv("REVIEWER_TOPIC_ARN", arn["TopicArn"])
    wiring.reset()
    return str(arn["TopicArn"])


def _counts() -> tuple[int, int, int]:
    members = sum(1 for _ in StaffItem.query("member"))
    handles = sum(1 for _ in HandleItem.query("handle"))
    return members, handles, StaffAuditItem.count()


def test_uniqueness_holds_by_the_write_itself_and_a_refused_add_leaves_nothing(
    aws: config.Config, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    arn = _topic(monkeypatch, aws)
    assert ops.main(["add", "--name", "王审核", "--email", "Wang@Example.com", "--role", "reviewer"]) == 0
    wang = capsys.readouterr().out.split()[1]
    assert _counts() == (1, 3, 1)  # the member, its id, name and e-mail handles, one audit line
    for argv, said in (
        (["--name", "王审核", "--email", "other@example.com"], "name is another staff member's"),
        (["--name", "李编辑", "--email", "wang@example.COM"], "e-mail is another staff member's"),
        (["--name", wang.lower(), "--email", "li@example.com"], "name is another staff member's"),
    ):
        assert ops.main(["add", *argv, "--role", "editor"]) == 2
        assert said in capsys.readouterr().err
        assert _counts() == (1, 3, 1)
    sns = boto3.client("sns", region_name=aws.region)
    (subscription,) = sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]  # the refused went
    policy = sns.get_subscription_attributes(SubscriptionArn=subscription["SubscriptionArn"])["Attributes"]
    assert json.loads(policy["FilterPolicy"]) == {"reviewer_id": [wang]}  # their own messages alone
    # the audit line names ids and codes only
    (line,) = StaffAuditItem.scan()
    assert (line.action, line.actor, line.staff_id, line.role) == ("staff_add", "ops", wang, "reviewer")
    assert "Wang" not in json.dumps(line.attribute_values, default=str)


def test_the_ops_commands_explain_themselves(capsys: pytest.CaptureFixture[str], aws: config.Config) -> None:
    assert ops.main(["add", "--name", "x", "--email", "not-an-email", "--role", "admin"]) == 2
    assert "--email: email is not valid." in capsys.readouterr().err
    assert ops.main(["add", "--name", "李", "--role", "moderator", "--webhook", "ftp://robot"]) == 2
    assert "--webhook: webhook must be an https:// URL." in capsys.readouterr().err
    assert ops.main(["add", "--name", "李", "--email", "li@example.com", "--role", "moderator"]) == 0
    assert ops.main(["add", "--name", "赵", "--email", "zhao@example.com", "--role", "editor"]) == 0
    capsys.readouterr()
    assert ops.main(["list", "--role", "editor"]) == 0
    listed = capsys.readouterr().out
    assert "赵" in listed and "李" not in listed and "zhao@" not in listed  # channels, not addresses
    assert ops.main(["deactivate", "nobody"]) == 1
    assert ops.main(["link", "nobody"]) == 1


def test_the_reviewers_alias_adds_reviewers(capsys: pytest.CaptureFixture[str], aws: config.Config) -> None:
    from infra.ops import reviewers as alias

    assert alias.main(["add", "--name", "王审核", "--email", "wang@example.com"]) == 0
    assert "staff" in capsys.readouterr().err
    assert [m.role for m in ops.listing()] == ["reviewer"]
    assert alias.main(["frobnicate"]) == 2


def _old_reviewer(reviewer_id: str, name: str, **fields: object) -> None:
    ReviewerItem(
        REVIEWER_POOL, reviewer_id, name=name, created_at=datetime(2026, 10, 1, tzinfo=UTC), **fields
    ).save()


def test_reviewers_become_staff_with_their_channels_once_and_their_links_keep_working(
    api: Api, env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    _old_reviewer(
        "01JOLDREVIEWER0000000000A",
        "王审核",
        email="wang@example.com",
        subscription_arn="arn:aws:sns:us-east-1:123456789012:hcp-test-reviewers:1",
    )
    _old_reviewer("01JOLDREVIEWER0000000000B", "值班群", webhook="http://127.0.0.1:9/robot")
    _old_reviewer("01JOLDREVIEWER0000000000C", "已离职", email="gone@example.com", active=False)
    ops.add("王审核", "admin", "admin@example.com")  # a name the migration must not take
    assert ops.main(["migrate-reviewers"]) == 0
    said = capsys.readouterr().out
    assert "01JOLDREVIEWER0000000000A: added (renamed)" in said and "3 reviewer(s)" in said
    members = {m.staff_id: m for m in ops.listing("reviewer")}
    wang = members["01JOLDREVIEWER0000000000A"]
    assert (wang.name, wang.email, wang.subscription_arn) == (
        "王审核 (00000A)",
        "wang@example.com",
        "arn:aws:sns:us-east-1:123456789012:hcp-test-reviewers:1",
    )
    assert members["01JOLDREVIEWER0000000000B"].webhook == "http://127.0.0.1:9/robot"
    assert members["01JOLDREVIEWER0000000000C"].active is False
    assert ops.main(["migrate-reviewers"]) == 0  # idempotent
    assert capsys.readouterr().out.count(": kept") == 3
    # new submissions go to the migrated active reviewers, whose links open
    consented(api)
    reply = submit(api, [upload(api)])
    sid = reply.body["submission_id"]
    informed = sorted(e["reviewer_id"] for e in outbox(env["OUTBOX_PATH"]) if e.get("submission_id") == sid)
    assert informed == ["01JOLDREVIEWER0000000000A", "01JOLDREVIEWER0000000000B"]
    assert api.get(link_path(reviewer_links(env["OUTBOX_PATH"], sid)[0]), token="").status == 200


def test_links_go_to_reviewers_alone_and_die_with_their_member(api: Api, env: dict[str, str]) -> None:
    reviewer = add_reviewer("王审核")
    for role in ("moderator", "editor", "admin"):
        ops.add(f"{role}成员", role, f"{role}@example.com")
    consented(api)
    sid = submit(api, [upload(api)]).body["submission_id"]
    (link,) = reviewer_links(env["OUTBOX_PATH"], sid)
    assert [e["reviewer_id"] for e in outbox(env["OUTBOX_PATH"]) if e.get("submission_id")] == [reviewer]
    assert api.get(link_path(link), token="").status == 200
    ops.deactivate(reviewer)
    refused = api.get(link_path(link), token="")
    assert refused.status == 403 and "停用" in refused.text
