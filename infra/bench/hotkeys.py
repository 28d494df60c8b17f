"""The hot-key report: per DynamoDB partition key, the read and write units a second the launch-day
load mix puts on it, against DynamoDB's per-partition limits, and the content check against its
quota, computed from the real code paths.

Each request type of the mix is served once in-process against moto, warm (as a container serves
it after its first request), and every DynamoDB call is recorded with its table or index, the
partition key value it lands on and its units (by `infra.bench.capacity`'s rules). Key values are
then made general: the caller's user id becomes `<user>` (the mix spreads over `USERS` users, so
such a key gets the request's rate divided by them), the hot article's id `<hot>` (all of its
share lands there), another article's id `<article>` (its share spread over `OTHER_ARTICLES`).
What is left, constant keys such as a feed index's, takes the whole rate.

The assumptions are stated here and printed: the mix, the number of users, how the detail reads
that miss the hot article spread, and the limits.
"""

from __future__ import annotations

import ast
import hashlib
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from infra.bench.capacity import READ_UNIT_BYTES, CapacityMeter, _attrs, _units, hooked, item_size
from shared.config import DEFAULT_CHECKS_PER_MINUTE
from shared.domain.articles import COUNT_SHARDS
from shared.domain.content_check import (
    BUDGET_SHARDS,
    INLINE_SHARE,
    WORKER_SHARE,
)

# DynamoDB's throughput per partition (a single key value can never be spread wider).
PARTITION_RCU = 3000
PARTITION_WCU = 1000
TARGET_SHARE = 0.5  # no key above half of its limit at the full mix
# WeChat's msgSecCheck: about 4,000 calls a minute per app (../shared/docs/wechat.md).
CONTENT_CHECK_PER_MINUTE = DEFAULT_CHECKS_PER_MINUTE  # the stage default (shared/config.py)
BURST_SECONDS = 600
# The content check's pacing (shared/domain/content_check.py): posts check inline up to the
# inline share a minute, the paced worker up to its share (the same counters); a second.
INLINE_PER_SECOND = CONTENT_CHECK_PER_MINUTE * INLINE_SHARE / 60
WORKER_PER_SECOND = CONTENT_CHECK_PER_MINUTE * WORKER_SHARE / 60
POSTS_PER_SECOND = 1_000
# Of the posts at the mix, the share checked inline (the rest is held and queued).
INLINE_FRACTION = min(1.0, INLINE_PER_SECOND / POSTS_PER_SECOND)
# The worker during a burst: what the posts leave of its share (after the burst: all of it).
WORKER_BURST_PER_SECOND = min(POSTS_PER_SECOND * (1 - INLINE_FRACTION), WORKER_PER_SECOND - INLINE_PER_SECOND)

USERS = 1_000_000
# A request's time in its function, for the containers a rate keeps busy (concurrency = rate x
# duration): each container refreshes its caches on its own.
REQUEST_SECONDS = 0.05
HOT_SHARE = 0.8  # of the detail reads, on the hot article
OTHER_ARTICLES = 100  # the rest of the detail reads spread evenly over this many articles


@dataclass(frozen=True)
class Load:
    name: str
    per_second: float
    note: str = ""


# The launch-day mix, per second.
MIX = (
    Load("detail", 20_000, f"{HOT_SHARE:.0%} on the hot article, the rest over {OTHER_ARTICLES} others"),
    Load("feed", 2_000, "the first page of the feed"),
    Load("comment_page", 5_000, "the first page of the hot article's comments"),
    Load(
        "comment_post",
        POSTS_PER_SECOND,
        f"on the hot article; {INLINE_FRACTION:.0%} checked inline, the rest held and queued",
    ),
    Load("report", 50, "reports of the hot article's comments"),
    Load("verification_submit", 100, "two images each"),
    Load("me", 2_000, "GET /v1/me"),
    # not a request: the paced content check's worker, at what the burst leaves of its share
    Load("check_worker", WORKER_BURST_PER_SECOND, "the paced content check (SQS), during the burst"),
)


@dataclass
class KeyUse:
    target: str  # a table, or table/index
    key: str  # the partition key value
    read: float = 0.0
    write: float = 0.0
    weight: float = 1.0  # the share of the type's requests that make this use
    period: float | None = None  # made once a period per container (a cache refresh), not per request


