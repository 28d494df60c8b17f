"""`python -m infra.ops capacity`: provisioned concurrency on the read paths' alias, warm tables.

moto serves DynamoDB; it has no provisioned concurrency, so Lambda's side is botocore's Stubber,
which holds each request to the service's own model.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from infra.ops import capacity
from shared import config

STAGE = "prod"


@pytest.fixture
def lambda_(aws: config.Config) -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("lambda", region_name=aws.region)
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def _table(dynamodb: Any, name: str, **extra: Any) -> None:
    dynamodb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "article_id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "article_id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
        **extra,
    )


def test_the_provisionable_functions_are_the_read_paths_of_a_push() -> None:
    assert capacity.provisionable() == ["articleDetail", "articlesList", "commentsList", "me"]


def test_provision_holds_warm_containers_on_the_alias_and_zero_lets_them_go(lambda_: Any) -> None:
    client, stub = lambda_
    name = "hcp-prod-articleDetail"
    stub.add_response(
        "put_provisioned_concurrency_config",
        {"RequestedProvisionedConcurrentExecutions": 500, "Status": "IN_PROGRESS"},
        {"FunctionName": name, "Qualifier": "provisioned", "ProvisionedConcurrentExecutions": 500},
    )
    stub.add_response(
        "delete_provisioned_concurrency_config", {}, {"FunctionName": name, "Qualifier": "provisioned"}
    )
    assert capacity.provision(client, STAGE, "articleDetail", 500).startswith(f"{name}: 500 asked, 0 ready")
    assert "no provisioned concurrency" in capacity.provision(client, STAGE, "articleDetail", 0)


def test_a_function_without_the_alias_is_told_to_set_the_stage_setting_first(lambda_: Any) -> None:
    client, stub = lambda_
    stub.add_client_error(
        "put_provisioned_concurrency_config", "ResourceNotFoundException", http_status_code=404
    )
    with pytest.raises(SystemExit, match=r"set provisionedConcurrency.commentsList above 0 .* and deploy"):
        capacity.provision(client, STAGE, "commentsList", 10)


@pytest.mark.parametrize(("function", "count"), [("commentPost", 5), ("articleDetail", -1)])
def test_only_the_read_paths_and_counts_of_zero_or_more(lambda_: Any, function: str, count: int) -> None:
    with pytest.raises(SystemExit):
        capacity.provision(lambda_[0], STAGE, function, count)


def test_warm_raises_a_tables_warm_throughput(aws: config.Config) -> None:
    dynamodb = boto3.client("dynamodb", region_name=aws.region)
    _table(dynamodb, "hcp-prod-articles")
    said = capacity.warm(dynamodb, STAGE, "articles", 30_000, 6_000)
    assert said == "hcp-prod-articles: warming to 30,000 reads and 6,000 writes a second"
    warmth = dynamodb.describe_table(TableName="hcp-prod-articles")["Table"]["WarmThroughput"]
    assert (warmth["ReadUnitsPerSecond"], warmth["WriteUnitsPerSecond"]) == (30_000, 6_000)
    with pytest.raises(SystemExit):
        capacity.warm(dynamodb, STAGE, "no_such_table", 1, 1)


def test_the_usage_for_anything_else(capsys: pytest.CaptureFixture[str]) -> None:
    assert capacity.main(["provision", STAGE, "me", "many"]) == 2
    assert "capacity provision STAGE FUNCTION COUNT" in capsys.readouterr().err


def test_status_says_what_each_read_path_holds_and_how_warm_each_table_is(
    aws: config.Config, lambda_: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, stub = lambda_
    for function in capacity.provisionable():
        name = f"hcp-prod-{function}"
        if function == "articleDetail":
            ready = {
                "RequestedProvisionedConcurrentExecutions": 500,
                "AllocatedProvisionedConcurrentExecutions": 120,
                "Status": "IN_PROGRESS",
            }
            expected = {"FunctionName": name, "Qualifier": "provisioned"}
            stub.add_response("get_provisioned_concurrency_config", ready, expected)
        else:
            stub.add_client_error("get_provisioned_concurrency_config", "ResourceNotFoundException")
    dynamodb = boto3.client("dynamodb", region_name=aws.region)
    _table(
        dynamodb,
        "hcp-prod-comments",
        WarmThroughput={"ReadUnitsPerSecond": 20_000, "WriteUnitsPerSecond": 8_000},
    )
    monkeypatch.setattr(capacity, "tables", lambda: ["comments"])
    lines = capacity.status(client, dynamodb, STAGE)
    assert lines[0] == "hcp-prod-articleDetail: 120 of 500 ready (IN_PROGRESS)"
    assert lines[1:4] == [f"hcp-prod-{f}: none" for f in ("articlesList", "commentsList", "me")]
    assert lines[4].startswith("hcp-prod-comments: warm for 20,000 reads and 8,000 writes a second")
