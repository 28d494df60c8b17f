"""Tell an applicant the result of their verification (a WeChat subscribe message).

The outcome is recorded on the submission: "sent", or "owed" when they allowed no message (the app
shows the result anyway), as WeChat answered; "skipped" when the stage has no template; "gone"
when the account was deleted meanwhile; "outbox" when the local stage only wrote it to its outbox.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from shared.domain.verification import Submission, result_message

if TYPE_CHECKING:
    from shared.services.ports import Outbox, SubscribeMessages, Users


class ResultNotifier:
    def __init__(
        self,
        users: Users,
        messages: Callable[[], SubscribeMessages],
        template_id: str | None,
        page: str,
        outbox: Outbox | None,
        clock: Callable[[], datetime],
    ) -> None:
        self._users = users
        self._messages = messages  # built on first use: WeChat's client and token store
        self._template_id = template_id
        self._page = page  # the mini-program page the message opens
        self._outbox = outbox
        self._clock = clock

    def __call__(self, submission: Submission) -> str:
        outcome = "skipped"
        if self._outbox is not None:
            self._outbox.append(
                {
                    "channel": "user",
                    "user_id": submission.user_id,
                    "submission_id": submission.submission_id,
                    "status": submission.status,
                    "reason": submission.reason,
                }
            )
            outcome = "outbox"
        if self._template_id:
            user = self._users.get(submission.user_id)
            if user is None:
                return "gone"
            data = result_message(
                submission.status,
                submission.reason,
                submission.decided_at or self._clock(),
                is_update=submission.is_update,
            )
            outcome = self._messages().send_subscribe_message(
                user.openid, self._template_id, self._page, data
            )
        return outcome