@dataclass
class Profile:
    """What one request of a type puts on each key, with key values made general."""

    name: str
    uses: list[KeyUse] = field(default_factory=list)
    content_checks: float = 0.0  # content-check calls a request makes (weighted over its paths)
    missing: str = ""  # why the request type could not be measured (not built yet)


class KeyMeter(CapacityMeter):
    """CapacityMeter that also says which partition key each unit lands on."""

    def __init__(self, region: str) -> None:
        super().__init__(region)
        self.uses: list[KeyUse] = []

    def after(self, parsed: Any, model: Any, **kwargs: Any) -> None:
        """As CapacityMeter's, and a conditional write refused still costs its units (DynamoDB
        charges a failed condition as a write): on its key."""
        operation, params, befores = self._pending[-1]
        response = parsed if isinstance(parsed, dict) else {}
        refused = (response.get("Error") or {}).get("Code") == "ConditionalCheckFailedException"
        super().after(parsed, model, **kwargs)
        if refused and operation in ("UpdateItem", "PutItem", "DeleteItem"):
            table = params["TableName"]
            units = max(1.0, _units(item_size(befores[0][0]) if befores else 0, 1024))
            key = params.get("Key") or self._tables.key_of(table, params["Item"])
            self.uses.append(KeyUse(table, self._value(key[self._hash(table)]), write=units))

    def _hash(self, table: str, index: str | None = None) -> str:
        found = self._tables.table(table)
        if index is None:
            return str(found.hash_key_attr)
        for gsi in list(found.global_indexes or []) + list(found.indexes or []):
            if gsi.name == index:
                return str(gsi.schema_key_attrs[0])
        raise KeyError(f"{table} has no index {index}")

    @staticmethod
    def _value(typed: dict[str, Any]) -> str:
        ((_, raw),) = typed.items()
        return str(raw)

    def _charge(
        self, operation: str, params: dict[str, Any], response: dict[str, Any], befores: list[Any]
    ) -> tuple[float, float]:
        read, write = super()._charge(operation, params, response, befores)
        if write:
            self._writes(operation, params, befores)
        else:
            self._reads(operation, params, response, read)
        return read, write

    def _writes(self, operation: str, params: dict[str, Any], befores: list[Any]) -> None:
        transactional = operation == "TransactWriteItems"
        for (kind, table, key), (before, before_gsi) in zip(
            self._targets(operation, params), befores, strict=True
        ):
            after = self._tables.get(table, key)
            size = max(item_size(before), item_size(_attrs(after)))
            units = _units(size, 1024) * (2 if transactional else 1)
            self.uses.append(KeyUse(table, self._value(key[self._hash(table)]), write=units))
            if kind == "ConditionCheck":
                continue
            after_gsi = self._tables.gsi_entries(table, after)
            for index in set(before_gsi) | set(after_gsi):
                self._index_writes(f"{table}/{index}", before_gsi.get(index), after_gsi.get(index))

    def _index_writes(self, target: str, old: Any, new: Any) -> None:
        """What a write costs an index, on the index's own keys (as `capacity._gsi_units` counts)."""
        if old == new:
            return  # absent both times, or unchanged
        if old is not None and new is not None and old[0] == new[0]:
            size = max(item_size(old[1]), item_size(new[1]))
            self.uses.append(KeyUse(target, _plain(new[0][0]), write=_units(size, 1024)))
            return
        for entry in (old, new):  # appeared, went, or moved (a delete and a put)
            if entry is not None:
                units = _units(item_size(entry[1]), 1024)
                self.uses.append(KeyUse(target, _plain(entry[0][0]), write=units))

    def _reads(self, operation: str, params: dict[str, Any], response: dict[str, Any], units: float) -> None:
        if operation == "GetItem":
            table = params["TableName"]
            self.uses.append(KeyUse(table, self._value(params["Key"][self._hash(table)]), read=units))
        elif operation in ("BatchGetItem", "TransactGetItems"):
            specs = (
                [
                    (t, s.get("ConsistentRead"), k)
                    for t, s in (params.get("RequestItems") or {}).items()
                    for k in s["Keys"]
                ]
                if operation == "BatchGetItem"
                else [(e["Get"]["TableName"], None, e["Get"]["Key"]) for e in params["TransactItems"]]
            )
            for table, consistent, key in specs:
                size = item_size(_attrs(self._tables.get(table, key)))
                factor = 2.0 if operation == "TransactGetItems" else 1.0 if consistent else 0.5
                value = self._value(key[self._hash(table)])
                self.uses.append(KeyUse(table, value, read=_units(size, READ_UNIT_BYTES) * factor))
        elif operation == "Query":
            table, index = params["TableName"], params.get("IndexName")
            attribute = self._hash(table, index)
            names = dict(params.get("ExpressionAttributeNames") or {})
            value = "?"
            for name, placeholder in re.findall(r"(#?\w+)\s*=\s*(:\w+)", params["KeyConditionExpression"]):
                if names.get(name, name) == attribute:
                    value = self._value(params["ExpressionAttributeValues"][placeholder])
            self.uses.append(KeyUse(f"{table}/{index}" if index else table, value, read=units))
        elif operation == "Scan":
            self.uses.append(KeyUse(params["TableName"], "<every partition: a scan>", read=units))


