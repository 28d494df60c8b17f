"""The staff console: sign-in by one-time link, the session every console request checks, the
role each page asks for, and the dashboard's numbers.

Sign-in request (`request_link`): whatever `who` names (a member, an inactive one, no one), the
request does the same work: one read of the handle, one read of a member (a key that never exists
when the handle names no one), one transaction (the link, both rate windows, the audit line) and
one message (to the member's own e-mail subscription, or, in a stage with e-mail, a message no
subscription accepts). Only an active member with an e-mail gets a usable link; nothing a client
sees differs. Opening the link's page reads nothing (mail scanners open links); its form's POST
(`open_session`) uses the link and opens the session in one transaction.

A session is `<staff_id>.<session_id>.<secret>` in a cookie; the member item holds the secret's
digest and expiry, so `ConsoleAccess.member` is one consistent read of the member, which also
says whether they are active and what their role is: deactivation or sign-out ends it at once.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import msgspec

from shared import errors
from shared.domain.gate import CurrentDocuments, GateState, Step, next_step
from shared.domain.outcomes import Refused, Written
from shared.domain.staff import (
    LINK_REQUESTED,
    MAX_SESSIONS_PER_MEMBER,
    NOBODY,
    SESSION_LIFETIME,
    SIGN_IN_LINK_LIFETIME,
    SIGN_IN_PER_ADDRESS,
    SIGN_IN_PER_WHO,
    SIGNED_IN,
    SIGNED_OUT,
    SignInLink,
    SignInWindow,
    StaffEvent,
    StaffMember,
    StaffSession,
    allowed,
    check_who,
    digest,
    handle_key,
    is_link_token,
    normalized_handle,
    window_end,
)
from shared.errors import ChannelFailed
from shared.log import logger

if TYPE_CHECKING:
    from shared.services.ports import Outbox, PendingQueue, SignInLinks, Staff, StaffMail

_COOKIE = re.compile(
    r"^(?P<staff>[A-Za-z0-9][A-Za-z0-9-]{0,39})\.(?P<sid>[0-9a-f]{16})\.(?P<secret>[A-Za-z0-9_-]{43})$"
)
SUBJECT = "控制台登录链接"
CONTENDED_RETRY_SECONDS = 5
QUEUE_COUNT_LIMIT = 500  # the dashboard counts pending submissions up to this, then says "500+"


def sign_in_text(link: str) -> str:
    minutes = int(SIGN_IN_LINK_LIFETIME.total_seconds() // 60)
    return (
        f"您申请登录HCP学术分享平台控制台。请在{minutes}分钟内打开以下链接并确认登录，链接仅可使用一次：\n"
        f"{link}\n如果不是您本人申请，请忽略此邮件。"
    )


class StaffCaller(msgspec.Struct, frozen=True):
    member: StaffMember
    session_id: str
    secret_hash: str

    @property
    def session(self) -> str:
        """What the session's forms are bound to (their CSRF field): the member and the session."""
        return f"{self.member.staff_id}.{self.session_id}"


class OpenedSession(msgspec.Struct, frozen=True):
    cookie: str
    expires_at: datetime
    staff_id: str


class SignInMessages:
    """Sends a sign-in link through the member's personal channel only: their e-mail (the staff
    topic, filtered on their id) or, in the local stage, the outbox. Never a chat robot: a robot
    is a group. With no recipient, a stage with e-mail publishes a message that no subscription
    accepts, so that both cases make the same calls."""

    def __init__(self, mail: StaffMail | None, outbox: Outbox | None) -> None:
        self._mail = mail
        self._outbox = outbox

    def send(self, member: StaffMember | None, link: str) -> None:
        text = sign_in_text(link)
        try:
            if self._mail is not None:
                self._mail.send(member.staff_id if member else NOBODY, SUBJECT, text if member else SUBJECT)
            if self._outbox is not None and member is not None:
                self._outbox.append(
                    {
                        "channel": "staff",
                        "staff_id": member.staff_id,
                        "kind": "sign_in",
                        "link": link,
                        "text": text,
                    }
                )
        except ChannelFailed as exc:  # the page says the same; the member asks again
            logger.warning("sign-in link not delivered", extra={"failure": str(exc)})


