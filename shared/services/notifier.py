"""Tell every active reviewer that a submission waits, each with their own signed link.

The outbox pattern: the submission's transaction wrote a pending notification item; delivery
runs after the commit and records, per reviewer and channel, what went out. Whatever failed stays
pending, with an attempt count and a backoff, until the scheduled retry (`functions/notifier.py`,
every minute) delivers it or gives up after `MAX_ATTEMPTS` (logged as an error to alarm on).
A notification holds no personal data: that a submission waits, and the reviewer's link.

Batching (`batch_seconds` > 0, the stage's reviewerBatchSeconds): SNS suspends an e-mail
subscription sent more than about 10 messages a second, so a reviewer gets at most one message
per window. Before sending, the sender claims the reviewer's window (a conditional write of when
their last message went: two senders cannot both win it); the message then carries the link of
every pending submission that reviewer's channel has not had yet (the oldest
`MAX_LINKS_PER_MESSAGE`), and each notification records the channels it reached. A submission
that finds every window taken stays pending until the window ends, and the scheduled retry sends
it in the next message. Nothing is lost: a notification leaves the pending index only once every
active reviewer's every channel has its link, and every submission is in the console's queue
regardless. With `batch_seconds` 0 (the local stage) each link goes out at once, alone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

import msgspec

from shared.domain.verification import Notification, Reviewer
from shared.errors import ChannelFailed
from shared.log import logger

if TYPE_CHECKING:
    from shared.services.ports import (
        MessageWindows,
        Notifications,
        Outbox,
        ReviewerMail,
        Reviewers,
        Submissions,
        Webhook,
    )

MAX_ATTEMPTS = 12
BACKOFF_BASE_SECONDS = 60
BACKOFF_MAX_SECONDS = 6 * 3600
RETRY_BATCH = 25
SUBJECT = "HCP认证申请待审核"
# A chat robot's text message holds 2,048 bytes (WeCom); a link is about 200 (its token 130): more
# links wait for the next window.
MAX_LINKS_PER_MESSAGE = 8
WAITING_LIMIT = 200  # pending notifications one batched delivery reads


def backoff_seconds(attempts: int) -> int:
    """1, 2, 4 ... minutes after the n-th failed attempt, at most 6 hours."""
    return int(min(BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1), BACKOFF_MAX_SECONDS))


def message_text(link: str, revision: int) -> str:
    again = "（重新提交）" if revision > 1 else ""
    return f"有一份HCP身份认证申请{again}等待审核。审核链接仅供您本人使用，72小时内有效：\n{link}"


def batch_text(links: list[tuple[str, int]], more: int, queue_link: str) -> str:
    """Several submissions' links in one message (`more`: how many wait for the next one)."""
    lines = [f"有{len(links) + more}份HCP身份认证申请等待审核。以下审核链接仅供您本人使用，72小时内有效："]
    lines += [
        f"{n}. {link}{'（重新提交）' if revision > 1 else ''}" for n, (link, revision) in enumerate(links, 1)
    ]
    if more:
        lines.append(f"另有{more}份的链接将在下一条消息中发送。全部待审申请见控制台：{queue_link}")
    return "\n".join(lines)


class Outcomes:
    """What one batched delivery sent and what failed, per submission."""

    def __init__(self) -> None:
        self.sent: dict[str, set[str]] = {}
        self.failed: dict[str, list[str]] = {}

    def reach(self, notes: list[Notification], mark: str) -> None:
        for n in notes:
            self.sent.setdefault(n.submission_id, set()).add(mark)

    def fail(self, notes: list[Notification], failure: str) -> None:
        for n in notes:
            self.failed.setdefault(n.submission_id, []).append(failure)

    def touched(self, submission_id: str) -> bool:
        return submission_id in self.sent or submission_id in self.failed


class DeliveryReport(msgspec.Struct):
    submission_id: str
    sent: list[str] = msgspec.field(default_factory=list)  # "<reviewer>:<channel>"
    failed: list[str] = msgspec.field(default_factory=list)  # failure classes
    done: bool = False


