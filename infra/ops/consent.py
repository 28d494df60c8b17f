"""`python -m infra.ops consent publish <file.md>...`, `consent list` and `consent migrate-keys`.

A document file lives at `infra/seed/consent/<key>/<version>.md`: YAML front matter (title,
summary, required, and `links`: the documents the text names, each `{title, path}` with the
path among the platform's own pages, whose base URL is the stage's PLATFORM_PAGES_URL; the text
must name each one as 《title》) then the text shown to the user, whose sha256 is recorded with every
decision. Publishing is idempotent: the same text again is a no-op; a changed text under a
published version is refused (publish it as a new version, which re-asks every user).

What a text says about the stage is not typed in it: `{{name}}` stands for one of the facts
`stage_facts` reads from serverless.yml (the stage's settings under `custom.stages`, the tables'
point-in-time recovery) and from the staff roles, filled in when the file is read. A setting that
changes changes the text, so publishing it again under the same version is refused: a new
version states the new fact and asks every user again.
Running containers pick a new version up within CONSENT_CACHE_SECONDS (30 s by default).
"""

from __future__ import annotations

import hashlib
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from infra.routes import load_serverless
from shared import config, wiring
from shared.domain.consent import (
    DOCUMENT_KEYS,
    LINK_PATH,
    MAX_BODY_BYTES,
    MAX_LINK_TITLE_CHARS,
    MAX_LINKS,
    MAX_TITLE_CHARS,
    REQUIRED,
    Document,
    DocumentLink,
    check_version,
)
from shared.domain.outcomes import Written
from shared.domain.staff import ROLE_LABELS, ROLES, credential_roles
from shared.store.consent import DocumentRepository

SEED_DIR = Path(__file__).resolve().parents[1] / "seed" / "consent"


class PublishError(Exception):
    """The file cannot be published as it is (the message says why)."""


# DynamoDB keeps point-in-time backups this many days when a table names no `RecoveryPeriodInDays`.
PITR_DEFAULT_DAYS = 35
_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")


def stage_facts(stage: str, template: dict[str, Any] | None = None) -> dict[str, str]:
    """What the consent texts state about `stage`, by placeholder name: its settings as
    serverless.yml gives them (a stage it does not list takes `default`, as a deploy does), and
    who among the staff sees credentials."""
    template = load_serverless() if template is None else template
    custom = template["custom"]
    stages = custom["stages"]
    settings = stages.get(stage) or stages["default"]
    pitr = custom["table"]["PointInTimeRecoverySpecification"]
    viewers = credential_roles()
    others = [role for role in ROLES if role not in viewers]
    return {
        "image_retention_days": str(int(settings["imageRetentionDays"])),
        "backup_days": str(int(pitr.get("RecoveryPeriodInDays", PITR_DEFAULT_DAYS))),
        "consent_key_recovery_days": str(int(settings["consentKeyRecoveryDays"])),
        "credential_viewers": _listed([ROLE_LABELS[role] for role in viewers]),
        "other_staff": "、".join(ROLE_LABELS[role] for role in others) or "其他人员",
    }


def _listed(names: list[str]) -> str:
    """审核员和管理员; 审核员、内容编辑和管理员."""
    return "和".join(filter(None, ["、".join(names[:-1]), *names[-1:]]))


def render(text: str, facts: dict[str, str], path: Path) -> str:
    """The text with every `{{name}}` replaced by its fact; an unknown name is refused."""
    unknown = sorted({m[1] for m in _PLACEHOLDER.finditer(text)} - facts.keys())
    if unknown:
        raise PublishError(f"{path}: no stage fact is called {', '.join(unknown)}")
    rendered = _PLACEHOLDER.sub(lambda m: facts[m[1]], text)
    if "{{" in rendered or "}}" in rendered:
        raise PublishError(f"{path}: a placeholder is not written as {{{{name}}}}")
    return rendered


@dataclass(frozen=True)
class DocumentFile:
    key: str
    version: str
    title: str
    summary: str
    required: bool
    body: str
    links: tuple[DocumentLink, ...] = ()

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body.encode("utf-8")).hexdigest()


def read_document(path: Path, facts: dict[str, str] | None = None) -> DocumentFile:
    """Parse `<key>/<version>.md` with its front matter, checking everything a publish relies on;
    its placeholders are filled with `facts` (default: the configured stage's)."""
    key, version = path.parent.name, path.stem
    if key not in DOCUMENT_KEYS:
        raise PublishError(f"{path}: the folder must be one of {', '.join(DOCUMENT_KEYS)}")
    try:
        check_version(version)
    except ValueError as exc:
        raise PublishError(f"{path}: {exc}") from exc
    text = path.read_text(encoding="utf-8")
    head, sep, body = text.removeprefix("---\n").partition("\n---\n")
    if not text.startswith("---\n") or not sep:
        raise PublishError(f"{path}: front matter (--- title/summary/required ---) is missing")
    meta = yaml.safe_load(head) or {}
    title, summary, required = meta.get("title"), meta.get("summary"), meta.get("required")
    if not isinstance(title, str) or not 0 < len(title) <= MAX_TITLE_CHARS:
        raise PublishError(f"{path}: title must be 1 to {MAX_TITLE_CHARS} characters")
    if not isinstance(summary, str) or not summary.strip():
        raise PublishError(f"{path}: an English summary line is required")
    if required is not REQUIRED[key]:
        raise PublishError(f"{path}: {key} must have required: {str(REQUIRED[key]).lower()}")
    body = render(body.strip(), stage_facts(config.current().stage) if facts is None else facts, path) + "\n"
    if len(body.encode("utf-8")) > MAX_BODY_BYTES:
        raise PublishError(f"{path}: the text is larger than {MAX_BODY_BYTES} bytes")
    links = _links(meta.get("links"), body, path)
    return DocumentFile(key, version, title, summary.strip(), required, body, links)


