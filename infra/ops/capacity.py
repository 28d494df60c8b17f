"""`python -m infra.ops capacity ...`: capacity ahead of a planned push (README "Capacity").

    capacity status STAGE                     each read path's provisioned concurrency, each table's
                                              warm throughput
    capacity provision STAGE FUNCTION COUNT   hold COUNT warm containers of FUNCTION now (0: none),
                                              until a deploy changing the function puts back the setting
    capacity warm STAGE TABLE READS WRITES    raise a table's warm throughput (units a second) ahead
                                              of a launch; DynamoDB never lowers it

Provisioned concurrency lives on the alias `provisioned`, which a deploy makes for a function whose
stage setting `provisionedConcurrency.<function>` is above 0 (the routes then call the alias): set
it above 0 for the functions a push will hit, deploy, then move the count with `provision` as the
event comes and goes (0 keeps the alias and stops the billing). Each count moves in minutes, so
raise it before the push is sent. The region is the environment's (AWS_REGION).
"""

from __future__ import annotations

import sys
from typing import Any

from infra.routes import load_serverless

SERVICE = "hcp"
ALIAS = "provisioned"
USAGE = __doc__ or ""


def function_name(stage: str, function: str) -> str:
    return f"{SERVICE}-{stage}-{function}"


def table_name(stage: str, table: str) -> str:
    return f"{SERVICE}-{stage}-{table}"


def provisionable(document: dict[str, Any] | None = None) -> list[str]:
    """The functions the stage settings may provision (serverless.yml's default stage lists them)."""
    document = document or load_serverless()
    return sorted(document["custom"]["stages"]["default"]["provisionedConcurrency"])


def tables(document: dict[str, Any] | None = None) -> list[str]:
    """The stage's tables by their short names (`users`, `articles`...)."""
    document = document or load_serverless()
    prefix = "${self:custom.prefix}"
    return sorted(
        str(spec["Properties"]["TableName"]).removeprefix(prefix)
        for spec in document["resources"]["Resources"].values()
        if spec.get("Type") == "AWS::DynamoDB::Table"
    )


def provision(lambda_: Any, stage: str, function: str, count: int) -> str:
    if function not in provisionable():
        raise SystemExit(f"{function!r} is none of {', '.join(provisionable())}")
    if count < 0:
        raise SystemExit("the count is 0 or more")
    name = function_name(stage, function)
    try:
        if count == 0:
            lambda_.delete_provisioned_concurrency_config(FunctionName=name, Qualifier=ALIAS)
            return f"{name}: no provisioned concurrency (the alias stays until a deploy with 0 removes it)"
        found = lambda_.put_provisioned_concurrency_config(
            FunctionName=name, Qualifier=ALIAS, ProvisionedConcurrentExecutions=count
        )
    except lambda_.exceptions.ResourceNotFoundException as exc:
        if count == 0:
            return f"{name}: none held"
        raise SystemExit(
            f"{name} has no alias {ALIAS!r}: set provisionedConcurrency.{function} above 0 in the "
            f"stage's settings (serverless.yml) and deploy first"
        ) from exc
    return (
        f"{name}: {count} asked, {found.get('AllocatedProvisionedConcurrentExecutions', 0)} ready "
        f"({found.get('Status', '?')}; `capacity status {stage}` follows it)"
    )


def warm(dynamodb: Any, stage: str, table: str, reads: int, writes: int) -> str:
    if table not in tables():
        raise SystemExit(f"{table!r} is none of {', '.join(tables())}")
    if reads <= 0 or writes <= 0:
        raise SystemExit("reads and writes are units a second, above 0")
    name = table_name(stage, table)
    dynamodb.update_table(
        TableName=name, WarmThroughput={"ReadUnitsPerSecond": reads, "WriteUnitsPerSecond": writes}
    )
    return f"{name}: warming to {reads:,} reads and {writes:,} writes a second"


def status(lambda_: Any, dynamodb: Any, stage: str) -> list[str]:
    lines = []
    for function in provisionable():
        name = function_name(stage, function)
        try:
            found = lambda_.get_provisioned_concurrency_config(FunctionName=name, Qualifier=ALIAS)
        except (
            lambda_.exceptions.ResourceNotFoundException,
            lambda_.exceptions.ProvisionedConcurrencyConfigNotFoundException,
        ):
            lines.append(f"{name}: none")
            continue
        lines.append(
            f"{name}: {found.get('AllocatedProvisionedConcurrentExecutions', 0)} of "
            f"{found.get('RequestedProvisionedConcurrentExecutions', 0)} ready ({found.get('Status', '?')})"
        )
    for table in tables():
        name = table_name(stage, table)
        described = dynamodb.describe_table(TableName=name)["Table"]
        warmth = described.get("WarmThroughput") or {}
        reads, writes = (_units(warmth.get(f"{kind}UnitsPerSecond")) for kind in ("Read", "Write"))
        state = warmth.get("Status", "?")
        lines.append(f"{name}: warm for {reads} reads and {writes} writes a second ({state})")
    return lines


def _units(value: object) -> str:
    return f"{value:,}" if isinstance(value, int) else "?"


def _clients() -> tuple[Any, Any]:
    import boto3

    return boto3.client("lambda"), boto3.client("dynamodb")


def main(argv: list[str]) -> int:
    command, args = (argv[0], argv[1:]) if argv else ("", [])
    try:
        if command == "status" and len(args) == 1:
            print("\n".join(status(*_clients(), args[0])))
            return 0
        if command == "provision" and len(args) == 3:
            print(provision(_clients()[0], args[0], args[1], int(args[2])))
            return 0
        if command == "warm" and len(args) == 4:
            print(warm(_clients()[1], args[0], args[1], int(args[2]), int(args[3])))
            return 0
    except ValueError:
        pass  # a count that is not a number: the usage says what is
    print(USAGE, file=sys.stderr)
    return 2
