"""Support in the console: find anyone, and see where they stand, so nobody stays stuck.

`search` takes what a support request quotes: a user id or a submission id (ULIDs: one read of
each), a comment id (one read: its author); and, for the roles that may see verification details
(reviewers, admins), an exact real name or licence number (one Query each of the credential index,
whose keys for names are digests). `user_file` is one user as staff see them: where they stand
(`next_step`), their recent comments, their mute and its history, and for the reviewing roles
their verification history;
never their openid, and no credential image (those open on the verification page, audited).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

import msgspec

from shared.domain.audit import AuditEvent
from shared.domain.comments import Comment, CommentRef, parse_comment_id
from shared.domain.gate import CurrentDocuments, next_step
from shared.domain.ids import is_ulid
from shared.domain.staff import CONSOLE_ROLES, REVIEW_ROLES, StaffMember, allowed
from shared.domain.verification import Submission, license_key, name_key
from shared.services.moderation import MUTED, UNMUTED, MuteState, mute_state, user_subject

if TYPE_CHECKING:
    from shared.services.ports import AuditLog, Submissions, Users


RECENT_COMMENTS = 20
MAX_QUERY_CHARS = 100
MAX_FOUND = 20


class UserFile(msgspec.Struct, frozen=True):
    user_id: str
    created_at: datetime
    step: str  # next_step
    verification_status: str | None
    update_status: str | None  # an approved user's update of their details
    comments: list[Comment]  # newest first, at most RECENT_COMMENTS
    history: list[Submission] | None  # newest first; None: the member's role may not see it
    may_revoke: bool  # the member may revoke, and there is an approval to revoke
    mute: MuteState  # as it stands now (a mute ends by itself)
    mutes: list[AuditEvent]  # the mute history, newest first (the audit lines about the user)
    may_mute: bool


class Found(msgspec.Struct, frozen=True):
    """A search hit: the user it leads to, and what matched (`user`, `submission`, `comment`,
    `name`, `license`)."""

    user_id: str | None  # None: a comment whose author deleted their account
    matched: str
    submission_id: str | None = None


def may_see_verification(member: StaffMember) -> bool:
    return member.role in REVIEW_ROLES


class Support:
    def __init__(
        self,
        users: Users,
        submissions: Submissions,
        comment_of: Callable[[CommentRef], Comment | None],
        recent_comments: Callable[[str, int], list[Comment]],
        documents: Callable[[], CurrentDocuments],
        audit: AuditLog,
        clock: Callable[[], datetime],
    ) -> None:
        self._audit = audit
        self._clock = clock
        self._users = users
        self._submissions = submissions
        self._comment_of = comment_of
        self._recent_comments = recent_comments
        self._documents = documents

    def user_file(self, member: StaffMember, user_id: str) -> UserFile | None:
        user = self._users.get(user_id) if is_ulid(user_id) else None
        if user is None:
            return None
        reviewing = may_see_verification(member)
        return UserFile(
            user_id=user.user_id,
            created_at=user.created_at,
            step=next_step(user.gate, self._documents()).value,
            verification_status=user.verification_status,
            update_status=user.verification_update_status,
            comments=self._recent_comments(user.user_id, RECENT_COMMENTS),
            history=self._submissions.history(user.user_id) if reviewing else None,
            may_revoke=reviewing and user.verification_status == "approved",
            mute=mute_state(user.muted_until, self._clock()),
            mutes=[
                e
                for e in reversed(self._audit.of_subject(user_subject(user.user_id)))
                if e.action in (MUTED, UNMUTED)
            ],
            may_mute=allowed(member.role, CONSOLE_ROLES["mute"]),
        )

    def search(self, member: StaffMember, query: str) -> list[Found]:
        q = unicodedata.normalize("NFKC", query).strip()[:MAX_QUERY_CHARS]
        if not q:
            return []
        found: list[Found] = []
        if is_ulid(q.upper()):
            ulid = q.upper()
            if self._users.get(ulid) is not None:
                found.append(Found(ulid, "user"))
            submission = self._submissions.get(ulid)
            if submission is not None:
                found.append(Found(submission.user_id, "submission", submission.submission_id))
        elif (ref := parse_comment_id(q)) is not None:
            comment = self._comment_of(ref)
            if comment is not None:
                found.append(Found(comment.author_id, "comment"))
        if not found and may_see_verification(member):
            for matched, key in (("license", license_key(q)), ("name", name_key(q))):
                if matched == "license" and not _LICENSE.fullmatch(q):
                    continue
                for use in self._submissions.users_with(key):
                    found.append(Found(use.user_id, matched, use.submission_id))
        unique = {(f.user_id, f.matched): f for f in found}
        return list(unique.values())[:MAX_FOUND]


# What a licence number may look like when typed (digits, letters, spaces, dashes).
_LICENSE = re.compile(r"^[0-9A-Za-z\s\-]{6,40}$")
