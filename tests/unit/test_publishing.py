"""The editors' desk on in-memory fakes: states against the clock, publication and scheduling,
the article file's faults by line, and the answer statistics' counters."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared import errors
from shared.domain.answer_stats import USERS, counter_name, counters, delta, shown
from shared.domain.article_files import parse_article
from shared.domain.articles import DRAFT, PUBLISHED, Article, ArticleHead, Section, parse_publish_at
from shared.domain.staff import StaffMember
from shared.services.answer_stats import AnswerStatistics
from shared.services.articles import TEXT_SECONDS, ArticleService
from shared.services.cursors import Cursors
from shared.services.publishing import Publishing
from tests.unit.fakes import Clock, FakeArticles, FakeAuditLog
from tests.unit.services_setup import NOW
from tests.unit.test_article_service import READER
from tests.unit.test_comment_service import Signer

EDITOR = StaffMember("01JEDITOR00000000000000000", "编辑乙", "editor", NOW)
FILE = """---
id: desk-article
title: 标题
published_at: 2026-11-01T09:00:00+08:00
author: 编辑
original: true
summary: 摘要
---
导语。

## 问：为什么？
答：因为。
"""


def _draft(article_id: str = "desk-article", status: str = DRAFT) -> Article:
    head = ArticleHead(article_id, "标题", "编辑", True, None, "摘要", NOW - timedelta(days=1), status=status)
    return Article(head, (Section("为什么？", "因为。", "qa"),))


def _desk(*articles: Article) -> tuple[Publishing, ArticleService, FakeArticles, Clock]:
    store, clock = FakeArticles(*articles), Clock(NOW)
    return (
        Publishing(store, FakeAuditLog(), clock),
        ArticleService(store, Cursors(Signer), clock),
        store,
        clock,
    )


def test_a_scheduled_article_reaches_readers_at_its_time_with_nothing_run(aged: list[float]) -> None:
    desk, readers, store, clock = _desk(_draft())
    with pytest.raises(errors.NotFound):
        readers.detail(READER, "desk-article")
    row = desk.publish(EDITOR, "desk-article", "2026-11-30 12:00")  # +08:00: 04:00 UTC, 2 h ahead
    assert row.state == "scheduled" and store.events[-1].outcome == "scheduled"
    assert readers.page(READER, None, None)["items"] == []
    with pytest.raises(errors.NotFound):
        readers.detail(READER, "desk-article")
    assert readers.comment_shards("desk-article") is None  # its comments closed with it
    clock.now = NOW + timedelta(hours=2)
    aged[0] += TEXT_SECONDS + 1  # two hours on, the draft this container cached has long gone
    assert readers.detail(READER, "desk-article")["published_at"] == "2026-11-30T12:00:00+08:00"
    assert [d.state for d in desk.desk()] == ["published"]
    with pytest.raises(errors.Conflict):
        desk.publish(EDITOR, "desk-article", "")
    desk.unpublish(EDITOR, "desk-article")
    assert readers.detail(READER, "desk-article")  # this container's copy, for at most TEXT_SECONDS
    aged[0] += TEXT_SECONDS + 1
    with pytest.raises(errors.NotFound):
        readers.detail(READER, "desk-article")
    assert readers.comment_shards("desk-article") is None
    assert readers.comment_shards("desk-article", fresh=True) == 1  # staff still reach its comments
    with pytest.raises(errors.Conflict):
        desk.unpublish(EDITOR, "desk-article")


def test_publish_at_is_read_in_the_stage_zone_and_bad_times_name_the_field() -> None:
    assert parse_publish_at("", NOW) is None
    assert parse_publish_at("2026-12-01 09:00", NOW) == parse_publish_at("2026-12-01T01:00:00Z", NOW)
    for bad in ("明天", "2026-02-30 09:00", "x" * 41, "2028-01-01 09:00"):
        with pytest.raises(errors.BadRequest) as raised:
            parse_publish_at(bad, NOW)
        assert raised.value.fields and raised.value.fields[0].field == "publish_at"


def test_an_import_is_a_draft_unless_it_says_published_and_keeps_a_state_it_does_not_name() -> None:
    desk, _, store, _ = _desk()
    assert desk.import_file(EDITOR, FILE.encode()).saved == "created"
    assert store.articles["desk-article"].head.status == DRAFT
    assert [s.kind for s in store.articles["desk-article"].sections] == ["text", "qa"]
    desk.publish(EDITOR, "desk-article", "")
    changed = FILE.replace("答：因为。", "答：因为如此。").encode()
    assert desk.import_file(EDITOR, changed).saved == "updated"
    assert store.articles["desk-article"].head.status == PUBLISHED
    assert desk.import_file(EDITOR, changed).saved == "unchanged"


@pytest.mark.parametrize(
    ("raw", "line", "case"),
    [
        (FILE.replace("original: true", "original: yes"), 6, "article_original"),
        (FILE.replace("summary: 摘要\n", "summary: 摘要\nlayout: wide\n"), 8, "article_key"),
        (FILE.replace("## 问：为什么？\n答：因为。\n", "## \n答：因为。\n"), 11, "article_heading"),
        (FILE.replace("\n---\n导语", "\n导语"), 1, "article_front_matter"),
    ],
)
def test_a_files_faults_are_named_with_their_lines(raw: str, line: int, case: str) -> None:
    with pytest.raises(errors.BadRequest) as raised:
        parse_article(raw.encode())
    faults = raised.value.fields or ()
    assert any(f.case == case and f.params["line"] == line for f in faults), faults
    assert all(f.field == "file" for f in faults)


def test_counters_move_by_the_difference_and_small_counts_are_hidden() -> None:
    first = {"years_in_practice": "3-10年", "specialty_areas": ["心血管", "肿瘤"], "suggestions": "无"}
    assert counters(first)[USERS] == 1 and counters(None) == {}
    assert "suggestions" not in str(counters(first))  # text answers are never counted
    moved = delta(first, {**first, "specialty_areas": ["肿瘤"]})
    assert moved == {counter_name("specialty_areas", "心血管"): -1}
    assert delta(first, None)[USERS] == -1 and delta(first, first) == {}
    assert [shown(n) for n in (0, 4, 5, 12)] == ["<5", "<5", "5", "12"]

    class Totals:
        def totals(self) -> dict[str, int]:
            return {USERS: 9, counter_name("years_in_practice", "3-10年"): 6}

    questions, users = AnswerStatistics(Totals()).report()
    assert users == "9" and {q.question.kind for q in questions} == {"single", "multi"}
    years = next(q for q in questions if q.question.id == "years_in_practice")
    assert [o.shown for o in years.options] == ["<5", "6", "<5", "<5"]
