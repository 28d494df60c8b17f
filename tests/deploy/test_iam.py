"""Every AWS call the journeys make is granted to the function that makes it, and every grant is used.

moto ignores IAM, so a missing grant would show only after a deploy. Here the journeys run
in-process against moto: the bench's happy path through every endpoint (`infra.bench.journey`),
then the paths it does not take (`tests.deploy.iam_journeys`: a submission that fails half-way,
an Idempotency-Key replay, an owed notification the scheduled retry delivers, reviewer links
batched within a window and the SLA reminders two days later, an upload left by a
deleted account, a revoked WeChat token, a reply, a held comment, a comment deleted twice, a
second page of articles, a withdrawal after a new version, answers whose key is reused, an account
deleted with its used keys, the users table's stream recounted for the funnel, comments past the
content check's inline share held, queued and checked by the paced worker (WeChat, then TMS); the bench's path
covers the console, a member signing in and out). Every botocore call is recorded as the IAM
action and resource it needs (`infra.metering.recording`), each request served in its own
function's container with that function's environment from the packaged template, and the calls
are checked against the roles of that template (`infra.iam_check`), the one `make package` built
for this session. `pytest -s` prints the grants no call used.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from infra import resources
from infra.fake_robot import FakeRobot
from infra.fake_tms import FakeTmsServer
from infra.fake_wechat import FakeWeChatServer
from infra.iam_check import (
    RECORDED_SERVICES,
    Findings,
    Grant,
    StageNames,
    check,
    logical_function_id,
    report,
    template_grants,
)
from infra.metering import MOTO_ACCOUNT, IamCall, recording
from infra.ops import secrets as ops_secrets
from infra.routes import load_serverless
from shared import config
from shared.adapters import secrets
from tests.deploy import iam_journeys as j
from tests.deploy.conftest import STAGE, Packaged

FUNCTIONS = sorted(load_serverless().get("functions") or {})
REGION = "us-east-1"

# Grants no journey uses, each justified by a comment beside it in serverless.yml, as
# (function, action, the end of the resource ARN). The journeys above drive every path a grant
# serves, failure branches included; what is left is the framework's own stream statement.
JUSTIFIED_UNUSED: set[tuple[str, str, str]] = {
    ("funnelCount", "dynamodb:ListStreams", "/stream/*"),  # the event source mapping knows the stream
    # the shared WeChat token is refreshed by whichever function finds it expired; the journeys'
    # console decision finds it fresh (the link's decision, reviewDecision, refreshes it)
    ("consoleVerifications", "dynamodb:UpdateItem", "-wechat_tokens"),
    # the on-failure destination (infra/serverless/ops.js): Lambda itself sends there with the
    # function's role what failed after its retries, never the function's code
    ("funnelCount", "sqs:SendMessage", ":hcp-test-failures"),
    ("notifierRetry", "sqs:SendMessage", ":hcp-test-failures"),
    ("reviewReminders", "sqs:SendMessage", ":hcp-test-failures"),
}


@dataclass
class Recorded:
    calls: list[IamCall]
    served: list[str]  # the functions that served a request
    names: StageNames


@pytest.fixture(scope="module")
def recorded(packaged: Packaged, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recorded]:
    from moto import mock_aws

    names = j.stage_names(STAGE, REGION, MOTO_ACCOUNT)
    wechat = FakeWeChatServer(j.APPID, j.WECHAT_SECRET).start()
    tms = FakeTmsServer(j.TMS_SECRET_ID, j.TMS_SECRET_KEY).start()
    robot = FakeRobot()
    patch = pytest.MonkeyPatch()
    mock = mock_aws()
    mock.start()
    try:
        outbox = tmp_path_factory.mktemp("iam") / "outbox.jsonl"
        base = {
            config.ENV_STAGE: j.STAGE,
            config.ENV_REGION: REGION,
            config.ENV_WECHAT_APPID: j.APPID,
            config.ENV_WECHAT_BASE_URL: wechat.base_url,
            config.ENV_PUBLIC_BASE_URL: "http://127.0.0.1:9",
            config.ENV_OUTBOX_PATH: str(outbox),
            config.ENV_CONSENT_CACHE_SECONDS: "300",
        }
        plain = (
            config.ENV_REVIEW_LINK_KEY,
            config.ENV_CONSOLE_KEY,
            config.ENV_CURSOR_KEY,
            config.ENV_RECEIPT_KEY,
        )
        for key in (config.ENV_WECHAT_SECRET, *plain, config.ENV_ENDPOINT):
            patch.delenv(key, raising=False)  # secrets come from SSM, as in a deployed stage
        with recording() as recorder:
            containers = j.Containers(packaged.template, FUNCTIONS, names, recorder)
            for key, value in {**base, **containers.operator_environment()}.items():
                patch.setenv(key, value)
            j.cold_start()
            resources.ensure(config.current())
            put_parameters()
            journey = j.ContainerJourney(containers)
            journey.run()
            j.owed_notification(journey, robot)
            j.batched_then_reminded(journey)
            j.left_after_uploading(journey)
            j.comments_off_the_happy_path(journey, wechat)
            j.comments_paced(journey, wechat, tms)
            j.withdrawn_after_a_new_version(journey, outbox.parent)
            j.keyed_answers_then_gone(journey)
            j.funnel_counted(journey)
            j.console_work(journey)
        yield Recorded(recorder.calls, containers.functions, names)
    finally:
        patch.undo()
        mock.stop()
        robot.stop()
        wechat.stop()
        tms.stop()
        j.cold_start()
        secrets._clients.clear()  # its SSM client pointed at this run's moto


def put_parameters() -> None:
    """The stage's secrets, as `README.md` tells operators to put them: the WeChat secret by hand,
    the keys by `python -m infra.ops secrets ensure` (which `make deploy` runs)."""
    ssm = j.resource_client("ssm")
    ssm.put_parameter(Name=f"{j.PARAMETERS}/wechat-secret", Value=j.WECHAT_SECRET, Type="SecureString")
    ssm.put_parameter(Name=f"{j.PARAMETERS}/wechat-appid", Value=j.APPID, Type="String")
    tms_key = f"{j.TMS_SECRET_ID}:{j.TMS_SECRET_KEY}"
    ssm.put_parameter(Name=f"{j.PARAMETERS}/tms-credentials", Value=tms_key, Type="SecureString")
    assert ops_secrets.ensure(ssm, j.STAGE) == (list(ops_secrets.KEYS), [])


@pytest.fixture(scope="module")
def findings(packaged: Packaged, recorded: Recorded) -> Findings:
    return check(recorded.calls, template_grants(packaged.template, FUNCTIONS, recorded.names))


def test_every_function_serves_a_request_of_the_journeys(recorded: Recorded) -> None:
    assert sorted(set(recorded.served)) == FUNCTIONS


def test_every_call_is_granted_to_the_function_that_makes_it(findings: Findings) -> None:
    assert findings.denied == [], report(findings)


def _justified(grant: Grant) -> bool:
    return any(
        grant.function == function and grant.action == action and grant.resource.endswith(suffix)
        for function, action, suffix in JUSTIFIED_UNUSED
    )


def test_every_grant_is_used_or_justified(findings: Findings) -> None:
    print(report(findings))
    unjustified = [g.describe() for g in findings.unused if not _justified(g)]
    assert unjustified == [], report(findings)


def test_every_statement_is_needed_dropping_one_denies_a_call(packaged: Packaged, recorded: Recorded) -> None:
    """The check fails when a grant a recorded call needs is removed: each data statement of each
    role, dropped in turn from the packaged template, leaves a call of that function denied."""
    missed = []
    for function in FUNCTIONS:
        calls = [c for c in recorded.calls if c.function == function]
        role_id = packaged.resources[logical_function_id(function)]["Properties"]["Role"]["Fn::GetAtt"][0]
        for policy_index, policy in enumerate(packaged.resources[role_id]["Properties"]["Policies"]):
            for index, statement in enumerate(policy["PolicyDocument"]["Statement"]):
                actions = (
                    statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                )
                if not any(a.split(":")[0] in RECORDED_SERVICES for a in actions):
                    continue  # the framework's CloudWatch Logs statements
                if statement.get("Resource") == {"Fn::GetAtt": ["OpsFailuresQueue", "Arn"]}:
                    continue  # Lambda's on-failure destination: Lambda sends there, not the code
                template = copy.deepcopy(packaged.template)
                role = template["Resources"][role_id]["Properties"]
                del role["Policies"][policy_index]["PolicyDocument"]["Statement"][index]
                if not check(calls, template_grants(template, [function], recorded.names)).denied:
                    missed.append((function, statement))
    assert missed == []
