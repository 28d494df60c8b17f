"""Every time a client is shown is in the stage's zone (+08:00 by default); stored times stay UTC."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from infra.ops import articles as article_ops
from shared.domain import times
from shared.store.articles import ArticleItem
from tests.functional.article_helpers import post, verified
from tests.functional.conftest import Api

MORNING_ARTICLE = """---
id: morning-release
title: 清晨发布的文章
published_at: 2026-10-08T06:00:00+08:00
author: 编辑部
original: true
status: published
summary: 北京时间早上六点发布。
---
## 正文

早上好。
"""


def test_an_article_published_at_six_in_beijing_shows_its_own_date(api: Api, tmp_path: Path) -> None:
    path = tmp_path / "morning.md"
    path.write_text(MORNING_ARTICLE, encoding="utf-8")
    article_ops.import_article(path)
    verified(api)
    assert ArticleItem.get("morning-release").published_at.utcoffset().total_seconds() == 0  # stored UTC
    listed = next(a for a in api.get("/v1/articles").body["items"] if a["id"] == "morning-release")
    assert listed["published_at"] == "2026-10-08T06:00:00+08:00"
    assert api.get("/v1/articles/morning-release").body["published_at"].startswith("2026-10-08T06:00")


def test_every_time_of_the_journey_is_in_plus_eight(api: Api, tmp_path: Path) -> None:
    path = tmp_path / "morning.md"
    path.write_text(MORNING_ARTICLE, encoding="utf-8")
    article_ops.import_article(path)
    verified(api)
    comment = post(api, "时区", article="morning-release").body
    seen = [
        comment["created_at"],
        api.get("/v1/me").body["created_at"],
        *(r["decided_at"] for r in api.get("/v1/consents").body["items"]),
        api.get("/v1/me/export").body["exported_at"],
        api.post("/v1/auth/login", {"code": "dev:alice"}).body["expires_at"],
    ]
    assert all(datetime.fromisoformat(t).utcoffset().total_seconds() == 8 * 3600 for t in seen), seen


@pytest.mark.parametrize("zone", ["UTC", "+09:00"])
def test_a_stage_shows_its_own_zone(api: Api, monkeypatch: pytest.MonkeyPatch, zone: str) -> None:
    from shared import wiring

    monkeypatch.setenv("TIME_ZONE", zone)
    wiring.reset()
    login = api.post("/v1/auth/login", {"code": "dev:bob"}).body
    expected = 0 if zone == "UTC" else 9 * 3600
    assert datetime.fromisoformat(login["expires_at"]).utcoffset().total_seconds() == expected
    times.use_zone(times.parse_zone(times.DEFAULT_ZONE))  # what the next container starts with
