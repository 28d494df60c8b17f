"""Check the calls functions make against the roles the packaged template gives them.

moto ignores IAM, so a missing grant shows only after a deploy. The deploy tier records what
every call of the journeys needs (`infra.metering.recording`: action and resource ARN per call),
and this module reads each function's role out of the packaged CloudFormation template (the
statements serverless-iam-roles-per-function writes into the function's `AWS::IAM::Role`),
resolves its intrinsic functions to the names the test stage uses, and evaluates every call as
IAM would: an Allow whose action, resource and conditions match, and no Deny that does. It
returns the calls no grant allows and the grants no call used.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from infra.metering import IamCall

# The services the recorder sees; other grants (the framework's logs:* for CloudWatch Logs,
# which Lambda writes itself) cannot be used by a recorded call and are not listed as unused.
RECORDED_SERVICES = frozenset({"dynamodb", "s3", "sns", "ssm", "sqs"})
_STRING_OPERATORS = frozenset({"StringEquals", "StringLike", "StringNotEquals", "StringNotLike"})


class CheckError(ValueError):
    """The template holds something this checker cannot evaluate (it never guesses)."""


@dataclass(frozen=True)
class StageNames:
    """How the packaged template's names map onto the ones the recorded calls used.

    The template is packaged for one stage (`ci`) and the journeys run as another (`test`):
    `renames` turns the template's stage-specific text into the test's, e.g. table names
    `hcp-ci-users` into `hcp-test-users` and parameter paths `/hcp/ci/` into `/hcp/test/`.
    """

    region: str
    account: str
    renames: tuple[tuple[str, str], ...] = ()

    @property
    def partition(self) -> str:
        from infra.metering import partition_of

        return partition_of(self.region)

    def rename(self, text: str) -> str:
        for old, new in self.renames:
            text = text.replace(old, new)
        return text


@dataclass(frozen=True)
class Condition:
    operator: str  # StringLike
    key: str  # s3:prefix
    values: tuple[str, ...]

    def holds(self, context: Mapping[str, str]) -> bool:
        value = context.get(self.key)
        if value is None:  # an absent key fails a positive operator and passes a negated one
            return self.operator.startswith("StringNot")
        like = self.operator.endswith("Like")
        hit = any(_wildcard(v).fullmatch(value) if like else v == value for v in self.values)
        return hit != self.operator.startswith("StringNot")


@dataclass(frozen=True)
class Grant:
    """One action on one resource pattern of a function's role (a statement expanded)."""

    function: str
    effect: str
    action: str
    resource: str  # resolved ARN pattern, IAM wildcards kept
    conditions: tuple[Condition, ...] = ()

    def matches(self, call: IamCall) -> bool:
        return (
            _wildcard(self.action, ignore_case=True).fullmatch(call.action) is not None
            and _wildcard(self.resource).fullmatch(call.resource) is not None
            and all(c.holds(dict(call.context)) for c in self.conditions)
        )

    @property
    def service(self) -> str:
        return self.action.split(":", 1)[0].lower()

    def describe(self) -> str:
        when = "".join(f" if {c.operator} {c.key} in {list(c.values)}" for c in self.conditions)
        return f"{self.function}: {self.action} on {self.resource}{when}"


@dataclass
class Findings:
    denied: list[IamCall] = field(default_factory=list)  # calls no grant allows (or a Deny refuses)
    unused: list[Grant] = field(default_factory=list)  # Allow grants no recorded call used

    @property
    def ok(self) -> bool:
        return not self.denied


