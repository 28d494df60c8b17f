"""Staff members, the handles they sign in by, their sign-in links and windows, their audit lines.

Tables and access patterns (no Scan):
- `staff`: members in one partition (`pool = member`, `item = <staff id>`: a handful of people,
  listed with one Query), and one *handle* item per id, name and e-mail (`pool = handle`, `item =
  <digest of the normalised handle>`, naming the member). Adding a member puts the member and its
  handles in ONE transaction, each conditioned on not existing: ids, names and e-mails are unique
  among staff by construction, not by a read first. A member item holds its console sessions, so
  a console request costs one consistent GetItem of it (the member, their role and the session).
- `staff_sign_in`: one-time links (`link#<digest of the token>`) and the sign-in rate windows
  (`who#...`, `address#...`), all expiring by TTL. A request puts its link, moves both windows
  (conditioned under their limits) and appends its audit line in one transaction; consuming a
  link is one transaction with the session it opens and its audit line.
- the audit trail (`shared.store.audit`): each change appends its line in the same transaction.
  Staff lines are in partitions `staff#<staff id>`, beside the decisions' (submission ids).
- the old `reviewers` table is only read by the migration (`python -m infra.ops staff
  migrate-reviewers`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.expressions.update import Action
from pynamodb.models import Model

from shared.domain.audit import AuditEvent
from shared.domain.outcomes import Outcome
from shared.domain.staff import (
    REVIEW_ROLES,
    REVIEWER,
    SignInLink,
    SignInWindow,
    StaffEvent,
    StaffMember,
    StaffSession,
)
from shared.domain.verification import Reviewer
from shared.store import audit
from shared.store.base import Transaction, attempt, get_item, table
from shared.store.verification import REVIEWER_POOL, ReviewerItem, to_reviewer

MEMBERS = "member"
HANDLES = "handle"
# A window or a used link outlives its end by a day, so a late clock never reopens it.
GRACE = timedelta(days=1)


@table("staff")
class StaffItem(Model):
    """A member (`pool = member`); handles are `HandleItem`s in the same table."""

    class Meta:
        table_name = "staff"

    pool = UnicodeAttribute(hash_key=True, default=MEMBERS)
    item = UnicodeAttribute(range_key=True)  # the staff id
    name = UnicodeAttribute()
    role = UnicodeAttribute()
    email = UnicodeAttribute(null=True)
    webhook = UnicodeAttribute(null=True)
    webhook_secret_param = UnicodeAttribute(null=True)
    subscription_arn = UnicodeAttribute(null=True)
    active = BooleanAttribute(default=True)
    created_at = UTCDateTimeAttribute()
    # {session_id: {"h": sha256 of the cookie's secret, "exp": epoch seconds, "iat": epoch seconds}}
    sessions = MapAttribute[str, Any](default=dict)


@table("staff", creates=False)
class HandleItem(Model):
    """A handle (id, name or e-mail, as a digest) naming the member it belongs to."""

    class Meta:
        table_name = "staff"

    pool = UnicodeAttribute(hash_key=True, default=HANDLES)
    item = UnicodeAttribute(range_key=True)  # the digest of the normalised handle
    staff_id = UnicodeAttribute()
    field = UnicodeAttribute()  # id | name | email


@table("staff_sign_in")
class SignInLinkItem(Model):
    """A one-time sign-in link, keyed by the digest of its token; a window shares the table."""

    class Meta:
        table_name = "staff_sign_in"

    key = UnicodeAttribute(hash_key=True)  # link#<digest>
    staff_id = UnicodeAttribute(null=True)  # absent: a request that named no one
    issued_at = UTCDateTimeAttribute(null=True)
    valid_until = NumberAttribute(null=True)  # epoch seconds
    used_at = UTCDateTimeAttribute(null=True)
    expires_at = TTLAttribute(null=True)


@table("staff_sign_in", creates=False)
class SignInWindowItem(Model):
    """How many sign-in requests a handle or an address made in a window (expires by TTL)."""

    class Meta:
        table_name = "staff_sign_in"

    key = UnicodeAttribute(hash_key=True)  # who#<keyed digest>#<end> | address#<keyed digest>#<end>
    used = NumberAttribute(null=True)
    expires_at = TTLAttribute(null=True)


def audit_subject(staff_id: str) -> str:
    return f"staff#{staff_id}"


def link_key(digest: str) -> str:
    return f"link#{digest}"


def _session(raw: Any) -> StaffSession | None:
    if not isinstance(raw, dict):
        return None
    return StaffSession(str(raw.get("h", "")), int(raw.get("exp", 0)), int(raw.get("iat", 0)))


def to_member(item: StaffItem) -> StaffMember:
    raw = item.sessions
    plain = raw.as_dict() if isinstance(raw, MapAttribute) else dict(raw or {})
    sessions = {str(sid): s for sid, value in plain.items() if (s := _session(value)) is not None}
    return StaffMember(
        staff_id=str(item.item),
        name=str(item.name),
        role=str(item.role),
        created_at=item.created_at,
        email=item.email,
        webhook=item.webhook,
        webhook_secret_param=item.webhook_secret_param,
        subscription_arn=item.subscription_arn,
        active=bool(item.active),
        sessions=sessions,
    )


def to_link(item: SignInLinkItem) -> SignInLink:
    return SignInLink(
        digest=str(item.key).removeprefix("link#"),
        staff_id=item.staff_id,
        issued_at=item.issued_at or datetime.fromtimestamp(0, UTC),
        valid_until=int(item.valid_until or 0),
        used_at=item.used_at,
    )


def enlist_event(tx: Transaction, event: StaffEvent) -> None:
    """Append the event's audit line ("audit")."""
    audit.enlist(
        tx,
        AuditEvent(
            action=event.action,
            actor=event.actor,
            subject=audit_subject(event.staff_id),
            at=event.at,
            role=event.role,
            outcome=event.outcome,
        ),
    )


