"""What `make package STAGE=ci` builds: the CloudFormation template and the Lambda zip.

Parametrised over serverless.yml, infra/openapi.yaml and the pynamodb models, so every function,
route and table added later is checked without touching this file. moto cannot build the HTTP
API, TTL or Block Public Access, so those are asserted here on the template itself.
"""

from __future__ import annotations

import importlib
import importlib.util
import marshal
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pynamodb.attributes import TTLAttribute

from infra import package, resources
from infra.gateway import openapi_document
from infra.ops import secrets as ops_secrets
from infra.routes import load_serverless, routes
from tests.deploy.conftest import STAGE, Packaged

API_GATEWAY_LIMIT_SECONDS = 29
PREFIX = f"hcp-{STAGE}-"
ROUTES = routes()
MODELS = resources.load_models()
FUNCTIONS = sorted((load_serverless().get("functions") or {}).items())
HTTP_METHODS = {"get", "post", "put", "patch", "delete"}
OPENAPI_OPERATIONS = sorted(
    f"{method.upper()} {path}"
    for path, item in openapi_document()["paths"].items()
    for method in item
    if method in HTTP_METHODS
)
# Actions that touch data: never on Resource "*".
DATA_ACTION = re.compile(
    r"^(dynamodb:.*|s3:.*Object.*|s3:\*|sns:Publish|sns:\*|ssm:GetParameter.*|ssm:\*|\*)$"
)
# The consent records are append-only: no role may change or remove one.
CONSENT_FORBIDDEN = {
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:PartiQLUpdate",
    "dynamodb:PartiQLDelete",
    "dynamodb:DeleteTable",
    "dynamodb:*",
    "*",
}
NEVER_IN_ZIP = ("boto3", "botocore", "moto", "pytest", "flask", "werkzeug", "_pytest", "tests", "infra")


def _logical(function_name: str) -> str:
    """The framework's logical id of a function: authLogin -> AuthLoginLambdaFunction."""
    normalized = function_name[0].upper() + function_name[1:]
    return normalized.replace("-", "Dash").replace("_", "Underscore") + "LambdaFunction"


