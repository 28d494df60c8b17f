"""The console's sign-in and access on in-memory fakes: the same work whoever a request names,
links used once within their lifetime, sessions that end, roles, the dashboard's numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from shared import errors
from shared.domain.gate import CurrentDocuments, GateState
from shared.domain.staff import (
    CONSOLE_ROLES,
    MAX_SESSIONS_PER_MEMBER,
    SIGN_IN_PER_WHO,
    StaffMember,
    handle_key,
)
from shared.services.console import (
    ConsoleAccess,
    ConsoleDashboard,
    ConsoleSignIn,
    FunnelCounts,
    SignInMessages,
)
from tests.unit.fakes import Clock, FakeOutbox, FakeSignInLinks, FakeStaff, FakeStaffMail

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
ADMIN = StaffMember("01JADMIN000000000000000000", "管理员甲", "admin", NOW, email="admin@example.com")
EDITOR = StaffMember("01JEDITOR00000000000000000", "编辑乙", "editor", NOW, email="editor@example.com")
ROBOT = StaffMember(
    "01JROBOT000000000000000000", "值班群", "reviewer", NOW, webhook="https://robot.example/x"
)
GONE = StaffMember(
    "01JGONE0000000000000000000", "离职", "moderator", NOW, email="gone@example.com", active=False
)


class World:
    def __init__(self, mail: bool = True) -> None:
        self.clock = Clock(NOW)
        self.staff = FakeStaff(ADMIN, EDITOR, ROBOT, GONE)
        for m in (ADMIN, EDITOR, ROBOT, GONE):
            self.staff.handles.update({handle_key(v): m.staff_id for v in m.handles().values()})
        self.links = FakeSignInLinks(self.staff)
        self.mail = FakeStaffMail() if mail else None
        self.outbox = FakeOutbox()
        self.sign_in = ConsoleSignIn(
            self.staff,
            self.links,
            SignInMessages(self.mail, self.outbox),
            lambda text: f"keyed({text})",
            lambda token: f"https://hcp.example/console/auth?t={token}",
            self.clock,
        )
        self.access = ConsoleAccess(self.staff, self.clock)

    def token(self) -> str:
        link = self.outbox.entries[-1]["link"]
        return parse_qs(urlsplit(link).query)["t"][0]

    def signed_in(self, member: StaffMember = ADMIN) -> str:
        self.sign_in.request_link(member.staff_id, "203.0.113.7")
        return self.sign_in.open_session(self.token()).cookie


def test_every_request_does_the_same_work_and_only_an_active_member_with_email_gets_a_link() -> None:
    world = World()
    works = []
    for who in (ADMIN.staff_id, "ADMIN@example.com", "管理员甲", "nobody", "值班群", GONE.staff_id):
        world.staff.calls.clear()
        world.sign_in.request_link(who, "203.0.113.7")
        works.append(tuple(world.staff.calls))
    assert set(works) == {("find", "get", "issue")}
    assert [to for to, _, _ in world.mail.sent] == [ADMIN.staff_id] * 3 + ["-"] * 3  # type: ignore[union-attr]
    assert [e["staff_id"] for e in world.outbox.entries] == [ADMIN.staff_id] * 3
    usable = [link for link in world.links.links.values() if link.staff_id]
    assert len(world.links.links) == 6 and len(usable) == 3
    assert [e.outcome for e in world.staff.events] == ["sent"] * 3 + ["unknown", "no_channel", "inactive"]


def test_without_email_configured_only_the_outbox_carries_the_link() -> None:
    world = World(mail=False)
    world.sign_in.request_link("nobody", "203.0.113.7")
    world.sign_in.request_link(EDITOR.staff_id, "203.0.113.7")
    assert [(e["staff_id"], e["kind"]) for e in world.outbox.entries] == [(EDITOR.staff_id, "sign_in")]


def test_a_handle_is_limited_per_window_and_address_whoever_it_names() -> None:
    world = World()
    for _ in range(SIGN_IN_PER_WHO):
        world.sign_in.request_link("nobody", "203.0.113.7")
    with pytest.raises(errors.RateLimited) as caught:
        world.sign_in.request_link(" NOBODY ", "203.0.113.7")
    assert caught.value.case == "sign_in_who" and 0 < caught.value.retry_after <= 900
    # a stranger naming a member cannot lock them out of signing in from their own address
    world.sign_in.request_link("nobody", "203.0.113.8")
    world.clock.advance(minutes=15)
    world.sign_in.request_link("nobody", "203.0.113.7")  # a new window


def test_a_link_opens_one_session_once_within_fifteen_minutes() -> None:
    world = World()
    world.sign_in.request_link(ADMIN.staff_id, "203.0.113.7")
    token = world.token()
    opened = world.sign_in.open_session(token)
    assert opened.staff_id == ADMIN.staff_id and opened.expires_at == NOW + timedelta(hours=12)
    with pytest.raises(errors.Forbidden) as caught:
        world.sign_in.open_session(token)
    assert caught.value.case == "sign_in_link"
    world.sign_in.request_link(ADMIN.staff_id, "203.0.113.7")
    world.clock.advance(minutes=15)
    with pytest.raises(errors.Forbidden):
        world.sign_in.open_session(world.token())
    for forged in ("", "x" * 43, "not a token"):
        with pytest.raises(errors.Forbidden):
            world.sign_in.open_session(forged)


def test_sessions_end_with_sign_out_deactivation_and_time_and_roles_hold() -> None:
    world = World()
    cookie = world.signed_in(ADMIN)
    caller = world.access.member(cookie, CONSOLE_ROLES["staff"])
    assert caller.member.staff_id == ADMIN.staff_id
    world.sign_in.sign_out(caller)
    with pytest.raises(errors.Unauthorized):
        world.access.member(cookie, CONSOLE_ROLES["dashboard"])
    editor = world.signed_in(EDITOR)
    assert world.access.member(editor, CONSOLE_ROLES["dashboard"])
    with pytest.raises(errors.Forbidden) as caught:
        world.access.member(editor, CONSOLE_ROLES["staff"])
    assert caught.value.case == "console_role"
    world.clock.advance(hours=12)
    with pytest.raises(errors.Unauthorized):
        world.access.member(editor, CONSOLE_ROLES["dashboard"])
    for forged in (None, "", f"{EDITOR.staff_id}.0123456789abcdef.{'x' * 43}", editor.replace(".", "-")):
        with pytest.raises(errors.Unauthorized):
            world.access.member(forged, CONSOLE_ROLES["dashboard"])


def test_a_member_keeps_at_most_five_sessions_the_oldest_go() -> None:
    world = World()
    cookies = []
    for _ in range(MAX_SESSIONS_PER_MEMBER + 2):
        cookies.append(world.signed_in(ADMIN))
        world.clock.advance(minutes=4)  # within the handle's sign-in limit
    assert len(world.staff.members[ADMIN.staff_id].sessions) == MAX_SESSIONS_PER_MEMBER
    with pytest.raises(errors.Unauthorized):
        world.access.member(cookies[0], CONSOLE_ROLES["dashboard"])
    assert world.access.member(cookies[-1], CONSOLE_ROLES["dashboard"])


class Queue:
    def __init__(self, count: int, oldest: datetime | None, more: bool = False) -> None:
        self.answer = (count, oldest, more)

    def pending(self, limit: int) -> tuple[int, datetime | None, bool]:
        return self.answer


def test_the_dashboard_sums_gate_states_into_steps_with_the_current_documents() -> None:
    docs = CurrentDocuments("v2", "i1")
    counts = FunnelCounts(
        [
            (GateState(), 4),  # never agreed
            (GateState("v1", "agree", "i1", "agree", "approved", True), 3),  # agreed an old version
            (GateState("v2", "agree", "i1", "agree", "approved", True), 2),
            (GateState("v2", "agree", "i1", "skip", "pending"), 1),
            (GateState("v2", "refuse"), 5),
        ]
    )
    dashboard = ConsoleDashboard(
        Queue(2, NOW - timedelta(hours=30)), lambda: counts, lambda: docs, Clock(NOW)
    )
    numbers = dashboard.numbers()
    assert (numbers.queue.pending, numbers.queue.oldest_age) == (2, timedelta(hours=30))
    assert numbers.funnel is not None
    steps = {s.step: s.users for s in numbers.funnel}
    assert steps == {
        "identity_agreement": 7,
        "refused": 5,
        "informed_consent": 0,
        "verify": 0,
        "pending": 1,
        "rejected": 0,
        "questions": 0,
        "done": 2,
    }
    assert [*steps][::7] == ["identity_agreement", "done"]  # the funnel's order
    empty = ConsoleDashboard(Queue(0, None), lambda: None, lambda: docs, Clock(NOW)).numbers()
    assert empty.funnel is None and empty.queue.oldest_age is None


def test_the_session_cookie_is_http_only_strict_scoped_and_secure_when_deployed() -> None:
    from shared.pages.console import cleared_session_cookie, session_cookie

    deployed = session_cookie("v", secure=True).split("; ")
    assert deployed == [
        "hcp_console=v",
        "Max-Age=43200",
        "Path=/console",
        "HttpOnly",
        "SameSite=Strict",
        "Secure",
    ]
    assert "Secure" not in session_cookie("v", secure=False)
    assert cleared_session_cookie(secure=True).startswith("hcp_console=; Max-Age=0; Path=/console")
