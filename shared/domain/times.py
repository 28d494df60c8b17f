"""Times as the stage shows them: ISO 8601 with the stage's offset (`+08:00`, Asia/Shanghai, unless
`TIME_ZONE` says otherwise) in every response, receipt, export and page; people read them on pages
as `2026-11-30 10:04`. Stored times stay UTC. The composition root sets the zone once per cold start
(`use_zone`); until then it is +08:00.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo

DEFAULT_ZONE = "+08:00"
_OFFSET = re.compile(r"^(?:UTC)?([+-])(\d{2}):(\d{2})$")
_zone: tzinfo = timezone(timedelta(hours=8))


def parse_zone(name: str) -> tzinfo:
    """`+08:00` (an offset: China keeps no daylight saving time), `UTC`, or an IANA name such as
    `Asia/Shanghai` where the runtime has the zone database; ValueError for anything else."""
    text = name.strip()
    if text.upper() in ("UTC", "Z"):
        return UTC
    match = _OFFSET.fullmatch(text)
    if match:
        sign = -1 if match[1] == "-" else 1
        hours, minutes = int(match[2]), int(match[3])
        if hours > 14 or minutes > 59:
            raise ValueError(f"{name!r} is not an offset")
        return timezone(sign * timedelta(hours=hours, minutes=minutes))
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # deferred: only named zones need it

    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{name!r} is neither an offset like +08:00 nor a known zone") from exc


def use_zone(zone: tzinfo) -> None:
    global _zone  # noqa: PLW0603 - set once per cold start by the composition root
    _zone = zone


def local(moment: datetime) -> datetime:
    return moment.astimezone(_zone)


def iso(moment: datetime) -> str:
    """`2026-10-08T06:00:00+08:00`: the instant, in the stage's zone."""
    return local(moment).isoformat()


def iso_or_none(moment: datetime | None) -> str | None:
    return None if moment is None else iso(moment)


def readable(moment: datetime | None) -> str:
    """`2026-11-30 10:04`, as people read it on a page (the stage's zone)."""
    return "" if moment is None else local(moment).strftime("%Y-%m-%d %H:%M")


def in_stage_zone(moment: datetime) -> datetime:
    """A time typed without an offset (`2026-12-01 09:00` on a page) read in the stage's zone."""
    return moment.replace(tzinfo=_zone) if moment.tzinfo is None else moment
