"""Reminders of the review SLA (the scheduled `reviewReminders`, every 15 minutes by default).

When pending submissions have waited longer than the stage's SLA (`reviewSlaHours`), every active
reviewer gets a reminder: how many wait past it, how long the oldest has waited, and the console's
queue; admins too once the oldest has waited twice the SLA. No personal data: counts, an age, a
link. Each member gets at most one reminder an hour, and no message at all within the window that
limits the messages sent to them (`reviewerBatchSeconds`): the reminder claims both on the
member's window item before sending (one conditional write), and gives the claim back when no
channel took it, so the next run tries again.

Costs per run: one Query of the submissions' `by_status` index (pending, oldest first); when any
is overdue, one Query of the staff partition and, per member reminded, one conditional UpdateItem
and one message per channel.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import msgspec

from shared.domain.staff import ADMIN, REVIEWER, StaffMember
from shared.errors import ChannelFailed
from shared.log import logger

if TYPE_CHECKING:
    from shared.services.ports import MessageWindows, Outbox, PendingQueue, ReviewerMail, Staff, Webhook

REMINDER_EVERY = timedelta(hours=1)  # at most one reminder per member in this time
OVERDUE_COUNT_LIMIT = 500  # counted up to this, then "500+"
SUBJECT = "HCP认证申请审核超时提醒"
REMINDER = "reminder"  # the outbox's `kind` of these messages


def age_text(age: timedelta) -> str:
    """`3小时`, `2天5小时`: how long the oldest has waited, in whole hours."""
    days, hours = divmod(int(age.total_seconds() // 3600), 24)
    return f"{days}天{hours}小时" if days else f"{hours}小时"


def reminder_text(count: int, more: bool, oldest_age: timedelta, sla_hours: int, link: str) -> str:
    shown = f"{count}+" if more else str(count)
    return (
        f"有{shown}份HCP身份认证申请已等待审核超过{sla_hours}小时，最早的一份已等待{age_text(oldest_age)}。"
        f"请尽快在控制台处理：\n{link}"
    )


class ReminderReport(msgspec.Struct):
    overdue: int
    oldest_hours: int | None = None
    reminded: list[str] = msgspec.field(default_factory=list)  # staff ids
    waiting: int = 0  # members reminded within the hour, or messaged within the batch window
    unreached: list[str] = msgspec.field(default_factory=list)  # no channel took it: the next run
    failed: list[str] = msgspec.field(default_factory=list)  # failure classes (of any channel)


class StaffChannels:
    """A message to one member through each of their channels: their e-mail (the staff topic,
    filtered on their id), their chat robot (a reminder holds nothing personal), and the local
    outbox. Answers the channels that took it and the classes of the failures."""

    def __init__(
        self,
        mail: ReviewerMail | None,
        webhook: Webhook,
        outbox: Outbox | None,
        secret: Callable[[str], str],
    ) -> None:
        self._mail = mail
        self._webhook = webhook
        self._outbox = outbox
        self._secret = secret

    def send(
        self, member: StaffMember, kind: str, subject: str, text: str, link: str
    ) -> tuple[int, list[str]]:
        sent = 0
        failed: list[str] = []
        if self._outbox is not None:
            entry = {
                "channel": "staff",
                "staff_id": member.staff_id,
                "kind": kind,
                "link": link,
                "text": text,
            }
            sent, failed = self._try(sent, failed, "outbox", lambda: self._outbox.append(entry))  # type: ignore[union-attr]
        if member.email and self._mail is not None:
            mail = self._mail
            sent, failed = self._try(sent, failed, "sns", lambda: mail.send(member.staff_id, subject, text))
        if member.webhook:
            url = member.webhook

            def post() -> None:
                param = member.webhook_secret_param
                self._webhook.send(url, self._secret(param) if param else None, text)

            sent, failed = self._try(sent, failed, "webhook", post)
        return sent, failed

    @staticmethod
    def _try(sent: int, failed: list[str], channel: str, send: Callable[[], None]) -> tuple[int, list[str]]:
        try:
            send()
        except ChannelFailed as exc:
            return sent, [*failed, str(exc)]
        except Exception as exc:  # e.g. a webhook secret parameter that cannot be read
            return sent, [*failed, f"{channel}:{type(exc).__name__}"]
        return sent + 1, failed


class ReviewReminders:
    def __init__(
        self,
        queue: PendingQueue,
        staff: Staff,
        windows: MessageWindows,
        channels: StaffChannels,
        queue_link: str,
        sla_hours: int,
        batch_seconds: int,
        clock: Callable[[], datetime],
    ) -> None:
        self._queue = queue
        self._staff = staff
        self._windows = windows
        self._channels = channels
        self._link = queue_link
        self._sla = timedelta(hours=sla_hours)
        self._sla_hours = sla_hours
        self._batch = batch_seconds
        self._clock = clock

    def run(self) -> ReminderReport:
        now = self._clock()
        count, oldest, more = self._queue.overdue(now - self._sla, OVERDUE_COUNT_LIMIT)
        if not count or oldest is None:
            return ReminderReport(0)
        age = max(timedelta(0), now - oldest)
        report = ReminderReport(count, int(age.total_seconds() // 3600))
        roles = {REVIEWER, ADMIN} if age >= 2 * self._sla else {REVIEWER}
        members = [m for m in self._staff.all() if m.active and m.role in roles]
        text = reminder_text(count, more, age, self._sla_hours, self._link)
        epoch = int(now.timestamp())
        every = int(REMINDER_EVERY.total_seconds())
        for member in members:
            if not self._windows.claim(member.staff_id, epoch, self._batch, reminder_every=every):
                report.waiting += 1
                continue
            sent, failed = self._channels.send(member, REMINDER, SUBJECT, text, self._link)
            report.failed += failed
            if sent:
                report.reminded.append(member.staff_id)
            else:  # nothing went: the next run tries again
                report.unreached.append(member.staff_id)
                self._windows.release(member.staff_id, epoch, reminder=True)
        if report.failed:
            logger.warning("review reminders incomplete", extra={"failures": sorted(set(report.failed))})
        return report