class Notifier:
    def __init__(
        self,
        reviewers: Reviewers,
        notifications: Notifications,
        submissions: Submissions,
        link_for: Callable[[str, str, int], str],
        sns: ReviewerMail | None,
        webhook: Webhook,
        outbox: Outbox | None,
        secret: Callable[[str], str],
        clock: Callable[[], datetime],
        windows: MessageWindows | None = None,
        batch_seconds: int = 0,
        queue_link: str = "",
    ) -> None:
        if batch_seconds and windows is None:
            raise ValueError("batching needs the reviewers' message windows")
        self._windows = windows
        self._batch = batch_seconds
        self._queue_link = queue_link
        self._reviewers = reviewers
        self._notifications = notifications
        self._submissions = submissions
        self._link_for = link_for
        self._sns = sns
        self._webhook = webhook
        self._outbox = outbox
        self._secret = secret
        self._clock = clock

    def deliver_new(self, submission_id: str, revision: int) -> None:
        """Right after the submission's commit: nothing delivered yet, no attempt made."""
        if self._batch:
            self._deliver_batched(Notification(submission_id, revision, self._clock()))
        else:
            self._deliver(submission_id, revision, set(), 0)

    def _still_waiting(self, submission_id: str) -> Notification | None:
        """The notification, if it still waits and its submission is still pending; a notification
        whose submission was decided or withdrawn meanwhile is recorded as moot (None)."""
        item = self._notifications.get(submission_id)
        if item is None or not item.pending:
            return None  # delivered meanwhile
        submission = self._submissions.get(submission_id)
        if submission is None or submission.status != "pending":
            self._notifications.record(
                submission_id, set(), done=True, outcome="moot", attempts=item.attempts,
                next_attempt_at=None, error=None,
            )  # fmt: skip
            return None
        return item

    def retry_due(self) -> list[DeliveryReport]:
        """The scheduled retry: every due pending notification, once each (batched: when one is
        due, every waiting one goes to every reviewer whose window is open)."""
        now = int(self._clock().timestamp())
        if self._batch:
            return self._deliver_batched(None) if self._notifications.due(now, 1) else []
        reports = []
        for submission_id in self._notifications.due(now, RETRY_BATCH):
            item = self._still_waiting(submission_id)
            if item is None:
                continue
            reports.append(self._deliver(submission_id, item.revision, set(item.delivered), item.attempts))
        return reports

    def _channels(self, reviewer: Reviewer) -> list[str]:
        channels = []
        if self._outbox is not None:
            channels.append("outbox")
        if reviewer.email and self._sns is not None:
            channels.append("sns")
        if reviewer.webhook:
            channels.append("webhook")
        return channels

    def _send(self, channel: str, reviewer: Reviewer, link: str, revision: int, submission_id: str) -> None:
        text = message_text(link, revision)
        if channel == "outbox" and self._outbox is not None:
            self._outbox.append(
                {
                    "channel": "reviewer",
                    "reviewer_id": reviewer.reviewer_id,
                    "submission_id": submission_id,
                    "link": link,
                    "text": text,
                }
            )
        elif channel == "sns" and self._sns is not None:
            self._sns.send(reviewer.reviewer_id, SUBJECT, text)
        else:
            secret = self._secret(reviewer.webhook_secret_param) if reviewer.webhook_secret_param else None
            self._webhook.send(str(reviewer.webhook), secret, text)

    def _deliver(
        self, submission_id: str, revision: int, delivered: set[str], attempts: int
    ) -> DeliveryReport:
        report = DeliveryReport(submission_id)
        sent: set[str] = set()
        reviewers = self._reviewers.active()
        if not reviewers:
            report.failed.append("no_active_reviewer")
        for reviewer in reviewers:
            link = self._link_for(reviewer.reviewer_id, submission_id, revision)
            for channel in self._channels(reviewer):
                mark = f"{reviewer.reviewer_id}:{channel}"
                if mark in delivered:
                    continue
                try:
                    self._send(channel, reviewer, link, revision, submission_id)
                except ChannelFailed as exc:
                    report.failed.append(str(exc))
                    continue
                except Exception as exc:  # e.g. a webhook secret parameter that cannot be read
                    report.failed.append(f"{channel}:{type(exc).__name__}")
                    continue
                sent.add(mark)
        report.sent = sorted(sent)
        attempts += 1
        report.done = not report.failed
        gave_up = not report.done and attempts >= MAX_ATTEMPTS
        if gave_up:
            logger.error("reviewer notification given up", extra={"submission_id": submission_id})
        elif report.failed:
            logger.warning(
                "reviewer notification incomplete",
                extra={"submission_id": submission_id, "failures": report.failed, "attempt": attempts},
            )
        self._notifications.record(
            submission_id,
            sent,
            done=report.done or gave_up,
            outcome="delivered" if report.done else ("gave_up" if gave_up else None),
            attempts=attempts,
            next_attempt_at=int(self._clock().timestamp()) + backoff_seconds(attempts),
            error=",".join(sorted(set(report.failed)))[:500] or None,
        )
        return report

    # ---- batched delivery ----
    def _deliver_batched(self, fresh: Notification | None) -> list[DeliveryReport]:
        """One message per reviewer channel whose window is open, with every link it is owed."""
        windows = self._windows
        if windows is None:
            raise RuntimeError("batching needs the reviewers' message windows")
        epoch = int(self._clock().timestamp())
        reviewers = self._reviewers.active()
        claimed: set[str] = set()
        if fresh is not None:
            # claim first, read after: in a burst most submissions find every window taken and
            # cost no read at all
            claimed = {r.reviewer_id for r in reviewers if windows.claim(r.reviewer_id, epoch, self._batch)}
            if not claimed:
                return [self._record_batched(fresh, reviewers, Outcomes(), epoch, touched=True)]
        live = self._live(fresh)
        outcomes = Outcomes()
        for reviewer in reviewers:
            owed = {
                channel: [n for n in live if f"{reviewer.reviewer_id}:{channel}" not in n.delivered]
                for channel in self._channels(reviewer)
            }
            mine = reviewer.reviewer_id in claimed
            if not any(owed.values()):
                if mine:
                    windows.release(reviewer.reviewer_id, epoch)
                continue
            if fresh is not None and not mine:
                continue  # another sender holds the window: the retry after it ends
            if fresh is None and not windows.claim(reviewer.reviewer_id, epoch, self._batch):
                continue
            if not self._send_owed(reviewer, owed, outcomes):
                windows.release(reviewer.reviewer_id, epoch)  # nothing went: the window stays open
        return [
            self._record_batched(
                n,
                reviewers,
                outcomes,
                epoch,
                touched=n is fresh or outcomes.touched(n.submission_id) or (n.next_attempt_at or 0) <= epoch,
            )
            for n in live
        ]

    def _send_owed(self, reviewer: Reviewer, owed: dict[str, list[Notification]], outcomes: Outcomes) -> bool:
        """One message per channel, with the links it is owed (the oldest first); any sent?"""
        reached = False
        for channel, notes in owed.items():
            if not notes:
                continue
            batch = notes[:MAX_LINKS_PER_MESSAGE]
            try:
                self._send_batch(channel, reviewer, batch, len(notes) - len(batch))
            except ChannelFailed as exc:
                outcomes.fail(batch, str(exc))
                continue
            except Exception as exc:  # e.g. a webhook secret parameter that cannot be read
                outcomes.fail(batch, f"{channel}:{type(exc).__name__}")
                continue
            reached = True
            outcomes.reach(batch, f"{reviewer.reviewer_id}:{channel}")
        return reached

    def _live(self, fresh: Notification | None) -> list[Notification]:
        """The pending notifications whose submission still waits for a decision, oldest first;
        the others are recorded moot."""
        found = [fresh] if fresh is not None else []
        for submission_id in self._notifications.waiting(WAITING_LIMIT):
            if fresh is not None and submission_id == fresh.submission_id:
                continue
            item = self._still_waiting(submission_id)
            if item is not None:
                found.append(item)
        return sorted(found, key=lambda n: n.submission_id)

    def _record_batched(
        self,
        item: Notification,
        reviewers: list[Reviewer],
        outcomes: Outcomes,
        epoch: int,
        *,
        touched: bool,
    ) -> DeliveryReport:
        sent = outcomes.sent.get(item.submission_id, set())
        report = DeliveryReport(
            item.submission_id, sorted(sent), list(outcomes.failed.get(item.submission_id, []))
        )
        delivered = set(item.delivered) | sent
        owed = {f"{r.reviewer_id}:{c}" for r in reviewers for c in self._channels(r)}
        if not reviewers:
            report.failed.append("no_active_reviewer")
        report.done = bool(reviewers) and owed <= delivered
        attempts = item.attempts + (1 if report.failed else 0)
        gave_up = not report.done and attempts >= MAX_ATTEMPTS
        if gave_up:
            logger.error("reviewer notification given up", extra={"submission_id": item.submission_id})
        elif report.failed:
            logger.warning(
                "reviewer notification incomplete",
                extra={"submission_id": item.submission_id, "failures": report.failed, "attempt": attempts},
            )
        if touched:
            wait = backoff_seconds(attempts) if report.failed else 0
            self._notifications.record(
                item.submission_id,
                sent,
                done=report.done or gave_up,
                outcome="delivered" if report.done else ("gave_up" if gave_up else None),
                attempts=attempts,
                next_attempt_at=epoch + max(self._batch, wait),
                error=",".join(sorted(set(report.failed)))[:500] or None,
            )
        return report

    def _send_batch(self, channel: str, reviewer: Reviewer, notes: list[Notification], more: int) -> None:
        if len(notes) == 1 and not more:
            note = notes[0]
            link = self._link_for(reviewer.reviewer_id, note.submission_id, note.revision)
            self._send(channel, reviewer, link, note.revision, note.submission_id)
            return
        links = [
            (self._link_for(reviewer.reviewer_id, n.submission_id, n.revision), n.revision) for n in notes
        ]
        text = batch_text(links, more, self._queue_link)
        if channel == "outbox" and self._outbox is not None:
            self._outbox.append(
                {
                    "channel": "reviewer",
                    "reviewer_id": reviewer.reviewer_id,
                    "submission_ids": [n.submission_id for n in notes],
                    "links": [link for link, _ in links],
                    "text": text,
                }
            )
        elif channel == "sns" and self._sns is not None:
            self._sns.send(reviewer.reviewer_id, SUBJECT, text)
        else:
            secret = self._secret(reviewer.webhook_secret_param) if reviewer.webhook_secret_param else None
            self._webhook.send(str(reviewer.webhook), secret, text)


def link_builder(base_url: str, sign: Callable[[str, str, int], str]) -> Callable[[str, str, int], str]:
    def link(reviewer_id: str, submission_id: str, revision: int) -> str:
        return f"{base_url}/review/{submission_id}?t={sign(reviewer_id, submission_id, revision)}"

    return link
