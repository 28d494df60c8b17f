"""Moderation: the comments a moderator must see, what they decide, and who may not comment.

The queue (`pending`) holds comments held by the content check and comments hidden by readers'
reports, oldest first, across every article; `hidden` lists what moderators hid (it stands until
one restores it). A decision moves one comment from the state it was read in, with the article's
count and the audit line, in one transaction, so under concurrent reports, restores and deletes a
comment enters and leaves `comment_count` exactly once each way:

- restore: shown to everyone and counted again; its reports start again from none (a new round);
- hide (with a reason of HIDE_REASONS): shown to its author alone with the reason's label;
- delete: a tombstone, as the author's own delete makes.

A mute suspends a user's commenting and reporting for `days` (0: no end) and ends by itself at
`until` (the gate's read of the user item carries it: no extra read on the posting path). The
ops commands (`python -m infra.ops articles held|release`) call this same service.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import msgspec

from shared import errors
from shared.domain import comments as rules
from shared.domain.audit import AuditEvent
from shared.domain.comments import Comment
from shared.domain.outcomes import Written
from shared.log import logger

if TYPE_CHECKING:
    from shared.services.ports import AuditLog, Moderated, Users

QUEUE_PAGE = 50
RESTORED, HID, DELETED_BY_MODERATOR = "comment_restore", "comment_hide", "comment_delete"
MUTED, UNMUTED = "mute", "unmute"
QUEUE_COUNT_LIMIT = 500


class ModerationPage(msgspec.Struct, frozen=True):
    queue: str
    comments: list[Comment]
    more: str | None


class MuteState(msgspec.Struct, frozen=True):
    until: datetime | None  # None with `forever` False: not muted
    forever: bool = False


def comment_subject(comment: Comment) -> str:
    return f"comment#{comment.ref.public_id}"


def user_subject(user_id: str) -> str:
    """The audit trail's subject for lines about a user: a digest of their id, so that after the
    account is deleted no line names it (the id itself is gone from everywhere)."""
    digest = hashlib.sha256(f"audit-user\n{user_id}".encode()).hexdigest()[:32]
    return f"user#{digest}"


class Moderation:
    def __init__(
        self,
        comments: Moderated,
        users: Users,
        audit: AuditLog,
        forget: Callable[[], None],
        clock: Callable[[], datetime],
    ) -> None:
        self._comments = comments
        self._users = users
        self._audit = audit
        self._forget = forget  # this container's cached comment pages
        self._clock = clock

    # ---- the queues ----
    def page(self, queue: str, after: str | None) -> ModerationPage:
        if queue not in (rules.QUEUE_PENDING, rules.QUEUE_HIDDEN):
            raise errors.BadRequest("moderation_queue")
        found, more = self._comments.queue(queue, QUEUE_PAGE, after)
        return ModerationPage(queue, found, more)

    def waiting(self) -> int:
        """How many comments wait for a moderator, up to QUEUE_COUNT_LIMIT (the dashboard)."""
        return self._comments.count_queue(rules.QUEUE_PENDING, QUEUE_COUNT_LIMIT)

    # ---- decisions ----
    def restore(self, actor: str, public_id: str) -> Comment:
        return self._decide(actor, public_id, rules.VISIBLE, RESTORED, (rules.HELD, rules.HIDDEN))

    def hide(self, actor: str, public_id: str, reason: str) -> Comment:
        if reason not in rules.HIDE_REASONS:
            raise errors.invalid("reason", "not_allowed", "hide_reason")
        return self._decide(
            actor, public_id, rules.HIDDEN, HID, (rules.VISIBLE, rules.HELD, rules.HIDDEN), reason
        )

    def delete(self, actor: str, public_id: str) -> Comment:
        return self._decide(
            actor, public_id, rules.DELETED, DELETED_BY_MODERATOR, (rules.VISIBLE, rules.HELD, rules.HIDDEN)
        )

    def _decide(
        self,
        actor: str,
        public_id: str,
        to: str,
        action: str,
        movable: tuple[str, ...],
        reason: str | None = None,
    ) -> Comment:
        ref = rules.parse_comment_id(public_id)
        if ref is None:
            raise errors.NotFound("comment")
        comment = self._comments.get(ref)
        if comment is None or comment.status not in movable:
            raise errors.Conflict("moderation_moved") if comment is not None else errors.NotFound("comment")
        if (
            to == rules.HIDDEN
            and comment.status == rules.HIDDEN
            and comment.hidden_by != rules.HIDDEN_BY_REPORTS
        ):
            raise errors.Conflict("moderation_moved")  # a moderator's hide stands until restored
        now = self._clock()
        audit = AuditEvent(action, actor, comment_subject(comment), now, reason=reason)
        outcome = self._comments.moderate(comment, to, audit, staff_id=actor, reason=reason)
        if not isinstance(outcome, Written):
            raise errors.Conflict("moderation_moved")
        self._forget()
        logger.info("comment moderated", extra={"comment_id": comment.ref.public_id, "action": action})
        return msgspec.structs.replace(comment, status=to, hide_reason=reason if to == rules.HIDDEN else None)

    # ---- mutes ----
    def mute(self, actor: str, user_id: str, days: int) -> MuteState:
        now = self._clock()
        until = rules.mute_end(now, days)
        audit = AuditEvent(MUTED, actor, user_subject(user_id), now, outcome=f"{days}d" if days else "no_end")
        if not isinstance(self._users.set_mute(user_id, until, audit), Written):
            raise errors.NotFound("user")
        return mute_state(until)

    def unmute(self, actor: str, user_id: str) -> None:
        audit = AuditEvent(UNMUTED, actor, user_subject(user_id), self._clock())
        if not isinstance(self._users.set_mute(user_id, None, audit), Written):
            raise errors.NotFound("user")


def mute_state(muted_until: int | None, now: datetime | None = None) -> MuteState:
    """A user's mute as the console shows it (None: not muted, or it ended by itself)."""
    if muted_until is None or (now is not None and muted_until <= now.timestamp()):
        return MuteState(None)
    if muted_until >= rules.NO_END:
        return MuteState(None, forever=True)
    return MuteState(datetime.fromtimestamp(muted_until, UTC))


class ModerationData:
    """What moderators did about a user (mutes): exported; the lines stay with the account's
    deletion (ids and codes only, about a pseudonym)."""

    name = "moderation"

    def __init__(self, audit: AuditLog) -> None:
        self._audit = audit

    def export(self, user_id: str) -> Any:
        from shared.domain import times

        return [
            {"action": e.action, "by": e.actor, "at": times.iso(e.at), "days": e.outcome}
            for e in self._audit.of_subject(user_subject(user_id))
        ]

    def erase(self, user_id: str) -> None:
        """Nothing: the audit trail is append-only and names only the account's random id."""
