"""Articles for readers: the feed, newest first, and one article with its sections.

Costs (the gate's user read included): the list 2 calls, the detail 2 (see `make bench`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared import errors
from shared.domain import times
from shared.domain.articles import Article, ArticleHead, FeedPosition, check_article_id
from shared.domain.comments import page_size
from shared.services.cursors import Cursors

if TYPE_CHECKING:
    from shared.services.ports import Articles

ARTICLES_CURSOR = "articles-cursor"


def article_summary(head: ArticleHead) -> dict[str, Any]:
    return {
        "id": head.article_id,
        "title": head.title,
        "published_at": times.iso(head.published_at),
        "author": head.author,
        "original": head.original,
        "source": head.source,
        "summary": head.summary,
        "comment_count": head.comment_count,
    }


def article_view(article: Article) -> dict[str, Any]:
    head = article.head
    return {
        **article_summary(head),
        "sections": [{"kind": s.kind, "heading": s.heading, "body": s.body} for s in article.sections],
        "updated_at": times.iso_or_none(head.updated_at),
    }


class ArticleService:
    def __init__(self, articles: Articles, cursors: Cursors) -> None:
        self._articles = articles
        self._cursors = cursors

    def page(self, limit: str | None, cursor: str | None) -> dict[str, Any]:
        size = page_size(limit)
        start = self._cursors.load(ARTICLES_CURSOR, cursor, {"k", "id"})
        after = None if start is None else FeedPosition(start["k"], start["id"])
        heads, last = self._articles.feed_page(size, after)
        next_cursor = None
        if last is not None:
            next_cursor = self._cursors.sign(ARTICLES_CURSOR, {"k": last.sort_key, "id": last.article_id})
        return {"items": [article_summary(h) for h in heads], "next_cursor": next_cursor}

    def detail(self, article_id: str) -> dict[str, Any]:
        article = self._articles.get(check_article_id(article_id))
        if article is None:
            raise errors.NotFound("article")
        return article_view(article)
