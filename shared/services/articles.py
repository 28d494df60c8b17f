"""Articles for readers: the feed, newest first, and one article with its sections.

Readers get them through per-container caches (`shared.services.fresh`): an article's text and
the feed's pages may be `TEXT_SECONDS` late, the comment counts `COUNT_SECONDS` (as api.md
allows), read eventually consistent. A caller who wrote a comment within `OWN_WRITES_SECONDS`
reads around the caches, strongly consistent, so they always see their own writes.
Costs (the gate's user read included): the list 2 or 3 calls, the detail 1 or 2 (see `make bench`).

Readers see an article only while it is published and its time has come (`ArticleHead.readable`),
checked on every request against the clock, cached or not: a scheduled article appears at its
moment in the detail; the feed's Query ranges up to now, so it enters a feed page as that page's
cache (TEXT_SECONDS) renews. An article unpublished by an editor disappears from a container
when its cached text (and feed page) age out: at most TEXT_SECONDS later, since an editor's
action runs in another function and cannot empty the readers' containers (api.md allows 60 s).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from shared import errors
from shared.domain import times
from shared.domain.articles import Article, ArticleHead, FeedPosition, check_article_id
from shared.domain.comments import page_size
from shared.domain.users import User
from shared.services.cursors import Cursors
from shared.services.fresh import Fresh

if TYPE_CHECKING:
    from shared.services.ports import Articles

ARTICLES_CURSOR = "articles-cursor"
TEXT_SECONDS = 60  # article text and state, the feed's pages
COUNT_SECONDS = 5  # comment counts (and the first page of comments: see the comment service)
OWN_WRITES_SECONDS = 60  # the longest of the two: a caller who just wrote reads fresh


def wrote_lately(user: User, now: datetime) -> bool:
    """Whether the user wrote a comment recently enough that a cache could hide it from them."""
    return user.wrote_at is not None and now - user.wrote_at < timedelta(seconds=OWN_WRITES_SECONDS)


def article_summary(head: ArticleHead, comment_count: int) -> dict[str, Any]:
    return {
        "id": head.article_id,
        "title": head.title,
        "published_at": times.iso(head.published_at),
        "author": head.author,
        "original": head.original,
        "source": head.source,
        "summary": head.summary,
        "comment_count": comment_count,
    }


def article_view(article: Article, comment_count: int) -> dict[str, Any]:
    head = article.head
    return {
        **article_summary(head, comment_count),
        "sections": [{"kind": s.kind, "heading": s.heading, "body": s.body} for s in article.sections],
        "updated_at": times.iso_or_none(head.updated_at),
    }


class ArticleService:
    def __init__(self, articles: Articles, cursors: Cursors, clock: Callable[[], datetime]) -> None:
        self._articles = articles
        self._cursors = cursors
        self._clock = clock
        self._texts: Fresh[Article] = Fresh(TEXT_SECONDS, size=200)
        self._feeds: Fresh[tuple[list[ArticleHead], FeedPosition | None]] = Fresh(TEXT_SECONDS, size=60)
        self._counts: Fresh[int] = Fresh(COUNT_SECONDS)  # the counters' sum, by article

    def forget(self) -> None:
        """Empty this container's caches (the bench moves an article's settings under them)."""
        for cache in (self._texts, self._feeds, self._counts):
            cache.clear()

    def page(self, user: User, limit: str | None, cursor: str | None) -> dict[str, Any]:
        size = page_size(limit)
        start = self._cursors.load(ARTICLES_CURSOR, cursor, {"k", "id"})
        after = None if start is None else FeedPosition(start["k"], start["id"])
        fresh = wrote_lately(user, self._clock())
        found = self._feeds.get((size, start and tuple(start.items()))) if not fresh else None
        if found is None:
            found = self._articles.feed_page(size, after, self._clock())
            if not fresh:
                self._feeds.put((size, start and tuple(start.items())), found)
        heads, last = found
        counted = self._counted([h.article_id for h in heads], fresh)
        next_cursor = None
        if last is not None:
            next_cursor = self._cursors.sign(ARTICLES_CURSOR, {"k": last.sort_key, "id": last.article_id})
        items = [article_summary(h, h.comment_count + counted[h.article_id]) for h in heads]
        return {"items": items, "next_cursor": next_cursor}

    def detail(self, user: User, article_id: str) -> dict[str, Any]:
        check_article_id(article_id)
        fresh = wrote_lately(user, self._clock())
        article = None if fresh else self._texts.get(article_id)
        if article is not None:
            counted = self._counted([article_id], fresh)[article_id]
        else:
            found = self._articles.get(article_id, fresh)
            if found is None:
                raise errors.NotFound("article")
            article, counted = found
            if not fresh:
                self._texts.put(article_id, article)
                self._counts.put(article_id, counted)
        if not article.head.readable(self._clock()):
            raise errors.NotFound("article")
        return article_view(article, article.head.comment_count + counted)

    def comment_shards(self, article_id: str, fresh: bool = False) -> int | None:
        """How many partitions the article's comments spread over. Readers' view (not `fresh`,
        up to TEXT_SECONDS late): None unless readers may see the article, so its comments are
        hidden (and closed) with it. `fresh` (staff, ops): as stored, None only when there is no
        such article, whatever its state."""
        article = None if fresh else self._texts.get(article_id)
        if article is None:
            found = self._articles.get(article_id, fresh)
            if found is None:
                return None
            article = self._texts.put(article_id, found[0])  # not its count: a post will move it
        if not fresh and not article.head.readable(self._clock()):
            return None
        return article.head.comment_shards

    def require_readable(self, article_id: str) -> None:
        """404 unless readers may see the article (its comments are hidden with it). Served from
        the cache the comment pages read anyway: no call of its own."""
        if self.comment_shards(check_article_id(article_id)) is None:
            raise errors.NotFound("article")

    def _counted(self, article_ids: list[str], fresh: bool) -> dict[str, int]:
        """The counters' sum of each article: cached ones as they are, the rest in one read."""
        if fresh:
            return self._articles.counts(article_ids, True) if article_ids else {}
        found = {a: self._counts.get(a) for a in article_ids}
        missing = [a for a, n in found.items() if n is None]
        if missing:
            for article_id, counted in self._articles.counts(missing).items():
                found[article_id] = self._counts.put(article_id, counted)
        return {a: n or 0 for a, n in found.items()}
