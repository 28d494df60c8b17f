"""Domain errors: each carries a stable code and the HTTP status the edge answers with.

One mapper at the edge (`shared.edge`) turns them into `{"error": {"code", "message", "fields"?}}`,
the message in the caller's language from the catalogue (`shared.messages`);
anything else is an unexpected fault and becomes a logged 500 with no detail.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any


class ConfigError(RuntimeError):
    """The deployment is misconfigured; raised at cold start, never caught per request."""


# The codes a field at fault may carry in `error.fields[].code` (documented in the OpenAPI document):
# required (missing or empty), too_long, not_allowed (not among the allowed values, or not a field
# of the request), invalid (the wrong type or form).
FIELD_CODES = ("required", "too_long", "not_allowed", "invalid")


class FieldFault:
    """One field at fault in a JSON body: `field` as the body names it (`real_name`,
    `answers[0].value`), `code` one of `messages.FIELD_CODES`, `case` the catalogue's words for it."""

    __slots__ = ("case", "code", "field", "params")

    def __init__(self, field: str, code: str, case: str | None = None, **params: Any) -> None:
        if code not in FIELD_CODES:
            raise ValueError(f"a field fault's code is one of {FIELD_CODES}, not {code!r}")
        self.field = field
        self.code = code
        self.case = case or code
        params.setdefault("label", re.sub(r"\[\d+\]", "", field).rsplit(".", 1)[-1])
        self.params = params

    def describe(self, lang: str) -> dict[str, str]:
        from shared import messages

        return {
            "field": self.field,
            "code": self.code,
            "message": messages.field_message(self.case, lang, self.params),
        }

    def __repr__(self) -> str:
        return f"FieldFault({self.field!r}, {self.code!r}, {self.case!r})"


class DomainError(Exception):
    """An answer the edge gives: `code` and `status` by class, the words by `case` from the message
    catalogue (`shared.messages`) in the caller's language, filled from `params`."""

    status = 500
    code = "internal_error"

    def __init__(
        self,
        case: str = "default",
        *,
        headers: dict[str, str] | None = None,
        fields: Sequence[FieldFault] | None = None,
        **params: Any,
    ) -> None:
        self.case = case
        self.params = params
        self.fields = None if fields is None else tuple(fields)  # None: not a JSON body's fault
        self.headers = headers or {}
        super().__init__(self.message("en"))

    def message(self, lang: str = "zh") -> str:
        from shared import messages

        if self.fields and len(self.fields) == 1 and self.case in ("default", "fields"):
            return self.fields[0].describe(lang)["message"]
        params = {"count": len(self.fields or ()), **self.params}
        return messages.message(self.code, self.case, lang, params)

    def body(self, lang: str = "zh") -> dict[str, Any]:
        """The `error` object of the answer."""
        error: dict[str, Any] = {"code": self.code, "message": self.message(lang)}
        if self.fields is not None:
            error["fields"] = [fault.describe(lang) for fault in self.fields]
        return error


class BadRequest(DomainError):
    status, code = 400, "bad_request"


def invalid(field: str, code: str, case: str | None = None, **params: Any) -> BadRequest:
    """A 400 naming one field at fault (raise it)."""
    return BadRequest("fields", fields=[FieldFault(field, code, case, **params)])


class Faults:
    """Field faults gathered by a check that looks at every field before it answers."""

    def __init__(self) -> None:
        self.found: list[FieldFault] = []

    def add(self, field: str, code: str, case: str | None = None, **params: Any) -> None:
        self.found.append(FieldFault(field, code, case, **params))

    def raise_any(self) -> None:
        if self.found:
            raise BadRequest("fields", fields=self.found)


class Unauthorized(DomainError):
    status, code = 401, "unauthorized"


class ConsentRequired(DomainError):
    status, code = 403, "consent_required"


class VerificationRequired(DomainError):
    status, code = 403, "verification_required"


class Muted(DomainError):
    """A moderator suspended the caller's commenting and reporting: `until` (a datetime, or None
    for no end) is in the answer, in the stage's zone."""

    status, code = 403, "muted"

    def body(self, lang: str = "zh") -> dict[str, Any]:
        from shared.domain import times

        return {**super().body(lang), "until": times.iso_or_none(self.params.get("until"))}


class Forbidden(DomainError):
    status, code = 403, "forbidden"


class NotFound(DomainError):
    status, code = 404, "not_found"


class Conflict(DomainError):
    status, code = 409, "conflict"


class PayloadTooLarge(DomainError):
    status, code = 413, "payload_too_large"


class UnsupportedMediaType(DomainError):
    status, code = 415, "unsupported_media_type"


class ContentRejected(DomainError):
    status, code = 422, "content_rejected"


class RateLimited(DomainError):
    status, code = 429, "rate_limited"

    def __init__(self, case: str = "default", *, retry_after: int = 60, **params: Any) -> None:
        super().__init__(case, headers={"Retry-After": str(max(1, int(retry_after)))}, **params)
        self.retry_after = retry_after


# How long a client waits before retrying a 503, unless the fault knows better.
UPSTREAM_RETRY_AFTER_SECONDS = 5


class UpstreamUnavailable(DomainError):
    status, code = 503, "upstream_unavailable"

    def __init__(
        self, case: str = "default", *, retry_after: int = UPSTREAM_RETRY_AFTER_SECONDS, **params: Any
    ) -> None:
        super().__init__(case, headers={"Retry-After": str(max(1, int(retry_after)))}, **params)
        self.retry_after = retry_after


class ContentUncheckable(Exception):
    """The content check cannot take this text, and asking again will not change that (WeChat's
    61010: the user has not opened the mini-program for two hours; 40003: no such openid; TMS
    refusing the parameters): the comment waits for a moderator instead. `str()` is the reason's
    code (`wechat_61010`), safe to log and store."""


class ChannelFailed(Exception):
    """A notification channel did not take a message; `str()` is a class of failure (`sns:Throttling`,
    `webhook:http_500`), safe to log and store, never a message body or a URL with its key."""


class MessageRejected(DomainError):
    """WeChat refused a subscribe message for a fault of ours (bad template or field): record it."""

    status, code = 502, "message_rejected"

    def __init__(self, errcode: int, detail: str = "") -> None:
        super().__init__()
        self.errcode = errcode
        self.args = (f"WeChat refused the message: errcode {errcode} {detail}".strip(),)
