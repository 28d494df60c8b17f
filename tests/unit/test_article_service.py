"""The feed and an article, on an in-memory repository, through the per-container caches."""

from __future__ import annotations

from datetime import timedelta

import msgspec
import pytest

from shared import errors
from shared.domain.articles import Article, ArticleHead, Section
from shared.domain.users import User
from shared.services.articles import COUNT_SECONDS, TEXT_SECONDS, ArticleService
from shared.services.cursors import Cursors
from tests.unit.fakes import FakeArticles
from tests.unit.services_setup import NOW
from tests.unit.test_comment_service import Signer

READER = User("reader", "openid-reader", NOW)


def article(n: int, count: int = 0) -> Article:
    head = ArticleHead(
        f"article-{n}",
        f"第{n}篇",
        "编辑部",
        n % 2 == 0,
        None if n % 2 == 0 else "来源",
        "摘要",
        NOW - timedelta(days=10 - n),
        comment_count=count,
    )
    return Article(head, (Section("为什么？", "因为。", "qa"),))


def service_of(articles: FakeArticles) -> ArticleService:
    return ArticleService(articles, Cursors(Signer), lambda: NOW + timedelta(hours=1))


def test_the_feed_pages_newest_first() -> None:
    service = service_of(FakeArticles(*(article(n) for n in range(5))))
    first = service.page(READER, "2", None)
    rest = service.page(READER, "50", service.page(READER, "2", first["next_cursor"])["next_cursor"])
    second = service.page(READER, "2", first["next_cursor"])
    ids = [a["id"] for a in first["items"] + second["items"] + rest["items"]]
    assert ids == [f"article-{n}" for n in (4, 3, 2, 1, 0)] and rest["next_cursor"] is None
    with pytest.raises(errors.BadRequest):
        service.page(READER, "2", "comments-cursor|a=x|c=y")
    with pytest.raises(errors.BadRequest):
        service.page(READER, "0", None)


def test_an_article_has_its_sections_and_an_unknown_or_malformed_id_is_not_found() -> None:
    service = service_of(FakeArticles(article(1)))
    detail = service.detail(READER, "article-1")
    assert detail["sections"] == [{"kind": "qa", "heading": "为什么？", "body": "因为。"}]
    assert detail["source"] == "来源"
    for missing in ("article-9", "Article-1", "../x"):
        with pytest.raises(errors.NotFound):
            service.detail(READER, missing)


def test_the_count_is_the_heads_base_plus_the_counters(aged: list[float]) -> None:
    articles = FakeArticles(article(1, count=7))
    articles.count("article-1", 3)
    service = service_of(articles)
    assert service.detail(READER, "article-1")["comment_count"] == 10
    assert service.page(READER, None, None)["items"][0]["comment_count"] == 10


def test_a_busy_article_is_read_once_a_period_per_container(aged: list[float]) -> None:
    articles = FakeArticles(article(1))
    service = service_of(articles)
    for _ in range(50):
        service.detail(READER, "article-1")
    assert articles.reads == 1  # the text and the count, together
    articles.count("article-1", 1)
    assert service.detail(READER, "article-1")["comment_count"] == 0  # at most COUNT_SECONDS late
    aged[0] += COUNT_SECONDS + 0.1
    assert service.detail(READER, "article-1")["comment_count"] == 1
    assert articles.reads == 2  # the count alone
    aged[0] += TEXT_SECONDS
    service.detail(READER, "article-1")
    assert articles.reads == 3


def test_a_caller_who_just_wrote_reads_around_the_caches(aged: list[float]) -> None:
    articles = FakeArticles(article(1))
    service = service_of(articles)
    service.detail(READER, "article-1")
    service.page(READER, None, None)
    articles.count("article-1", 1)
    writer = msgspec.structs.replace(READER, wrote_at=NOW + timedelta(hours=1, seconds=-3))
    assert service.detail(writer, "article-1")["comment_count"] == 1
    assert service.page(writer, None, None)["items"][0]["comment_count"] == 1
    assert service.detail(READER, "article-1")["comment_count"] == 0  # others: within the period
    earlier = msgspec.structs.replace(READER, wrote_at=NOW)  # an hour ago: the caches serve them
    assert service.detail(earlier, "article-1")["comment_count"] == 0
