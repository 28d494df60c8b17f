"""The AWS calls a request makes, seen through botocore event hooks: `metered()` counts them on
the models' clients (and the ones passed in) for the bench; `recording()` records what each call of
every botocore client needs from IAM, for the check of the roles against the calls."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from shared.store import base


@dataclass
class Meter:
    calls: list[str] = field(default_factory=list)
    capacity: dict[str, float] = field(default_factory=dict)

    def _before(self, model: Any, **kwargs: Any) -> None:
        self.calls.append(str(model.name))

    def _after(self, http_response: Any, parsed: Any, model: Any, **kwargs: Any) -> None:
        consumed = parsed.get("ConsumedCapacity") if isinstance(parsed, dict) else None
        for item in consumed if isinstance(consumed, list) else [consumed] if consumed else []:
            table = str(item.get("TableName", "?"))
            self.capacity[table] = self.capacity.get(table, 0.0) + float(item.get("CapacityUnits", 0.0))

    @property
    def count(self) -> int:
        return len(self.calls)


def _clients(extra: list[Any]) -> list[Any]:
    seen: dict[int, Any] = {}
    for model in base.models():
        client = model._get_connection().connection.client
        seen[id(client)] = client
    for client in extra:
        seen[id(client)] = client
    return list(seen.values())


@contextmanager
def metered(*extra_clients: Any) -> Iterator[Meter]:
    """Count every call made through the models' clients (and any clients passed in)."""
    meter = Meter()
    clients = _clients(list(extra_clients))
    for client in clients:
        client.meta.events.register("before-call.*.*", meter._before, unique_id=f"meter-b-{id(meter)}")
        client.meta.events.register("after-call.*.*", meter._after, unique_id=f"meter-a-{id(meter)}")
    try:
        yield meter
    finally:
        for client in clients:
            client.meta.events.unregister("before-call.*.*", unique_id=f"meter-b-{id(meter)}")
            client.meta.events.unregister("after-call.*.*", unique_id=f"meter-a-{id(meter)}")


# ---- what each call needs from IAM, for every botocore client ----

# moto's account: the ARNs of a run in moto carry it (the checker resolves the template's
# AWS::AccountId to the same value).
MOTO_ACCOUNT = "123456789012"

# TransactWriteItems is not an IAM action: each item needs the action of its kind.
_TRANSACT_WRITE_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
# S3 operations whose IAM action has another name (the others are s3:<Operation>).
_S3_ACTIONS = {
    "HeadObject": "GetObject",
    "GetObjectAttributes": "GetObject",
    "CreateMultipartUpload": "PutObject",
    "UploadPart": "PutObject",
    "CompleteMultipartUpload": "PutObject",
    "ListObjects": "ListBucket",
    "ListObjectsV2": "ListBucket",
    "HeadBucket": "ListBucket",
}


@dataclass(frozen=True)
class IamCall:
    """One authorisation a call needs: the IAM action on one resource (a call may need several)."""

    function: str | None  # the serverless.yml function that made it; None: outside any function
    service: str  # the IAM service prefix: dynamodb, s3, sns, ssm
    operation: str  # the API operation, e.g. TransactWriteItems, or "presigned POST"
    action: str  # the IAM action, e.g. dynamodb:PutItem
    resource: str  # the resource's ARN
    context: tuple[tuple[str, str], ...] = ()  # condition keys the request carries (s3:prefix)

    def describe(self) -> str:
        keys = "".join(f" with {k}={v!r}" for k, v in self.context)
        return f"{self.function}: {self.action} on {self.resource}{keys} (by {self.operation})"


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def _table_arn(table: str, region: str, account: str) -> str:
    if table.startswith("arn:"):
        return table
    return f"arn:{partition_of(region)}:dynamodb:{region}:{account}:table/{table}"


