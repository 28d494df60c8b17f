"""SLA reminders: reviewers past the SLA, admins past twice it, at most once an hour, nothing personal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.domain.staff import ADMIN, EDITOR, MODERATOR, REVIEWER, StaffMember
from shared.services.reminders import REMINDER, ReviewReminders, StaffChannels
from tests.unit.fakes import (
    Clock,
    FakeMail,
    FakeOutbox,
    FakePendingTimes,
    FakeStaff,
    FakeWebhook,
    FakeWindows,
)

START = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
QUEUE = "https://api.example/console/verifications"
SLA = 24


def member(staff_id: str, role: str, *, active: bool = True, webhook: str | None = None) -> StaffMember:
    email = None if webhook else f"{staff_id}@example.com"
    return StaffMember(staff_id, f"名字{staff_id}", role, START, email=email, webhook=webhook, active=active)


class World:
    def __init__(self, batch: int = 60) -> None:
        self.clock = Clock(START)
        self.queue = FakePendingTimes()
        self.staff = FakeStaff(
            member("rev-1", REVIEWER),
            member("rev-robot", REVIEWER, webhook="https://robot.example/1"),
            member("rev-gone", REVIEWER, active=False),
            member("mod-1", MODERATOR),
            member("ed-1", EDITOR),
            member("adm-1", ADMIN),
        )
        self.windows = FakeWindows()
        self.mail = FakeMail()
        self.webhook = FakeWebhook()
        self.outbox = FakeOutbox()
        channels = StaffChannels(self.mail, self.webhook, self.outbox, lambda param: "secret")
        self.reminders = ReviewReminders(
            self.queue, self.staff, self.windows, channels, QUEUE, SLA, batch, self.clock
        )

    def submitted(self, hours_ago: float, sid: str) -> None:
        self.queue.submitted[sid] = self.clock() - timedelta(hours=hours_ago)

    def mailed(self) -> list[str]:
        return [to for to, _, _ in self.mail.sent]


def test_nothing_past_the_sla_reminds_nobody() -> None:
    world = World()
    world.submitted(23.5, "S1")
    report = world.reminders.run()
    assert report.overdue == 0 and not world.mail.sent and not world.outbox.entries
    assert world.windows.claims == 0


def test_past_the_sla_each_active_reviewer_is_reminded_without_personal_data() -> None:
    world = World()
    world.submitted(30, "S1")
    world.submitted(25, "S2")
    world.submitted(2, "S3")  # not overdue: not counted
    report = world.reminders.run()
    assert report.overdue == 2 and report.oldest_hours == 30
    assert sorted(report.reminded) == ["rev-1", "rev-robot"]
    assert world.mailed() == ["rev-1"]
    assert [url for url, _ in world.webhook.sent] == ["https://robot.example/1"]
    (_, _, text) = world.mail.sent[0]
    assert "2份" in text and "超过24小时" in text and "1天6小时" in text and QUEUE in text
    assert "S1" not in text and "名字" not in text and "@" not in text
    entries = world.outbox.entries
    assert {(e["staff_id"], e["kind"], e["link"]) for e in entries} == {
        ("rev-1", REMINDER, QUEUE),
        ("rev-robot", REMINDER, QUEUE),
    }


def test_at_most_one_reminder_an_hour() -> None:
    world = World()
    world.submitted(30, "S1")
    world.reminders.run()
    for _ in range(3):  # the runs of the next 45 minutes
        world.clock.advance(minutes=15)
        assert world.reminders.run().reminded == []
    world.clock.advance(minutes=15)
    assert sorted(world.reminders.run().reminded) == ["rev-1", "rev-robot"]
    assert world.mailed() == ["rev-1", "rev-1"]


def test_admins_too_past_twice_the_sla() -> None:
    world = World()
    world.submitted(47, "S1")
    assert "adm-1" not in world.reminders.run().reminded
    world.clock.advance(hours=1)
    assert sorted(world.reminders.run().reminded) == ["adm-1", "rev-1", "rev-robot"]
    assert "mod-1" not in world.mailed() and "ed-1" not in world.mailed() and "rev-gone" not in world.mailed()


def test_a_reminder_waits_for_the_reviewers_message_window() -> None:
    world = World(batch=60)
    world.submitted(30, "S1")
    world.windows.sent_at["rev-1"] = int(world.clock().timestamp()) - 10  # a batch of links just went
    report = world.reminders.run()
    assert report.reminded == ["rev-robot"] and report.waiting == 1
    world.clock.advance(minutes=15)
    assert world.reminders.run().reminded == ["rev-1"]


def test_a_reminder_no_channel_took_is_tried_again_at_the_next_run() -> None:
    world = World()
    world.outbox = FakeOutbox()
    world.reminders = ReviewReminders(
        world.queue,
        world.staff,
        world.windows,
        StaffChannels(world.mail, world.webhook, None, lambda param: "secret"),
        QUEUE,
        SLA,
        60,
        world.clock,
    )
    world.submitted(30, "S1")
    world.mail.down = True
    report = world.reminders.run()
    assert report.reminded == ["rev-robot"] and report.failed == ["sns:Throttling"]
    assert report.unreached == ["rev-1"]
    world.mail.down = False
    world.clock.advance(minutes=15)
    assert world.reminders.run().reminded == ["rev-1"]
