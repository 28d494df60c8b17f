"""The feed and an article, on an in-memory repository."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared import errors
from shared.domain.articles import Article, ArticleHead, Section
from shared.services.articles import ArticleService
from shared.services.cursors import Cursors
from tests.unit.fakes import FakeArticles
from tests.unit.services_setup import NOW
from tests.unit.test_comment_service import Signer


def article(n: int) -> Article:
    head = ArticleHead(
        f"article-{n}",
        f"第{n}篇",
        "编辑部",
        n % 2 == 0,
        None if n % 2 == 0 else "来源",
        "摘要",
        NOW + timedelta(days=n),
    )
    return Article(head, (Section("为什么？", "因为。", "qa"),))


def test_the_feed_pages_newest_first() -> None:
    service = ArticleService(FakeArticles(*(article(n) for n in range(5))), Cursors(Signer))
    first = service.page("2", None)
    rest = service.page("50", service.page("2", first["next_cursor"])["next_cursor"])
    second = service.page("2", first["next_cursor"])
    ids = [a["id"] for a in first["items"] + second["items"] + rest["items"]]
    assert ids == [f"article-{n}" for n in (4, 3, 2, 1, 0)] and rest["next_cursor"] is None
    with pytest.raises(errors.BadRequest):
        service.page("2", "comments-cursor|a=x|c=y")
    with pytest.raises(errors.BadRequest):
        service.page("0", None)


def test_an_article_has_its_sections_and_an_unknown_or_malformed_id_is_not_found() -> None:
    service = ArticleService(FakeArticles(article(1)), Cursors(Signer))
    detail = service.detail("article-1")
    assert detail["sections"] == [{"kind": "qa", "heading": "为什么？", "body": "因为。"}]
    assert detail["source"] == "来源"
    for missing in ("article-9", "Article-1", "../x"):
        with pytest.raises(errors.NotFound):
            service.detail(missing)
