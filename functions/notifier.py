"""Scheduled (every 5 minutes): deliver reviewer notifications that are still pending."""

from __future__ import annotations

from typing import Any

from shared.log import logger
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