def _dynamodb(operation: str, params: dict[str, Any], region: str, account: str) -> list[tuple[str, str]]:
    if operation == "TransactWriteItems":
        return [
            (action, _table_arn(str(item[kind]["TableName"]), region, account))
            for item in params.get("TransactItems") or []
            for kind, action in _TRANSACT_WRITE_ACTIONS.items()
            if kind in item
        ]
    if operation == "TransactGetItems":
        return [
            ("GetItem", _table_arn(str(item["Get"]["TableName"]), region, account))
            for item in params.get("TransactItems") or []
        ]
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [(operation, _table_arn(str(t), region, account)) for t in params.get("RequestItems") or {}]
    table = params.get("TableName")
    if not table:
        return [(operation, "*")]
    arn = _table_arn(str(table), region, account)
    index = params.get("IndexName")
    return [(operation, f"{arn}/index/{index}" if index else arn)]


def _s3_object(bucket: str, key: str, region: str) -> str:
    return f"arn:{partition_of(region)}:s3:::{bucket}/{key}"


def _s3(
    operation: str, params: dict[str, Any], region: str
) -> list[tuple[str, str, tuple[tuple[str, str], ...]]]:
    bucket = str(params.get("Bucket", ""))
    action = _S3_ACTIONS.get(operation, operation)
    if operation == "DeleteObjects":
        objects = (params.get("Delete") or {}).get("Objects") or []
        return [("DeleteObject", _s3_object(bucket, str(o["Key"]), region), ()) for o in objects]
    if action == "ListBucket":
        prefix = (("s3:prefix", str(params.get("Prefix", ""))),)
        return [(action, f"arn:{partition_of(region)}:s3:::{bucket}", prefix)]
    if operation == "CopyObject":
        source = params.get("CopySource")
        src = f"{source['Bucket']}/{source['Key']}" if isinstance(source, dict) else str(source).lstrip("/")
        return [
            ("PutObject", _s3_object(bucket, str(params["Key"]), region), ()),
            ("GetObject", f"arn:{partition_of(region)}:s3:::{src.split('?')[0]}", ()),
        ]
    if "Key" in params:
        return [(action, _s3_object(bucket, str(params["Key"]), region), ())]
    return [(action, f"arn:{partition_of(region)}:s3:::{bucket}" if bucket else "*", ())]


def _ssm_arn(name: str, region: str, account: str) -> str:
    if name.startswith("arn:"):
        return name
    return f"arn:{partition_of(region)}:ssm:{region}:{account}:parameter/{name.lstrip('/')}"


def iam_requests(
    service: str, operation: str, params: dict[str, Any], region: str, account: str
) -> list[tuple[str, str, tuple[tuple[str, str], ...]]]:
    """What IAM authorises for one API call: (action, resource ARN, request context keys) each."""
    if service == "dynamodb":
        return [(f"dynamodb:{a}", r, ()) for a, r in _dynamodb(operation, params, region, account)]
    if service == "s3":
        return [(f"s3:{a}", r, c) for a, r, c in _s3(operation, params, region)]
    if service == "ssm":
        names = params.get("Names") or ([params["Name"]] if "Name" in params else [])
        if "Path" in params:
            names = [params["Path"]]
        return [(f"ssm:{operation}", _ssm_arn(str(n), region, account), ()) for n in names] or [
            (f"ssm:{operation}", "*", ())
        ]
    if service == "sns":
        target = params.get("TopicArn") or params.get("TargetArn") or "*"
        return [(f"sns:{operation}", str(target), ())]
    if service == "sqs":  # the queue named by its URL (`.../<account>/<name>`) or its name
        url = str(params.get("QueueUrl") or "")
        owner, _, name = url.rstrip("/").rpartition("/")
        queue_account = owner.rpartition("/")[2] if url else account
        name = name if url else str(params.get("QueueName", "*"))
        return [(f"sqs:{operation}", f"arn:{partition_of(region)}:sqs:{region}:{queue_account}:{name}", ())]
    if service == "streams.dynamodb":  # DynamoDB Streams: IAM's dynamodb actions on the stream
        # a shard iterator starts with its stream's ARN ("<arn>|1|...")
        stream = params.get("StreamArn") or str(params.get("ShardIterator", "*")).split("|", 1)[0]
        return [(f"dynamodb:{operation}", str(stream), ())]
    return [(f"{service}:{operation}", "*", ())]


