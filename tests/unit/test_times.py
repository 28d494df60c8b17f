"""Times are shown in the stage's zone (+08:00 by default) and stored in UTC."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest

from shared.config import load
from shared.domain import times
from shared.errors import ConfigError


@pytest.fixture(autouse=True)
def china() -> Iterator[None]:
    times.use_zone(times.parse_zone(times.DEFAULT_ZONE))
    yield
    times.use_zone(times.parse_zone(times.DEFAULT_ZONE))


def test_a_morning_article_in_beijing_keeps_its_date() -> None:
    """06:00 Beijing time on 8 October is 22:00 UTC on the 7th: cut at the date, it must read the 8th."""
    published = datetime(2026, 10, 7, 22, 0, tzinfo=UTC)
    assert times.iso(published) == "2026-10-08T06:00:00+08:00"
    assert times.iso(published)[:10] == "2026-10-08"
    assert times.readable(published) == "2026-10-08 06:00"
    assert datetime.fromisoformat(times.iso(published)) == published  # the same instant


@pytest.mark.parametrize(
    ("name", "offset"),
    [("+08:00", timedelta(hours=8)), ("UTC", timedelta(0)), ("-05:30", timedelta(hours=-5, minutes=-30))],
)
def test_a_stage_may_name_another_zone(name: str, offset: timedelta) -> None:
    times.use_zone(times.parse_zone(name))
    moment = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert datetime.fromisoformat(times.iso(moment)).utcoffset() == offset


def test_a_named_zone_is_used_where_the_runtime_knows_it() -> None:
    try:
        zone = times.parse_zone("Asia/Shanghai")
    except ValueError:
        pytest.skip("this runtime has no zone database")
    assert datetime(2026, 7, 1, tzinfo=UTC).astimezone(zone).utcoffset() == timedelta(hours=8)


@pytest.mark.parametrize("name", ["+25:00", "Mars/Olympus", "8", ""])
def test_a_stage_with_an_unknown_zone_fails_at_cold_start(name: str) -> None:
    with pytest.raises(ValueError):
        times.parse_zone(name)
    if name:
        with pytest.raises(ConfigError, match="TIME_ZONE"):
            load({"STAGE": "test", "TIME_ZONE": name})


def test_nothing_and_none_stay_nothing() -> None:
    assert times.iso_or_none(None) is None and times.readable(None) == ""
    assert times.iso(datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=8)))).endswith("+08:00")
