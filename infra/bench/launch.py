"""Capacity at the launch-day mix, from the real code paths: the Lambda concurrency it keeps busy,
each table's and index's throughput (what its warm throughput must cover), and what a user stores.

- Concurrency is rate x time in the function, per request type of the mix (`hotkeys.MIX`); the
  times are stated below (moto's in-process times say nothing of AWS's).
- Throughput sums, per table and per index, the units of every key the mix touches (the same
  profiles and caches as the hot-key report), against what a new on-demand table serves at once.
- Storage is measured on the bench journey's user at its fullest (consents, two submissions and
  their images, answers, comments, a report, its sessions and guards), just before the journey
  deletes the account: every table's items and index entries with DynamoDB's 100 bytes of
  overhead each, and the bucket's objects. The journey's images are tiny: a credential photo is
  stated by re-encoding a synthetic 12-megapixel document photo through the submit's own sanitizer.
"""

from __future__ import annotations

import io
import math
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from infra.bench import hotkeys
from infra.bench.capacity import MOTO_ACCOUNT, item_size

# Time in the function per request type (seconds): reads 50 ms (as the hot-key report's caches
# assume), writes 100 ms (the cost table's assumption), the submit 2 s (it re-encodes the images).
SECONDS = {
    "detail": 0.05,
    "feed": 0.05,
    "comment_page": 0.05,
    "comment_post": 0.1,
    "report": 0.1,
    "verification_submit": 2.0,
    "me": 0.05,
    # the paced content check, a message: the check's round trip (about 100 ms) and two writes;
    # its containers are capped by the stage's contentCheck.workers (the SQS event source's)
    "check_worker": 0.1,
}
# What an account has before asking for more (per region; the China regions' defaults as AWS's).
LAMBDA_CONCURRENCY_QUOTA = 1_000
LAMBDA_SCALING_PER_10_SECONDS = 1_000  # each function adds at most this many containers per 10 s
API_REQUESTS_QUOTA = 10_000  # per second, per account and region, every API together
NEW_TABLE_READS, NEW_TABLE_WRITES = 12_000, 4_000  # what a new on-demand table serves at once
ON_DEMAND_TABLE_MAX = 40_000  # per table, reads and writes alike, unless raised
HEADROOM = 1.5  # ask for this much more than the mix needs
ITEM_OVERHEAD_BYTES = 100  # DynamoDB bills each item and each index entry 100 bytes beyond its data
# USD per GB-month (us-east-1 list prices; the China regions bill in CNY at their own rates)
DYNAMODB_GB_MONTH = 0.25
PITR_GB_MONTH = 0.20
S3_GB_MONTH = 0.023
PHOTO_SIDE = (4000, 3000)  # a phone's photo of a licence, before the sanitizer shrinks it


@dataclass
class Footprint:
    """What one user leaves in each table (bytes with overhead) and in the bucket."""

    tables: dict[str, int] = field(default_factory=dict)
    objects: int = 0
    object_bytes: int = 0

    @property
    def table_bytes(self) -> int:
        return sum(self.tables.values())


def concurrency() -> list[tuple[str, float, float, int]]:
    """(request type, per second, seconds each, containers busy) at the mix."""
    return [
        (load.name, load.per_second, SECONDS[load.name], math.ceil(load.per_second * SECONDS[load.name]))
        for load in hotkeys.MIX
    ]


def _moto_tables(region: str) -> Iterator[Any]:
    from moto.backends import get_backend

    backend = get_backend("dynamodb")[MOTO_ACCOUNT][region]
    yield from backend.tables.values()


def stored(region: str, bucket: str, skip: Callable[[dict[str, Any]], bool]) -> Footprint:
    """Every table's bytes (items and index entries, with overhead) and the bucket's objects, less
    the items `skip` names (the bench's scenery)."""
    import boto3

    found = Footprint()
    for table in _moto_tables(region):
        size = 0
        for item in table.all_items():
            attrs = item.to_json()["Attributes"]
            if skip(attrs):
                continue
            size += item_size(attrs) + ITEM_OVERHEAD_BYTES
            for index in table.global_indexes or []:
                if all(a in item.attrs for a in index.schema_key_attrs):
                    size += item_size(index.project(item).to_json()["Attributes"]) + ITEM_OVERHEAD_BYTES
        found.tables[table.name] = size
    s3 = boto3.client("s3", region_name=region)
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for entry in page.get("Contents", []):
            found.objects += 1
            found.object_bytes += int(entry["Size"])
    return found


def difference(after: Footprint, before: Footprint) -> Footprint:
    return Footprint(
        {name: after.tables[name] - before.tables.get(name, 0) for name in after.tables},
        after.objects - before.objects,
        after.object_bytes - before.object_bytes,
    )


@contextmanager
def footprint_of(skip: Callable[[dict[str, Any]], bool]) -> Iterator[Footprint]:
    """What the block adds to the stage's storage, filled in when the block ends."""
    from shared import config

    cfg = config.current()
    before = stored(cfg.region, cfg.bucket, skip)
    result = Footprint()
    yield result
    grown = difference(stored(cfg.region, cfg.bucket, skip), before)
    result.tables, result.objects, result.object_bytes = grown.tables, grown.objects, grown.object_bytes


