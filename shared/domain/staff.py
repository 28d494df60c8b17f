"""Staff members: the people who run the platform, their roles, their sign-in links and sessions.

Pure rules and values, no I/O. A member has one role; `admin` may do everything, every other role
what its pages allow. A member is found at sign-in by a *handle*: their id, their e-mail or their
name, compared after normalisation (NFKC, trimmed, case-folded). Handles share one namespace, so
no name can be another member's e-mail or id and a sign-in request names at most one member.

Sign-in is by a one-time link (random, stored only as a digest, 15 minutes, used once) sent to the
member's personal channel; it opens a console session (at most 12 hours, revocable, checked on
every request against the member, so deactivation ends it at once).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import msgspec

from shared import errors

REVIEWER, MODERATOR, EDITOR, ADMIN = "reviewer", "moderator", "editor", "admin"
ROLES = (REVIEWER, MODERATOR, EDITOR, ADMIN)
ROLE_LABELS = {REVIEWER: "审核员", MODERATOR: "评论管理员", EDITOR: "内容编辑", ADMIN: "管理员"}
# The roles whose members may open a review link (the links go to reviewers alone).
REVIEW_ROLES = frozenset({REVIEWER, ADMIN})

MAX_NAME_CHARS = 40
MAX_EMAIL_CHARS = 254
MAX_WHO_CHARS = 254  # a handle typed at sign-in: the longest e-mail
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[A-Za-z]{2,}$")
_STAFF_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,39}$")

SIGN_IN_LINK_LIFETIME = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=12)
MAX_SESSIONS_PER_MEMBER = 5
# Sign-in requests are limited per handle typed and per source address, in fixed windows.
SIGN_IN_WINDOW_SECONDS = 15 * 60
SIGN_IN_PER_WHO = 5
SIGN_IN_PER_ADDRESS = 20

# What the audit trail records of staff (codes; the decisions of reviews have their own entries).
LINK_REQUESTED = "sign_in_link"  # outcome: sent | unknown | inactive | no_channel
LINK_PRINTED = "sign_in_link_printed"  # by the ops command, for the first admin
SIGNED_IN = "sign_in"
SIGNED_OUT = "sign_out"
STAFF_ADDED = "staff_add"
STAFF_DEACTIVATED = "staff_deactivate"
STAFF_MIGRATED = "staff_migrate"  # a reviewer of the old reviewers table became a member
OPS_ACTOR = "ops"  # the ops command line acts under this name
NOBODY = "-"  # the member of a sign-in request whose handle names no one


class StaffSession(msgspec.Struct, frozen=True):
    secret_hash: str  # sha256 of the cookie's secret
    expires_at: int  # epoch seconds
    issued_at: int  # epoch seconds


class StaffMember(msgspec.Struct, frozen=True):
    """A person who runs the platform (or, for a reviewer, a group robot that only gets links)."""

    staff_id: str
    name: str
    role: str
    created_at: datetime
    email: str | None = None  # personal data: their sign-in channel
    webhook: str | None = None  # a chat robot (new-submission links only, never sign-in links)
    webhook_secret_param: str | None = None  # the SSM parameter holding the robot's secret
    subscription_arn: str | None = None  # their e-mail subscription to the staff topic
    active: bool = True
    sessions: Mapping[str, StaffSession] = msgspec.field(default_factory=dict)

    def handles(self) -> dict[str, str]:
        """`field -> handle` this member is found by at sign-in (id, name, e-mail)."""
        found = {"id": self.staff_id, "name": self.name}
        if self.email:
            found["email"] = self.email
        return found


class StaffEvent(msgspec.Struct, frozen=True):
    """One line of the audit trail about staff: who did what to which member, when; codes only."""

    action: str
    actor: str  # a staff id, `ops`, or `-` (an anonymous sign-in request)
    staff_id: str  # the member acted on, or `-`
    at: datetime
    role: str | None = None  # the role given, for an addition
    outcome: str | None = None  # what a sign-in request came to


class SignInLink(msgspec.Struct, frozen=True):
    """A one-time sign-in link as stored: the digest of its token, never the token."""

    digest: str
    staff_id: str | None  # None: a request for no one (it does the same work, and opens nothing)
    issued_at: datetime
    valid_until: int  # epoch seconds
    used_at: datetime | None = None

    def usable(self, now: datetime) -> bool:
        return self.staff_id is not None and self.used_at is None and now.timestamp() < self.valid_until


class SignInWindow(msgspec.Struct, frozen=True):
    """How many sign-in requests a handle or an address made in a window: at most `limit`."""

    name: str  # who | address: which limit a refusal names
    key: str
    limit: int
    ends_at: int  # epoch seconds


def allowed(role: str, roles: frozenset[str]) -> bool:
    """May a member of `role` open a page open to `roles`? An admin may open every page."""
    return role == ADMIN or role in roles


def normalized_handle(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().casefold()


def handle_key(text: str) -> str:
    """Where a handle is stored: a digest of its normalised form (so keys list no e-mail)."""
    return hashlib.sha256(f"staff-handle\n{normalized_handle(text)}".encode()).hexdigest()


_LINK_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")


def is_link_token(token: str) -> bool:
    """Is it shaped like a sign-in link's token (32 random bytes, base64url)? Anything else is
    refused without a read."""
    return bool(_LINK_TOKEN.fullmatch(token))


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def window_end(now: datetime, seconds: int = SIGN_IN_WINDOW_SECONDS) -> int:
    epoch = int(now.timestamp())
    return epoch - epoch % seconds + seconds


def check_who(who: str) -> str:
    """The handle typed at sign-in, trimmed: 400 when empty or longer than any handle can be."""
    who = unicodedata.normalize("NFKC", who).strip()
    if not who:
        raise errors.invalid("who", "required")
    if len(who) > MAX_WHO_CHARS or any(ord(ch) < 32 for ch in who):
        raise errors.invalid("who", "invalid")
    return who


class NewMember(msgspec.Struct, frozen=True):
    name: str
    email: str | None
    webhook: str | None
    role: str


def check_member(
    name: str,
    email: str | None,
    webhook: str | None,
    role: str,
    *,
    local: bool = False,
    staff_id: str | None = None,
) -> NewMember:
    """A new member's fields, trimmed; every field at fault is named at once (400).

    A member signs in through their e-mail, so every role needs one, but for a reviewer that is
    a group robot (a webhook alone: it gets new-submission links, and can never sign in).
    `local` (the local and test stages): an http:// robot (the loopback fakes) is allowed, and so
    is a member with neither channel (the local outbox reaches them; they cannot sign in).
    """
    faults = errors.Faults()
    name = unicodedata.normalize("NFC", name).strip()
    if not name:
        faults.add("name", "required")
    elif len(name) > MAX_NAME_CHARS:
        faults.add("name", "too_long", max=MAX_NAME_CHARS)
    elif any(ord(ch) < 32 for ch in name):
        faults.add("name", "invalid", "control_characters")
    email = (email or "").strip() or None
    if email is not None and (len(email) > MAX_EMAIL_CHARS or not _EMAIL.match(email)):
        faults.add("email", "invalid")
    webhook = (webhook or "").strip() or None
    if webhook is not None:
        parts = urlsplit(webhook)
        if not parts.netloc or parts.scheme not in (("https", "http") if local else ("https",)):
            faults.add("webhook", "invalid", "webhook_url")
    if role not in ROLES:
        faults.add("role", "not_allowed", "staff_role")
    elif email is None and not local and not (role == REVIEWER and webhook is not None):
        faults.add("email", "required", "staff_email")
    if staff_id is not None and not _STAFF_ID.fullmatch(staff_id):
        faults.add("id", "invalid")
    faults.raise_any()
    return NewMember(name, email, webhook, role)


# The roles each console page or action is open to (an admin may open every one).
EVERY_ROLE = frozenset(ROLES)
CONSOLE_ROLES: dict[str, frozenset[str]] = {
    "dashboard": EVERY_ROLE,
    "sign_out": EVERY_ROLE,
    "staff": frozenset({ADMIN}),
    "audit": frozenset({ADMIN}),
    # the queue, a submission with its credentials, claims and decisions; revocation
    "verifications": REVIEW_ROLES,
    "revoke": REVIEW_ROLES,
    # a user's page and search (support); their verification details only for REVIEW_ROLES
    "users": frozenset({REVIEWER, MODERATOR, ADMIN}),
    # the moderation queue and its decisions; mutes
    "comments": frozenset({MODERATOR}),
    "mute": frozenset({MODERATOR}),
    # every article with its state, publication, import, preview; the answer statistics
    "articles": frozenset({EDITOR, ADMIN}),
    "answers": frozenset({EDITOR, ADMIN}),
}

# Every console page of CONSOLE_ROLES is named in one of these two sets (a test holds it): the
# pages that show a submission's fields or credential images, and the others. The consent texts
# say who sees credentials from them (`credential_roles`), so a page that starts showing them
# changes what users are told, and asks them again.
CREDENTIAL_PAGES: frozenset[str] = frozenset({"verifications", "revoke"})
# `users` shows a user's verification history (fields, never images) to REVIEW_ROLES alone.
PAGES_WITHOUT_CREDENTIALS = frozenset(
    {"dashboard", "sign_out", "staff", "audit", "users", "comments", "mute", "articles", "answers"}
)


def credential_roles(pages: dict[str, frozenset[str]] | None = None) -> tuple[str, ...]:
    """The roles whose members may see a submission's credentials (in `ROLES` order): those who
    may open a review link, and those who may open a console page that shows them."""
    pages = CONSOLE_ROLES if pages is None else pages
    unsorted = set(pages) - CREDENTIAL_PAGES - PAGES_WITHOUT_CREDENTIALS
    if unsorted:
        raise ValueError(
            f"say whether console pages {sorted(unsorted)} show credentials (shared/domain/staff.py)"
        )
    openers = [REVIEW_ROLES, *(roles for page, roles in pages.items() if page in CREDENTIAL_PAGES)]
    return tuple(role for role in ROLES if any(allowed(role, roles) for roles in openers))
