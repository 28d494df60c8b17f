"""Scheduled: deliver reviewer notifications still pending (every minute), remind reviewers of
submissions past the review SLA (every 15 minutes by default)."""

from __future__ import annotations

import time
from typing import Any

from shared.log import logger, metric_fields
from shared.wiring import services


def retry(event: Any = None, context: Any = None) -> dict[str, Any]:
    reports = services().notifier.retry_due()
    summary = {
        "tried": len(reports),
        "delivered": sum(1 for r in reports if r.done),
        "sent": sum(len(r.sent) for r in reports),
    }
    logger.info("notification retry", extra=summary)
    return summary


def remind(event: Any = None, context: Any = None) -> dict[str, Any]:
    """Scheduled (every 15 minutes by default): remind the reviewers of submissions past the SLA."""
    report = services().reminders.run()
    summary = {
        "overdue": report.overdue,
        "oldest_hours": report.oldest_hours,
        "reminded": len(report.reminded),
        "waiting": report.waiting,
        "unreached": len(report.unreached),
        "failed": len(report.failed),
    }
    # the ops alarm `verification-past-sla` reads this: the oldest overdue submission's age (0: none)
    app = services()
    age = metric_fields(
        f"{app.cfg.table_prefix}ops",
        SLA_METRIC,
        float(report.oldest_hours or 0),
        "Count",
        int(time.time() * 1000),
    )
    logger.info("review reminders", extra={**summary, **age})
    return summary


SLA_METRIC = "OldestPendingVerificationAgeHours"