@cache
def _wildcard_cached(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile(body, re.IGNORECASE if ignore_case else 0)


def _wildcard(pattern: str, *, ignore_case: bool = False) -> re.Pattern[str]:
    """IAM's `*` (any run of characters, `/` included) and `?` (one character)."""
    return _wildcard_cached(pattern, ignore_case)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# ---- resolving the template's intrinsic functions ----


def _resource(template: Mapping[str, Any], logical_id: str) -> Mapping[str, Any]:
    try:
        return dict(template["Resources"][logical_id])
    except KeyError as exc:
        raise CheckError(f"the template has no resource {logical_id}") from exc


def _named(spec: Mapping[str, Any], prop: str, logical_id: str, names: StageNames) -> str:
    name = (spec.get("Properties") or {}).get(prop)
    if not isinstance(name, str):
        raise CheckError(f"{logical_id} has no literal {prop}: its physical name cannot be known")
    return names.rename(name)


def _ref(template: Mapping[str, Any], target: str, names: StageNames) -> str:
    pseudo = {
        "AWS::Partition": names.partition,
        "AWS::Region": names.region,
        "AWS::AccountId": names.account,
        "AWS::URLSuffix": "amazonaws.com.cn" if names.partition == "aws-cn" else "amazonaws.com",
    }
    if target in pseudo:
        return pseudo[target]
    spec = _resource(template, target)
    kind = spec["Type"]
    if kind == "AWS::DynamoDB::Table":
        return _named(spec, "TableName", target, names)
    if kind == "AWS::S3::Bucket":
        return _named(spec, "BucketName", target, names)
    if kind == "AWS::SNS::Topic":
        topic = _named(spec, "TopicName", target, names)
        return f"arn:{names.partition}:sns:{names.region}:{names.account}:{topic}"
    if kind == "AWS::SQS::Queue":  # a queue's URL
        queue = _named(spec, "QueueName", target, names)
        suffix = pseudo["AWS::URLSuffix"]
        return f"https://sqs.{names.region}.{suffix}/{names.account}/{queue}"
    raise CheckError(f"Ref of a {kind} ({target}) is not resolved by this checker")


def _get_att(template: Mapping[str, Any], target: str, attribute: str, names: StageNames) -> str:
    kind = _resource(template, target)["Type"]
    p, region, account = names.partition, names.region, names.account
    if kind == "AWS::DynamoDB::Table" and attribute == "Arn":
        return f"arn:{p}:dynamodb:{region}:{account}:table/{_ref(template, target, names)}"
    if kind == "AWS::DynamoDB::Table" and attribute == "StreamArn":  # its label is known once built
        return f"arn:{p}:dynamodb:{region}:{account}:table/{_ref(template, target, names)}/stream/*"
    if kind == "AWS::S3::Bucket" and attribute == "Arn":
        return f"arn:{p}:s3:::{_ref(template, target, names)}"
    if kind == "AWS::SNS::Topic" and attribute == "TopicArn":
        return _ref(template, target, names)
    if kind == "AWS::SQS::Queue" and attribute == "Arn":  # the failure destinations
        queue = _named(_resource(template, target), "QueueName", target, names)
        return f"arn:{p}:sqs:{region}:{account}:{queue}"
    raise CheckError(f"GetAtt {target}.{attribute} ({kind}) is not resolved by this checker")


def _sub(template: Mapping[str, Any], text: str, variables: Mapping[str, Any], names: StageNames) -> str:
    def one(found: re.Match[str]) -> str:
        name = found.group(1)
        if name.startswith("!"):
            return "${" + name[1:] + "}"
        if name in variables:
            return resolve(variables[name], template, names)
        if "." in name and not name.startswith("AWS::"):
            target, attribute = name.split(".", 1)
            return _get_att(template, target, attribute, names)
        return _ref(template, name, names)

    return re.sub(r"\$\{([^}]+)\}", one, names.rename(text))


def resolve(value: Any, template: Mapping[str, Any], names: StageNames) -> str:
    """A CloudFormation value (literal, Ref, Fn::GetAtt, Fn::Join, Fn::Sub) as the test stage's
    string; anything else is a CheckError."""
    if isinstance(value, str):
        return names.rename(value)
    if isinstance(value, dict) and len(value) == 1:
        [(function, argument)] = value.items()
        if function == "Ref":
            return _ref(template, str(argument), names)
        if function == "Fn::GetAtt":
            target, attribute = argument if isinstance(argument, list) else str(argument).split(".", 1)
            return _get_att(template, str(target), str(attribute), names)
        if function == "Fn::Join":
            separator, parts = argument
            return str(separator).join(resolve(part, template, names) for part in parts)
        if function == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            return _sub(template, str(text), dict(variables), names)
    raise CheckError(f"cannot resolve {value!r}")


# ---- reading each function's role ----


def logical_function_id(function: str) -> str:
    """The framework's logical id of a function: authLogin -> AuthLoginLambdaFunction."""
    normalized = function[0].upper() + function[1:]
    return normalized.replace("-", "Dash").replace("_", "Underscore") + "LambdaFunction"


def _role_statements(template: Mapping[str, Any], function: str) -> list[dict[str, Any]]:
    lambda_function = _resource(template, logical_function_id(function))
    role_ref = (lambda_function.get("Properties") or {}).get("Role")
    if not (isinstance(role_ref, dict) and "Fn::GetAtt" in role_ref):
        raise CheckError(f"{function}: its role is not a role of this template ({role_ref!r})")
    role_id = str(_as_list(role_ref["Fn::GetAtt"])[0]).split(".")[0]
    role = _resource(template, role_id).get("Properties") or {}
    if role.get("ManagedPolicyArns") or role.get("PermissionsBoundary"):
        raise CheckError(f"{function}: managed policies and boundaries of {role_id} are not evaluated")
    statements = [s for p in role.get("Policies") or [] for s in _as_list(p["PolicyDocument"]["Statement"])]
    for spec in template["Resources"].values():
        attached = (spec.get("Properties") or {}).get("Roles") or []
        if spec["Type"] == "AWS::IAM::Policy" and {"Ref": role_id} in attached:
            statements += _as_list(spec["Properties"]["PolicyDocument"]["Statement"])
    return statements


def _conditions(block: Any, function: str) -> tuple[Condition, ...]:
    found: list[Condition] = []
    for operator, tests in (block or {}).items():
        if operator not in _STRING_OPERATORS:
            raise CheckError(f"{function}: condition operator {operator} is not evaluated by this checker")
        for key, values in tests.items():
            found.append(Condition(operator, key, tuple(str(v) for v in _as_list(values))))
    return tuple(found)


def function_grants(template: Mapping[str, Any], function: str, names: StageNames) -> list[Grant]:
    """Every (action, resource) the function's role allows or denies, resolved for the test stage."""
    grants: list[Grant] = []
    for statement in _role_statements(template, function):
        unsupported = {"NotAction", "NotResource", "NotPrincipal"} & set(statement)
        if unsupported:
            raise CheckError(f"{function}: {sorted(unsupported)} are not evaluated by this checker")
        conditions = _conditions(statement.get("Condition"), function)
        for action in _as_list(statement["Action"]):
            for resource in _as_list(statement["Resource"]):
                grants.append(
                    Grant(
                        function,
                        str(statement["Effect"]),
                        str(action),
                        resolve(resource, template, names),
                        conditions,
                    )
                )
    return grants


def template_grants(
    template: Mapping[str, Any], functions: Iterable[str], names: StageNames
) -> dict[str, list[Grant]]:
    return {function: function_grants(template, function, names) for function in functions}


# ---- the check ----


def check(
    calls: Iterable[IamCall],
    grants: Mapping[str, list[Grant]],
    services: frozenset[str] = RECORDED_SERVICES,
) -> Findings:
    """Evaluate every call made inside a function against that function's grants.

    Calls made outside any function (the test setting the scene) are not checked. A call of a
    function the template does not have is denied. Unused: the Allow grants of the recorded
    services that no call of their function matched.
    """
    findings = Findings()
    used: set[Grant] = set()
    seen: set[IamCall] = set()
    for call in calls:
        if call.function is None or call in seen:
            continue
        seen.add(call)
        own = grants.get(call.function, [])
        allowing = [g for g in own if g.effect == "Allow" and g.matches(call)]
        denying = [g for g in own if g.effect == "Deny" and g.matches(call)]
        used.update(allowing)
        if denying or not allowing:
            findings.denied.append(call)
    findings.unused = list(
        dict.fromkeys(
            grant
            for own in grants.values()
            for grant in own
            if grant.effect == "Allow" and grant.service in services and grant not in used
        )
    )
    return findings


def report(findings: Findings) -> str:
    lines = [f"calls the role does not grant ({len(findings.denied)}):"]
    lines += [f"  {call.describe()}" for call in findings.denied]
    lines.append(f"grants no recorded call used ({len(findings.unused)}):")
    lines += [f"  {grant.describe()}" for grant in findings.unused]
    return "\n".join(lines)
