"""Capacity at the launch-day mix: concurrency, warm throughput advice and storage arithmetic."""

from __future__ import annotations

from infra.bench import hotkeys, launch
from infra.bench.hotkeys import KeyUse, Profile


def test_concurrency_is_rate_times_time_per_request_type() -> None:
    rows = {name: containers for name, _, _, containers in launch.concurrency()}
    assert rows["detail"] == 1_000  # 20,000 a second for 50 ms
    assert rows["verification_submit"] == 200  # 100 a second for 2 s
    assert set(rows) == {load.name for load in hotkeys.MIX}


def test_the_section_advises_warm_throughput_only_above_a_new_tables_and_the_quota_above_its_own() -> None:
    profiles = {load.name: Profile(load.name) for load in hotkeys.MIX}
    profiles["me"].uses = [KeyUse("users", "<user>", read=30.0)]  # 60,000 reads a second
    profiles["feed"].uses = [KeyUse("articles/feed", "<new>", read=1.0)]  # 2,000
    lines: list[str] = []
    user = launch.Footprint({"users": 1_000, "consents": 2_000}, objects=2, object_bytes=1_000)
    report: dict[str, object] = {}
    launch.section(report, profiles, user, print_=lines.append)
    (users,) = [line for line in lines if line.strip().startswith("users ")]
    assert "set 90,000 / 500" in users and "above the table quota of 40,000" in users
    (feed,) = [line for line in lines if "articles/feed" in line]
    assert "a new table's covers it" in feed
    storage = report["capacity"]["storage"]  # type: ignore[index]
    assert storage["per_user_bytes"] == 3_000
    assert storage["per_million_users_usd_month"] == round(3_000 * 1e6 / 1e9 * 0.45, 2)


def test_a_footprint_is_what_grew() -> None:
    before = launch.Footprint({"users": 100}, objects=1, object_bytes=10)
    after = launch.Footprint({"users": 350, "comments": 80}, objects=3, object_bytes=910)
    grown = launch.difference(after, before)
    assert grown.tables == {"users": 250, "comments": 80}
    assert (grown.objects, grown.object_bytes, grown.table_bytes) == (2, 900, 330)
