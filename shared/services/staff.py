"""The staff directory: members added, listed and deactivated, a one-time sign-in link printed
for the first admin, and the reviewers of the old reviewers table migrated to members.

Used by the ops commands (`python -m infra.ops staff ...`). A member with an e-mail address is
subscribed to the staff topic with a filter on their own id (SNS asks them to confirm first), so
every message of that topic reaches them alone. Deactivation ends their sessions and links at once
and then removes the subscription.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

import msgspec
from msgspec.structs import replace

from shared import errors
from shared.domain.ids import new_id
from shared.domain.outcomes import Refused, Written
from shared.domain.staff import (
    LINK_PRINTED,
    MAX_NAME_CHARS,
    OPS_ACTOR,
    REVIEWER,
    SIGN_IN_LINK_LIFETIME,
    STAFF_ADDED,
    STAFF_DEACTIVATED,
    STAFF_MIGRATED,
    SignInLink,
    StaffEvent,
    StaffMember,
    check_member,
    digest,
    handle_key,
)
from shared.log import logger

if TYPE_CHECKING:
    from shared.domain.verification import Reviewer
    from shared.services.ports import SignInLinks, Staff, StaffMail


class Migrated(msgspec.Struct, frozen=True):
    """What the migration did with one reviewer: `added`, `kept` (already a member), with notes."""

    staff_id: str
    result: str
    notes: tuple[str, ...] = ()


class StaffDirectory:
    def __init__(
        self,
        staff: Staff,
        links: SignInLinks,
        mail: StaffMail | None,
        link_url: Callable[[str], str],
        clock: Callable[[], datetime],
        *,
        local: bool = False,
    ) -> None:
        self._staff = staff
        self._links = links
        self._mail = mail
        self._link_url = link_url
        self._clock = clock
        self._local = local

    def add(
        self,
        name: str,
        role: str,
        email: str | None = None,
        webhook: str | None = None,
        webhook_secret_param: str | None = None,
        *,
        staff_id: str | None = None,
        actor: str = OPS_ACTOR,
    ) -> StaffMember:
        """A new active member: 400 naming the fields at fault, 409 when the id, name or e-mail
        is another member's. With `staff_id` given and taken, the member already there is the
        answer when it is the same person (same name and role): adding is then idempotent."""
        new = check_member(name, email, webhook, role, local=self._local, staff_id=staff_id)
        if staff_id is not None:
            existing = self._staff.get(staff_id)
            if existing is not None and (existing.name, existing.role) == (new.name, new.role):
                return existing
        member_id = staff_id or new_id()
        now = self._clock()
        subscription = self._mail.subscribe_email(member_id, new.email) if new.email and self._mail else None
        member = StaffMember(
            member_id,
            new.name,
            new.role,
            now,
            email=new.email,
            webhook=new.webhook,
            webhook_secret_param=webhook_secret_param or None,
            subscription_arn=subscription,
        )
        handles = {field: handle_key(value) for field, value in member.handles().items()}
        try:
            outcome = self._staff.add(
                member, handles, StaffEvent(STAFF_ADDED, actor, member_id, now, role=role)
            )
        except Exception:
            if subscription is not None:  # AWS failed the write: leave no subscription behind either
                self._unsubscribe(member_id, subscription)
            raise
        if isinstance(outcome, Written):
            logger.info("staff member added", extra={"staff_id": member_id, "role": role})
            return member
        if subscription is not None:
            self._unsubscribe(member_id, subscription)
        if isinstance(outcome, Refused):
            if outcome.failed & {"id", "id_handle"}:
                raise errors.Conflict("staff_id_taken")
            if "name" in outcome:
                raise errors.Conflict("staff_name_taken")
            raise errors.Conflict("staff_email_taken")
        raise errors.Conflict("staff_busy")

    def listing(self) -> list[StaffMember]:
        """Every member, active or not, oldest first."""
        return sorted(self._staff.all(), key=lambda m: (m.created_at, m.staff_id))

    def deactivate(self, staff_id: str, actor: str = OPS_ACTOR) -> StaffMember:
        """Inactive at once (their sessions and links with them), then their e-mail subscription
        removed. Running it again on an inactive member retries what was left (the subscription)."""
        member = self._staff.get(staff_id)
        if member is None:
            raise errors.NotFound("staff")
        if member.active:
            event = StaffEvent(STAFF_DEACTIVATED, actor, staff_id, self._clock())
            outcome = self._staff.deactivate(staff_id, event)
            if isinstance(outcome, Refused):
                raise errors.NotFound("staff")
            if not isinstance(outcome, Written):
                raise errors.Conflict("staff_busy")
            logger.info("staff member deactivated", extra={"staff_id": staff_id})
        arn = member.subscription_arn
        if arn and self._mail is not None and arn.startswith("arn:") and self._unsubscribe(staff_id, arn):
            try:  # best effort: a subscription still named is removed again by the next run
                self._staff.forget_subscription(staff_id)
            except Exception:
                logger.warning("removed subscription still named", extra={"staff_id": staff_id})
        return replace(member, active=False, sessions={})

    def _unsubscribe(self, staff_id: str, arn: str) -> bool:
        if self._mail is None:
            return False
        try:
            self._mail.unsubscribe(arn)
        except Exception:
            logger.warning("e-mail subscription not removed", extra={"staff_id": staff_id})
            return False
        return True

    def print_link(self, staff_id: str, actor: str = OPS_ACTOR) -> str:
        """A one-time sign-in link for an active member, to hand over in person (the first admin,
        before anyone can sign in through the console)."""
        member = self._staff.get(staff_id)
        if member is None:
            raise errors.NotFound("staff")
        if not member.active:
            raise errors.Forbidden("staff_inactive")
        now = self._clock()
        token = secrets.token_urlsafe(32)
        link = SignInLink(digest(token), staff_id, now, int((now + SIGN_IN_LINK_LIFETIME).timestamp()))
        outcome = self._links.issue(link, [], StaffEvent(LINK_PRINTED, actor, staff_id, now))
        if not isinstance(outcome, Written):
            raise errors.Conflict("staff_busy")
        return self._link_url(token)

    def migrate(self, reviewers: list[Reviewer]) -> list[Migrated]:
        """Each reviewer of the old table becomes a member with the role `reviewer`, the same id
        and every channel kept (e-mail and its subscription, robot and its secret), active as it
        was. Idempotent: a reviewer already a member is left alone. Subscribes nothing: a reviewer's
        subscription already filters on their id. A name another member holds is kept with the id's
        end after it; an e-mail another member holds stays a channel but is no sign-in handle."""
        done = []
        for reviewer in reviewers:
            if self._staff.get(reviewer.reviewer_id) is not None:
                done.append(Migrated(reviewer.reviewer_id, "kept"))
                continue
            done.append(self._migrate_one(reviewer))
        return done

    def _migrate_one(self, reviewer: Reviewer) -> Migrated:
        member = StaffMember(
            reviewer.reviewer_id,
            reviewer.name.strip()[:MAX_NAME_CHARS] or reviewer.reviewer_id,
            REVIEWER,
            reviewer.created_at,
            email=reviewer.email,
            webhook=reviewer.webhook,
            webhook_secret_param=reviewer.webhook_secret_param,
            subscription_arn=reviewer.subscription_arn,
            active=reviewer.active,
        )
        handles = member.handles()
        notes: list[str] = []
        for _ in range(3):
            event = StaffEvent(STAFF_MIGRATED, OPS_ACTOR, member.staff_id, self._clock(), role=REVIEWER)
            digests = {field: handle_key(value) for field, value in handles.items()}
            outcome = self._staff.add(member, digests, event)
            if not isinstance(outcome, Refused):
                break
            if outcome.failed & {"id", "id_handle"}:
                return Migrated(member.staff_id, "id_taken")
            if "name" in outcome:
                suffix = f" ({member.staff_id[-6:]})"
                renamed = member.name[: MAX_NAME_CHARS - len(suffix)] + suffix
                member = replace(member, name=renamed)
                handles["name"] = renamed
                notes.append("renamed")
            if "email" in outcome:
                handles.pop("email", None)
                notes.append("email_not_a_handle")
        if not isinstance(outcome, Written):
            return Migrated(member.staff_id, "not_migrated", tuple(notes))
        logger.info("reviewer migrated to staff", extra={"staff_id": member.staff_id})
        return Migrated(member.staff_id, "added", tuple(notes))