class CallRecorder:
    """Records the IAM needs of every call of every botocore client, attributed to a function.

    Presigning reaches no AWS endpoint, yet the URL or POST works only if the signing role may do
    what it signs: presigned POSTs and URLs are recorded as the action they sign.
    """

    def __init__(self, account: str = MOTO_ACCOUNT) -> None:
        self.account = account
        self.calls: list[IamCall] = []
        self.function: str | None = None
        self._paused = 0
        self._clients: dict[int, Any] = {}

    @contextmanager
    def acting_as(self, function: str | None) -> Iterator[None]:
        """Attribute the calls made inside to `function` (a serverless.yml function name)."""
        before, self.function = self.function, function
        try:
            yield
        finally:
            self.function = before

    @contextmanager
    def paused(self) -> Iterator[None]:
        self._paused += 1
        try:
            yield
        finally:
            self._paused -= 1

    def record(
        self, service: str, operation: str, params: dict[str, Any], region: str, via: str | None = None
    ) -> None:
        """Record what `operation` with `params` needs; `via` names a call that is not the operation
        itself (a presigned POST or URL)."""
        if self._paused:
            return
        for action, resource, context in iam_requests(service, operation, params, region, self.account):
            self.calls.append(IamCall(self.function, service, via or operation, action, resource, context))

    def attach(self, client: Any) -> None:
        if id(client) in self._clients:
            return
        self._clients[id(client)] = client
        service = str(client.meta.service_model.endpoint_prefix)
        region = str(client.meta.region_name)

        def before(params: dict[str, Any], model: Any, context: dict[str, Any], **kwargs: Any) -> None:
            if not context.get("is_presign_request"):  # presigning is recorded below, as what it signs
                self.record(service, str(model.name), params, region)

        client.meta.events.register("before-parameter-build", before, unique_id=f"iam-{id(self)}")
        if service == "s3":
            self._wrap_presigning(client, region)

    def _wrap_presigning(self, client: Any, region: str) -> None:
        post, url = client.generate_presigned_post, client.generate_presigned_url

        def presigned_post(Bucket: str, Key: str, *args: Any, **kwargs: Any) -> Any:
            self.record("s3", "PutObject", {"Bucket": Bucket, "Key": Key}, region, "presigned POST")
            return post(Bucket, Key, *args, **kwargs)

        def presigned_url(ClientMethod: str, Params: Any = None, *args: Any, **kwargs: Any) -> Any:
            operation = str(client.meta.method_to_api_mapping.get(ClientMethod, ClientMethod))
            self.record("s3", operation, dict(Params or {}), region, f"presigned URL of {operation}")
            return url(ClientMethod, Params, *args, **kwargs)

        client.generate_presigned_post = presigned_post
        client.generate_presigned_url = presigned_url

    def detach(self) -> None:
        for client in self._clients.values():
            client.meta.events.unregister("before-parameter-build", unique_id=f"iam-{id(self)}")
            for name in ("generate_presigned_post", "generate_presigned_url"):
                client.__dict__.pop(name, None)
        self._clients.clear()


@contextmanager
def recording(*extra_clients: Any, account: str = MOTO_ACCOUNT) -> Iterator[CallRecorder]:
    """Record the IAM needs of every call made inside: through the models' clients, the clients
    passed in, and every botocore client created meanwhile (S3, SNS, SSM, pynamodb's)."""
    import botocore.session

    from shared.adapters.storage import CredentialStorage

    recorder = CallRecorder(account)
    create_client = botocore.session.Session.create_client
    origin = CredentialStorage.origin

    def recorded_client(session: Any, *args: Any, **kwargs: Any) -> Any:
        client = create_client(session, *args, **kwargs)
        recorder.attach(client)
        return client

    def unrecorded_origin(storage: CredentialStorage) -> str:
        # It signs a throwaway key only to learn the host images come from: nothing is accessed.
        with recorder.paused():
            return origin(storage)

    for client in _clients(list(extra_clients)):
        recorder.attach(client)
    botocore.session.Session.create_client = recorded_client  # type: ignore[method-assign,assignment]
    CredentialStorage.origin = unrecorded_origin  # type: ignore[method-assign,assignment]
    try:
        yield recorder
    finally:
        botocore.session.Session.create_client = create_client  # type: ignore[method-assign]
        CredentialStorage.origin = origin  # type: ignore[method-assign]
        recorder.detach()
