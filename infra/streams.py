"""What Lambda's event source mapping does for a DynamoDB stream, for the local stack and the tests.

A deployed stage has Lambda read the users table's stream and invoke `funnelCount` with batches
of records (serverless.yml). Locally nothing does, so `StreamPump` does: it reads a table's stream
from where it stopped (every shard, oldest first), hands the records to the function in batches
shaped as Lambda's event, and, when the function reports a failed record
(`ReportBatchItemFailures`), delivers the batch again from that record, up to a few times.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config as BotoConfig

from shared.config import Config

BATCH_SIZE = 100
MAX_DELIVERIES = 3
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def poll(stop: threading.Event, drain: Callable[[], object], failed: str, interval: float = 0.5) -> None:
    """`drain` every `interval` seconds until `stop` is set (a local stack's thread): an error is
    printed (`failed` names it) and the next round tries again, as Lambda's poller would."""
    while not stop.wait(interval):
        try:
            drain()
        except Exception as exc:  # the local stack goes on
            print(failed.format(type(exc).__name__), flush=True)


class StreamPump:
    def __init__(self, cfg: Config, table: str, handler: Handler, *, from_start: bool = True) -> None:
        self._handler = handler
        # botocore now addresses Streams by account (`<account>.streams-ddb...`), which moto does
        # not serve: the regional endpoint both answer.
        self._client = boto3.client(
            "dynamodbstreams",
            region_name=cfg.region,
            endpoint_url=cfg.endpoint_url,
            config=BotoConfig(account_id_endpoint_mode="disabled"),
        )
        described = boto3.client("dynamodb", region_name=cfg.region, endpoint_url=cfg.endpoint_url)
        self.stream_arn = str(described.describe_table(TableName=table)["Table"]["LatestStreamArn"])
        self._region = cfg.region
        self._after: dict[str, str] = {}  # shard id -> the last sequence number delivered
        self._from_start = from_start
        self._lock = threading.Lock()

    def _iterator(self, shard_id: str) -> str:
        after = self._after.get(shard_id)
        kind = "AFTER_SEQUENCE_NUMBER" if after else ("TRIM_HORIZON" if self._from_start else "LATEST")
        extra = {"SequenceNumber": after} if after else {}
        answer = self._client.get_shard_iterator(
            StreamArn=self.stream_arn, ShardId=shard_id, ShardIteratorType=kind, **extra
        )
        return str(answer["ShardIterator"])

    def drain(self) -> int:
        """Deliver every record written since the last drain; how many were delivered."""
        with self._lock:
            delivered = 0
            shards = self._client.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
            for shard in shards:
                delivered += self._drain_shard(str(shard["ShardId"]))
            self._from_start = True  # a shard that appears later is read from its start
            return delivered

    def _drain_shard(self, shard_id: str) -> int:
        delivered = 0
        while True:
            records = self._client.get_records(ShardIterator=self._iterator(shard_id), Limit=BATCH_SIZE)[
                "Records"
            ]
            if not records:
                return delivered
            self._deliver(records)
            self._after[shard_id] = str(records[-1]["dynamodb"]["SequenceNumber"])
            delivered += len(records)

    def _deliver(self, records: list[dict[str, Any]]) -> None:
        batch = records
        for _ in range(MAX_DELIVERIES):
            event = {"Records": [self._lambda_record(r) for r in batch]}
            failures = self._handler(event, None).get("batchItemFailures") or []
            if not failures:
                return
            failed = str(failures[0]["itemIdentifier"])
            batch = [r for r in batch if int(r["dynamodb"]["SequenceNumber"]) >= int(failed)]
        # as a stream's retry limit does: the records are dropped (the next recount mends it)

    def _lambda_record(self, record: dict[str, Any]) -> dict[str, Any]:
        return {
            "eventID": record.get("eventID"),
            "eventName": record.get("eventName"),
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": self._region,
            "dynamodb": record["dynamodb"],
            "eventSourceARN": self.stream_arn,
        }

    def run(self, stop: threading.Event, interval: float = 0.5) -> None:
        poll(stop, self.drain, "[stream] {}: the funnel count waits", interval)
