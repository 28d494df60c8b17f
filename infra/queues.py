"""What Lambda's event source mapping does for an SQS queue, for the local stack and the tests.

A deployed stage has Lambda poll the paced content check's queue and invoke `contentCheckWorker`
with batches (serverless.yml). Locally nothing does, so `QueuePump` does: it receives up to a
batch of messages (moto's SQS, on the local stack's endpoint), hands them to the function shaped
as Lambda's event, and deletes those the function did not report as failed
(`ReportBatchItemFailures`). A reported message stays in the queue and comes back when its
visibility ends (the worker sets its backoff), up to the queue's receive limit, then goes to the
dead letters, as deployed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import boto3

from infra.streams import poll
from shared.config import Config

BATCH_SIZE = 10
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


class LambdaContext:
    """The part of Lambda's context the worker reads: how long it may still run."""

    def __init__(self, seconds: float) -> None:
        import time

        self._until = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        import time

        return max(0, int((self._until - time.monotonic()) * 1000))


class QueuePump:
    def __init__(
        self,
        cfg: Config,
        queue_name: str,
        handler: Handler,
        timeout_seconds: float = 180,
        url: str | None = None,
    ) -> None:
        self._handler = handler
        self._timeout = timeout_seconds
        self._client = boto3.client("sqs", region_name=cfg.region, endpoint_url=cfg.endpoint_url)
        # the event source mapping knows its queue's ARN; a pump finds it by name unless told
        self.url = url or str(self._client.get_queue_url(QueueName=queue_name)["QueueUrl"])
        self._arn = str(
            self._client.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
        )
        self._region = cfg.region
        self._lock = threading.Lock()

    def drain(self, wait_seconds: int = 0) -> int:
        """Deliver what the queue holds now (batches until one comes back empty); how many."""
        with self._lock:
            delivered = 0
            while True:
                messages = self._client.receive_message(
                    QueueUrl=self.url,
                    MaxNumberOfMessages=BATCH_SIZE,
                    WaitTimeSeconds=wait_seconds,
                    AttributeNames=["All"],
                ).get("Messages", [])
                if not messages:
                    return delivered
                self._deliver(messages)
                delivered += len(messages)
                wait_seconds = 0

    def _deliver(self, messages: list[dict[str, Any]]) -> None:
        event = {"Records": [self._lambda_record(m) for m in messages]}
        answer = self._handler(event, LambdaContext(self._timeout))
        failed = {str(f["itemIdentifier"]) for f in answer.get("batchItemFailures") or []}
        done = [m for m in messages if m["MessageId"] not in failed]
        for message in done:
            self._client.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])

    def _lambda_record(self, message: dict[str, Any]) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": dict(message.get("Attributes") or {}),
            "messageAttributes": {},
            "md5OfBody": message.get("MD5OfBody"),
            "eventSource": "aws:sqs",
            "eventSourceARN": self._arn,
            "awsRegion": self._region,
        }

    def run(self, stop: threading.Event, interval: float = 0.5) -> None:
        poll(stop, self.drain, "[queue] {}: the paced content check waits", interval)
