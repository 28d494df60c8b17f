"""Staff: the rules of a member and of handles, and the directory (add, deactivate, link, migrate)
on in-memory fakes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared import errors
from shared.domain.staff import (
    ADMIN,
    CONSOLE_ROLES,
    EDITOR,
    MODERATOR,
    REVIEWER,
    ROLES,
    STAFF_ADDED,
    STAFF_DEACTIVATED,
    StaffMember,
    allowed,
    check_member,
    check_who,
    handle_key,
)
from shared.domain.verification import Reviewer
from shared.services.staff import StaffDirectory
from tests.unit.fakes import Clock, FakeSignInLinks, FakeStaff, FakeStaffMail

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


def directory(*members: StaffMember, local: bool = False) -> tuple[StaffDirectory, FakeStaff, FakeStaffMail]:
    staff = FakeStaff(*members)
    mail = FakeStaffMail()
    links = FakeSignInLinks(staff)
    made = StaffDirectory(
        staff, links, mail, lambda t: f"https://hcp.example/console/auth?t={t}", Clock(NOW), local=local
    )
    return made, staff, mail


def test_every_role_needs_an_email_but_a_reviewer_robot() -> None:
    assert check_member("王审核", "wang@example.com", None, REVIEWER).email == "wang@example.com"
    robot = check_member("值班群", None, "https://oapi.dingtalk.com/robot/send?x=1", REVIEWER)
    assert robot.email is None and robot.webhook
    for role in (MODERATOR, EDITOR, ADMIN):
        with pytest.raises(errors.BadRequest) as caught:
            check_member("李", None, "https://robot.example/x", role)
        assert [(f.field, f.code) for f in caught.value.fields or ()] == [("email", "required")]
    # the local stage's outbox reaches a member with no channel (they cannot sign in)
    assert check_member("本地", None, None, MODERATOR, local=True).email is None


def test_every_field_at_fault_is_named_at_once() -> None:
    with pytest.raises(errors.BadRequest) as caught:
        check_member(" " * 3, "not-an-email", "http://robot.example/x", "superuser", staff_id="-x")
    assert sorted((f.field, f.code) for f in caught.value.fields or ()) == [
        ("email", "invalid"),
        ("id", "invalid"),
        ("name", "required"),
        ("role", "not_allowed"),
        ("webhook", "invalid"),
    ]
    assert check_member("a" * 40, None, "http://127.0.0.1:5/x", REVIEWER, local=True).name == "a" * 40
    with pytest.raises(errors.BadRequest):
        check_member("a" * 41, "a@example.com", None, REVIEWER)


def test_handles_compare_as_people_type_them() -> None:
    assert handle_key(" Wang@Example.COM ") == handle_key("wang@example.com")
    assert handle_key("ＤＥＭＯ-admin") == handle_key("demo-ADMIN")  # full-width, any case
    assert handle_key("王审核") != handle_key("王 审核")
    assert check_who("  王审核 ") == "王审核"
    for bad in ("", "   ", "a\x00b", "x" * 255):
        with pytest.raises(errors.BadRequest):
            check_who(bad)


def test_an_admin_opens_every_page_and_other_roles_their_own() -> None:
    assert all(allowed(role, CONSOLE_ROLES["dashboard"]) for role in ROLES)
    assert [role for role in ROLES if allowed(role, CONSOLE_ROLES["staff"])] == [ADMIN]


def test_ids_names_and_emails_are_unique_across_members_and_a_refusal_leaves_nothing() -> None:
    made, staff, mail = directory()
    wang = made.add("王审核", REVIEWER, "wang@example.com")
    assert wang.subscription_arn in mail.subscriptions
    assert [e.action for e in staff.events] == [STAFF_ADDED]
    for name, email, staff_id, case in (
        ("王审核", "other@example.com", None, "staff_name_taken"),
        ("李审核", "WANG@example.com", None, "staff_email_taken"),
        (wang.staff_id.lower(), "li@example.com", None, "staff_name_taken"),  # a name that is an id
        ("李审核", "li@example.com", wang.staff_id, "staff_id_taken"),
    ):
        with pytest.raises(errors.Conflict) as caught:
            made.add(name, EDITOR, email, staff_id=staff_id)
        assert caught.value.case == case
    assert list(staff.members) == [wang.staff_id]
    assert len(staff.events) == 1
    assert list(mail.subscriptions.values()) == [wang.staff_id]  # the refused ones' subscriptions went


def test_adding_a_given_id_twice_is_the_same_member() -> None:
    made, staff, _ = directory()
    first = made.add("演示管理员", ADMIN, "demo-admin@example.invalid", staff_id="demo-admin")
    assert made.add("演示管理员", ADMIN, "demo-admin@example.invalid", staff_id="demo-admin") == first
    assert len(staff.events) == 1


def test_deactivation_ends_sessions_then_removes_the_subscription_and_retries_what_was_left() -> None:
    made, staff, mail = directory()
    wang = made.add("王审核", REVIEWER, "wang@example.com")
    mail.fail_unsubscribe = True
    assert made.deactivate(wang.staff_id).active is False
    assert staff.members[wang.staff_id].active is False
    assert staff.members[wang.staff_id].subscription_arn  # kept: the unsubscribe failed
    mail.fail_unsubscribe = False
    made.deactivate(wang.staff_id)  # again: only the subscription is left to remove
    assert staff.members[wang.staff_id].subscription_arn is None and not mail.subscriptions
    assert [e.action for e in staff.events] == [STAFF_ADDED, STAFF_DEACTIVATED]
    with pytest.raises(errors.NotFound):
        made.deactivate("nobody")


def test_a_printed_link_is_for_an_active_member_only() -> None:
    made, staff, _ = directory()
    admin = made.add("首位管理员", ADMIN, "admin@example.com")
    link = made.print_link(admin.staff_id)
    assert link.startswith("https://hcp.example/console/auth?t=")
    assert staff.links is not None and len(staff.links.links) == 1
    made.deactivate(admin.staff_id)
    with pytest.raises(errors.Forbidden):
        made.print_link(admin.staff_id)
    with pytest.raises(errors.NotFound):
        made.print_link("nobody")


def test_reviewers_migrate_once_with_their_channels_and_a_clash_renamed() -> None:
    made, staff, mail = directory()
    moderator = made.add("王审核", MODERATOR, "wang@example.com").staff_id
    old = [
        Reviewer(
            "01JREV0000000000000000000A",
            "王审核",
            NOW,
            email="wang2@example.com",
            subscription_arn="arn:sub:1",
        ),
        Reviewer(
            "01JREV0000000000000000000B",
            "值班群",
            NOW,
            webhook="https://robot.example/x",
            webhook_secret_param="/p",
        ),
        Reviewer("01JREV0000000000000000000C", "离职", NOW, email="wang@example.com", active=False),
    ]
    first = made.migrate(old)
    assert [(m.result, m.notes) for m in first] == [
        ("added", ("renamed",)),
        ("added", ()),
        ("added", ("email_not_a_handle",)),
    ]
    a, b, c = (staff.members[r.reviewer_id] for r in old)
    assert (a.name, a.role, a.email, a.subscription_arn) == (
        "王审核 (00000A)",
        REVIEWER,
        "wang2@example.com",
        "arn:sub:1",
    )
    assert (b.webhook, b.webhook_secret_param, b.active) == ("https://robot.example/x", "/p", True)
    assert (c.email, c.active) == ("wang@example.com", False)  # a channel still, not a sign-in handle
    # nothing subscribed: the old subscriptions filter on the same ids
    assert list(mail.subscriptions.values()) == [moderator]
    assert [m.result for m in made.migrate(old)] == ["kept", "kept", "kept"]
