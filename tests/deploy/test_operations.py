"""Running it: the packaged template's domain, alarms, access log, throttling, reserved concurrency,
failure destinations and deletion protection, and its size.

Stage `ci` sets every optional stage setting (serverless.yml), so each is seen built here. Where a
property depends on a stage setting through a condition, the template is evaluated as
CloudFormation would with the parameters' defaults (`_resolve`), and once more with another value
where the setting may switch the property off.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from infra.routes import load_serverless
from tests.deploy.conftest import STAGE, Packaged

RESOURCE_LIMIT = 500  # CloudFormation's, per stack
RESOURCE_BUDGET = 400  # ours: room for the console and alarms to grow
SERVERLESS = load_serverless()
STAGE_SETTINGS = SERVERLESS["custom"]["stages"][STAGE]
FUNCTIONS = sorted(SERVERLESS["functions"])
ASYNC_EVENTS = {"schedule", "sns", "s3", "eventBridge", "cloudwatchEvent", "cloudwatchLog"}
EXPENSIVE_ROUTES = {"POST /v1/verification": "verificationSubmit", "DELETE /v1/me": "accountDelete"}
# Tables that hold no user's data worth keeping past the stack: a cache and what expires in a day.
UNPROTECTED_TABLES = {
    "WechatTokensTable": "the WeChat access token, refreshed every two hours",
    "CommentGuardsTable": "rate windows, expiring (TTL)",
    "IdempotencyTable": "used Idempotency-Keys, expiring after 24 hours (TTL)",
    "StaffSignInTable": "one-time sign-in links and their rate windows, expiring (TTL)",
}
# In an access log line: what says who called, or a path or query that may carry a token.
ACCESS_LOG_FORBIDDEN = ("$context.path", "$context.identity", "querystring", "$context.authorizer")


def _logical(function_name: str) -> str:
    return function_name[0].upper() + function_name[1:] + "LambdaFunction"


def _conditions(template: dict[str, Any], parameters: dict[str, str]) -> dict[str, bool]:
    def truth(expr: Any) -> Any:
        if isinstance(expr, dict):
            ((fn, args),) = expr.items()
            if fn == "Fn::Equals":
                return str(value(args[0])) == str(value(args[1]))
            if fn == "Fn::Not":
                return not truth(args[0])
            if fn == "Fn::Or":
                return any(truth(a) for a in args)
            if fn == "Fn::And":
                return all(truth(a) for a in args)
            if fn == "Condition":
                return truth(template["Conditions"][args])
        raise AssertionError(f"cannot evaluate condition {expr!r}")

    def value(expr: Any) -> Any:
        if isinstance(expr, dict) and "Ref" in expr:
            return parameters[expr["Ref"]]
        return expr

    return {name: truth(expr) for name, expr in template["Conditions"].items()}


def _resolve(template: dict[str, Any], value: Any, **overrides: str) -> Any:
    """`value` as CloudFormation would see it with the parameters' defaults (and `overrides`):
    parameter Refs, Fn::If and Fn::Sub of parameters resolved; the rest (GetAtt, resource Refs)
    left as written. AWS::NoValue comes back as None."""
    parameters = {name: str(p.get("Default", "")) for name, p in template.get("Parameters", {}).items()}
    parameters.update(overrides)
    conditions = _conditions(template, parameters)

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {"Ref"} and node["Ref"] in parameters:
                return parameters[node["Ref"]]
            if set(node) == {"Ref"} and node["Ref"] == "AWS::NoValue":
                return None
            if set(node) == {"Fn::If"}:
                name, yes, no = node["Fn::If"]
                return walk(yes if conditions[name] else no)
            if set(node) == {"Fn::Sub"} and isinstance(node["Fn::Sub"], str):
                text = re.sub(r"\$\{(\w+)\}", lambda m: parameters.get(m[1], m[0]), node["Fn::Sub"])
                return text if "${" not in text else {"Fn::Sub": text}
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(value)


def _alarms(packaged: Packaged) -> dict[str, dict[str, Any]]:
    return {name: spec["Properties"] for name, spec in packaged.of_type("AWS::CloudWatch::Alarm").items()}


def _metrics(alarm: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(namespace, metric name, dimensions) of every metric an alarm reads."""
    if "MetricName" in alarm:
        dims = {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}
        return [(alarm["Namespace"], alarm["MetricName"], dims)]
    found = []
    for query in alarm["Metrics"]:
        if "MetricStat" in query:
            metric = query["MetricStat"]["Metric"]
            dims = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
            found.append((metric["Namespace"], metric["MetricName"], dims))
    return found


