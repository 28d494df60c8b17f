"""`python -m infra.ops articles import <file.md>...`, `articles held <article id>`,
`articles release <comment id>`, `articles spread <article id> <partitions>`.

An article file: YAML front matter (id, title, published_at with offset, author, original:
true/false, source, summary), then the body, whose `## ` headings start the sections; a heading
`## 问：<question>` starts a Q&A block (kind "qa", the question its heading); any other, a
text. Importing is idempotent: the same content again changes nothing, a changed file updates
the article in place and never touches its comment count.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from shared import errors, wiring
from shared.domain.articles import ARTICLE_ID, MAX_SECTIONS, Article, ArticleHead, Section
from shared.domain.comments import MAX_COMMENT_SHARDS, QUEUE_PENDING
from shared.domain.outcomes import Written
from shared.domain.staff import OPS_ACTOR
from shared.store.articles import ArticleRepository, Saved

SEED_DIR = Path(__file__).resolve().parents[1] / "seed" / "articles"
MAX_TITLE_CHARS = 80
MAX_SUMMARY_CHARS = 300
MAX_ARTICLE_BYTES = 200_000  # far under DynamoDB's 400 KB item limit
USAGE = (
    "usage: python -m infra.ops articles import <file.md>...\n"
    "       python -m infra.ops articles held <article id>\n"
    "       python -m infra.ops articles release <comment id>\n"
    "       python -m infra.ops articles spread <article id> <partitions>"
)


class ArticleFileError(Exception):
    """The file cannot be imported as it is (the message says why)."""


@dataclass(frozen=True)
class ArticleFile:
    article_id: str
    title: str
    published_at: datetime
    author: str
    original: bool
    source: str | None
    summary: str
    sections: list[tuple[str, str, str]]  # (kind, heading, body)

    @property
    def sha256(self) -> str:
        content = [
            self.title,
            self.published_at.isoformat(),
            self.author,
            self.original,
            self.source,
            self.summary,
            self.sections,
        ]
        return hashlib.sha256(json.dumps(content, ensure_ascii=False).encode()).hexdigest()


def _text(meta: dict[str, Any], name: str, path: Path, limit: int) -> str:
    value = meta.get(name)
    if not isinstance(value, str) or not 0 < len(value.strip()) <= limit:
        raise ArticleFileError(f"{path}: {name} must be 1 to {limit} characters")
    return value.strip()


def _published_at(value: Any, path: Path) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            value = None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ArticleFileError(
            f"{path}: published_at must be a time with its offset (2026-10-20T09:00:00+08:00)"
        )
    return value.astimezone(UTC)


QUESTION_MARKS = ("问：", "问:")


def section_kind(heading: str) -> tuple[str, str]:
    """("qa", the question) for a `问：` heading, else ("text", the heading)."""
    for mark in QUESTION_MARKS:
        if heading.startswith(mark) and heading[len(mark) :].strip():
            return "qa", heading[len(mark) :].strip()
    return "text", heading


def sections_of(body: str, path: Path) -> list[tuple[str, str, str]]:
    sections: list[tuple[str, list[str]]] = []
    for line in body.splitlines():
        if line.startswith("## "):
            sections.append((line[3:].strip(), []))
        elif sections:
            sections[-1][1].append(line)
        elif line.strip():
            raise ArticleFileError(f"{path}: text before the first '## ' heading")
    done = [(heading, "\n".join(lines).strip()) for heading, lines in sections]
    if not done or any(not h or not b for h, b in done):
        raise ArticleFileError(f"{path}: the body needs '## ' sections, each with a heading and text")
    if len(done) > MAX_SECTIONS:
        raise ArticleFileError(f"{path}: at most {MAX_SECTIONS} sections")
    return [(*section_kind(heading), text) for heading, text in done]


def read_article(path: Path) -> ArticleFile:
    raw = path.read_bytes()
    if len(raw) > MAX_ARTICLE_BYTES:
        raise ArticleFileError(f"{path}: larger than {MAX_ARTICLE_BYTES} bytes")
    text = raw.decode("utf-8")
    head, sep, body = text.removeprefix("---\n").partition("\n---\n")
    if not text.startswith("---\n") or not sep:
        raise ArticleFileError(f"{path}: front matter (--- id/title/published_at/... ---) is missing")
    meta = yaml.safe_load(head) or {}
    if not isinstance(meta, dict):
        raise ArticleFileError(f"{path}: the front matter must be a mapping")
    article_id = meta.get("id")
    if not isinstance(article_id, str) or not ARTICLE_ID.fullmatch(article_id):
        raise ArticleFileError(f"{path}: id must be lower-case letters, digits and '-' (at most 64)")
    original = meta.get("original")
    if not isinstance(original, bool):
        raise ArticleFileError(f"{path}: original must be true or false")
    source = meta.get("source")
    if source is not None and not isinstance(source, str):
        raise ArticleFileError(f"{path}: source must be text")
    if not original and not (source or "").strip():
        raise ArticleFileError(f"{path}: an article that is not original must name its source")
    return ArticleFile(
        article_id=article_id,
        title=_text(meta, "title", path, MAX_TITLE_CHARS),
        published_at=_published_at(meta.get("published_at"), path),
        author=_text(meta, "author", path, MAX_TITLE_CHARS),
        original=original,
        source=(source or "").strip() or None,
        summary=_text(meta, "summary", path, MAX_SUMMARY_CHARS),
        sections=sections_of(body, path),
    )


def import_article(path: Path, now: datetime | None = None) -> Saved:
    """Import one file into the stage of the environment: "created", "updated" or "unchanged"."""
    doc = read_article(path)
    wiring.services()  # binds the models to the stage
    head = ArticleHead(
        article_id=doc.article_id,
        title=doc.title,
        author=doc.author,
        original=doc.original,
        source=doc.source,
        summary=doc.summary,
        published_at=doc.published_at,
        content_sha256=doc.sha256,
        updated_at=now or datetime.now(UTC),
    )
    sections = tuple(Section(heading, text, kind) for kind, heading, text in doc.sections)
    return ArticleRepository().save(Article(head, sections))


def seed_files(seed_dir: Path = SEED_DIR) -> list[Path]:
    return sorted(seed_dir.glob("*.md"))


def import_seed(seed_dir: Path = SEED_DIR) -> dict[str, str]:
    return {path.name: import_article(path) for path in seed_files(seed_dir)}


def spread(argv: list[str]) -> int:
    """`articles spread <article id> <partitions>`: before a live event, let the article's comments
    spread over more partitions (readers and posters take it within a minute; never lowered)."""
    if (
        len(argv) != 2
        or not ARTICLE_ID.fullmatch(argv[0])
        or not argv[1].isascii()
        or not argv[1].isdigit()
        or not 1 <= int(argv[1]) <= MAX_COMMENT_SHARDS
    ):
        print(
            f"usage: python -m infra.ops articles spread <article id> <1..{MAX_COMMENT_SHARDS}>",
            file=sys.stderr,
        )
        return 2
    wiring.services()  # binds the models to the stage
    if not isinstance(ArticleRepository().spread_comments(argv[0], int(argv[1])), Written):
        print(f"{argv[0]}: no such article, or its comments already spread wider", file=sys.stderr)
        return 1
    print(f"{argv[0]}: comments spread over {argv[1]} partitions")
    return 0


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in ("import", "held", "release", "spread"):
        print(USAGE, file=sys.stderr)
        return 2
    if argv[0] == "spread":
        return spread(argv[1:])
    moderation = wiring.services().moderation
    if argv[0] == "held":  # the moderation queue's comments of that article (the console lists all)
        after: str | None = None
        while True:
            page = moderation.page(QUEUE_PENDING, after)
            for comment in page.comments:
                if comment.article_id == argv[1]:
                    print(
                        f"{comment.ref.public_id}\t{comment.status}\t{comment.created_at.isoformat()}\t{comment.text}"
                    )
            if page.more is None:
                return 0
            after = page.more
    if argv[0] == "release":  # a moderator's restore, by the ops command
        try:
            moderation.restore(OPS_ACTOR, argv[1])
        except (errors.NotFound, errors.Conflict):
            print(f"{argv[1]}: not a held or hidden comment", file=sys.stderr)
            return 1
        print(f"{argv[1]}: released")
        return 0
    status = 0
    for name in argv[1:]:
        try:
            print(f"{name}: {import_article(Path(name))}")
        except (ArticleFileError, OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            print(f"{name}: refused: {exc}", file=sys.stderr)
            status = 1
    return status