def _refs(value: Any) -> Iterator[str]:
    """Every logical id a CloudFormation expression refers to (Ref, GetAtt, Sub)."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                yield inner
            elif key == "Fn::GetAtt":
                yield inner[0] if isinstance(inner, list) else str(inner).split(".")[0]
            elif key == "Fn::Sub" and isinstance(inner, str):
                yield from re.findall(r"\$\{([A-Za-z0-9]+)[.}]", inner)
            else:
                yield from _refs(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _refs(inner)


def _statements(packaged: Packaged) -> Iterator[tuple[str, dict[str, Any]]]:
    for role_id, role in packaged.of_type("AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies") or []:
            for statement in policy["PolicyDocument"]["Statement"]:
                yield role_id, statement
    for policy_id, policy in packaged.of_type("AWS::IAM::Policy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            yield policy_id, statement


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _table(packaged: Packaged, logical_name: str) -> dict[str, Any]:
    for spec in packaged.of_type("AWS::DynamoDB::Table").values():
        if spec["Properties"]["TableName"] == f"{PREFIX}{logical_name}":
            return dict(spec["Properties"])
    raise AssertionError(f"no table {PREFIX}{logical_name} in the template")


# ---- the HTTP API ----


def _api_routes(packaged: Packaged) -> dict[str, dict[str, Any]]:
    return {
        spec["Properties"]["RouteKey"]: spec for spec in packaged.of_type("AWS::ApiGatewayV2::Route").values()
    }


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.route_key)
def test_every_serverless_route_is_an_http_api_route_to_its_function(packaged: Packaged, route) -> None:  # type: ignore[no-untyped-def]
    api_routes = _api_routes(packaged)
    assert route.route_key in api_routes
    integration_id = next(r for r in _refs(api_routes[route.route_key]["Properties"]["Target"]))
    integration = packaged.resources[integration_id]["Properties"]
    assert _logical(route.function) in set(_refs(integration["IntegrationUri"]))
    assert integration["PayloadFormatVersion"] == "2.0"


@pytest.mark.parametrize("operation", OPENAPI_OPERATIONS)
def test_every_documented_operation_is_an_http_api_route(packaged: Packaged, operation: str) -> None:
    assert operation in _api_routes(packaged)


def test_the_api_has_no_route_that_serverless_yml_does_not_declare(packaged: Packaged) -> None:
    assert set(_api_routes(packaged)) == {r.route_key for r in ROUTES}


# ---- functions ----


@pytest.mark.parametrize(("name", "spec"), FUNCTIONS, ids=[n for n, _ in FUNCTIONS])
def test_every_function_is_built_with_its_handler_limits_and_own_role(
    packaged: Packaged, name: str, spec: dict[str, Any]
) -> None:
    function = packaged.resources[_logical(name)]["Properties"]
    assert function["Handler"] == spec["handler"]
    assert function["Runtime"] == "python3.12"
    if any("httpApi" in event for event in spec.get("events") or []):
        assert function["Timeout"] < API_GATEWAY_LIMIT_SECONDS, f"{name}: API Gateway gives up at 29 s"
    else:  # a queue's worker waits for its next minute of budget; Lambda stops any at 15 minutes
        assert function["Timeout"] <= 900, name
    assert 128 <= function["MemorySize"] <= 3008
    role = function["Role"]["Fn::GetAtt"][0]
    users = [
        fn_id
        for fn_id, fn in packaged.of_type("AWS::Lambda::Function").items()
        if fn["Properties"]["Role"]["Fn::GetAtt"][0] == role
    ]
    assert users == [_logical(name)], f"{name} shares its role with {users}"
    log_group = packaged.resources[_logical(name).replace("LambdaFunction", "LogGroup")]["Properties"]
    assert log_group["LogGroupName"] == f"/aws/lambda/{function['FunctionName']}"
    assert log_group["RetentionInDays"] > 0


@pytest.mark.parametrize(("name", "spec"), FUNCTIONS, ids=[n for n, _ in FUNCTIONS])
def test_secrets_reach_functions_only_as_ssm_parameter_names(
    packaged: Packaged, name: str, spec: dict[str, Any]
) -> None:
    variables = packaged.resources[_logical(name)]["Properties"]["Environment"]["Variables"]
    plain = {"WECHAT_SECRET", "REVIEW_LINK_KEY", "CONSOLE_KEY", "CURSOR_KEY", "CONSENT_RECEIPT_KEY"}
    assert not plain & set(variables)
    params = {k: v for k, v in variables.items() if k.endswith("_PARAM")}
    assert {f"{name}_PARAM" for name in plain} <= set(params)
    # one parameter per purpose, each named as `python -m infra.ops secrets` makes it
    keys = {params[f"{name}_PARAM"].rpartition("/")[2] for name in plain - {"WECHAT_SECRET"}}
    assert keys == set(ops_secrets.KEYS)
    for key, value in params.items():
        assert isinstance(value, str) and value.startswith(f"/hcp/{STAGE}/"), key
    assert variables["STAGE"] == STAGE
    assert variables["TABLE_PREFIX"] == PREFIX


def test_every_scheduled_function_has_a_rule_that_targets_it(packaged: Packaged) -> None:
    scheduled = [n for n, s in FUNCTIONS if any("schedule" in e for e in s.get("events") or [])]
    targets = {
        ref
        for rule in packaged.of_type("AWS::Events::Rule").values()
        for target in rule["Properties"]["Targets"]
        for ref in _refs(target["Arn"])
    }
    for name in scheduled:
        assert _logical(name) in targets, name


def test_the_users_stream_feeds_the_funnel_count_and_reports_failed_records(packaged: Packaged) -> None:
    stream = {"Fn::GetAtt": ["UsersTable", "StreamArn"]}
    mappings = packaged.of_type("AWS::Lambda::EventSourceMapping").values()
    (mapping,) = [m for m in mappings if m["Properties"]["EventSourceArn"] == stream]
    properties = mapping["Properties"]
    assert _logical("funnelCount") in set(_refs(properties["FunctionName"]))
    assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert properties["StartingPosition"] == "TRIM_HORIZON" and properties["MaximumRetryAttempts"] > 0
    users = packaged.resources["UsersTable"]["Properties"]
    assert users["StreamSpecification"] == {"StreamViewType": "KEYS_ONLY"}  # keys: nothing personal


def test_the_content_checks_queue_feeds_its_paced_worker_and_its_dead_letters_as_the_local_stack(
    packaged: Packaged,
) -> None:
    from infra import resources

    source = {"Fn::GetAtt": ["ContentCheckQueue", "Arn"]}
    mappings = packaged.of_type("AWS::Lambda::EventSourceMapping").values()
    (mapping,) = [m["Properties"] for m in mappings if m["Properties"]["EventSourceArn"] == source]
    assert _logical("contentCheckWorker") in set(_refs(mapping["FunctionName"]))
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BatchSize"] == 10 and mapping["ScalingConfig"]["MaximumConcurrency"] >= 2
    assert "DestinationConfig" not in mapping  # SQS takes none: the queue's redrive does it
    queue = packaged.resources["ContentCheckQueue"]["Properties"]
    worker = packaged.resources[_logical("contentCheckWorker")]["Properties"]
    assert queue["VisibilityTimeout"] == resources.CHECK_VISIBILITY_SECONDS >= 6 * worker["Timeout"]
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["ContentCheckDeadLetters", "Arn"]},
        "maxReceiveCount": resources.CHECK_MAX_RECEIVES,
    }
    assert queue["SqsManagedSseEnabled"] is True
    dead = packaged.resources["ContentCheckDeadLettersAlarm"]["Properties"]
    assert dead["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["ContentCheckDeadLetters", "QueueName"]}}
    ]
    assert dead["Threshold"] == 1 and dead["AlarmActions"] == [{"Ref": "OpsTopic"}]


# ---- IAM ----


def test_no_statement_grants_data_actions_on_every_resource(packaged: Packaged) -> None:
    offending = [
        (role, statement["Action"])
        for role, statement in _statements(packaged)
        if statement["Effect"] == "Allow"
        and any(DATA_ACTION.match(a) for a in _as_list(statement["Action"]))
        and any(
            r == "*" or (isinstance(r, str) and r.endswith(":*")) for r in _as_list(statement["Resource"])
        )
    ]
    assert offending == []


def test_no_statement_uses_a_service_wide_action_wildcard(packaged: Packaged) -> None:
    wild = [
        (role, action)
        for role, statement in _statements(packaged)
        for action in _as_list(statement["Action"])
        if action == "*" or action.endswith(":*")
    ]
    assert wild == []


def test_every_iam_action_is_a_real_one(packaged: Packaged) -> None:
    # dynamodb:TransactWriteItems is not an IAM action: transactions need the item actions.
    actions = {a for _, s in _statements(packaged) for a in _as_list(s["Action"])}
    assert "dynamodb:TransactWriteItems" not in actions
    assert "dynamodb:TransactGetItems" not in actions


def test_the_consent_records_are_append_only_for_every_role(packaged: Packaged) -> None:
    consent_tables = {t for t in packaged.of_type("AWS::DynamoDB::Table") if "Consent" in t} - {
        "ConsentKeysTable"  # the keys are no proof: deleting one with its account is the point
    }
    assert consent_tables, "serverless.yml declares the consent table"
    granted = [
        (role, action)
        for role, statement in _statements(packaged)
        if statement["Effect"] == "Allow" and consent_tables & set(_refs(statement["Resource"]))
        for action in _as_list(statement["Action"])
        if action in CONSENT_FORBIDDEN
    ]
    assert granted == []


def test_the_audit_trail_is_append_only_for_every_role_and_outlives_the_stack(packaged: Packaged) -> None:
    granted = [
        (role, action)
        for role, statement in _statements(packaged)
        if statement["Effect"] == "Allow" and "ReviewAuditTable" in set(_refs(statement["Resource"]))
        for action in _as_list(statement["Action"])
    ]
    writes = {action for _, action in granted if action != "dynamodb:Query"}
    assert granted and writes == {"dynamodb:PutItem"}
    readers = {role for role, action in granted if action == "dynamodb:Query"}
    assert readers == {
        "AccountExportIamRoleLambdaExecution",  # an applicant's export reads it
        "ConsoleUsersIamRoleLambdaExecution",  # a user's mute history
        "ConsoleAdminIamRoleLambdaExecution",  # the audit page (and its index, by month)
    }
    for table in ("ReviewAuditTable", "ReviewersTable"):  # the trail; the reviewers until migrated
        assert packaged.resources[table]["DeletionPolicy"] == "Retain"
        assert packaged.resources[table]["UpdateReplacePolicy"] == "Retain"


def test_each_role_reaches_only_resources_of_this_stack_or_its_own_parameters(packaged: Packaged) -> None:
    for role, statement in _statements(packaged):
        for resource in _as_list(statement["Resource"]):
            refs = set(_refs(resource))
            text = str(resource)
            own_parameter = f":parameter/hcp/{STAGE}/" in text
            own_logs = "/aws/lambda/hcp-" in text
            assert refs - {"AWS::Partition", "AWS::Region", "AWS::AccountId"} or own_parameter or own_logs, (
                role,
                resource,
            )


# ---- tables ----


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_table_is_on_demand_recoverable_encrypted_and_expires_what_its_model_expires(
    packaged: Packaged, name: str
) -> None:
    table = _table(packaged, name)
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    if name == "consent_keys":  # backups of the consent keys reach back the stage's setting only
        days = load_serverless()["custom"]["stages"]["default"]["consentKeyRecoveryDays"]
        assert 1 <= days < 35  # shorter than every other table's
        recovery = {"PointInTimeRecoveryEnabled": True, "RecoveryPeriodInDays": days}
        assert table["PointInTimeRecoverySpecification"] == recovery
    else:  # DynamoDB's default, 35 days
        assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["SSESpecification"]["SSEEnabled"] is True
    ttl = [a.attr_name for a in MODELS[name].get_attributes().values() if isinstance(a, TTLAttribute)]
    if ttl:
        assert table.get("TimeToLiveSpecification") == {"AttributeName": ttl[0], "Enabled": True}
    else:
        assert "TimeToLiveSpecification" not in table


def _keys(schema: Any) -> dict[str, str]:
    return {k["AttributeName"]: k["KeyType"] for k in schema}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_has_its_table_with_the_same_keys_and_indexes(packaged: Packaged, name: str) -> None:
    table = _table(packaged, name)
    schema = MODELS[name]._get_schema()
    assert _keys(table["KeySchema"]) == _keys(schema["key_schema"])
    declared_types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    model_types = {a["AttributeName"]: a["AttributeType"] for a in schema["attribute_definitions"]}
    assert declared_types == model_types
    indexes = {i["IndexName"]: i for i in table.get("GlobalSecondaryIndexes") or []}
    expected = {i["index_name"]: i for i in schema["global_secondary_indexes"]}
    assert set(indexes) == set(expected)
    for index_name, index in expected.items():
        assert _keys(indexes[index_name]["KeySchema"]) == _keys(index["key_schema"]), index_name
        projection = indexes[index_name]["Projection"]
        assert projection["ProjectionType"] == index["projection"]["ProjectionType"], index_name
        assert set(projection.get("NonKeyAttributes") or []) == set(
            index["projection"].get("NonKeyAttributes") or []
        ), index_name
    assert not schema["local_secondary_indexes"] and "LocalSecondaryIndexes" not in table


def test_every_table_of_the_template_belongs_to_a_model(packaged: Packaged) -> None:
    names = {s["Properties"]["TableName"] for s in packaged.of_type("AWS::DynamoDB::Table").values()}
    assert names == {f"{PREFIX}{name}" for name in MODELS}


# ---- buckets ----


def test_every_bucket_blocks_public_access_and_is_encrypted(packaged: Packaged) -> None:
    buckets = packaged.of_type("AWS::S3::Bucket")
    assert buckets
    for name, spec in buckets.items():
        block = spec["Properties"].get("PublicAccessBlockConfiguration") or {}
        for setting in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"):
            assert block.get(setting) is True, (name, setting)
        rules = spec["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rules[0]["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms"}, name


def test_the_credentials_bucket_expires_images_and_allows_only_the_upload_post(packaged: Packaged) -> None:
    buckets = packaged.of_type("AWS::S3::Bucket")
    assert "CredentialsBucket" in buckets, "serverless.yml declares the credentials bucket"
    bucket = buckets["CredentialsBucket"]
    assert bucket.get("DeletionPolicy") == "Retain"
    rules = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
    assert all(r["Status"] == "Enabled" and r["ExpirationInDays"] > 0 for r in rules)
    assert any(r.get("Prefix") == "uploads/" for r in rules), "unsubmitted uploads must expire"
    assert any(r.get("TagFilters") for r in rules), "images of decided submissions must expire"
    cors = bucket["Properties"].get("CorsConfiguration", {}).get("CorsRules", [])
    assert [rule["AllowedMethods"] for rule in cors] in ([], [["POST"]])
    policies = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in packaged.of_type("AWS::S3::BucketPolicy").values()
        if "CredentialsBucket" in set(_refs(p["Properties"]["Bucket"]))
    ]
    assert any(
        s["Effect"] == "Deny" and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
        for statements in policies
        for s in statements
    ), "the credentials bucket refuses plain HTTP"


# ---- the zips ----


def _bundle_named(spec: dict[str, Any]) -> str:
    artifact = str((spec.get("package") or {}).get("artifact") or "core.zip")
    return artifact.rpartition("/")[2].removesuffix(".zip")


def _members(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        return archive.namelist()


def test_each_function_runs_the_zip_of_its_bundle(packaged: Packaged) -> None:
    runs = {name: packaged.bundle_of(_logical(name)) for name, _ in FUNCTIONS}
    assert runs == {name: _bundle_named(spec) for name, spec in FUNCTIONS}
    # Pillow in the one function that decodes images; cryptography where records are sealed or
    # unsealed and receipts signed (the journeys prove each function has what it imports)
    assert {name for name, bundle in runs.items() if bundle == "images"} == {"verificationSubmit"}
    assert {name for name, bundle in runs.items() if bundle == "sealing"} == {
        "consentDecide",
        "consentWithdraw",
        "consentHistory",
        "consentReceipt",
        "consentReceiptKey",
        "accountExport",
    }


@pytest.mark.parametrize("bundle", package.BUNDLES)
def test_each_zip_holds_the_code_and_its_bundles_dependencies_only(packaged: Packaged, bundle: str) -> None:
    names = _members(packaged.zip_of(bundle))
    top = {n.split("/", 1)[0] for n in names}
    for forbidden in NEVER_IN_ZIP:
        assert forbidden not in top, forbidden
        assert not any(re.match(rf"{forbidden}-[^/]*\.dist-info/", n) for n in names), forbidden
    assert {"functions", "shared"} <= top
    parts = package.partition()
    shipped = {**parts["core"], **(parts[bundle] if bundle != "core" else {})}
    for requirement, version in shipped.items():
        importable = {"python-ulid": "ulid", "pillow": "PIL"}
        assert importable.get(requirement, requirement.replace("-", "_")) in top, requirement
        # importlib.metadata finds it (python-ulid asks for its own version on import)
        assert f"{requirement.replace('-', '_')}-{version}.dist-info/METADATA" in names, requirement
    for other, modules in package.EXTRA_MODULES.items():
        if other != bundle:
            assert not set(modules) & top, (bundle, other)
    handlers = {spec["handler"].rpartition(".")[0] + ".py" for _, spec in FUNCTIONS}
    assert handlers <= set(names)


WHEEL_TAG = re.compile(
    r"^(py3-none-any|cp3\d+-(cp312|abi3)-(manylinux_2_(?P<glibc>\d+)_x86_64|manylinux2014_x86_64))$"
)


@pytest.mark.parametrize("bundle", package.BUNDLES)
def test_the_native_modules_are_for_manylinux_x86_64(packaged: Packaged, bundle: str) -> None:
    """Whatever the packaging host, every shared object is a 64-bit x86 ELF needing no newer glibc
    than Amazon Linux 2023's (2.34), and every wheel's tags say CPython 3.12 (or abi3) on it."""
    seen_native = 0
    with zipfile.ZipFile(packaged.zip_of(bundle)) as archive:
        for name in archive.namelist():
            if name.endswith("/WHEEL") and ".dist-info/" in name:
                tags = [
                    line.split(":", 1)[1].strip()
                    for line in archive.read(name).decode().splitlines()
                    if line.startswith("Tag:")
                ]
                for tag in tags:
                    found = WHEEL_TAG.match(tag)
                    assert found, (name, tag)
                    assert int(found["glibc"] or 17) <= package.GLIBC_MAX, (name, tag)
            if not re.search(r"\.so(\.[\d.]+)?$", name):
                continue
            data = archive.read(name)
            seen_native += 1
            assert data[:4] == b"\x7fELF" and data[4] == 2, name  # ELF, 64-bit
            assert int.from_bytes(data[18:20], "little") == 0x3E, name  # e_machine: x86-64
            glibc = [int(minor) for minor in re.findall(rb"GLIBC_2\.(\d+)", data)]
            assert max(glibc, default=0) <= package.GLIBC_MAX, (name, max(glibc))
            if "/" in name and ".cpython-" in name:
                assert name.endswith(".cpython-312-x86_64-linux-gnu.so"), name
    assert seen_native > 0  # msgspec and markupsafe at least


@pytest.mark.skipif(sys.version_info[:2] != (3, 12), reason="the zip's bytecode is for Python 3.12")
@pytest.mark.parametrize("bundle", package.BUNDLES)
def test_every_module_ships_bytecode_for_the_runtime(packaged: Packaged, bundle: str) -> None:
    """Hash-based, unchecked bytecode of Python 3.12 beside every module, naming /var/task paths."""
    with zipfile.ZipFile(packaged.zip_of(bundle)) as archive:
        names = set(archive.namelist())
        sources = [n for n in names if n.endswith(".py")]
        assert len(sources) > 100
        for source in sources:
            folder, _, file = source.rpartition("/")
            compiled = f"{folder}/__pycache__/{file[:-3]}.{sys.implementation.cache_tag}.pyc".lstrip("/")
            assert compiled in names, source
        for source in [n for n in sources if n.startswith(("functions/", "shared/"))]:
            folder, _, file = source.rpartition("/")
            data = archive.read(f"{folder}/__pycache__/{file[:-3]}.{sys.implementation.cache_tag}.pyc")
            assert data[:4] == importlib.util.MAGIC_NUMBER, source
            assert int.from_bytes(data[4:8], "little") == 0b01, source  # hash-based, unchecked
            code = marshal.loads(data[16:])  # noqa: S302 - our own build's bytecode
            assert code.co_filename == f"/var/task/{source}"


@pytest.mark.skipif(sys.version_info[:2] != (3, 12), reason="the zip's compiled modules are for Python 3.12")
@pytest.mark.parametrize("bundle", package.BUNDLES)
def test_every_handler_imports_from_its_zip_alone_with_what_the_runtime_provides(
    packaged: Packaged, bundle: str, tmp_path: Any
) -> None:
    unpacked = tmp_path / "task"
    with zipfile.ZipFile(packaged.zip_of(bundle)) as archive:
        archive.extractall(unpacked)
    # The Lambda runtime adds boto3, botocore and their dependencies; nothing else.
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    for module in ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3"):
        origin = Path(str(importlib.import_module(module).__file__))
        source = origin.parent if origin.name == "__init__.py" else origin
        (runtime / source.name).symlink_to(source)
    modules = sorted(
        {
            spec["handler"].rpartition(".")[0].replace("/", ".")
            for _, spec in FUNCTIONS
            if _bundle_named(spec) == bundle
        }
    )
    uses = {
        "core": "",
        "sealing": "import cryptography.hazmat.primitives.asymmetric.ec as ec, joserfc.jws\n"
        "ec.generate_private_key(ec.SECP256R1())\n",
        "images": "import PIL.Image, pillow_heif\npillow_heif.register_heif_opener()\n",
    }[bundle]
    code = (
        "import sys; sys.path[:0] = [sys.argv[1], sys.argv[2]]\n"
        "import importlib\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "from shared.domain.ids import new_id; new_id()\n"  # python-ulid reads its own metadata
        # every page template loads from the module infra.package compiled, none from its source
        "import shared.pages as pages\n"
        "for t in pages.TEMPLATES.glob('*.html'):\n"
        "    assert '/compiled_templates/' in pages._environment().get_template(t.name).filename, t.name\n"
        f"{uses}"
        "leaked = [m for m in ('flask', 'moto', 'pytest', 'yaml', 'infra') if m in sys.modules]\n"
        "assert not leaked, leaked\n"
        "print('ok')\n"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code, str(unpacked), str(runtime)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-3000:]


# ---- lint (last: it ran in the background meanwhile) ----


def test_cfn_lint_is_clean_apart_from_the_framework_findings(packaged: Packaged) -> None:
    assert packaged.lint_findings() == []