def _links(raw: object, body: str, path: Path) -> tuple[DocumentLink, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or len(raw) > MAX_LINKS:
        raise PublishError(f"{path}: links must be a list of at most {MAX_LINKS} {{title, path}}")
    links = []
    for entry in raw:
        title = entry.get("title") if isinstance(entry, dict) else None
        where = entry.get("path") if isinstance(entry, dict) else None
        if not isinstance(title, str) or not 0 < len(title) <= MAX_LINK_TITLE_CHARS:
            raise PublishError(f"{path}: a link's title must be 1 to {MAX_LINK_TITLE_CHARS} characters")
        if not isinstance(where, str) or not LINK_PATH.fullmatch(where):
            raise PublishError(f"{path}: the link {title}'s path must be a plain path such as /terms")
        if f"《{title}》" not in body:
            raise PublishError(f"{path}: the text never names the linked 《{title}》")
        links.append(DocumentLink(title, where))
    return tuple(links)


def publish(path: Path, now: datetime | None = None) -> str:
    """Publish one file to the stage of the environment; "published" or "unchanged"."""
    doc = read_document(path)
    app = wiring.services()  # binds the models to this stage's tables
    repo = DocumentRepository()
    existing = repo.get(doc.key, doc.version)
    if existing is not None:
        if existing.sha256 != doc.sha256:
            raise PublishError(
                f"{doc.key} {doc.version} is already published with another text "
                f"(sha256 {existing.sha256[:12]}...); publish the change as a new version"
            )
        return "unchanged"
    current = repo.pointer_version(doc.key)
    if current is not None and current >= doc.version:
        raise PublishError(f"{doc.key} {doc.version} is older than the current version {current}")
    outcome = repo.publish(
        Document(
            key=doc.key,
            version=doc.version,
            title=doc.title,
            body=doc.body,
            sha256=doc.sha256,
            required=doc.required,
            published_at=now or datetime.now(UTC),
            links=doc.links,
        )
    )
    if not isinstance(outcome, Written):
        raise PublishError(f"{doc.key} {doc.version} is not newer than the current version")
    app.consent_catalog.invalidate()  # this process sees it at once; others within the cache window
    return "published"


def seed_files(seed_dir: Path = SEED_DIR) -> list[Path]:
    """Every seed document, oldest version first within each key."""
    return sorted(seed_dir.glob("*/*.md"), key=lambda p: (p.parent.name, p.stem))


def publish_seed(seed_dir: Path = SEED_DIR) -> dict[str, str]:
    """Publish the seed documents (idempotent); versions older than the current one are skipped."""
    wiring.services()
    repo = DocumentRepository()
    outcome: dict[str, str] = {}
    for path in seed_files(seed_dir):
        doc = read_document(path)
        current = repo.pointer_version(doc.key)
        name = f"{doc.key}/{doc.version}"
        outcome[name] = "superseded" if current is not None and current > doc.version else publish(path)
    return outcome


def list_documents() -> list[str]:
    """One line per published version; `*` marks the current one."""
    wiring.services()
    repo = DocumentRepository()
    lines = []
    for key in DOCUMENT_KEYS:
        current = repo.pointer_version(key)
        for doc in repo.versions(key):
            mark = "*" if doc.version == current else " "
            lines.append(f"{mark} {key:24} {doc.version:12} {doc.sha256[:16]}  {doc.title}")
    return lines


USAGE = "usage: python -m infra.ops consent publish <file.md>... | list | migrate-keys"


@dataclass(frozen=True)
class Migrated:
    moved: int  # keys moved from a user item to the consent keys' table
    left: int  # keys the migration could not move (a user changed meanwhile: run it again)


def migrate_keys() -> Migrated:
    """Move every consent key still kept on a user item (before the consent keys had a table of
    their own) to the consent keys' table, each in one transaction that also removes the user
    item's copy. Idempotent and resumable: it finds only the keys not moved yet (a Scan of the
    users table: an ops tool). Why a command and not a copy on read: a copy on read would move only
    the keys of users who come back, leaving everyone else's key on the users table and in its
    35 days of backups for good, and would turn reads into writes; run once after the deploy, and
    again until it reports nothing left."""
    from shared.domain.outcomes import Written

    app = wiring.services()
    moved = left = 0
    now = datetime.now(UTC)
    for user_id, legacy in list(app.users.legacy_consent_keys()):
        if isinstance(app.consent_keys.adopt(user_id, legacy, now), Written):
            moved += 1
        else:
            left += 1
    return Migrated(moved, left)


def main(argv: list[str]) -> int:
    if argv == ["migrate-keys"]:
        done = migrate_keys()
        print(f"{done.moved} consent keys moved, {done.left} left (run again)")
        return 1 if done.left else 0
    if not argv or argv[0] not in ("publish", "list"):
        print(USAGE, file=sys.stderr)
        return 2
    if argv[0] == "list":
        for line in list_documents() or ["(nothing published)"]:
            print(line)
        return 0
    if len(argv) < 2:
        print(USAGE, file=sys.stderr)
        return 2
    status = 0
    for name in argv[1:]:
        try:
            print(f"{name}: {publish(Path(name))}")
        except (PublishError, OSError) as exc:
            print(f"{name}: refused: {exc}", file=sys.stderr)
            status = 1
    return status