def _role_statements(packaged: Packaged, function_id: str) -> list[dict[str, Any]]:
    role = packaged.resources[packaged.resources[function_id]["Properties"]["Role"]["Fn::GetAtt"][0]]
    return [s for p in role["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]


# ---- size ----


def test_the_stack_stays_well_inside_cloudformations_resource_limit(packaged: Packaged) -> None:
    count = len(packaged.resources)
    assert count <= RESOURCE_BUDGET < RESOURCE_LIMIT, (
        f"{count} resources: group related routes into one function (as the console's pages may be)"
    )


# ---- the domain ----


def test_the_api_answers_on_its_own_domain_with_a_regional_tls12_certificate(packaged: Packaged) -> None:
    template = packaged.template
    domain = packaged.resources["ApiDomain"]
    assert domain["Condition"] == "HasApiDomain"
    properties = _resolve(template, domain["Properties"])
    assert properties["DomainName"] == STAGE_SETTINGS["apiDomain"]
    (configuration,) = properties["DomainNameConfigurations"]
    assert configuration == {
        "CertificateArn": STAGE_SETTINGS["apiCertificateArn"],
        "EndpointType": "REGIONAL",
        "SecurityPolicy": "TLS_1_2",
    }
    mapping = packaged.resources["ApiDomainMapping"]
    assert mapping["Condition"] == "HasApiDomain"
    assert mapping["Properties"] == {
        "ApiId": {"Ref": "HttpApi"},
        "DomainName": {"Ref": "ApiDomain"},
        "Stage": "$default",
    }
    # with the domain the execute-api host goes, so nothing bypasses it
    disable = packaged.resources["HttpApi"]["Properties"]["DisableExecuteApiEndpoint"]
    assert _resolve(template, disable) is True
    assert _resolve(template, disable, ApiDomainName="") is False
    assert _conditions(template, {**_defaults(template), "ApiDomainName": ""})["HasApiDomain"] is False


def _defaults(template: dict[str, Any]) -> dict[str, str]:
    return {name: str(p.get("Default", "")) for name, p in template["Parameters"].items()}


@pytest.mark.parametrize("name", FUNCTIONS)
def test_every_link_a_function_makes_starts_with_the_domain(packaged: Packaged, name: str) -> None:
    base = packaged.resources[_logical(name)]["Properties"]["Environment"]["Variables"]["PUBLIC_BASE_URL"]
    assert _resolve(packaged.template, base) == f"https://{STAGE_SETTINGS['apiDomain']}"
    # without a domain, the API's own endpoint
    assert _resolve(packaged.template, base, ApiDomainName="") == {"Fn::GetAtt": ["HttpApi", "ApiEndpoint"]}


def test_the_outputs_give_the_console_reviewer_links_uploads_and_pages_for_the_domain_lists(
    packaged: Packaged,
) -> None:
    outputs = _resolve(packaged.template, packaged.template["Outputs"])
    base = f"https://{STAGE_SETTINGS['apiDomain']}"
    assert outputs["PublicBaseUrl"]["Value"] == base
    assert outputs["ConsoleUrl"]["Value"] == {"Fn::Join": ["", [base, "/console"]]}
    assert outputs["ReviewerLinkBase"]["Value"] == {"Fn::Join": ["", [base, "/review/"]]}
    assert outputs["ApiDomainTarget"]["Value"] == {"Fn::GetAtt": ["ApiDomain", "RegionalDomainName"]}
    assert outputs["PlatformPagesUrl"]["Value"] == STAGE_SETTINGS["platformPagesUrl"]
    # uploads: the bucket's regional host (what botocore signs: tests/unit/test_upload_host.py)...
    assert outputs["UploadBaseUrl"]["Value"] == {
        "Fn::Sub": "https://${CredentialsBucket}.s3.${AWS::Region}.${AWS::URLSuffix}"
    }
    # ...or the stage's own upload domain, which the upload links then name
    fronted = _resolve(packaged.template, packaged.template["Outputs"], UploadBaseUrl="https://up.example.cn")
    assert fronted["UploadBaseUrl"]["Value"] == "https://up.example.cn"
    variables = packaged.resources[_logical("verificationUploads")]["Properties"]["Environment"]["Variables"]
    assert _resolve(packaged.template, variables["UPLOAD_BASE_URL"]) is None
    assert _resolve(
        packaged.template, variables["UPLOAD_BASE_URL"], UploadBaseUrl="https://up.example.cn"
    ) == ("https://up.example.cn")


# ---- the access log and throttling ----


def _stage(packaged: Packaged) -> dict[str, Any]:
    return dict(packaged.resources["HttpApiStage"])


def test_the_api_writes_a_json_access_log_without_who_called_or_tokens(packaged: Packaged) -> None:
    settings = _stage(packaged)["Properties"]["AccessLogSettings"]
    assert settings["DestinationArn"] == {"Fn::GetAtt": ["HttpApiLogGroup", "Arn"]}
    line = json.loads(settings["Format"])  # one JSON object a request
    assert {"requestId", "route", "status", "latencyMs"} <= set(line)
    assert line["requestId"] == "$context.requestId" and line["route"] == "$context.routeKey"
    for forbidden in ACCESS_LOG_FORBIDDEN:
        assert forbidden not in settings["Format"], forbidden
    group = packaged.resources["HttpApiLogGroup"]["Properties"]
    assert group["RetentionInDays"] == STAGE_SETTINGS["logRetentionInDays"]


def test_every_route_is_throttled_and_the_expensive_ones_harder(packaged: Packaged) -> None:
    stage = _stage(packaged)
    default = stage["Properties"]["DefaultRouteSettings"]
    assert default["ThrottlingRateLimit"] == STAGE_SETTINGS["apiThrottle"]["rate"] > 0
    assert default["ThrottlingBurstLimit"] == STAGE_SETTINGS["apiThrottle"]["burst"] > 0
    routes = {s["Properties"]["RouteKey"]: n for n, s in packaged.of_type("AWS::ApiGatewayV2::Route").items()}
    settings = stage["Properties"]["RouteSettings"]
    assert set(settings) == set(EXPENSIVE_ROUTES)
    for route_key, limits in settings.items():
        assert 0 < limits["ThrottlingRateLimit"] < default["ThrottlingRateLimit"], route_key
        assert 0 < limits["ThrottlingBurstLimit"] < default["ThrottlingBurstLimit"], route_key
        assert routes[route_key] in stage["DependsOn"], f"the stage must wait for route {route_key}"


# ---- reserved concurrency ----


def test_the_expensive_functions_reserve_the_stages_concurrency_and_no_other_does(packaged: Packaged) -> None:
    template = packaged.template
    reserved = STAGE_SETTINGS["reservedConcurrency"]
    for name in FUNCTIONS:
        value = packaged.resources[_logical(name)]["Properties"].get("ReservedConcurrentExecutions")
        if name not in reserved:
            assert value is None, name
            continue
        assert int(_resolve(template, value)) == reserved[name] > 0
        parameter = value["Fn::If"][1]["Ref"]
        for none in ("0", ""):  # 0 or empty: no reservation at all (0 would stop the function)
            assert _resolve(template, value, **{parameter: none}) is None


# ---- provisioned concurrency ----


def test_provisioned_concurrency_is_the_stages_and_routes_call_its_alias(packaged: Packaged) -> None:
    """A function the stage provisions runs a published version behind the alias `provisioned`
    holding that many, and its route and invoke permission name the alias; any other function has
    no version, no alias, and its route calls it directly."""
    settings = STAGE_SETTINGS["provisionedConcurrency"]
    assert any(settings.values()), "the ci stage provisions one function, so that this is tested"
    aliases = packaged.of_type("AWS::Lambda::Alias")
    versions = packaged.of_type("AWS::Lambda::Version")
    for name in FUNCTIONS:
        logical = _logical(name)
        held = settings.get(name, 0)
        if name in settings:
            assert SERVERLESS["functions"][name]["provisionedConcurrency"] == (
                f"${{self:custom.stage.provisionedConcurrency.{name}}}"
            )
        mine = {k: v for k, v in aliases.items() if v["Properties"]["FunctionName"] == {"Ref": logical}}
        my_versions = [k for k, v in versions.items() if v["Properties"]["FunctionName"] == {"Ref": logical}]
        integration = packaged.resources.get(f"HttpApiIntegration{logical.removesuffix('LambdaFunction')}")
        if not held:
            assert not mine and not my_versions, name
            if integration is not None:
                assert integration["Properties"]["IntegrationUri"] == {"Fn::GetAtt": [logical, "Arn"]}, name
            continue
        ((alias_id, alias),) = mine.items()
        assert alias["Properties"]["Name"] == "provisioned"
        config = alias["Properties"]["ProvisionedConcurrencyConfig"]
        assert config == {"ProvisionedConcurrentExecutions": held}
        assert alias["Properties"]["FunctionVersion"] == {"Fn::GetAtt": [my_versions[0], "Version"]}
        via_alias = {"Fn::Join": [":", [{"Fn::GetAtt": [logical, "Arn"]}, "provisioned"]]}
        assert integration is not None and integration["Properties"]["IntegrationUri"] == via_alias, name
        permission = packaged.resources[f"{logical.removesuffix('LambdaFunction')}LambdaPermissionHttpApi"]
        assert permission["Properties"]["FunctionName"] == via_alias
        assert permission["DependsOn"] == alias_id


# ---- alarms ----


def test_every_alarm_tells_the_ops_topic_whose_subscribers_are_the_stages(packaged: Packaged) -> None:
    alarms = _alarms(packaged)
    assert alarms
    for name, alarm in alarms.items():
        assert alarm["AlarmActions"] == [{"Ref": "OpsTopic"}], name
        assert alarm["TreatMissingData"] == "notBreaching", name
    subscriptions = [
        {"Protocol": spec["Properties"]["Protocol"], "Endpoint": spec["Properties"]["Endpoint"]}
        for spec in packaged.of_type("AWS::SNS::Subscription").values()
        if spec["Properties"]["TopicArn"] == {"Ref": "OpsTopic"}
    ]
    assert subscriptions == STAGE_SETTINGS["opsSubscriptions"]


@pytest.mark.parametrize("name", FUNCTIONS)
def test_every_function_alarms_on_its_errors_and_throttles(packaged: Packaged, name: str) -> None:
    ref = {"Ref": _logical(name)}
    read = {
        metric
        for alarm in _alarms(packaged).values()
        for namespace, metric, dims in _metrics(alarm)
        if namespace == "AWS/Lambda" and dims == {"FunctionName": ref}
    }
    assert read >= {"Errors", "Throttles"}


def test_every_table_and_index_alarms_on_throttled_reads_and_writes(packaged: Packaged) -> None:
    watched = {
        (json.dumps(dims["TableName"]), dims.get("GlobalSecondaryIndexName"), metric)
        for alarm in _alarms(packaged).values()
        for namespace, metric, dims in _metrics(alarm)
        if namespace == "AWS/DynamoDB"
    }
    for table_id, table in packaged.of_type("AWS::DynamoDB::Table").items():
        scopes = [None, *(i["IndexName"] for i in table["Properties"].get("GlobalSecondaryIndexes") or [])]
        for scope in scopes:
            for metric in ("ReadThrottleEvents", "WriteThrottleEvents"):
                assert (json.dumps({"Ref": table_id}), scope, metric) in watched, (table_id, scope, metric)


def test_the_api_alarms_on_its_5xx_rate_and_p99_latency(packaged: Packaged) -> None:
    alarms = _alarms(packaged)
    api = {"ApiId": {"Ref": "HttpApi"}}
    rate = alarms["ApiServerErrorAlarm"]
    assert {(m, json.dumps(d)) for _, m, d in _metrics(rate)} == {
        ("5xx", json.dumps(api)),
        ("Count", json.dumps(api)),
    }
    assert rate["Threshold"] == STAGE_SETTINGS["alarms"]["serverErrorPercent"]
    (returned,) = [q for q in rate["Metrics"] if q.get("ReturnData")]
    assert "errors / requests" in returned["Expression"]
    latency = alarms["ApiLatencyAlarm"]
    assert latency["MetricName"] == "Latency" and latency["ExtendedStatistic"] == "p99"
    assert latency["Dimensions"] == [{"Name": "ApiId", "Value": {"Ref": "HttpApi"}}]
    assert latency["Threshold"] == STAGE_SETTINGS["alarms"]["latencyP99Ms"]


def test_an_overdue_reviewer_notification_alarms(packaged: Packaged) -> None:
    filters = packaged.of_type("AWS::Logs::MetricFilter")
    metric_names = set()
    for spec in filters.values():
        properties = spec["Properties"]
        assert properties["LogGroupName"] == {"Ref": "NotifierRetryLogGroup"}
        (transformation,) = properties["MetricTransformations"]
        metric_names.add((transformation["MetricNamespace"], transformation["MetricName"]))
    patterns = " ".join(spec["Properties"]["FilterPattern"] for spec in filters.values())
    assert '"reviewer notification incomplete" && $.attempt >= 6' in patterns  # pending > 30 minutes
    assert '"reviewer notification given up"' in patterns
    (namespace, metric) = metric_names.pop()
    alarm = _alarms(packaged)["NotificationOverdueAlarm"]
    assert (alarm["Namespace"], alarm["MetricName"]) == (namespace, metric)


def test_a_verification_past_the_sla_alarms_on_the_reminders_metric(packaged: Packaged) -> None:
    alarm = _alarms(packaged)["VerificationSlaAlarm"]
    assert alarm["MetricName"] == "OldestPendingVerificationAgeHours"
    assert alarm["Threshold"] == STAGE_SETTINGS.get("reviewSlaHours", 24)


def test_every_schedule_alarms_when_eventbridge_fails_to_invoke(packaged: Packaged) -> None:
    rules = packaged.of_type("AWS::Events::Rule")
    assert rules
    watched = {
        json.dumps(dims.get("RuleName"))
        for alarm in _alarms(packaged).values()
        for namespace, metric, dims in _metrics(alarm)
        if (namespace, metric) == ("AWS/Events", "FailedInvocations")
    }
    for rule_id in rules:
        assert json.dumps({"Ref": rule_id}) in watched, rule_id


# ---- failures of asynchronous work ----


@pytest.mark.parametrize(
    "name",
    [
        n
        for n in FUNCTIONS
        if any(set(e) & ASYNC_EVENTS for e in SERVERLESS["functions"][n].get("events") or [])
    ],
)
def test_every_asynchronously_invoked_function_sends_its_failures_to_the_alarmed_queue(
    packaged: Packaged, name: str
) -> None:
    queue = {"Fn::GetAtt": ["OpsFailuresQueue", "Arn"]}
    configs = [
        spec["Properties"]
        for spec in packaged.of_type("AWS::Lambda::EventInvokeConfig").values()
        if spec["Properties"]["FunctionName"] == {"Ref": _logical(name)}
    ]
    assert configs, f"{name} is invoked asynchronously: it needs an on-failure destination"
    (config,) = configs
    assert config["DestinationConfig"]["OnFailure"]["Destination"] == queue
    assert 0 <= config["MaximumRetryAttempts"] <= 2
    assert {"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": queue} in _role_statements(
        packaged, _logical(name)
    )


def test_every_stream_mapping_sends_what_it_gives_up_on_to_the_alarmed_queue(packaged: Packaged) -> None:
    queue = {"Fn::GetAtt": ["OpsFailuresQueue", "Arn"]}
    mappings = {
        name: spec
        for name, spec in packaged.of_type("AWS::Lambda::EventSourceMapping").items()
        if "StartingPosition" in spec["Properties"]  # a stream's (an SQS queue has its dead letters)
    }
    assert mappings
    for name, spec in mappings.items():
        properties = spec["Properties"]
        assert properties["DestinationConfig"] == {"OnFailure": {"Destination": queue}}, name
        function_id = properties["FunctionName"]["Fn::GetAtt"][0]
        assert {"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": queue} in _role_statements(
            packaged, function_id
        )
    alarm = _alarms(packaged)["OpsFailuresAlarm"]
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["OpsFailuresQueue", "QueueName"]}}
    ]
    assert packaged.resources["OpsFailuresQueue"]["Properties"]["SqsManagedSseEnabled"] is True


# ---- users' data outlives the stack ----


def test_every_table_of_users_data_refuses_deletion_and_is_kept(packaged: Packaged) -> None:
    tables = packaged.of_type("AWS::DynamoDB::Table")
    assert set(UNPROTECTED_TABLES) <= set(tables)
    for name, spec in tables.items():
        protected = (
            spec["Properties"].get("DeletionProtectionEnabled") is True,
            spec.get("DeletionPolicy") == "Retain",
            spec.get("UpdateReplacePolicy") == "Retain",
        )
        if name in UNPROTECTED_TABLES:
            assert protected == (False, False, False), name
            # what goes with the stack expires on its own or is a cache
            assert "TimeToLiveSpecification" in spec["Properties"] or name == "WechatTokensTable", name
        else:
            assert protected == (True, True, True), f"{name} holds users' data: protect and retain it"
