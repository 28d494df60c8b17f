"""Articles as readers get them: the head (list fields and the comment count) and the sections."""

from __future__ import annotations

import re
from datetime import datetime

import msgspec

from shared import errors

MAX_ARTICLE_ID_CHARS = 64
MAX_SECTIONS = 50
# An article's comment count is the count kept on its head before counters were sharded (moved no
# more) plus the sum of COUNT_SHARDS counter items: a post adds one to a shard picked at random,
# so the writes of a busy article spread over this many keys, and a reader sums them.
COUNT_SHARDS = 8
ARTICLE_ID = re.compile(rf"^[a-z0-9][a-z0-9-]{{0,{MAX_ARTICLE_ID_CHARS - 1}}}$")


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


class Article(msgspec.Struct, frozen=True):
    head: ArticleHead
    sections: tuple[Section, ...]


class FeedPosition(msgspec.Struct, frozen=True):
    """Where a feed page ended: the next page starts after this article."""

    sort_key: str  # the feed index's sort key: "<published_at ISO>#<article id>"
    article_id: str
