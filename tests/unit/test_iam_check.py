"""The IAM checker: template roles against recorded calls, on a small hand-written template."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from infra.iam_check import CheckError, StageNames, check, function_grants, report, template_grants
from infra.metering import IamCall, iam_requests

NAMES = StageNames("us-east-1", "123456789012", (("hcp-ci-", "hcp-test-"), ("/hcp/ci/", "/hcp/test/")))
TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/hcp-test-"
BUCKET = "arn:aws:s3:::hcp-test-credentials"
PARAMETER = "arn:aws:ssm:us-east-1:123456789012:parameter/hcp/test/"
SSM_ARN = {
    "Fn::Join": [
        "",
        [
            "arn:",
            {"Ref": "AWS::Partition"},
            ":ssm:",
            {"Ref": "AWS::Region"},
            ":",
            {"Ref": "AWS::AccountId"},
            ":parameter/hcp/ci/cursor-key",
        ],
    ]
}


def _statement(actions: list[str], resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resource, **extra}


def _template() -> dict[str, Any]:
    """What the framework and serverless-iam-roles-per-function package, cut to one function."""
    statements = [
        _statement(["logs:CreateLogStream"], {"Fn::Sub": "arn:${AWS::Partition}:logs:*"}),
        _statement(["dynamodb:GetItem"], {"Fn::GetAtt": ["UsersTable", "Arn"]}),
        _statement(["dynamodb:PutItem", "dynamodb:UpdateItem"], {"Fn::GetAtt": ["CommentsTable", "Arn"]}),
        _statement(["dynamodb:Query"], {"Fn::Sub": "${CommentsTable.Arn}/index/by_author"}),
        _statement(
            ["s3:ListBucket"],
            {"Fn::GetAtt": ["CredentialsBucket", "Arn"]},
            Condition={"StringLike": {"s3:prefix": ["uploads/*"]}},
        ),
        _statement(
            ["s3:DeleteObject"],
            {"Fn::Join": ["", [{"Fn::GetAtt": ["CredentialsBucket", "Arn"]}, "/uploads/*"]]},
        ),
        _statement(["sns:Publish"], {"Ref": "ReviewerTopic"}),
        _statement(["ssm:GetParameter"], SSM_ARN),
    ]
    return {
        "Resources": {
            "UsersTable": {"Type": "AWS::DynamoDB::Table", "Properties": {"TableName": "hcp-ci-users"}},
            "CommentsTable": {"Type": "AWS::DynamoDB::Table", "Properties": {"TableName": "hcp-ci-comments"}},
            "CredentialsBucket": {
                "Type": "AWS::S3::Bucket",
                "Properties": {"BucketName": "hcp-ci-credentials"},
            },
            "ReviewerTopic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "hcp-ci-reviewers"}},
            "CommentPostLambdaFunction": {
                "Type": "AWS::Lambda::Function",
                "Properties": {"Role": {"Fn::GetAtt": ["CommentPostIamRoleLambdaExecution", "Arn"]}},
            },
            "CommentPostIamRoleLambdaExecution": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "Policies": [{"PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}]
                },
            },
        }
    }


def _calls(operation: str, params: dict[str, Any], service: str = "dynamodb") -> list[IamCall]:
    return [
        IamCall("commentPost", service, operation, action, resource, context)
        for action, resource, context in iam_requests(service, operation, params, "us-east-1", "123456789012")
    ]


TRANSACTION = _calls(
    "TransactWriteItems",
    {
        "TransactItems": [
            {"Put": {"TableName": "hcp-test-comments", "Item": {}}},
            {"Update": {"TableName": "hcp-test-comments", "Key": {}}},
        ]
    },
)
JOURNEY = [
    *_calls("GetItem", {"TableName": "hcp-test-users", "Key": {}}),
    *TRANSACTION,
    *_calls("Query", {"TableName": "hcp-test-comments", "IndexName": "by_author"}),
    *_calls("ListObjectsV2", {"Bucket": "hcp-test-credentials", "Prefix": "uploads/u1/"}, "s3"),
    *_calls(
        "DeleteObjects",
        {"Bucket": "hcp-test-credentials", "Delete": {"Objects": [{"Key": "uploads/u1/a.jpg"}]}},
        "s3",
    ),
    *_calls("Publish", {"TopicArn": "arn:aws:sns:us-east-1:123456789012:hcp-test-reviewers"}, "sns"),
    *_calls("GetParameter", {"Name": "/hcp/test/cursor-key", "WithDecryption": True}, "ssm"),
]


def _without(template: dict[str, Any], index: int) -> dict[str, Any]:
    dropped = copy.deepcopy(template)
    role = dropped["Resources"]["CommentPostIamRoleLambdaExecution"]["Properties"]
    del role["Policies"][0]["PolicyDocument"]["Statement"][index]
    return dropped


def test_a_transaction_needs_the_action_of_each_item_kind_not_transactwriteitems() -> None:
    assert [(c.action, c.resource) for c in TRANSACTION] == [
        ("dynamodb:PutItem", f"{TABLE}comments"),
        ("dynamodb:UpdateItem", f"{TABLE}comments"),
    ]


def test_every_call_of_the_journey_is_granted_and_every_grant_used() -> None:
    findings = check(JOURNEY, template_grants(_template(), ["commentPost"], NAMES))
    assert findings.denied == []
    assert findings.unused == []  # the logs statement is the framework's, not a recorded service


@pytest.mark.parametrize("index", range(1, 8))
def test_dropping_a_statement_a_call_needs_fails_naming_function_action_and_resource(index: int) -> None:
    grants = template_grants(_without(_template(), index), ["commentPost"], NAMES)
    findings = check(JOURNEY, grants)
    assert findings.denied, f"statement {index} dropped, yet every call passed"
    text = report(findings)
    for call in findings.denied:
        assert f"commentPost: {call.action} on {call.resource}" in text


def test_the_transaction_is_refused_when_only_one_of_its_item_actions_is_missing() -> None:
    template = _template()
    statements = template["Resources"]["CommentPostIamRoleLambdaExecution"]["Properties"]["Policies"][0]
    statements["PolicyDocument"]["Statement"][2]["Action"] = ["dynamodb:PutItem"]
    findings = check(TRANSACTION, template_grants(template, ["commentPost"], NAMES))
    assert [(c.action, c.resource, c.operation) for c in findings.denied] == [
        ("dynamodb:UpdateItem", f"{TABLE}comments", "TransactWriteItems")
    ]


def test_a_grant_no_call_uses_is_listed_as_unused() -> None:
    findings = check(JOURNEY[:1], template_grants(_template(), ["commentPost"], NAMES))
    assert findings.denied == []
    assert ("dynamodb:UpdateItem", f"{TABLE}comments") in {(g.action, g.resource) for g in findings.unused}
    assert all(g.service != "logs" for g in findings.unused)


def test_the_s3_prefix_condition_and_the_key_wildcard_are_evaluated() -> None:
    grants = template_grants(_template(), ["commentPost"], NAMES)
    elsewhere = [
        *_calls("ListObjectsV2", {"Bucket": "hcp-test-credentials", "Prefix": "credentials/u1/"}, "s3"),
        *_calls("ListObjectsV2", {"Bucket": "hcp-test-credentials"}, "s3"),
        *_calls("DeleteObject", {"Bucket": "hcp-test-credentials", "Key": "credentials/u1/0.jpg"}, "s3"),
    ]
    assert [(c.action, c.resource) for c in check(elsewhere, grants).denied] == [
        ("s3:ListBucket", BUCKET),
        ("s3:ListBucket", BUCKET),
        ("s3:DeleteObject", f"{BUCKET}/credentials/u1/0.jpg"),
    ]


def test_another_parameter_or_index_or_stage_is_not_granted() -> None:
    grants = template_grants(_template(), ["commentPost"], NAMES)
    others = [
        *_calls("GetParameter", {"Name": "/hcp/test/wechat-secret"}, "ssm"),
        *_calls("Query", {"TableName": "hcp-test-comments"}),
        *_calls("GetItem", {"TableName": "hcp-ci-users", "Key": {}}),
    ]
    assert [(c.action, c.resource) for c in check(others, grants).denied] == [
        ("ssm:GetParameter", f"{PARAMETER}wechat-secret"),
        ("dynamodb:Query", f"{TABLE}comments"),
        ("dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:123456789012:table/hcp-ci-users"),
    ]


def test_a_deny_overrides_an_allow_and_calls_outside_any_function_are_not_checked() -> None:
    template = _template()
    role = template["Resources"]["CommentPostIamRoleLambdaExecution"]["Properties"]
    role["Policies"][0]["PolicyDocument"]["Statement"].append(
        {"Effect": "Deny", "Action": "dynamodb:*", "Resource": {"Fn::GetAtt": ["UsersTable", "Arn"]}}
    )
    outside = IamCall(None, "dynamodb", "DeleteTable", "dynamodb:DeleteTable", f"{TABLE}users")
    findings = check([*JOURNEY[:1], outside], template_grants(template, ["commentPost"], NAMES))
    assert [c.action for c in findings.denied] == ["dynamodb:GetItem"]


def test_what_the_checker_cannot_evaluate_is_an_error_not_a_pass() -> None:
    template = _template()
    statements = template["Resources"]["CommentPostIamRoleLambdaExecution"]["Properties"]["Policies"][0]
    statements["PolicyDocument"]["Statement"][4]["Condition"] = {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}
    with pytest.raises(CheckError, match="IpAddress"):
        function_grants(template, "commentPost", NAMES)
    with pytest.raises(CheckError, match="NoSuchFunction"):
        function_grants(_template(), "noSuchFunction", NAMES)