def _plain(typed: str) -> str:
    """An index entry's key value as capacity's GSI entries hold it (`"{'S': 'x'}"`): `x`."""
    try:
        found = ast.literal_eval(typed)
    except (ValueError, SyntaxError):
        return typed
    return str(next(iter(found.values()))) if isinstance(found, dict) and len(found) == 1 else typed


@contextmanager
def key_metering(region: str) -> Iterator[KeyMeter]:
    with hooked(KeyMeter(region)) as meter:
        yield meter


# A fresh id or digest in a key (a new submission, an image's fingerprint): every request has its own.
_FRESH = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}|[0-9a-f]{16,}")


# An article's count shard or comment partition: a post picks one at random, a reader reads all.
_SHARD = re.compile(r"^(<hot>|<article>)((?:#count)?#)\d+$")
HOT_PARTITIONS = 8  # the hot article's comments spread as ops would spread them before the event
# A counter of the content check's budget: a minute's, one of its shards.
_BUDGET = re.compile(r"^(content-check(?:-w)?)#\d+#\d+$")


def general(uses: list[KeyUse], names: dict[str, str], weight: float = 1.0) -> list[KeyUse]:
    """The uses with the scene's ids replaced by what they stand for (`<user>`, `<hot>`...)."""
    out = []
    for use in uses:
        key = use.key
        for concrete, placeholder in names.items():
            key = key.replace(concrete, placeholder)
        key = _FRESH.sub("<new>", key)
        key = _SHARD.sub(r"\1\2<shard>", key)
        key = _BUDGET.sub(r"\1#<minute>#<shard>", key)
        if key == "<hot>" and use.target.endswith("comments") and use.write and not use.read:
            # a comment of the spread hot article is written to one of its partitions at random,
            # the first (keyed by the bare article id) as any other: as measured once, it spreads
            key = "<hot>#<shard>"
        out.append(KeyUse(use.target, key, use.read, use.write, weight, use.period))
    return out


def beyond(later: list[KeyUse], earlier: list[KeyUse], period: float) -> list[KeyUse]:
    """What `later` reads or writes on each key beyond `earlier`: what a cache's refresh adds."""
    seen: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for use in earlier:
        seen[(use.target, use.key)][0] += use.read
        seen[(use.target, use.key)][1] += use.write
    extra: dict[tuple[str, str], KeyUse] = {}
    for use in later:
        target = (use.target, use.key)
        found = extra.setdefault(target, KeyUse(use.target, use.key, 0.0, 0.0, use.weight, period))
        found.read += use.read
        found.write += use.write
    for target, use in extra.items():
        use.read = max(0.0, use.read - seen[target][0])
        use.write = max(0.0, use.write - seen[target][1])
    return [u for u in extra.values() if u.read or u.write]


def _spread(key: str, load: Load) -> float:
    """The share of the type's rate that one concrete key of this general form gets."""
    if "<new>" in key:
        return 1 / load.per_second  # a key of its own per request: one request's worth a second
    share = 1.0
    if "<shard>" in key:
        share /= (
            COUNT_SHARDS
            if "#count#" in key
            else BUDGET_SHARDS
            if key.startswith("content-check")
            else HOT_PARTITIONS
        )
    if "<user>" in key:
        share /= USERS
    if "<article>" in key:
        share /= OTHER_ARTICLES
    return share


@dataclass
class Row:
    target: str
    key: str
    reads: float = 0.0
    writes: float = 0.0

    @property
    def share(self) -> float:
        return max(self.reads / PARTITION_RCU, self.writes / PARTITION_WCU)


