"""Structured logging: JSON lines carrying the request id. Never log personal data.

Log what happened (route, status, codes, ids we minted), never who it happened to: no names,
openids, licence numbers, tokens, image keys with user prefixes, or request bodies.

The lines are Powertools Logger's shape (level, location, message, timestamp, service, the
appended keys, the call's `extra`, exception and exception_name, xray_trace_id when Lambda sets
one), written by the standard library's `logging`, which botocore loads anyway: the Powertools
package cost every function about 10 ms of cold start (its package init loads its metrics and
tracer too) and 4 MB of zip for the one class used.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Iterable
from typing import Any

from shared.config import ENV_LOG_LEVEL

SERVICE = "hcp-backend"
TRACE_ENV = "_X_AMZN_TRACE_ID"  # set by Lambda for each invocation
# What every LogRecord carries: anything else on a record is the call's `extra`.
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str, keys: dict[str, Any]) -> None:
        super().__init__()
        self._service = service
        self._keys = keys  # the appended keys (shared with the logger, so they move with it)

    def format(self, record: logging.LogRecord) -> str:
        seconds = time.gmtime(record.created)
        entry: dict[str, Any] = {
            "level": record.levelname,
            "location": f"{record.funcName}:{record.lineno}",
            "message": record.getMessage(),
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", seconds) + f".{int(record.msecs):03d}Z",
            "service": self._service,
            **self._keys,
            **{k: v for k, v in vars(record).items() if k not in _RECORD_FIELDS},
        }
        if record.exc_info and record.exc_info[0] is not None:
            entry["exception"] = self.formatException(record.exc_info)
            entry["exception_name"] = record.exc_info[0].__name__
        trace = os.environ.get(TRACE_ENV, "")
        if trace:
            entry["xray_trace_id"] = trace.partition(";")[0].removeprefix("Root=")
        return json.dumps(entry, ensure_ascii=False, separators=(",", ":"), default=str)


class Logger:
    """The service's logger: the standard logger's calls, plus keys appended to every line."""

    def __init__(self, service: str, level: str) -> None:
        self._keys: dict[str, Any] = {}
        self._logger = logging.getLogger(service)
        self._logger.propagate = False
        self._logger.setLevel(level.upper())
        self.registered_formatter = JsonFormatter(service, self._keys)
        if not self._logger.handlers:
            handler = logging.StreamHandler(sys.stdout)
            handler.setFormatter(self.registered_formatter)
            self._logger.addHandler(handler)

    def setLevel(self, level: int | str) -> None:  # logging's own name
        self._logger.setLevel(level)

    def append_keys(self, **keys: Any) -> None:
        self._keys.update(keys)

    def remove_keys(self, names: Iterable[str]) -> None:
        for name in names:
            self._keys.pop(name, None)

    def addHandler(self, handler: logging.Handler) -> None:  # logging's own name
        self._logger.addHandler(handler)

    def removeHandler(self, handler: logging.Handler) -> None:  # logging's own name
        self._logger.removeHandler(handler)

    def info(self, message: str, *, extra: dict[str, Any] | None = None) -> None:
        self._logger.info(message, extra=extra, stacklevel=2)

    def warning(self, message: str, *, extra: dict[str, Any] | None = None) -> None:
        self._logger.warning(message, extra=extra, stacklevel=2)

    def error(self, message: str, *, extra: dict[str, Any] | None = None) -> None:
        self._logger.error(message, extra=extra, stacklevel=2)

    def exception(self, message: str, *, extra: dict[str, Any] | None = None) -> None:
        self._logger.exception(message, extra=extra, stacklevel=2)


logger = Logger(SERVICE, os.environ.get(ENV_LOG_LEVEL, "INFO"))


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