class StaffRepository:
    """Members, their handles and their sessions."""

    def get(self, staff_id: str, *, consistent: bool = True) -> StaffMember | None:
        item = get_item(StaffItem, MEMBERS, staff_id, consistent=consistent)
        return None if item is None else to_member(item)

    def find(self, handle: str) -> str | None:
        """The staff id a handle's digest names, or None (one GetItem either way)."""
        item = get_item(HandleItem, HANDLES, handle, consistent=False)
        return None if item is None else str(item.staff_id)

    def all(self) -> list[StaffMember]:
        return [to_member(i) for i in StaffItem.query(MEMBERS)]

    def add(self, member: StaffMember, handles: dict[str, str], event: StaffEvent) -> Outcome:
        """The member, one handle per `field -> digest` and the audit line, at once. `Refused`:
        "id" (the id is taken), or the field whose handle another member holds ("name", "email")."""
        tx = Transaction(StaffItem)
        tx.put(
            "id",
            StaffItem(
                MEMBERS,
                member.staff_id,
                name=member.name,
                role=member.role,
                email=member.email,
                webhook=member.webhook,
                webhook_secret_param=member.webhook_secret_param,
                subscription_arn=member.subscription_arn,
                active=member.active,
                created_at=member.created_at,
                sessions={},
            ),
            StaffItem.item.does_not_exist(),
        )
        for field, digest in handles.items():
            tx.put(
                field if field != "id" else "id_handle",
                HandleItem(HANDLES, digest, staff_id=member.staff_id, field=field),
                HandleItem.item.does_not_exist(),
            )
        enlist_event(tx, event)
        return tx.commit()

    def deactivate(self, staff_id: str, event: StaffEvent) -> Outcome:
        """Inactive at once, every session gone, and the audit line. `Refused` ("member") when
        there is no such member. The e-mail subscription is forgotten once it is removed."""
        tx = Transaction(StaffItem)
        tx.update(
            "member",
            StaffItem(MEMBERS, staff_id),
            [StaffItem.active.set(False), StaffItem.sessions.set({})],
            StaffItem.item.exists(),
        )
        enlist_event(tx, event)
        return tx.commit()

    def forget_subscription(self, staff_id: str) -> None:
        attempt(
            lambda: StaffItem(MEMBERS, staff_id).update(
                actions=[StaffItem.subscription_arn.remove()], condition=StaffItem.item.exists()
            )
        )

    def open_session(
        self,
        link: SignInLink,
        session_id: str,
        session: StaffSession,
        stale: list[str],
        event: StaffEvent,
    ) -> Outcome:
        """Use the link, open the session on its member (dropping `stale` ones) and append the
        audit line, at once. `Refused`: "link" (used, expired, or naming no one), "member" (not
        active any more)."""
        if link.staff_id is None:
            raise ValueError("a link naming no one opens no session")
        now = event.at
        tx = Transaction(StaffItem)
        tx.update(
            "link",
            SignInLinkItem(link_key(link.digest)),
            [SignInLinkItem.used_at.set(now)],
            SignInLinkItem.used_at.does_not_exist()
            & (SignInLinkItem.staff_id == link.staff_id)
            & (SignInLinkItem.valid_until > int(now.timestamp())),
        )
        actions: list[Action] = [
            StaffItem.sessions[session_id].set(
                {"h": session.secret_hash, "exp": session.expires_at, "iat": session.issued_at}
            ),
            *(StaffItem.sessions[sid].remove() for sid in stale),
        ]
        tx.update("member", StaffItem(MEMBERS, link.staff_id), actions, StaffItem.active == True)  # noqa: E712
        enlist_event(tx, event)
        return tx.commit()

    def close_session(self, staff_id: str, session_id: str, secret_hash: str, event: StaffEvent) -> Outcome:
        """End a session its holder proves; `Refused` ("session") otherwise. With its audit line."""
        tx = Transaction(StaffItem)
        tx.update(
            "session",
            StaffItem(MEMBERS, staff_id),
            [StaffItem.sessions[session_id].remove()],
            StaffItem.sessions[session_id]["h"] == secret_hash,
        )
        enlist_event(tx, event)
        return tx.commit()


