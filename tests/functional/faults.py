"""Fault injection for the functional tier: fail exactly one AWS or WeChat call of a request.

`AwsFaults` hooks the botocore clients the models and adapters use (as `infra.metering` does,
but on each client as it is created): `before-call` numbers each logical call, `before-send`
fails every HTTP attempt of the chosen one, so the fault persists across botocore's own retries
(pynamodb retries through botocore).
Timeouts are raised as the transport errors botocore retries (`ReadTimeoutError`,
`ConnectTimeoutError`); throttling and conditional failures as the modelled `ClientError` the
service would answer, which botocore does not retry for a conditional failure and, for
throttling, would retry into the same answer. An injected call never reaches moto: the fault
models a request the service did not apply.

`WeChatFaults` wraps the WeChat client's urllib3 pool: errcode -1 through the fake's
`fail_next` (for the call and the adapter's immediate retries of it, or once), a read timeout
or an HTTP 502 answered in its place.

`stored` snapshots every table (but the content check's budget counters) and the bucket;
`normalized` masks what differs between two runs of the same request (ids, times, secrets), so a
faulted run compares with a clean one.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, partial
from typing import Any
from urllib.parse import urlsplit

from shared import config, wiring
from shared.store import base

AWS_FAULTS = ("throttle", "timeout", "conditional")
WECHAT_FAULTS = ("busy", "busy_once", "timeout", "http_5xx")
# A cache, not state: any content is valid (a lease left by a failed refresh expires by itself).
CACHE_TABLES = ("wechat_tokens",)
_THROTTLE = {"s3": ("SlowDown", 503), "sns": ("Throttling", 400), "sqs": ("RequestThrottled", 403)}


@dataclass(frozen=True)
class AwsCall:
    service: str
    operation: str
    conditional: bool
    body: bytes = field(repr=False, default=b"")

    @property
    def tables(self) -> list[str]:
        """The tables a DynamoDB call names (logical names: the stage prefix dropped)."""
        if self.service != "dynamodb":
            return []
        found = re.findall(rb'"TableName": ?"([^"]+)"', self.body)
        prefix = config.current().table_prefix
        return list(dict.fromkeys(name.decode().removeprefix(prefix) for name in found))

    def __str__(self) -> str:
        tables = ",".join(self.tables)
        return f"{self.service}.{self.operation}" + (f"({tables})" if tables else "")


def _transaction_reasons(body: bytes) -> list[dict[str, str]]:
    """CancellationReasons: the first item with a condition failed it, the others are fine."""
    items = json.loads(body or b"{}").get("TransactItems", [])
    reasons: list[dict[str, str]] = []
    failed = False
    for item in items:
        spec: dict[str, Any] = next(iter(item.values()), {})
        if not failed and "ConditionExpression" in spec:
            reasons.append({"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"})
            failed = True
        else:
            reasons.append({"Code": "None"})
    return reasons


class AwsFaults:
    """Numbers the AWS calls of every botocore client made while installed; fails call `target`.

    Installed before the wiring builds its clients (each run starts a cold container), it hooks
    each client as botocore creates it: the pynamodb models' and the S3 and SNS adapters'.
    """

    def __init__(self) -> None:
        self.calls: list[AwsCall] = []
        self.target: int | None = None
        self.fault: str | None = None
        self.attempts_failed = 0
        self._current: int | None = None
        self._original: Any = None

    def install(self) -> AwsFaults:
        import botocore.session

        original = self._original = botocore.session.Session.create_client

        def create_client(session: Any, *args: Any, **kwargs: Any) -> Any:
            client = original(session, *args, **kwargs)
            self.hook(client)
            return client

        botocore.session.Session.create_client = create_client  # type: ignore[method-assign,assignment]
        return self

    def uninstall(self) -> None:
        import botocore.session

        if self._original is not None:
            botocore.session.Session.create_client = self._original  # type: ignore[method-assign]
            self._original = None

    def hook(self, client: Any) -> None:
        events = client.meta.events
        events.register_first("before-call.*.*", self._before_call, unique_id=f"faults-c-{id(self)}")
        events.register_first(
            "before-send.*.*", partial(self._before_send, client), unique_id=f"faults-s-{id(self)}"
        )

    def arm(self, target: int | None = None, fault: str | None = None) -> None:
        """Start counting afresh; with a target, fail that call with `fault`."""
        self.calls, self.target, self.fault, self.attempts_failed = [], target, fault, 0

    def disarm(self) -> None:
        self.target = self.fault = None

    def _before_call(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        service = str(model.service_model.service_name)
        body = params.get("body") or b""
        body = body.encode() if isinstance(body, str) else bytes(body) if isinstance(body, bytes) else b""
        conditional = service == "dynamodb" and b'"ConditionExpression"' in body
        self._current = len(self.calls)
        self.calls.append(AwsCall(service, str(model.name), conditional, body))

    def _before_send(self, client: Any, request: Any, **_: Any) -> None:
        if self.fault is None or self._current is None or self._current != self.target:
            return
        self.attempts_failed += 1
        raise self._error(client, self.calls[self._current], request.url)

    def _error(self, client: Any, call: AwsCall, url: str) -> Exception:
        from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError

        index = self.target or 0
        if self.fault == "timeout":  # both kinds over the matrix: even calls read, odd calls connect
            return (
                ReadTimeoutError(endpoint_url=url)
                if index % 2 == 0
                else ConnectTimeoutError(endpoint_url=url)
            )
        extra: dict[str, Any] = {}
        if self.fault == "throttle":
            dynamodb = "ProvisionedThroughputExceededException" if index % 2 == 0 else "ThrottlingException"
            code, status = _THROTTLE.get(call.service, (dynamodb, 400))
        elif self.fault == "conditional" and call.operation == "TransactWriteItems":
            code, status = "TransactionCanceledException", 400
            extra["CancellationReasons"] = _transaction_reasons(call.body)
        elif self.fault == "conditional":
            code, status = "ConditionalCheckFailedException", 400
        else:  # pragma: no cover - a typo in a test
            raise AssertionError(f"unknown fault {self.fault}")
        response = {
            "Error": {"Code": code, "Message": "injected fault"},
            "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": {}},
            **extra,
        }
        exception_class = client.exceptions.from_code(code)
        return exception_class(response, call.operation)  # type: ignore[no-any-return]


class WeChatFaults:
    """Stands in for the WeChat client's urllib3 pool: counts the calls, fails call `target`."""

    def __init__(self, http: Any, state: Any) -> None:
        self._http = http
        self._state = state
        self.paths: list[str] = []
        self.target: int | None = None
        self.fault: str | None = None
        self.injected = 0

    def arm(self, target: int | None = None, fault: str | None = None) -> None:
        """Start counting afresh; with a target, fail that call with `fault`."""
        self.paths, self.target, self.fault, self.injected = [], target, fault, 0

    def disarm(self) -> None:
        self.target = self.fault = None

    def _hit(self, index: int, path: str) -> bool:
        if self.fault is None or self.target is None or index < self.target:
            return False
        if index == self.target:
            return True
        # The fault lasts through the adapter's immediate retries of that call ("busy_once": not).
        streak = self.paths[self.target : index + 1]
        return self.fault != "busy_once" and all(p == path for p in streak)

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        import urllib3

        path = urlsplit(url).path
        index = len(self.paths)
        self.paths.append(path)
        if self._hit(index, path):
            self.injected += 1
            if self.fault in ("busy", "busy_once"):
                self._state.fail_next(path, -1)
            elif self.fault == "timeout":
                raise urllib3.exceptions.ReadTimeoutError(None, url, "Read timed out. (injected)")  # type: ignore[arg-type]
            else:
                return urllib3.HTTPResponse(
                    body=b"<html>502 Bad Gateway</html>", status=502, preload_content=True
                )
        return self._http.request(method, url, **kwargs)


