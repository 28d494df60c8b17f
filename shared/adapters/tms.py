"""Tencent Cloud's text moderation (TMS `TextModeration`, API 3.0, version 2020-12-29): the content
check a stage may buy throughput from (1,000 calls a second by default, more by contract), where
WeChat's msgSecCheck allows about 4,000 a minute.

One signed POST a text: `{"Content": base64 of the UTF-8 text, "BizType"?, "DataId"?}`, answered
`{"Response": {"Suggestion": "Pass"|"Review"|"Block", "Label", "RequestId"...}}` or
`{"Response": {"Error": {"Code", "Message"}, "RequestId"}}`. Requests are signed with TC3-HMAC-SHA256
(`sign`). The text and the API key never reach a log; only codes do.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import urllib3

from shared import errors
from shared.log import logger

SERVICE = "tms"
ACTION = "TextModeration"
VERSION = "2020-12-29"
ALGORITHM = "TC3-HMAC-SHA256"
CONTENT_TYPE = "application/json; charset=utf-8"
MAX_TEXT_CHARS = 10_000
CONNECT_TIMEOUT_SECONDS = 2.0
READ_TIMEOUT_SECONDS = 3.0
SUGGESTIONS = {"Pass": "pass", "Review": "review", "Block": "risky"}
# Errors that say the request itself cannot be taken (asking again will not help): the comment
# goes to a moderator. Everything else (RequestLimitExceeded, InternalError, AuthFailure...) is
# the service's or the deployment's fault: retried, then a dead letter that alarms.
UNCHECKABLE_PREFIXES = ("InvalidParameter", "InvalidParameterValue", "UnsupportedOperation")


def sign(
    secret_id: str, secret_key: str, host: str, payload: bytes, timestamp: int, service: str = SERVICE
) -> str:
    """The Authorization header of a POST of `payload` (JSON) to `host` at `timestamp`."""
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    canonical = "\n".join(
        [
            "POST",
            "/",
            "",
            f"content-type:{CONTENT_TYPE}\nhost:{host}\n",
            "content-type;host",
            hashlib.sha256(payload).hexdigest(),
        ]
    )
    scope = f"{date}/{service}/tc3_request"
    to_sign = "\n".join([ALGORITHM, str(timestamp), scope, hashlib.sha256(canonical.encode()).hexdigest()])

    def mac(key: bytes, message: str) -> bytes:
        return hmac.new(key, message.encode(), hashlib.sha256).digest()

    signing = mac(mac(mac(f"TC3{secret_key}".encode(), date), service), "tc3_request")
    signature = hmac.new(signing, to_sign.encode(), hashlib.sha256).hexdigest()
    return (
        f"{ALGORITHM} Credential={secret_id}/{scope}, SignedHeaders=content-type;host, Signature={signature}"
    )


class TextModeration:
    """The `TextChecker` port on TMS: "pass", "review" or "risky" ("Block")."""

    def __init__(
        self,
        base_url: str,
        region: str,
        credentials: Callable[[], tuple[str, str]],
        biz_type: str = "",
        clock: Callable[[], float] = time.time,
        http: urllib3.PoolManager | None = None,
    ) -> None:
        self._url = base_url.rstrip("/") + "/"
        self._host = urlsplit(self._url).netloc
        self._region = region
        self._credentials = credentials  # (SecretId, SecretKey), read when first needed
        self._biz_type = biz_type
        self._clock = clock
        self._http = http or urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=CONNECT_TIMEOUT_SECONDS, read=READ_TIMEOUT_SECONDS),
            retries=urllib3.Retry(total=1, connect=1, read=0, status=0, redirect=0),
        )

    def check_text(self, openid: str, text: str) -> str:
        if len(text) > MAX_TEXT_CHARS:
            raise errors.invalid("text", "too_long", "check_length", max=MAX_TEXT_CHARS)
        body: dict[str, Any] = {"Content": base64.b64encode(text.encode()).decode()}
        if self._biz_type:
            body["BizType"] = self._biz_type
        answer = self._post(body)
        error = answer.get("Error")
        if isinstance(error, dict):
            code = str(error.get("Code") or "")
            logger.warning("tms refused the check", extra={"code": code})
            if code.startswith(UNCHECKABLE_PREFIXES):
                raise errors.ContentUncheckable(f"tms_{code}")
            raise errors.UpstreamUnavailable("content_check")
        suggestion = SUGGESTIONS.get(str(answer.get("Suggestion")))
        if suggestion is None:
            raise errors.UpstreamUnavailable("content_check")
        return suggestion

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        payload = json.dumps(body, separators=(",", ":")).encode()
        timestamp = int(self._clock())
        secret_id, secret_key = self._credentials()
        headers = {
            "Authorization": sign(secret_id, secret_key, self._host, payload, timestamp),
            "Content-Type": CONTENT_TYPE,
            "Host": self._host,
            "X-TC-Action": ACTION,
            "X-TC-Version": VERSION,
            "X-TC-Region": self._region,
            "X-TC-Timestamp": str(timestamp),
        }
        try:
            response = self._http.request("POST", self._url, body=payload, headers=headers)
        except urllib3.exceptions.HTTPError as exc:
            logger.warning("tms unreachable", extra={"error": type(exc).__name__})
            raise errors.UpstreamUnavailable("content_check") from None
        if response.status >= 500:
            logger.warning("tms server error", extra={"http_status": response.status})
            raise errors.UpstreamUnavailable("content_check")
        try:
            answer = json.loads(response.data).get("Response")
        except (ValueError, AttributeError):
            answer = None
        if not isinstance(answer, dict):
            raise errors.UpstreamUnavailable("content_check")
        return answer


def credentials_from(value: str) -> tuple[str, str]:
    """An SSM parameter's "<SecretId>:<SecretKey>" as the pair."""
    secret_id, sep, secret_key = value.strip().partition(":")
    if not (sep and secret_id and secret_key):
        raise errors.ConfigError("the TMS credentials parameter must hold <SecretId>:<SecretKey>")
    return secret_id, secret_key