class SignInRepository:
    """Sign-in links and the windows that limit how often they are asked for."""

    def get(self, digest: str) -> SignInLink | None:
        item = get_item(SignInLinkItem, link_key(digest))
        return None if item is None else to_link(item)

    def issue(self, link: SignInLink, windows: list[SignInWindow], event: StaffEvent) -> Outcome:
        """Store the link, count the request in each window (under its limit) and append the
        audit line, at once. `Refused`: a window's name ("who", "address"), "link" (a digest
        collision: never in practice)."""
        tx = Transaction(SignInLinkItem)
        expires = datetime.fromtimestamp(link.valid_until, UTC) + GRACE
        tx.put(
            "link",
            SignInLinkItem(
                link_key(link.digest),
                staff_id=link.staff_id,
                issued_at=link.issued_at,
                valid_until=link.valid_until,
                expires_at=expires,
            ),
            SignInLinkItem.key.does_not_exist(),
        )
        for window in windows:
            tx.update(
                window.name,
                SignInWindowItem(window.key),
                [
                    SignInWindowItem.used.add(1),
                    SignInWindowItem.expires_at.set(datetime.fromtimestamp(window.ends_at, UTC) + GRACE),
                ],
                SignInWindowItem.used.does_not_exist() | (SignInWindowItem.used < window.limit),
            )
        enlist_event(tx, event)
        return tx.commit()


# Members change rarely (an ops command): a container reuses the active reviewers this long, so a
# submission costs no staff read on a warm container. A reviewer added meanwhile is informed from
# the next container or after this window; a deactivated one may get a message whose link no
# longer opens (links check the member on every use).
REVIEWER_CACHE_SECONDS = 60.0


class ReviewerPool:
    """The staff as the review pages and the notifier see them: active reviewers get links, and a
    link opens only for a member who is active and may review."""

    def __init__(
        self,
        staff: StaffRepository,
        max_age: float = REVIEWER_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._staff = staff
        self._max_age = max_age
        self._clock = clock
        self._cached: tuple[float, list[Reviewer]] | None = None

    def active(self) -> list[Reviewer]:
        now = self._clock()
        if self._cached is not None and now - self._cached[0] < self._max_age:
            return list(self._cached[1])
        found = [as_reviewer(m) for m in self._staff.all() if m.active and m.role == REVIEWER]
        self._cached = (now, found)
        return list(found)

    def get(self, reviewer_id: str) -> Reviewer | None:
        member = self._staff.get(reviewer_id, consistent=False)
        return None if member is None else as_reviewer(member)


def as_reviewer(member: StaffMember) -> Reviewer:
    return Reviewer(
        reviewer_id=member.staff_id,
        name=member.name,
        created_at=member.created_at,
        email=member.email,
        webhook=member.webhook,
        webhook_secret_param=member.webhook_secret_param,
        subscription_arn=member.subscription_arn,
        active=member.active and member.role in REVIEW_ROLES,
    )


def legacy_reviewers() -> list[Reviewer]:
    """Everyone in the old reviewers table (read by the migration alone)."""
    return [to_reviewer(i) for i in ReviewerItem.query(REVIEWER_POOL)]