def apply_mix(profiles: dict[str, Profile]) -> list[Row]:
    rows: dict[tuple[str, str], Row] = {}
    for load in MIX:
        profile = profiles.get(load.name)
        if profile is None or profile.missing:
            continue
        for use in profile.uses:
            rate = load.per_second * use.weight * _spread(use.key, load)
            if use.period is not None:  # at most once a period in each busy container
                rate = min(rate, load.per_second * REQUEST_SECONDS / use.period)
            row = rows.setdefault((use.target, use.key), Row(use.target, use.key))
            row.reads += use.read * rate
            row.writes += use.write * rate
    return sorted(rows.values(), key=lambda r: r.share, reverse=True)


def totals(profiles: dict[str, Profile]) -> dict[str, tuple[float, float]]:
    """Per table or index, (reads, writes) units a second at the mix over all of its keys: each
    key's rate as `apply_mix` has it, times how many keys of its form the mix spreads over."""
    found: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for load in MIX:
        profile = profiles.get(load.name)
        if profile is None or profile.missing:
            continue
        for use in profile.uses:
            share = _spread(use.key, load)
            rate = load.per_second * use.weight * share
            if use.period is not None:
                rate = min(rate, load.per_second * REQUEST_SECONDS / use.period)
            found[use.target][0] += use.read * rate / share
            found[use.target][1] += use.write * rate / share
    return {target: (reads, writes) for target, (reads, writes) in found.items()}


def content_check_rate(profiles: dict[str, Profile]) -> float:
    """Content-check calls a minute at the mix (posts inline, and the paced worker)."""
    return sum(
        load.per_second * 60 * profiles[load.name].content_checks
        for load in MIX
        if load.name in profiles and not profiles[load.name].missing
    )


def queued(profiles: dict[str, Profile]) -> bool:
    """Whether the measured code queues posts past the inline share (a worker was measured)."""
    worker = profiles.get("check_worker")
    return worker is not None and not worker.missing and worker.content_checks > 0


def drain_seconds(posts_per_second: float = POSTS_PER_SECOND) -> float:
    """After a burst of BURST_SECONDS of posts at `posts_per_second`, how long the paced worker
    takes to empty the queue once the posts stop (all of its share is then its own)."""
    inline = min(posts_per_second, INLINE_PER_SECOND)
    during = min(posts_per_second - inline, WORKER_PER_SECOND - inline)
    backlog = (posts_per_second - inline - during) * BURST_SECONDS
    return backlog / WORKER_PER_SECOND


def report(profiles: dict[str, Profile], print_: Callable[[str], None] = print) -> bool:
    rows = apply_mix(profiles)
    print_("\n== hot keys at the launch-day mix (per partition key, from the real code paths)")
    for load in MIX:
        found = profiles.get(load.name)
        missing = found.missing if found is not None else "not measured"
        state = f"  NOT MEASURED: {missing}" if missing else ""
        print_(f"   {load.per_second:>8,.0f}/s {load.name:20} {load.note}{state}")
    limits = f"limits {PARTITION_RCU:,} RCU and {PARTITION_WCU:,} WCU a key"
    print_(f"   over {USERS:,} users; {limits}; target <= {TARGET_SHARE:.0%}")
    print_(
        f"   cached reads: once a period per busy container, {REQUEST_SECONDS * 1000:.0f} ms a request "
        f"(e.g. detail: {20_000 * REQUEST_SECONDS:,.0f} containers)"
    )
    print_(f"   {'table or index':34} {'key':34} {'reads/s':>10} {'writes/s':>10} {'% limit':>8}")
    ok = True
    for row in rows[:15]:
        over = row.share > TARGET_SHARE
        ok &= not over
        print_(
            f"   {row.target[:34]:34} {row.key[:34]:34} {row.reads:>10,.1f} {row.writes:>10,.1f} "
            f"{row.share:>7.0%}{'  MISSED' if over else ''}"
        )
    ok &= all(not r.share > TARGET_SHARE for r in rows)
    budget = [r for r in rows if r.key.startswith("content-check")]
    if budget:
        print_(
            f"   content check's budget: {BUDGET_SHARDS} counters a minute (and the worker's own), "
            f"the busiest at {max(r.share for r in budget):.0%} of its limit"
        )
    per_minute = content_check_rate(profiles)
    paced = queued(profiles)
    within = per_minute <= CONTENT_CHECK_PER_MINUTE
    how = (
        f"{INLINE_SHARE:.0%} of the quota inline, the rest of {WORKER_SHARE:.0%} by the paced worker; "
        f"a {BURST_SECONDS // 60}-minute burst drains {drain_seconds():,.0f} s "
        f"({drain_seconds() / 3600:.1f} h) after it ends, at {WORKER_PER_SECOND * 60:,.0f} a minute"
        if paced
        else "called inline with each post: above the quota, posts fail"
    )
    print_(
        f"   content check: {per_minute:,.0f} calls a minute against a quota of {CONTENT_CHECK_PER_MINUTE:,} "
        f"({how}): {'met' if within else 'MISSED'}"
    )
    return ok and within


