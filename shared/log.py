"""Structured logging: JSON lines carrying the request id. Never log personal data.

Log what happened (route, status, codes, ids we minted), never who it happened to: no names,
openids, licence numbers, tokens, image keys with user prefixes, or request bodies.
"""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger

from shared.config import ENV_LOG_LEVEL

logger = Logger(service="hcp-backend", level=os.environ.get(ENV_LOG_LEVEL, "INFO"))


def metric_fields(namespace: str, name: str, value: float, unit: str, now_ms: int) -> dict[str, object]:
    """The fields that make a JSON log line a CloudWatch embedded metric (EMF): CloudWatch Logs
    extracts `name` into `namespace` from the line itself, with no API call and no dimension."""
    return {
        "_aws": {
            "Timestamp": now_ms,
            "CloudWatchMetrics": [
                {"Namespace": namespace, "Dimensions": [[]], "Metrics": [{"Name": name, "Unit": unit}]}
            ],
        },
        name: value,
    }
