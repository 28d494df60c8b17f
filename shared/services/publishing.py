"""The editors' desk: every article with its state, publish now or at a time, unpublish, import a
Markdown file, preview. Every change is one transaction with its audit line (`article#<id>`).

Publishing writes only the article's status and time: `scheduled` is a published article read
before its time (see `shared.domain.articles`), so readers get it at that moment with no job.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from msgspec.structs import replace

from shared import errors
from shared.domain.article_files import parse_article, to_article
from shared.domain.articles import (
    DRAFT,
    PUBLISHED,
    SCHEDULED,
    UNPUBLISHED,
    ArticleHead,
    check_article_id,
    parse_publish_at,
)
from shared.domain.audit import ARTICLE_IMPORTED, ARTICLE_PUBLISHED, ARTICLE_UNPUBLISHED, AuditEvent
from shared.domain.outcomes import Written
from shared.domain.staff import StaffMember
from shared.services.articles import article_view

if TYPE_CHECKING:
    from shared.services.ports import Articles, AuditLog


def subject(article_id: str) -> str:
    return f"article#{article_id}"


@dataclass(frozen=True)
class DeskRow:
    head: ArticleHead
    state: str


@dataclass(frozen=True)
class Imported:
    article_id: str
    saved: str  # created | updated | unchanged


class Publishing:
    def __init__(self, articles: Articles, audit: AuditLog, clock: Callable[[], datetime]) -> None:
        self._articles = articles
        self._audit = audit
        self._clock = clock

    def desk(self) -> list[DeskRow]:
        """Every article with its state: drafts and scheduled first, then the rest, newest first."""
        now = self._clock()
        rows = [DeskRow(h, h.state(now)) for h in self._articles.catalog()]
        first = {DRAFT: 0, SCHEDULED: 0, PUBLISHED: 1, UNPUBLISHED: 1}
        rows.sort(key=lambda r: r.head.published_at, reverse=True)
        return sorted(rows, key=lambda r: first.get(r.state, 1))

    def publish(self, member: StaffMember, article_id: str, publish_at: str) -> DeskRow:
        """Publish now, or at `publish_at` (a future time schedules it; a past one dates it). A
        published article must be unpublished before it moves (409); a scheduled one may move."""
        now = self._clock()
        when = parse_publish_at(publish_at, now) or now
        seen = self._head(article_id)
        if seen.state(now) == PUBLISHED:
            raise errors.Conflict("article_published")
        outcome = "scheduled" if when > now else "published"
        event = AuditEvent(ARTICLE_PUBLISHED, member.staff_id, subject(article_id), now, outcome=outcome)
        self._move(seen, PUBLISHED, when, event)
        return DeskRow(seen, SCHEDULED if when > now else PUBLISHED)

    def unpublish(self, member: StaffMember, article_id: str) -> DeskRow:
        """Take a published or scheduled article down: readers get 404, its comments stay, hidden
        with it (published again, they show again)."""
        now = self._clock()
        seen = self._head(article_id)
        if seen.status != PUBLISHED:
            raise errors.Conflict("article_not_published")
        event = AuditEvent(ARTICLE_UNPUBLISHED, member.staff_id, subject(article_id), now)
        self._move(seen, UNPUBLISHED, seen.published_at, event)
        return DeskRow(seen, UNPUBLISHED)

    def import_file(self, member: StaffMember, raw: bytes) -> Imported:
        """A Markdown file as `python -m infra.ops articles import` takes it (400 naming each
        fault's line). A new article is a draft unless the file says `status: published`."""
        now = self._clock()
        doc = parse_article(raw)
        article = to_article(doc, now)
        event = AuditEvent(ARTICLE_IMPORTED, member.staff_id, subject(doc.article_id), now)
        saved = self._articles.save(article, keep_status=doc.status is None, event=event)
        if saved == "unchanged":  # nothing written: the line on its own, so the attempt is on record
            self._audit.append(replace(event, outcome="unchanged"))
        return Imported(doc.article_id, saved)

    def preview(self, article_id: str) -> tuple[dict[str, Any], str]:
        """The article as readers will get it (whatever its state), and its state."""
        found = self._articles.get(check_article_id(article_id), True)
        if found is None:
            raise errors.NotFound("article")
        article, counted = found
        return article_view(article, article.head.comment_count + counted), article.head.state(self._clock())

    def _head(self, article_id: str) -> ArticleHead:
        found = self._articles.head(check_article_id(article_id))
        if found is None:
            raise errors.NotFound("article")
        return found

    def _move(self, seen: ArticleHead, status: str, when: datetime, event: AuditEvent) -> None:
        if not isinstance(self._articles.move(seen, status, when, event), Written):
            raise errors.Conflict("article_changed")
