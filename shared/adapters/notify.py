"""Notification channels: the SNS topic (e-mail), chat robot webhooks, the local outbox.

A message here never holds personal data: only that a submission waits and the reviewer's link.
Each channel raises `ChannelFailed` on any failure, naming the class of failure (never a body).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

from shared.config import Config
from shared.errors import ChannelFailed

WEBHOOK_CONNECT_TIMEOUT_SECONDS = 2.0
WEBHOOK_READ_TIMEOUT_SECONDS = 3.0
SNS_CONNECT_TIMEOUT_SECONDS = 2
SNS_READ_TIMEOUT_SECONDS = 3
REVIEWER_ATTRIBUTE = "reviewer_id"  # e-mail subscriptions filter on it: each gets only their link


class SnsChannel:
    name = "sns"

    def __init__(self, cfg: Config, client: Any = None) -> None:
        self._cfg = cfg
        self.topic_arn = cfg.topic_arn
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import botocore.session
            from botocore.config import Config as BotoConfig

            self._client = botocore.session.get_session().create_client(
                "sns",
                region_name=self._cfg.region,
                endpoint_url=self._cfg.endpoint_url,
                config=BotoConfig(
                    connect_timeout=SNS_CONNECT_TIMEOUT_SECONDS,
                    read_timeout=SNS_READ_TIMEOUT_SECONDS,
                    retries={"max_attempts": 2, "mode": "standard"},
                ),
            )
        return self._client

    def send(self, reviewer_id: str, subject: str, text: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.publish(
                TopicArn=self.topic_arn,
                Subject=subject,
                Message=text,
                MessageAttributes={REVIEWER_ATTRIBUTE: {"DataType": "String", "StringValue": reviewer_id}},
            )
        except ClientError as exc:
            raise ChannelFailed(f"sns:{exc.response.get('Error', {}).get('Code', 'error')}") from exc
        except BotoCoreError as exc:
            raise ChannelFailed(f"sns:{type(exc).__name__}") from exc

    def subscribe_email(self, reviewer_id: str, email: str) -> str:
        answer = self.client.subscribe(
            TopicArn=self.topic_arn,
            Protocol="email",
            Endpoint=email,
            Attributes={"FilterPolicy": json.dumps({REVIEWER_ATTRIBUTE: [reviewer_id]})},
            ReturnSubscriptionArn=True,
        )
        return str(answer["SubscriptionArn"])

    def unsubscribe(self, subscription_arn: str) -> None:
        self.client.unsubscribe(SubscriptionArn=subscription_arn)


def dingtalk_signed(url: str, secret: str, now_ms: int | None = None) -> str:
    """The URL with DingTalk's signature: `timestamp` and base64 HMAC-SHA256 of "ts\\nsecret"."""
    timestamp = str(now_ms if now_ms is not None else int(time.time() * 1000))
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    sign = quote_plus(base64.b64encode(digest).decode())
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}timestamp={timestamp}&sign={sign}"


class WebhookChannel:
    """A WeCom/DingTalk-style robot: `{"msgtype": "text", "text": {"content": ...}}`."""

    name = "webhook"

    def __init__(self, http: Any = None) -> None:
        self._http = http

    @property
    def http(self) -> Any:
        if self._http is None:
            import urllib3

            self._http = urllib3.PoolManager(
                timeout=urllib3.Timeout(
                    connect=WEBHOOK_CONNECT_TIMEOUT_SECONDS, read=WEBHOOK_READ_TIMEOUT_SECONDS
                ),
                retries=urllib3.Retry(total=0, redirect=0),
            )
        return self._http

    def send(self, url: str, secret: str | None, text: str) -> None:
        import urllib3

        target = dingtalk_signed(url, secret) if secret else url
        payload = json.dumps({"msgtype": "text", "text": {"content": text}}, ensure_ascii=False).encode()
        try:
            response = self.http.request(
                "POST", target, body=payload, headers={"Content-Type": "application/json; charset=utf-8"}
            )
        except urllib3.exceptions.HTTPError as exc:
            # Not chained: urllib3's message quotes the URL, which holds the robot's key and signature.
            raise ChannelFailed(f"webhook:{type(exc).__name__}") from None
        if response.status >= 300:
            raise ChannelFailed(f"webhook:http_{response.status}")
        try:
            answer = json.loads(response.data or b"{}")
        except ValueError:
            return  # a robot that answers 2xx without JSON took it
        if isinstance(answer, dict) and int(answer.get("errcode") or 0) != 0:
            raise ChannelFailed(f"webhook:errcode_{int(answer['errcode'])}")


# What an outbox entry shows on the console: the file keeps the whole entry (what a real channel
# would receive, a user message's addressee included), the terminal and its logs never a user id.
PRINTED_FIELDS = (
    "at",
    "channel",
    "kind",
    "staff_id",
    "reviewer_id",
    "submission_id",
    "status",
    "reason",
    "link",
    "text",
)


class OutboxChannel:
    """Local stage: one JSON line per notification in var/outbox.jsonl, and on the console (the
    `PRINTED_FIELDS` of it: no user id)."""

    name = "outbox"

    def __init__(self, path: str) -> None:
        self.path = Path(path)

    def append(self, entry: dict[str, Any]) -> None:
        full = {"at": datetime.now(UTC).isoformat(), **entry}
        line = json.dumps(full, ensure_ascii=False)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")
        except OSError as exc:
            raise ChannelFailed("outbox:os_error") from exc
        shown = {name: full[name] for name in PRINTED_FIELDS if name in full}
        print(f"[outbox] {json.dumps(shown, ensure_ascii=False)}", file=sys.stderr, flush=True)
