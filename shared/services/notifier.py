"""Tell every active reviewer that a submission waits, each with their own signed link.

The outbox pattern: the submission's transaction wrote a pending notification item; delivery
runs after the commit and records, per reviewer and channel, what went out. Whatever failed stays
pending, with an attempt count and a backoff, until the scheduled retry (`functions/notifier.py`,
every 5 minutes) delivers it or gives up after `MAX_ATTEMPTS` (logged as an error to alarm on).
A notification holds no personal data: that a submission waits, and the reviewer's link.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

import msgspec

from shared.domain.verification import Reviewer
from shared.errors import ChannelFailed
from shared.log import logger

if TYPE_CHECKING:
    from shared.services.ports import Notifications, Outbox, ReviewerMail, Reviewers, Submissions, Webhook

MAX_ATTEMPTS = 12
BACKOFF_BASE_SECONDS = 60
BACKOFF_MAX_SECONDS = 6 * 3600
RETRY_BATCH = 25
SUBJECT = "HCP认证申请待审核"


def backoff_seconds(attempts: int) -> int:
    """1, 2, 4 ... minutes after the n-th failed attempt, at most 6 hours."""
    return int(min(BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1), BACKOFF_MAX_SECONDS))


def message_text(link: str, revision: int) -> str:
    again = "（重新提交）" if revision > 1 else ""
    return f"有一份HCP身份认证申请{again}等待审核。审核链接仅供您本人使用，72小时内有效：\n{link}"


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
    ) -> None:
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
        self._deliver(submission_id, revision, set(), 0)

    def retry_due(self) -> list[DeliveryReport]:
        """The scheduled retry: every due pending notification, once each."""
        now = int(self._clock().timestamp())
        reports = []
        for submission_id in self._notifications.due(now, RETRY_BATCH):
            item = self._notifications.get(submission_id)
            if item is None or not item.pending:
                continue  # delivered meanwhile
            submission = self._submissions.get(submission_id)
            if submission is None or submission.status != "pending":
                self._notifications.record(
                    submission_id, set(), done=True, outcome="moot", attempts=item.attempts,
                    next_attempt_at=None, error=None,
                )  # fmt: skip
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


def link_builder(base_url: str, sign: Callable[[str, str, int], str]) -> Callable[[str, str, int], str]:
    def link(reviewer_id: str, submission_id: str, revision: int) -> str:
        return f"{base_url}/review/{submission_id}?t={sign(reviewer_id, submission_id, revision)}"

    return link
