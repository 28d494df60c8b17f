"""Articles as readers get them: the head (list fields and the comment count) and the sections.

An article's state: `draft` (imported, never shown), `published` (shown from `published_at` on:
before that moment it is `scheduled`, and nothing has to run for it to appear), `unpublished`
(taken down by an editor; its comments stay, hidden with it). Only the stored status is written;
`scheduled` is the status `published` read before its time, so a schedule needs no job.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import msgspec

from shared import errors

MAX_ARTICLE_ID_CHARS = 64
MAX_SECTIONS = 50
# An article's comment count is the count kept on its head before counters were sharded (moved no
# more) plus the sum of COUNT_SHARDS counter items: a post adds one to a shard picked at random,
# so the writes of a busy article spread over this many keys, and a reader sums them.
COUNT_SHARDS = 8
ARTICLE_ID = re.compile(rf"^[a-z0-9][a-z0-9-]{{0,{MAX_ARTICLE_ID_CHARS - 1}}}$")


# Stored statuses, and the states an editor sees (`scheduled`: published, its time not come yet).
DRAFT, PUBLISHED, UNPUBLISHED, SCHEDULED = "draft", "published", "unpublished", "scheduled"
STATUSES = (DRAFT, PUBLISHED, UNPUBLISHED)
STATE_LABELS = {DRAFT: "草稿", SCHEDULED: "定时发布", PUBLISHED: "已发布", UNPUBLISHED: "已下线"}
# How far ahead an article may be scheduled (a year: a date typed wrong, 2030, is refused).
MAX_SCHEDULE_AHEAD = timedelta(days=366)
MAX_PUBLISH_AT_CHARS = 40


def check_article_id(article_id: str) -> str:
    if not ARTICLE_ID.fullmatch(article_id):
        raise errors.NotFound("article")
    return article_id


class Section(msgspec.Struct, frozen=True):
    """One part of an article: `kind` "qa" for a Q&A block (its heading is the question), else "text"."""

    heading: str
    body: str
    kind: str = "text"


class ArticleHead(msgspec.Struct, frozen=True):
    """Everything about an article but its sections: what the feed lists."""

    article_id: str
    title: str
    author: str
    original: bool
    source: str | None
    summary: str
    published_at: datetime
    comment_count: int = 0  # as read from the store: see COUNT_SHARDS
    content_sha256: str = ""
    updated_at: datetime | None = None
    comment_shards: int = 1  # how many partitions its comments spread over (see domain.comments)
    status: str = PUBLISHED  # DRAFT | PUBLISHED | UNPUBLISHED (an article from before states: published)

    def state(self, now: datetime) -> str:
        """What an editor sees: the status, or `scheduled` for a publication still to come."""
        if self.status == PUBLISHED and self.published_at > now:
            return SCHEDULED
        return self.status

    def readable(self, now: datetime) -> bool:
        """Whether readers may see it: published, and its time has come."""
        return self.state(now) == PUBLISHED


class Article(msgspec.Struct, frozen=True):
    head: ArticleHead
    sections: tuple[Section, ...]


class FeedPosition(msgspec.Struct, frozen=True):
    """Where a feed page ended: the next page starts after this article."""

    sort_key: str  # the feed index's sort key: "<published_at ISO>#<article id>"
    article_id: str


def parse_publish_at(text: str, now: datetime) -> datetime | None:
    """When to publish, as an editor types it: ISO 8601 (`2026-12-01T09:00:00+08:00`) or
    `2026-12-01 09:00` in the stage's zone; None (now) when empty. A time past is allowed (the
    article is dated then); one more than MAX_SCHEDULE_AHEAD ahead is refused (400)."""
    from shared.domain import times

    text = text.strip()
    if not text:
        return None
    if len(text) > MAX_PUBLISH_AT_CHARS:
        raise errors.invalid("publish_at", "invalid", "publish_at")
    try:
        moment = times.in_stage_zone(datetime.fromisoformat(text))
    except ValueError:
        raise errors.invalid("publish_at", "invalid", "publish_at") from None
    if moment - now > MAX_SCHEDULE_AHEAD:
        raise errors.invalid("publish_at", "invalid", "publish_at_far", days=MAX_SCHEDULE_AHEAD.days)
    return moment.astimezone(now.tzinfo).replace(microsecond=0)