# ---- the scene: each request type of the mix, served warm and metered by key ----


@contextmanager
def _counting_checks() -> Iterator[list[int]]:
    """Counts the content-check calls to WeChat (one per chunk of text)."""
    from shared.adapters.wechat import WeChatMessaging

    seen = [0]
    original = WeChatMessaging._check_chunk

    def counted(self: WeChatMessaging, openid: str, chunk: str) -> Any:
        seen[0] += 1
        return original(self, openid, chunk)

    WeChatMessaging._check_chunk = counted  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        WeChatMessaging._check_chunk = original  # type: ignore[method-assign]


def _spread_hot_article(article_id: str) -> None:
    """As ops would before a live event (`python -m infra.ops articles spread`)."""
    from shared.store.articles import ArticleRepository

    ArticleRepository().spread_comments(article_id, HOT_PARTITIONS)
    forget_caches()  # the containers take it within a minute


def _spend_inline_share() -> None:
    """The content check's budget counters of this minute and the next full to the inline share."""
    import time

    from shared import config
    from shared.domain.content_check import Budget
    from shared.store.rates import RateWindowItem

    budget = Budget(config.current().checks_per_minute)
    for epoch in (int(time.time()), int(time.time()) + 60):
        for window in budget.windows(epoch, INLINE_SHARE):
            RateWindowItem(window.key, used=window.limit).save()


def _paced_check() -> None:
    """The worker on the queued comment, as Lambda's SQS event source mapping delivers it."""
    from functions.content_check import check
    from infra.bench.journey import BenchError
    from infra.queues import QueuePump
    from shared import config

    cfg = config.current()
    if QueuePump(cfg, cfg.check_queue_name, check).drain(wait_seconds=5) != 1:
        raise BenchError("hot keys: the paced worker found no queued comment")


def forget_caches() -> None:
    from shared import wiring

    app = wiring.services()
    app.articles.forget()
    app.comments.forget()


def _rater(user_id: str) -> str:
    """The digest a user's rate windows are keyed by (`shared.domain.comments.rate_key`)."""
    return hashlib.sha256(f"rate\n{user_id}".encode()).hexdigest()[:32]


def _metered(profile: Profile, call: Callable[[], Any], names: dict[str, str], weight: float = 1.0) -> Any:
    from shared import config

    with key_metering(config.current().region) as meter, _counting_checks() as checks:
        result = call()
    profile.uses.extend(general(meter.uses, names, weight))
    profile.content_checks += checks[0] * weight
    return result


def _uses(call: Callable[[], Any], names: dict[str, str], weight: float) -> list[KeyUse]:
    from shared import config

    with key_metering(config.current().region) as meter:
        call()
    return general(meter.uses, names, weight)


def _cached(profile: Profile, reader: Any, path: str, names: dict[str, str], weight: float = 1.0) -> None:
    """A GET served from the per-container caches: what each request costs (a warm hit), and what
    each cache's refresh adds, measured by aging the caches past each period in turn."""
    from infra.bench.journey import BenchError
    from shared.services import articles, fresh

    def get() -> None:
        reply = reader.call("GET", path)
        if reply.status != 200:
            raise BenchError(f"hot keys: GET {path} {reply.status} {reply.text[:200]}")

    get()  # warm: the caches hold it now
    warm = _uses(get, names, weight)
    clock, aged = fresh.clock, [0.0]
    fresh.clock = lambda: clock() + aged[0]
    try:
        aged[0] += articles.COUNT_SECONDS + 1
        counts = _uses(get, names, weight)
        aged[0] += articles.TEXT_SECONDS + 1
        texts = _uses(get, names, weight)
    finally:
        fresh.clock = clock
        forget_caches()  # what the aged clock cached must not outlive it into the next profile
    profile.uses.extend(warm)
    profile.uses.extend(beyond(counts, warm, articles.COUNT_SECONDS))
    profile.uses.extend(beyond(texts, counts, articles.TEXT_SECONDS))