def photo_bytes() -> int:
    """A credential photo as the submit keeps it: a synthetic document photo (text blocks, a
    portrait, sensor noise) through the submit's own sanitizer."""
    from PIL import Image, ImageDraw, ImageFilter

    from shared.adapters import images

    width, height = PHOTO_SIDE
    picture = Image.new("RGB", PHOTO_SIDE, (235, 230, 220))
    draw = ImageDraw.Draw(picture)
    rng = random.Random(7)  # noqa: S311 - a picture, not a secret
    for y in range(200, height - 200, 60):
        for x in range(300, width - 300, 45):
            if rng.random() < 0.7:
                draw.rectangle((x, y, x + 30, y + 35), fill=(40, 40, 50))
    draw.rectangle((2800, 300, 3600, 1300), fill=(120, 90, 80))
    noise = Image.effect_noise(PHOTO_SIDE, 12).convert("RGB")
    picture = Image.blend(picture, noise, 0.08).filter(ImageFilter.GaussianBlur(0.8))
    raw = io.BytesIO()
    picture.save(raw, format="JPEG", quality=92)
    return len(images.sanitize(raw.getvalue(), "image/jpeg").data)


def section(
    report: dict[str, Any], profiles: dict[str, hotkeys.Profile], user: Footprint, print_: Any = print
) -> None:
    print_('\n== capacity at the launch-day mix (README "Capacity")')
    rows = concurrency()
    busy = sum(r[3] for r in rows)
    requests = sum(r[1] for r in rows)
    for name, rate, seconds, containers in rows:
        print_(f"   {name:20} {rate:>8,.0f}/s x {seconds * 1000:>5,.0f} ms = {containers:>6,} containers")
    quota, scaling = LAMBDA_CONCURRENCY_QUOTA, LAMBDA_SCALING_PER_10_SECONDS
    print_(
        f"   Lambda: {busy:,} concurrent at the mix (the account's default {quota:,}: ask for "
        f"{_round_up(busy * HEADROOM):,}); a function adds {scaling:,} containers per 10 s, so the "
        f"detail's {rows[0][3]:,} need provisioned concurrency before a push"
    )
    print_(
        f"   HTTP API: {requests:,.0f} requests a second (the account's default {API_REQUESTS_QUOTA:,}: "
        f"ask for {_round_up(requests * HEADROOM):,}; raise the stage's apiThrottle with it)"
    )
    tables = hotkeys.totals(profiles)
    print_(f"   {'table or index':40} {'reads/s':>10} {'writes/s':>10}  warm throughput")
    warm: dict[str, tuple[int, int]] = {}
    for target, (reads, writes) in sorted(tables.items(), key=lambda kv: -max(kv[1][0] / 3, kv[1][1])):
        if reads < 1 and writes < 1:
            continue
        need = (_round_up(reads * HEADROOM), _round_up(writes * HEADROOM))
        above = need[0] > NEW_TABLE_READS or need[1] > NEW_TABLE_WRITES
        warm[target] = need
        advice = f"set {need[0]:,} / {need[1]:,}" if above else "a new table's covers it"
        if max(need) > ON_DEMAND_TABLE_MAX:
            advice += f"; above the table quota of {ON_DEMAND_TABLE_MAX:,}: ask for it"
        print_(f"   {target[:40]:40} {reads:>10,.0f} {writes:>10,.0f}  {advice}")
    photo = photo_bytes()
    images = 2  # the journey's submissions keep two images (an update copies them)
    per_user = user.table_bytes
    month = per_user * 1e6 / 1e9 * (DYNAMODB_GB_MONTH + PITR_GB_MONTH)
    photos = images * photo * 1e6 / 1e9 * S3_GB_MONTH
    print_(
        f"   storage per user (the journey's, at its fullest): {per_user / 1024:,.1f} KB in DynamoDB, "
        f"{user.objects} images; a credential photo is {photo / 1024:,.0f} KB as submit keeps it"
    )
    print_(
        f"   a million such users: {per_user * 1e6 / 1e9:,.1f} GB, {month:,.2f} USD a month with PITR; "
        f"their images {images * photo * 1e6 / 1e9:,.0f} GB, {photos:,.2f} USD a month until they expire"
    )
    report["capacity"] = {
        "concurrency": {name: containers for name, _, _, containers in rows},
        "concurrent": busy,
        "requests_per_second": requests,
        "throughput": {t: {"reads": round(r, 1), "writes": round(w, 1)} for t, (r, w) in tables.items()},
        "warm_throughput": {t: {"reads": r, "writes": w} for t, (r, w) in warm.items()},
        "storage": {
            "per_user_bytes": per_user,
            "per_user_tables": {t: b for t, b in user.tables.items() if b},
            "photo_bytes": photo,
            "per_million_users_usd_month": round(month, 2),
            "images_per_million_users_usd_month": round(photos, 2),
        },
    }


def _round_up(value: float, step: int = 500) -> int:
    return max(step, math.ceil(value / step) * step)
