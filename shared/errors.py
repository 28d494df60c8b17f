"""Domain errors: each carries a stable code and the HTTP status the edge answers with.

One mapper at the edge (`shared.edge`) turns them into `{"error": {"code", "message"}}`;
anything else is an unexpected fault and becomes a logged 500 with no detail.
"""

from __future__ import annotations


class ConfigError(RuntimeError):
    """The deployment is misconfigured; raised at cold start, never caught per request."""


class DomainError(Exception):
    status = 500
    code = "internal_error"
    default_message = "internal error"

    def __init__(self, message: str | None = None, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message or self.default_message)
        self.message = message or self.default_message
        self.headers = headers or {}


class BadRequest(DomainError):
    status, code, default_message = 400, "bad_request", "the request is not valid"


class Unauthorized(DomainError):
    status, code, default_message = 401, "unauthorized", "a valid token is required"


class ConsentRequired(DomainError):
    status, code, default_message = 403, "consent_required", "the identity agreement must be agreed first"


class VerificationRequired(DomainError):
    status, code, default_message = 403, "verification_required", "HCP verification must be passed first"


class Forbidden(DomainError):
    status, code, default_message = 403, "forbidden", "not allowed"


class NotFound(DomainError):
    status, code, default_message = 404, "not_found", "not found"


class Conflict(DomainError):
    status, code, default_message = 409, "conflict", "the request conflicts with the current state"


class PayloadTooLarge(DomainError):
    status, code, default_message = 413, "payload_too_large", "the request body is too large"


class UnsupportedMediaType(DomainError):
    status, code, default_message = 415, "unsupported_media_type", "the body must be application/json"


class ContentRejected(DomainError):
    status, code, default_message = 422, "content_rejected", "the content was refused by the content check"


class RateLimited(DomainError):
    status, code, default_message = 429, "rate_limited", "too many requests"

    def __init__(self, message: str | None = None, *, retry_after: int = 60) -> None:
        super().__init__(message, headers={"Retry-After": str(max(1, int(retry_after)))})
        self.retry_after = retry_after


# How long a client waits before retrying a 503, unless the fault knows better.
UPSTREAM_RETRY_AFTER_SECONDS = 5


class UpstreamUnavailable(DomainError):
    status, code, default_message = 503, "upstream_unavailable", "a service we depend on is unavailable"

    def __init__(
        self, message: str | None = None, *, retry_after: int = UPSTREAM_RETRY_AFTER_SECONDS
    ) -> None:
        super().__init__(message, headers={"Retry-After": str(max(1, int(retry_after)))})
        self.retry_after = retry_after


class ChannelFailed(Exception):
    """A notification channel did not take a message; `str()` is a class of failure (`sns:Throttling`,
    `webhook:http_500`), safe to log and store, never a message body or a URL with its key."""


class MessageRejected(DomainError):
    """WeChat refused a subscribe message for a fault of ours (bad template or field): record it."""

    status, code, default_message = 502, "message_rejected", "WeChat refused the message"

    def __init__(self, errcode: int, message: str | None = None) -> None:
        super().__init__(message)
        self.errcode = errcode