class ConsoleSignIn:
    def __init__(
        self,
        staff: Staff,
        links: SignInLinks,
        messages: SignInMessages,
        keyed_digest: Callable[[str], str],
        link_url: Callable[[str], str],
        clock: Callable[[], datetime],
    ) -> None:
        self._staff = staff
        self._links = links
        self._messages = messages
        self._keyed = keyed_digest
        self._link_url = link_url
        self._clock = clock

    def _windows(self, who: str, address: str, now: datetime) -> list[SignInWindow]:
        end = window_end(now)
        # per handle *from one address*: a stranger who names a member cannot lock them out of
        # signing in from their own address
        who_key = self._keyed(f"sign-in-who\n{normalized_handle(who)}\n{address or '-'}")
        address_key = self._keyed(f"sign-in-address\n{address or '-'}")
        return [
            SignInWindow("who", f"who#{who_key}#{end}", SIGN_IN_PER_WHO, end),
            SignInWindow("address", f"address#{address_key}#{end}", SIGN_IN_PER_ADDRESS, end),
        ]

    def request_link(self, who: str, address: str) -> None:
        """Send a one-time link to the member `who` names, if active and reachable by e-mail.
        Answers nothing either way (429 when a window is full); does the same work either way."""
        who = check_who(who)
        now = self._clock()
        staff_id = self._staff.find(handle_key(who))
        member = self._staff.get(staff_id or NOBODY)  # the same read when the handle names no one
        if member is None:
            outcome_code = "unknown"
        elif not member.active:
            outcome_code = "inactive"
        elif not member.email:
            outcome_code = "no_channel"  # a group robot: never a sign-in link
        else:
            outcome_code = "sent"
        recipient = member if outcome_code == "sent" else None
        token = secrets.token_urlsafe(32)
        link = SignInLink(
            digest(token),
            recipient.staff_id if recipient else None,
            now,
            int((now + SIGN_IN_LINK_LIFETIME).timestamp()),
        )
        target = member.staff_id if member else NOBODY
        # whoever asked is anonymous: the line is about the member named, never by them
        event = StaffEvent(LINK_REQUESTED, NOBODY, target, now, outcome=outcome_code)
        windows = self._windows(who, address, now)
        outcome = self._links.issue(link, windows, event)
        if isinstance(outcome, Refused):
            epoch = int(now.timestamp())
            for window in windows:
                if window.name in outcome:
                    retry = max(1, window.ends_at - epoch)
                    minutes = max(1, (retry + 59) // 60)
                    if window.name == "who":
                        raise errors.RateLimited("sign_in_who", retry_after=retry, minutes=minutes)
                    raise errors.RateLimited("sign_in_address", retry_after=retry, minutes=minutes)
            raise errors.Conflict("sign_in_busy")
        if not isinstance(outcome, Written):  # the same handle asked twice at once
            raise errors.RateLimited("sign_in_busy", retry_after=CONTENDED_RETRY_SECONDS)
        logger.info("sign-in link requested", extra={"outcome": outcome_code})
        self._messages.send(recipient, self._link_url(token))

    def open_session(self, token: str) -> OpenedSession:
        """Use a link: a new session for its member, or 403 (used, expired, unknown, inactive)."""
        if not is_link_token(token):
            raise errors.Forbidden("sign_in_link")
        now = self._clock()
        link = self._links.get(digest(token))
        if link is None or link.staff_id is None or not link.usable(now):
            raise errors.Forbidden("sign_in_link")
        member = self._staff.get(link.staff_id)
        if member is None or not member.active:
            raise errors.Forbidden("staff_inactive")
        session_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        expires_at = now + SESSION_LIFETIME
        session = StaffSession(digest(secret), int(expires_at.timestamp()), int(now.timestamp()))
        event = StaffEvent(SIGNED_IN, member.staff_id, member.staff_id, now)
        outcome = self._staff.open_session(link, session_id, session, _stale(member, now), event)
        if isinstance(outcome, Refused):
            raise errors.Forbidden("staff_inactive" if "member" in outcome else "sign_in_link")
        if not isinstance(outcome, Written):
            raise errors.Conflict("sign_in_busy")
        logger.info("staff signed in", extra={"staff_id": member.staff_id})
        return OpenedSession(f"{member.staff_id}.{session_id}.{secret}", expires_at, member.staff_id)

    def sign_out(self, caller: StaffCaller) -> None:
        member = caller.member
        event = StaffEvent(SIGNED_OUT, member.staff_id, member.staff_id, self._clock())
        outcome = self._staff.close_session(member.staff_id, caller.session_id, caller.secret_hash, event)
        if isinstance(outcome, Refused):
            raise errors.Unauthorized("console_session")
        if not isinstance(outcome, Written):
            raise errors.Conflict("sign_in_busy")
        logger.info("staff signed out", extra={"staff_id": member.staff_id})


def _stale(member: StaffMember, now: datetime) -> list[str]:
    """Sessions to drop as a new one opens: the expired, and the oldest beyond the limit."""
    epoch = now.timestamp()
    expired = [sid for sid, s in member.sessions.items() if s.expires_at <= epoch]
    live = sorted((s.issued_at, sid) for sid, s in member.sessions.items() if sid not in expired)
    return expired + [sid for _, sid in live[: max(0, len(live) - (MAX_SESSIONS_PER_MEMBER - 1))]]


class ConsoleAccess:
    """Who is calling a console page, and whether their role may open it."""

    def __init__(self, staff: Staff, clock: Callable[[], datetime]) -> None:
        self._staff = staff
        self._clock = clock

    def member(self, cookie: str | None, roles: frozenset[str]) -> StaffCaller:
        """The signed-in member (one consistent read), else 401; a page outside their role 403."""
        match = _COOKIE.fullmatch(cookie or "")
        if not match:
            raise errors.Unauthorized("console_session")
        member = self._staff.get(match["staff"])
        session = member.sessions.get(match["sid"]) if member is not None else None
        secret_hash = digest(match["secret"])
        if (
            member is None
            or session is None
            or not member.active
            or not hmac.compare_digest(session.secret_hash, secret_hash)
            or session.expires_at <= self._clock().timestamp()
        ):
            raise errors.Unauthorized("console_session")
        if not allowed(member.role, roles):
            raise errors.Forbidden("console_role")
        return StaffCaller(member, match["sid"], secret_hash)


class QueueNumbers(msgspec.Struct, frozen=True):
    pending: int
    more: bool  # more than QUEUE_COUNT_LIMIT
    oldest_age: timedelta | None


class StepCount(msgspec.Struct, frozen=True):
    step: str
    users: int


class DashboardNumbers(msgspec.Struct, frozen=True):
    queue: QueueNumbers
    funnel: list[StepCount] | None  # None: not counted in this stage yet


# The funnel's order: where a user stands on their way to `done` (api.md, "Where the user stands").
FUNNEL = (
    Step.IDENTITY_AGREEMENT,
    Step.REFUSED,
    Step.INFORMED_CONSENT,
    Step.VERIFY,
    Step.PENDING,
    Step.REJECTED,
    Step.QUESTIONS,
    Step.DONE,
)


class FunnelCounts(msgspec.Struct, frozen=True):
    """How many users hold each gate state (the fields `next_step` reads), counted as they move."""

    states: list[tuple[GateState, int]]


class ConsoleDashboard:
    def __init__(
        self,
        queue: PendingQueue,
        funnel: Callable[[], FunnelCounts | None],
        documents: Callable[[], CurrentDocuments],
        clock: Callable[[], datetime],
    ) -> None:
        self._queue = queue
        self._funnel = funnel
        self._documents = documents
        self._clock = clock

    def numbers(self) -> DashboardNumbers:
        count, oldest, more = self._queue.pending(QUEUE_COUNT_LIMIT)
        age = None if oldest is None else max(timedelta(0), self._clock() - oldest)
        return DashboardNumbers(QueueNumbers(count, more, age), self._steps())

    def _steps(self) -> list[StepCount] | None:
        counts = self._funnel()
        if counts is None:
            return None
        docs = self._documents()
        by_step = dict.fromkeys(FUNNEL, 0)
        for state, users in counts.states:
            by_step[next_step(state, docs)] += users
        return [StepCount(step.value, users) for step, users in by_step.items()]
