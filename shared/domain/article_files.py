"""An article as a file: the Markdown and front matter that `python -m infra.ops articles import`
and the console's import both take, read by this one parser.

    ---
    id: hypertension-elderly            lower-case letters, digits and '-' (at most 64)
    title: 老年高血压管理答疑            1 to 80 characters
    published_at: 2026-10-08T09:00:00+08:00   with its offset
    author: 平台演示编辑组
    original: true                      true or false; false needs a source
    source:                             where a non-original article comes from
    summary: ...                        1 to 300 characters
    status: published                   optional: draft (the default) or published
    ---
    导语：text before the first heading is the introduction (a text section with no heading).

    ## 问：老年患者的降压目标应如何设定？   a Q&A block: kind qa, the question its heading
    答：...
    ## 声明                                any other `## ` heading: a text section
    ...

The front matter is one `key: value` a line (a value may be quoted with "" or ''; `#` starts a
comment line). Every fault is named with its line, all at once (400, field `file`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from shared import errors
from shared.domain.articles import ARTICLE_ID, DRAFT, MAX_SECTIONS, PUBLISHED, Article, ArticleHead, Section

MAX_ARTICLE_BYTES = 200_000  # far under DynamoDB's 400 KB item limit
MAX_TITLE_CHARS = 80
MAX_SUMMARY_CHARS = 300
FENCE = "---"
HEADING = "## "
QUESTION_MARKS = ("问：", "问:")
KEYS = ("id", "title", "published_at", "author", "original", "source", "summary", "status")
REQUIRED = ("id", "title", "published_at", "author", "original", "summary")
FILE_STATUSES = (DRAFT, PUBLISHED)
FIELD = "file"


@dataclass(frozen=True)
class ArticleFile:
    article_id: str
    title: str
    published_at: datetime  # UTC
    author: str
    original: bool
    source: str | None
    summary: str
    sections: list[tuple[str, str, str]]  # (kind, heading, body)
    status: str | None = None  # as the front matter says it; None: not said (a new article is a draft)

    @property
    def sha256(self) -> str:
        content: list[object] = [
            self.title,
            self.published_at.isoformat(),
            self.author,
            self.original,
            self.source,
            self.summary,
            self.sections,
        ]
        if self.status is not None:  # files without one keep the digest they were imported with
            content.append(self.status)
        return hashlib.sha256(json.dumps(content, ensure_ascii=False).encode()).hexdigest()


def section_kind(heading: str) -> tuple[str, str]:
    """("qa", the question) for a `问：` heading, else ("text", the heading)."""
    for mark in QUESTION_MARKS:
        if heading.startswith(mark) and heading[len(mark) :].strip():
            return "qa", heading[len(mark) :].strip()
    return "text", heading


def _fault(faults: errors.Faults, case: str, line: int, **params: object) -> None:
    faults.add(FIELD, "invalid", case, line=line, **params)


def _value(raw: str) -> str:
    raw = raw.strip()
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
        return raw[1:-1]
    return raw


def _front_matter(lines: list[str], faults: errors.Faults) -> tuple[dict[str, tuple[int, str]], int] | None:
    """`key -> (line, value)` and the index of the first body line; None when there is none."""
    if not lines or lines[0].strip() != FENCE:
        return None
    found: dict[str, tuple[int, str]] = {}
    for index in range(1, len(lines)):
        number, line = index + 1, lines[index]
        if line.strip() == FENCE:
            return found, index + 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition(":")
        key = key.strip()
        if not sep or key not in KEYS:
            _fault(faults, "article_key", number, keys="、".join(KEYS))
        elif key in found:
            _fault(faults, "article_key_twice", number, key=key)
        else:
            found[key] = (number, _value(value))
    return None


def _text(meta: dict[str, tuple[int, str]], key: str, limit: int, faults: errors.Faults) -> str:
    line, value = meta.get(key, (0, ""))
    if line and not 0 < len(value.strip()) <= limit:
        _fault(faults, "article_text", line, key=key, max=limit)
    return value.strip()


def _published_at(meta: dict[str, tuple[int, str]], faults: errors.Faults) -> datetime:
    line, value = meta.get("published_at", (0, ""))
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        if line:
            _fault(faults, "article_published_at", line)
        return datetime.fromtimestamp(0, UTC)
    return moment.astimezone(UTC)


def sections_of(lines: list[str], first: int, faults: errors.Faults) -> list[tuple[str, str, str]]:
    """The body's sections from line index `first` on: an introduction before the first heading
    (kind text, no heading), then one section per `## ` heading."""
    found: list[tuple[int, str, list[str]]] = [(first + 1, "", [])]  # (line, heading, text)
    for index in range(first, len(lines)):
        line = lines[index]
        if line.startswith(HEADING) or line.strip() == HEADING.strip():
            heading = line[len(HEADING) :].strip() if line.startswith(HEADING) else ""
            if not heading:
                _fault(faults, "article_heading", index + 1)
            found.append((index + 1, heading, []))
        else:
            found[-1][2].append(line)
    intro, *headed = found
    sections: list[tuple[str, str, str]] = []
    intro_text = "\n".join(intro[2]).strip()
    if intro_text:
        sections.append(("text", "", intro_text))
    for number, heading, text_lines in headed:
        text = "\n".join(text_lines).strip()
        if not text:
            _fault(faults, "article_section_empty", number)
        sections.append((*section_kind(heading), text))
    if not sections:
        _fault(faults, "article_body_empty", len(lines))
    if len(sections) > MAX_SECTIONS:
        _fault(faults, "article_sections", headed[MAX_SECTIONS][0] if headed else 1, max=MAX_SECTIONS)
    return sections


def parse_article(raw: bytes) -> ArticleFile:
    """The article a file holds; every fault named with its line (400, field `file`)."""
    if len(raw) > MAX_ARTICLE_BYTES:
        raise errors.invalid(FIELD, "too_long", "article_size", max=MAX_ARTICLE_BYTES // 1000)
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise errors.invalid(FIELD, "invalid", "article_utf8", line=line) from None
    lines = text.replace("\r\n", "\n").split("\n")
    faults = errors.Faults()
    read = _front_matter(lines, faults)
    if read is None:
        raise errors.invalid(FIELD, "invalid", "article_front_matter", line=1)
    meta, first = read
    for key in REQUIRED:
        if key not in meta:
            _fault(faults, "article_missing", first, key=key)
    id_line, article_id = meta.get("id", (0, ""))
    if id_line and not ARTICLE_ID.fullmatch(article_id):
        _fault(faults, "article_id", id_line)
    original_line, original_text = meta.get("original", (0, ""))
    if original_line and original_text not in ("true", "false"):
        _fault(faults, "article_original", original_line)
    original = original_text == "true"
    source_line, source = meta.get("source", (0, ""))
    if original_line and not original and not source.strip():
        _fault(faults, "article_source", source_line or original_line)
    status_line, status = meta.get("status", (0, ""))
    if status_line and status not in FILE_STATUSES:
        _fault(faults, "article_status", status_line)
    found = ArticleFile(
        article_id=article_id,
        title=_text(meta, "title", MAX_TITLE_CHARS, faults),
        published_at=_published_at(meta, faults),
        author=_text(meta, "author", MAX_TITLE_CHARS, faults),
        original=original,
        source=source.strip() or None,
        summary=_text(meta, "summary", MAX_SUMMARY_CHARS, faults),
        sections=sections_of(lines, first, faults),
        status=status if status_line else None,
    )
    faults.raise_any()
    return found


def to_article(doc: ArticleFile, now: datetime) -> Article:
    """The article a file describes, as imported at `now`: a new one is a draft unless the file
    says `status: published` (an article that exists keeps its status unless the file says one)."""
    head = ArticleHead(
        article_id=doc.article_id,
        title=doc.title,
        author=doc.author,
        original=doc.original,
        source=doc.source,
        summary=doc.summary,
        published_at=doc.published_at,
        content_sha256=doc.sha256,
        updated_at=now,
        status=doc.status or DRAFT,
    )
    return Article(head, tuple(Section(heading, text, kind) for kind, heading, text in doc.sections))
