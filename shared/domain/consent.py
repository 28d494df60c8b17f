"""The consent documents and the decisions a user may take on each (pure rules, no I/O)."""

from __future__ import annotations

import re
from datetime import datetime

import msgspec

from shared import errors
from shared.domain import times

AGREEMENT = "hcp-identity-agreement"
INFORMED = "informed-consent"
DOCUMENT_KEYS = (AGREEMENT, INFORMED)
REQUIRED = {AGREEMENT: True, INFORMED: False}

# What a user may decide on each document (api.md); `withdraw` has its own endpoint.
DECISIONS = {AGREEMENT: ("agree", "refuse"), INFORMED: ("agree", "skip")}
WITHDRAW = "withdraw"

# A version is the publication date, with an optional `.N` for a second text on one day.
VERSION_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}(\.[1-9])?$")
MAX_TITLE_CHARS = 200
MAX_BODY_BYTES = 64 * 1024
MAX_LINKS = 10
MAX_LINK_TITLE_CHARS = 50
# A link's path among the platform's pages: letters, digits, '-', '_', '.', '/' (no '..', no query).
LINK_PATH = re.compile(r"^/?(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$")


class DocumentLink(msgspec.Struct, frozen=True):
    """A document the text refers to (《用户服务协议》): its title, and its path among the platform's
    own pages, whose base URL is a stage setting (the same text serves every stage)."""

    title: str
    path: str

    def url(self, pages_url: str) -> str:
        return f"{pages_url.rstrip('/')}/{self.path.lstrip('/')}"


class Document(msgspec.Struct, frozen=True):
    key: str
    version: str
    title: str
    body: str
    sha256: str
    required: bool
    published_at: datetime
    links: tuple[DocumentLink, ...] = ()

    def view(self, pages_url: str) -> dict[str, object]:
        return {
            "key": self.key,
            "version": self.version,
            "title": self.title,
            "body": self.body,
            "sha256": self.sha256,
            "required": self.required,
            "published_at": times.iso(self.published_at),
            "links": [{"title": link.title, "url": link.url(pages_url)} for link in self.links],
        }


def check_document_key(key: str) -> str:
    if key not in DOCUMENT_KEYS:
        raise errors.NotFound("consent_document")
    return key


def check_decision(key: str, decision: str) -> str:
    allowed = DECISIONS[key]
    if decision not in allowed:
        raise errors.invalid(
            "decision", "not_allowed", "consent_agreement" if key == AGREEMENT else "consent_informed"
        )
    return decision


def check_version(version: str) -> str:
    if not VERSION_PATTERN.fullmatch(version):
        raise ValueError(f"a version looks like 2026-11-01 (or 2026-11-01.2), not {version!r}")
    return version


class ConsentRecord(msgspec.Struct, frozen=True):
    """One decision, append-only. Keyed by the user's random consent `subject`, not their id;
    `sealed` holds the fields that name the person, encrypted with the user's own key."""

    subject: str
    record_id: str  # ULID: time-ordered
    document: str
    version: str
    sha256: str
    decision: str
    decided_at: datetime
    seq: int
    sealed: bytes


class ConsentKey(msgspec.Struct, frozen=True):
    """A user's consent pseudonym (the `subject` their records are filed under) and the key that
    seals the records' personal fields. Kept apart from the user item, in a table whose backups
    last least: deleting it is what makes the kept records name no one."""

    subject: str
    key: bytes


class ConsentChange(msgspec.Struct, frozen=True):
    """How one decision moves the user's consent fields (the gate reads them on every request)."""

    seq: int
    document: str
    version: str
    decision: str
    subject: str | None = None  # the first decision gives the user their pseudonym ...
    key: bytes | None = None  # ... and their sealing key
    clears_answers: bool = False  # withdrawing the informed consent ends the collection
