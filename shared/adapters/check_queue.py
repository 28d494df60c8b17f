"""The SQS queue of comments waiting for a paced content check.

A message holds the comment's public id alone (`{"c": "<ULID>.<article>[.<partition>]"}`): no
text, no openid, nothing of the author; the worker reads the comment and its author when it
checks, so an account deleted meanwhile leaves nothing of itself in the queue.
"""

from __future__ import annotations

import json
from typing import Any

from shared.config import Config

# How long a sent message stays invisible: the comment's transaction commits after the send
# (see `shared.services.comments`), and the worker should find it there.
SEND_DELAY_SECONDS = 2


class CheckQueue:
    def __init__(self, cfg: Config, client: Any = None) -> None:
        self._cfg = cfg
        self._client = client
        self._url = cfg.check_queue_url

    @property
    def client(self) -> Any:
        if self._client is None:
            import botocore.session  # deferred: only the posting and checking paths pay for it

            self._client = botocore.session.get_session().create_client(
                "sqs", region_name=self._cfg.region, endpoint_url=self._cfg.endpoint_url
            )
        return self._client

    @property
    def url(self) -> str:
        if self._url is None:  # the local stages: the queue the local stack made, by its name
            self._url = str(self.client.get_queue_url(QueueName=self._cfg.check_queue_name)["QueueUrl"])
        return self._url

    def send(self, public_id: str) -> None:
        self.client.send_message(
            QueueUrl=self.url,
            MessageBody=json.dumps({"c": public_id}),
            DelaySeconds=SEND_DELAY_SECONDS,
        )

    def retry_later(self, receipt: str, seconds: int) -> None:
        """The message comes back after `seconds` (the worker's backoff), not the queue's default."""
        self.client.change_message_visibility(
            QueueUrl=self.url, ReceiptHandle=receipt, VisibilityTimeout=seconds
        )