def measure() -> dict[str, Profile]:
    """Every request type of the mix, once, warm, in the bench's stack (after the journey)."""
    from infra.bench.journey import ARTICLE, DEEP_ARTICLE, BenchError, Client, approved_hcp, seed_comments

    reader = Client()
    user_id = approved_hcp(reader, "hot-key-reader")
    names = {user_id: "<user>", _rater(user_id): "<user>", ARTICLE: "<hot>", DEEP_ARTICLE: "<article>"}
    _spread_hot_article(ARTICLE)
    seed_comments(ARTICLE, 30)

    def ok(reply: Any, status: int = 200) -> Any:
        if reply.status != status:
            raise BenchError(f"hot keys: {reply.status} {reply.text[:200]}")
        return reply

    profiles = {load.name: Profile(load.name) for load in MIX}
    for article, weight in ((ARTICLE, HOT_SHARE), (DEEP_ARTICLE, 1 - HOT_SHARE)):
        _cached(profiles["detail"], reader, f"/v1/articles/{article}", names, weight)
    _cached(profiles["feed"], reader, "/v1/articles", names)
    comments = f"/v1/articles/{ARTICLE}/comments"
    _cached(profiles["comment_page"], reader, comments, names)
    ok(reader.call("POST", comments, {"text": "第一条：缓存作者显示"}), 201)
    post = {"text": "直播问答：请问这一剂量是否适用于肾功能不全的患者？"}
    # under the minute's inline share: checked at once
    _metered(
        profiles["comment_post"], lambda: ok(reader.call("POST", comments, post), 201), names, INLINE_FRACTION
    )
    _spend_inline_share()  # as the burst's first seconds of each minute leave the budget
    past = {"text": "直播问答：超过配额份额后排队检查的评论"}
    held = _metered(
        profiles["comment_post"],
        lambda: ok(reader.call("POST", comments, past), 201),
        names,
        1 - INLINE_FRACTION,
    )
    if held.body.get("state") != "held":
        raise BenchError(f"hot keys: past the inline share the post was not held: {held.body}")
    _metered(profiles["check_worker"], _paced_check, names)
    ok(reader.call("GET", "/v1/me"))
    _metered(profiles["me"], lambda: ok(reader.call("GET", "/v1/me")), names)
    page = ok(reader.call("GET", comments)).body["items"]
    others = [item["id"] for item in page if not item["mine"]]
    ok(reader.call("POST", f"/v1/comments/{others.pop()}/reports", {"reason": "spam"}), 201)  # warm
    report = {"reason": "misinformation", "text": "剂量与指南不符"}
    _metered(
        profiles["report"],
        lambda: ok(reader.call("POST", f"/v1/comments/{others.pop()}/reports", report), 201),
        names,
    )
    _verification_submit(profiles["verification_submit"], names)
    return profiles


def _verification_submit(profile: Profile, names: dict[str, str]) -> None:
    from infra.bench.journey import APPLICANT, BenchError, Client, image_bytes
    from shared import wiring
    from shared.domain.consent import AGREEMENT, INFORMED

    app = wiring.services()
    applicant = Client()
    login = applicant.call("POST", "/v1/auth/login", {"code": "dev:hot-key-applicant"})
    applicant.token = login.body["token"]
    applicant_id = str(login.body["user"]["id"])
    names = {**names, applicant_id: "<user>", _rater(applicant_id): "<user>"}
    for doc in applicant.call("GET", "/v1/consents/documents").body["items"]:
        if doc["key"] in (AGREEMENT, INFORMED):
            decision = {"document": doc["key"], "version": doc["version"], "decision": "agree"}
            applicant.call("POST", "/v1/consents", decision)
    keys = []
    for kind, color in (("practice_license", (20, 130, 60)), ("qualification", (150, 20, 160))):
        data = image_bytes(color)
        body = {"kind": kind, "content_type": "image/jpeg", "size": len(data)}
        key = str(applicant.call("POST", "/v1/verification/uploads", body).body["key"])
        app.storage.client.put_object(Bucket=app.cfg.bucket, Key=key, Body=data, ContentType="image/jpeg")
        keys.append(key)
    app.reviewers.active()  # warm

    def submit() -> None:
        reply = applicant.call("POST", "/v1/verification", {**APPLICANT, "documents": keys})
        if reply.status != 201:
            raise BenchError(f"hot keys: submit {reply.status} {reply.text[:200]}")

    _metered(profile, submit, names)
