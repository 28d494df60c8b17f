"""Depth: a comments page at comment 10,000 against the first page, and at comment 100,000 of
an article spread over 8 partitions (as a hot article is before a live event).

The article gets its comments (plus one page) written straight through the model in batches;
the deep page starts from a cursor signed for the key of comment 10,000 (100,000), as a client
paging down would hold. Both pages must make the same calls, and the deep one may take at most
1.2x the read units and the time of the first (medians of interleaved timings).

The time compared is the request's own: the handler's time less the time moto spends serving
the calls. moto answers a Query by walking the whole partition and, from a start key, comparing
every item before it (about twice the work at comment 10,000: its time is reported beside), where
DynamoDB seeks the start key in its index; what this code does (read the caller, check the
cursor, one Query from a key per partition, shape 20 comments) must not grow with depth.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from infra.bench.capacity import capacity
from infra.bench.journey import DEEP_ARTICLE, Client, Journey, seed_comments
from infra.metering import metered
from shared import config, wiring

DEPTH = 10_000
SPREAD_DEPTH = 100_000  # a hot article's comments, spread over SPREAD_PARTITIONS
SPREAD_PARTITIONS = 8
TIMINGS = 15
TARGET_TIME_RATIO = 1.2


@contextmanager
def moto_time() -> Iterator[list[float]]:
    """The milliseconds moto spends serving the calls made inside the block (in-process only): the
    wall time during which at least one call was in moto, so that the parallel Queries of a spread
    article count once, not once per thread. Filled in when the block ends."""
    from moto.core.botocore_stubber import BotocoreStubber

    spans: list[tuple[float, float]] = []
    lock = threading.Lock()
    original = BotocoreStubber.process_request

    def timed(self: BotocoreStubber, request: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(self, request)
        finally:
            with lock:
                spans.append((started, time.perf_counter()))

    spent = [0.0]
    BotocoreStubber.process_request = timed  # type: ignore[method-assign]
    try:
        yield spent
    finally:
        BotocoreStubber.process_request = original  # type: ignore[method-assign]
        spent[0] = _union(spans) * 1000


def _union(spans: list[tuple[float, float]]) -> float:
    """The length of the union of the intervals."""
    total, reach = 0.0, float("-inf")
    for start, end in sorted(spans):
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total


def fresh_caches() -> None:
    """Empty the container's caches of comment pages, so that the next read reaches the table."""
    wiring.services().comments.forget()


def measure(
    client: Client,
    depth: int = DEPTH,
    timings: int = TIMINGS,
    article: str = DEEP_ARTICLE,
    partitions: int = 1,
) -> dict[str, Any]:
    """`client` holds the token of an approved HCP under the current documents. With `partitions`
    above 1 the article is spread first, as ops would spread a hot one, and its comments dealt
    over its partitions: a page is then one Query per partition, at any depth."""
    from shared.domain.comments import DEFAULT_PAGE_SIZE
    from shared.services.comments import COMMENTS_CURSOR
    from shared.store.articles import ArticleRepository

    if partitions > 1:
        ArticleRepository().spread_comments(article, partitions)
    started = time.perf_counter()
    ids = seed_comments(article, depth + DEFAULT_PAGE_SIZE, partitions=partitions)
    seeded_s = time.perf_counter() - started
    newest_first = list(reversed(ids))
    cursor = wiring.services().cursors.sign(COMMENTS_CURSOR, {"a": article, "c": newest_first[depth - 1]})
    first_path = f"/v1/articles/{article}/comments"
    deep_path = f"{first_path}?cursor={cursor}"

    journey = Journey(client)
    client.call("GET", first_path)  # a warm container: it knows the article (its partitions)
    fresh_caches()
    first = journey.measure("first page", "GET", first_path).body
    deep = journey.measure(f"page at comment {depth:,}", "GET", deep_path).body
    if [c["id"].split(".")[0] for c in deep["items"]][:1] != [newest_first[depth]]:
        raise RuntimeError("the deep page does not start at the comment after the cursor")
    first_m, deep_m = journey.measured
    region = config.current().region
    own: dict[str, list[float]] = {"first": [], "deep": []}
    served: dict[str, list[float]] = {"first": [], "deep": []}
    for _ in range(timings):
        for name, path in (("first", first_path), ("deep", deep_path)):
            fresh_caches()  # both read the table: the cached first page would time only the cache
            with metered(), capacity(region), moto_time() as in_moto:  # as the metered requests
                t = time.perf_counter()
                client.call("GET", path)
                total = (time.perf_counter() - t) * 1000
            own[name].append(total - in_moto[0])
            served[name].append(in_moto[0])
    first_ms, deep_ms = statistics.median(own["first"]), statistics.median(own["deep"])
    ratio = round(deep_ms / first_ms, 2)
    same_calls = first_m.calls == deep_m.calls
    units_ratio = round(deep_m.read_units / first_m.read_units, 2) if first_m.read_units else 1.0
    return {
        "article": article,
        "partitions": partitions,
        "depth": depth,
        "units_ratio": units_ratio,
        "comments": depth + DEFAULT_PAGE_SIZE,
        "seeded_in_s": round(seeded_s, 1),
        "page_items": [len(first["items"]), len(deep["items"])],
        "first": _page(first_m.calls, first_m.read_units, first_ms, served["first"]),
        "deep": _page(deep_m.calls, deep_m.read_units, deep_ms, served["deep"]),
        "time_ratio": ratio,
        "target_time_ratio": TARGET_TIME_RATIO,
        "ok": same_calls and ratio <= TARGET_TIME_RATIO and units_ratio <= TARGET_TIME_RATIO,
    }


def _page(calls: list[str], read_units: float, own_ms: float, moto_ms: list[float]) -> dict[str, Any]:
    return {
        "calls": calls,
        "read_units": read_units,
        "ms": round(own_ms, 1),
        "moto_ms": round(statistics.median(moto_ms), 1),
    }