# ---- what is stored ----

Snapshot = dict[str, list[str]]


def _bytes(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return "b64:" + base64.b64encode(bytes(value)).decode()
    raise TypeError(type(value).__name__)


def _budget_counter(table: str, item: Any) -> bool:
    """The content check's budget a minute: the quota's accounting, not state anyone sees. A unit
    spent by a request that then failed is a call the quota lost, never a comment lost; which
    shard a request picked is random."""
    key = item.to_json()["Attributes"].get("key", {}).get("S", "")
    return table == "comment_guards" and str(key).startswith("content-check")


def stored(cfg: config.Config) -> Snapshot:
    """Every item of every table (but the caches) and every object of the bucket, sorted.

    Read from moto's backends, not through the API: a snapshot costs no request to count or fail.
    """
    from moto.backends import get_backend

    snapshot: Snapshot = {}
    for regions in get_backend("dynamodb").values():
        backend = regions.get(cfg.region)
        for name, table in (backend.tables if backend else {}).items():
            logical = name.removeprefix(cfg.table_prefix)
            if logical in CACHE_TABLES:
                continue
            snapshot[logical] = sorted(
                json.dumps(item.to_json()["Attributes"], sort_keys=True, ensure_ascii=False, default=_bytes)
                for item in table.all_items()
                if not _budget_counter(logical, item)
            )
    objects: list[str] = []
    s3: Any = get_backend("s3")
    for regions in s3.values():
        for backend in regions.values():
            bucket = backend.buckets.get(cfg.bucket)
            for key in bucket.keys.values() if bucket else []:
                objects.append(f"{key.name} sha256={hashlib.sha256(key.value).hexdigest()}")
    snapshot["bucket"] = sorted(objects)
    return snapshot


@dataclass(frozen=True)
class Saved:
    """The whole of moto's DynamoDB items and the bucket's objects, to start runs from."""

    tables: dict[str, Any]
    objects: list[tuple[str, bytes, str]]


def save(cfg: config.Config) -> Saved:
    import copy

    from moto.backends import get_backend

    tables: dict[str, Any] = {}
    objects: list[tuple[str, bytes, str]] = []
    for regions in get_backend("dynamodb").values():
        backend = regions.get(cfg.region)
        for name, table in (backend.tables if backend else {}).items():
            tables[name] = copy.deepcopy(table.items)
    s3: Any = get_backend("s3")
    for regions in s3.values():
        for backend in regions.values():
            bucket = backend.buckets.get(cfg.bucket)
            for key in bucket.keys.values() if bucket else []:
                objects.append((key.name, bytes(key.value), str(key.metadata.get("Content-Type", ""))))
    return Saved(tables, objects)


def restore(cfg: config.Config, saved: Saved) -> None:
    """Put every table and the bucket back as saved, forget what SNS sent, and cold-start the wiring.

    Cheaper than building the state again through the API for each of a few hundred runs.
    """
    import copy
    from collections import defaultdict

    from moto.backends import get_backend

    dynamodb: Any = get_backend("dynamodb")
    s3: Any = get_backend("s3")
    sns: Any = get_backend("sns")
    for regions in dynamodb.values():
        backend = regions.get(cfg.region)
        for name, table in (backend.tables if backend else {}).items():
            table.items = copy.deepcopy(saved.tables.get(name, defaultdict(dict)))
    for regions in s3.values():
        for backend in regions.values():
            bucket = backend.buckets.get(cfg.bucket)
            if bucket is not None:
                for key in list(bucket.keys.values()):
                    backend.delete_object(cfg.bucket, key.name)
    for regions in sns.values():
        for backend in regions.values():
            for topic in backend.topics.values():
                topic.sent_notifications.clear()
    cold_start()
    for name, data, content_type in saved.objects:
        _s3(cfg.region).put_object(Bucket=cfg.bucket, Key=name, Body=data, ContentType=content_type)


@cache
def _s3(region: str) -> Any:
    import boto3

    return boto3.client("s3", region_name=region)


def cold_start() -> None:
    """A new wiring, every cache cold as in a new container, that keeps the botocore clients.

    Creating a client costs ~25 ms (a run would spend most of its time on it) and nothing the
    tests look at depends on it; the clients were created while `AwsFaults` was installed.
    """
    connections = {model: model._connection for model in base.models()}
    built = wiring.services.cache_info().currsize > 0
    old = wiring.services() if built else None
    wiring.reset()
    app = wiring.services()
    for model, connection in connections.items():
        if connection is not None:
            model._connection = connection
    for adapter in ("storage", "sns"):
        client = getattr(old.__dict__.get(adapter), "_client", None) if old is not None else None
        if client is not None:
            getattr(app, adapter)._client = client


_VOLATILE = [
    (re.compile(r'"b64:[^"]*"'), '"<bytes>"'),
    (re.compile(r'"B": "[^"]*"'), '"B": "<bytes>"'),
    (re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:?\d{2}|Z)?"), "<time>"),
    # hashes before ids: a run of 26 digits inside a sha256 would otherwise pass for a ULID
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<uuid>"),
    (re.compile(r"(?<![0-9A-Za-z])[0-9a-f]{32,}(?![0-9A-Za-z])"), "<hex>"),
    (re.compile(r"(?<![0-9A-Za-z])[0-9A-HJKMNP-TV-Z]{26}(?![0-9A-Za-z])"), "<ulid>"),
    (re.compile(r"[0-9a-f]{16,}"), "<hex>"),
    (re.compile(r"\d{10,}(\.\d+)?"), "<num>"),
]


_COUNTER = re.compile(
    r'^\{"article_id": \{"S": "(?P<article>[^"#]+)#count#\d+"\}, "delta": \{"N": "(?P<n>-?\d+)"\}\}$'
)


def _counters_summed(items: list[str]) -> list[str]:
    """An article's count shards as one item holding their sum: which shard a post picked at
    random is not state anyone can see, the count is."""
    sums: dict[str, int] = {}
    kept = []
    for item in items:
        found = _COUNTER.match(item)
        if found is None:
            kept.append(item)
        else:
            sums[found["article"]] = sums.get(found["article"], 0) + int(found["n"])
    return kept + [json.dumps({"article_id": f"{a}#count", "sum": n}) for a, n in sorted(sums.items())]


def _stats_summed(items: list[str]) -> list[str]:
    """The answer statistics' shards as one item of sums (zeros left out): as with an article's
    count, which shard a transaction picked is not state anyone can see."""
    sums: dict[str, int] = {}
    for item in items:
        for name, value in json.loads(item).items():
            if name != "shard":
                sums[name] = sums.get(name, 0) + int(value["N"])
    kept = {name: n for name, n in sorted(sums.items()) if n}
    return [json.dumps({"sums": kept}, sort_keys=True)] if kept else []


def normalized(snapshot: Snapshot) -> Snapshot:
    """The snapshot with ids, times, hashes and epoch numbers masked (multisets per table), and
    each article's count shards (and the answer statistics' shards) summed."""
    out: Snapshot = {}
    for name, items in snapshot.items():
        masked = []
        summed = _stats_summed(items) if name == "answer_stats" else _counters_summed(items)
        for item in summed:
            text = item
            for pattern, mask in _VOLATILE:
                text = pattern.sub(mask, text)
            masked.append(text)
        out[name] = sorted(masked)
    return out


Relaxation = Callable[[str, str], str | None]


def relaxed(snapshot: Snapshot, relaxations: list[Relaxation]) -> Snapshot:
    """The snapshot with what the relaxations drop (None) or rewrite, item by item."""
    out: Snapshot = {}
    for name, items in snapshot.items():
        kept = []
        for item in items:
            current: str | None = item
            for relax in relaxations:
                current = relax(name, current) if current is not None else None
            if current is not None:
                kept.append(current)
        out[name] = sorted(kept)
    return out


def difference(left: Snapshot, right: Snapshot, limit: int = 6) -> str:
    """A short account of how two snapshots differ, for an assertion message."""
    lines = []
    for name in sorted(set(left) | set(right)):
        a, b = left.get(name, []), right.get(name, [])
        if a == b:
            continue
        only_a = [i for i in a if i not in b][:2]
        only_b = [i for i in b if i not in a][:2]
        lines.append(f"  {name}: got {len(a)} items, want {len(b)}; got only {only_a}; want only {only_b}")
    return "\n".join(lines[:limit])
