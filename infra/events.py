"""Build API Gateway HTTP API (payload format 2.0) events, as AWS would send them.

Used by the local gateway and by functional tests, so both feed handlers the same shape.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

TEXT_TYPES = ("application/json", "text/", "application/x-www-form-urlencoded", "application/xml")


def http_api_event(
    method: str,
    path: str,
    *,
    route_key: str | None = None,
    path_params: Mapping[str, str] | None = None,
    query_string: str = "",
    headers: Mapping[str, str] | None = None,
    body: bytes | str | None = None,
    source_ip: str = "127.0.0.1",
    stage: str = "$default",
) -> dict[str, Any]:
    hdrs = {k.lower(): v for k, v in (headers or {}).items()}
    now = datetime.now(UTC)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key or f"{method.upper()} {path}",
        "rawPath": path,
        "rawQueryString": query_string,
        "headers": hdrs,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": hdrs.get("host", "127.0.0.1"),
            "domainPrefix": "local",
            "http": {
                "method": method.upper(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": hdrs.get("user-agent", ""),
            },
            "requestId": uuid.uuid4().hex,
            "routeKey": route_key or f"{method.upper()} {path}",
            "stage": stage,
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(time.time() * 1000),
        },
        "isBase64Encoded": False,
    }
    if "cookie" in hdrs:
        event["cookies"] = [c.strip() for c in hdrs["cookie"].split(";") if c.strip()]
    if query_string:
        params: dict[str, str] = {}
        for key, value in parse_qsl(query_string, keep_blank_values=True):
            params[key] = f"{params[key]},{value}" if key in params else value
        event["queryStringParameters"] = params
    if path_params:
        event["pathParameters"] = dict(path_params)
    if body is not None and body != b"":
        raw = body.encode() if isinstance(body, str) else body
        content_type = hdrs.get("content-type", "")
        if content_type.startswith(TEXT_TYPES) or not content_type:
            try:
                event["body"] = raw.decode("utf-8")
            except UnicodeDecodeError:
                event["body"] = base64.b64encode(raw).decode()
                event["isBase64Encoded"] = True
        else:
            event["body"] = base64.b64encode(raw).decode()
            event["isBase64Encoded"] = True
    return event
