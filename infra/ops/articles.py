"""`python -m infra.ops articles import <file.md>...`, `articles held <article id>`,
`articles release <comment id>`, `articles spread <article id> <partitions>`.

An article file: front matter (id, title, published_at with offset, author, original:
true/false, source, summary, status), then the body (the format: `shared.domain.article_files`,
which the console's import reads too). A new article is a draft unless the file says
`status: published`. Importing is idempotent: the same content again changes nothing, a changed
file updates the article in place and never touches its comment count.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from shared import errors, wiring
from shared.domain.article_files import ArticleFile, parse_article, to_article
from shared.domain.articles import ARTICLE_ID
from shared.domain.comments import MAX_COMMENT_SHARDS, QUEUE_PENDING
from shared.domain.outcomes import Written
from shared.domain.staff import OPS_ACTOR
from shared.store.articles import ArticleRepository, Saved

SEED_DIR = Path(__file__).resolve().parents[1] / "seed" / "articles"
USAGE = (
    "usage: python -m infra.ops articles import <file.md>...\n"
    "       python -m infra.ops articles held <article id>\n"
    "       python -m infra.ops articles release <comment id>\n"
    "       python -m infra.ops articles spread <article id> <partitions>"
)


class ArticleFileError(Exception):
    """The file cannot be imported as it is (the message says why, line by line)."""


def read_article(path: Path) -> ArticleFile:
    """The file's article, by the parser the console's import uses too."""
    try:
        return parse_article(path.read_bytes())
    except errors.BadRequest as exc:
        faults = [f.describe("en")["message"] for f in exc.fields or ()] or [exc.message("en")]
        raise ArticleFileError(f"{path}: " + "; ".join(faults)) from None


def import_article(path: Path, now: datetime | None = None) -> Saved:
    """Import one file into the stage of the environment: "created", "updated" or "unchanged"."""
    doc = read_article(path)
    wiring.services()  # binds the models to the stage
    article = to_article(doc, now or datetime.now(UTC))
    return ArticleRepository().save(article, keep_status=doc.status is None)


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
        except (ArticleFileError, OSError) as exc:
            print(f"{name}: refused: {exc}", file=sys.stderr)
            status = 1
    return status
