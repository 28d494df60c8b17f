"""The HTTP edge: API Gateway HTTP API (payload 2.0) events in, proxy results out.

Parsing, body validation, response shaping and the one error mapper all live here, so that
every function handler reads like a sentence.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import msgspec

from shared import errors
from shared.log import logger

MAX_JSON_BODY_BYTES = 64 * 1024
REQUEST_ID_HEADER = "X-Request-Id"

T = TypeVar("T")


# Structs rather than dataclasses: no methods compiled from source at cold start.
class Request(msgspec.Struct, frozen=True):
    method: str
    path: str
    route_key: str
    path_params: Mapping[str, str]
    query: Mapping[str, str]
    headers: Mapping[str, str]  # names lower-cased
    body: bytes
    source_ip: str
    user_agent: str
    request_id: str
    cookies: Mapping[str, str] = msgspec.field(default_factory=dict)  # the first value of each name

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def bearer_token(self) -> str | None:
        value = self.header("authorization") or ""
        scheme, _, token = value.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return token.strip()


class Response(msgspec.Struct):
    status: int = 200
    body: Any = None
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    raw: bytes | None = None  # a non-JSON body (HTML pages)
    content_type: str = "application/json; charset=utf-8"
    cookies: list[str] = msgspec.field(default_factory=list)  # Set-Cookie values (the v2 result's `cookies`)


def parse_event(event: Mapping[str, Any]) -> Request:
    """Turn an HTTP API v2 event into a Request; a malformed event is a 400, never a crash."""
    ctx = event.get("requestContext") or {}
    http = ctx.get("http") or {}
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    raw_body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            body = base64.b64decode(raw_body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise errors.BadRequest("body_base64") from exc
    else:
        body = raw_body.encode("utf-8", "surrogatepass") if isinstance(raw_body, str) else bytes(raw_body)
    request_id = str(ctx.get("requestId") or uuid.uuid4().hex)
    return Request(
        method=str(http.get("method", "GET")).upper(),
        path=str(event.get("rawPath") or http.get("path") or "/"),
        route_key=str(event.get("routeKey") or ""),
        path_params=dict(event.get("pathParameters") or {}),
        query=dict(event.get("queryStringParameters") or {}),
        headers=headers,
        body=body,
        source_ip=str(http.get("sourceIp") or ""),
        user_agent=str(http.get("userAgent") or headers.get("user-agent", "")),
        request_id=request_id,
        cookies=_cookies(event, headers),
    )


MAX_COOKIES = 30


def _cookies(event: Mapping[str, Any], headers: Mapping[str, str]) -> dict[str, str]:
    """`name -> value` of the request's cookies: API Gateway v2 lists them in `cookies` (and drops
    the header); a hand-made event may carry the header alone. The first value of a name wins."""
    raw = event.get("cookies")
    pairs = [str(c) for c in raw] if isinstance(raw, list) else headers.get("cookie", "").split(";")
    found: dict[str, str] = {}
    for pair in pairs[:MAX_COOKIES]:
        name, sep, value = pair.strip().partition("=")
        if sep and name and name not in found:
            found[name] = value.strip()
    return found


_AT = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_NAMED = re.compile(r"field `(?P<name>[^`]+)`")
_LIMIT = re.compile(r"length (?P<op><=|>=) (?P<n>\d+)")


def body_fault(exc: msgspec.ValidationError | msgspec.DecodeError) -> errors.BadRequest:
    """The 400 for a body msgspec refused, naming the field at fault when there is one.

    msgspec stops at the first fault and says where it is ("... - at `$.answers[0].value`");
    its words never echo the value sent.
    """
    if not isinstance(exc, msgspec.ValidationError):  # not JSON at all (a DecodeError)
        return errors.BadRequest("body_shape", fields=[])
    text = str(exc)
    found = _AT.search(text)
    path = found["path"].lstrip(".") if found else ""
    what = text[: found.start()] if found else text
    named = _NAMED.search(what)
    limit = _LIMIT.search(what)
    if named and what.startswith("Object missing required field"):
        fault = errors.FieldFault(_join(path, named["name"]), "required")
    elif named and what.startswith("Object contains unknown field"):
        fault = errors.FieldFault(_join(path, named["name"]), "not_allowed", "unknown_field")
    elif not path:  # the body is not an object: no field to name
        return errors.BadRequest("body_shape", fields=[])
    elif limit and limit["op"] == "<=":
        fault = errors.FieldFault(path, "too_long", max=int(limit["n"]))
    elif limit:
        fault = errors.FieldFault(path, "required")
    elif what.startswith("Invalid enum value"):
        fault = errors.FieldFault(path, "not_allowed")
    else:
        fault = errors.FieldFault(path, "invalid")
    return errors.BadRequest("fields", fields=[fault])


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def json_body(request: Request, shape: type[T], *, max_bytes: int = MAX_JSON_BODY_BYTES) -> T:
    """Decode and validate the JSON body into `shape` (a msgspec Struct), or raise a 4xx."""
    if len(request.body) > max_bytes:
        raise errors.PayloadTooLarge("body", max_kb=max_bytes // 1024)
    content_type = (request.header("content-type") or "application/json").split(";")[0].strip().lower()
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise errors.UnsupportedMediaType()
    if not request.body.strip():
        raise errors.BadRequest("body_empty", fields=[])
    try:
        return msgspec.json.decode(request.body, type=shape)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise body_fault(exc) from exc


_encoder = msgspec.json.Encoder()


def _language(request: Request | None) -> str:
    if request is None or not request.header("accept-language"):
        return "zh"
    from shared.messages import language

    return language(request.header("accept-language"))


def to_result(response: Response, request_id: str) -> dict[str, Any]:
    headers = {"Content-Type": response.content_type, REQUEST_ID_HEADER: request_id, **response.headers}
    headers.setdefault("Cache-Control", "no-store")
    if response.raw is not None:
        body = response.raw.decode("utf-8")
    elif response.body is None:
        body = ""
    else:
        body = _encoder.encode(response.body).decode("utf-8")
    result: dict[str, Any] = {
        "statusCode": response.status,
        "headers": headers,
        "body": body,
        "isBase64Encoded": False,
    }
    if response.cookies:
        result["cookies"] = list(response.cookies)
    return result


def _error_response(exc: errors.DomainError, request: Request | None) -> Response:
    lang = _language(request)
    headers = {**exc.headers, "Content-Language": "en" if lang == "en" else "zh-CN"}
    return Response(exc.status, {"error": exc.body(lang)}, headers=headers)


# AWS answers that mean "busy or failing right now": the same request later will likely work.
_AWS_TRANSIENT_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "Throttling",
        "ThrottlingError",  # a transaction's cancellation reason
        "ProvisionedThroughputExceeded",  # idem
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "RequestThrottled",  # SQS
        "SlowDown",
        "InternalServerError",
        "InternalError",
        "ServiceUnavailable",
        "TransactionInProgressException",
    }
)
# A condition that no service turned into a domain answer: the state moved meanwhile.
_AWS_CONFLICT_CODES = frozenset(
    {"ConditionalCheckFailedException", "TransactionCanceledException", "TransactionConflictException"}
)


def upstream_error(exc: BaseException) -> errors.DomainError | None:
    """The domain error for an AWS fault that no service handled, or None for anything else.

    Throttling, server faults, timeouts and unreachable endpoints are 503 `upstream_unavailable`
    with Retry-After; an unhandled conditional failure is 409. The chain of causes is followed
    (pynamodb wraps botocore's errors). Anything else stays an unexpected 500.
    """
    from botocore.exceptions import ClientError, HTTPClientError
    from botocore.exceptions import ConnectionError as BotoConnectionError

    codes: set[str] = set()
    transport = False
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, ClientError):
            response: Mapping[str, Any] = cause.response or {}
            codes.add(str(response.get("Error", {}).get("Code", "")))
            codes.update(str(r.get("Code", "")) for r in response.get("CancellationReasons") or [])
            if int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0) >= 500:
                codes.add("InternalServerError")
        elif isinstance(cause, HTTPClientError | BotoConnectionError):
            transport = True
        nested = getattr(cause, "cause", None)  # pynamodb's exceptions keep botocore's here
        cause = nested if isinstance(nested, BaseException) else cause.__cause__
    if transport or codes & _AWS_TRANSIENT_CODES:
        return errors.UpstreamUnavailable()
    if codes & _AWS_CONFLICT_CODES:
        return errors.Conflict()
    return None


Endpoint = Callable[[Request], Response]


def http_handler(endpoint: Endpoint) -> Callable[[Mapping[str, Any], Any], dict[str, Any]]:
    """Wrap an endpoint as a Lambda handler: one error mapper, request id, an access log line."""

    def handler(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
        started = time.perf_counter()
        request_id = ""
        request: Request | None = None
        try:
            request = parse_event(event)
            request_id = request.request_id
            logger.append_keys(request_id=request_id, route=request.route_key)
            response = endpoint(request)
        except errors.DomainError as exc:
            response = _error_response(exc, request)
            logger.info("request refused", extra={"status": exc.status, "code": exc.code, "case": exc.case})
        except Exception as exc:
            mapped = upstream_error(exc)
            if mapped is not None:
                response = _error_response(mapped, request)
                logger.warning("upstream fault", extra={"status": mapped.status, "error": type(exc).__name__})
            else:
                # The detail goes to the log (exception type and trace, which hold no request body);
                # the client learns only that it failed and the id to quote.
                logger.exception("unhandled error")
                response = _error_response(errors.DomainError(), request)
        request_id = request_id or uuid.uuid4().hex
        result = to_result(response, request_id)
        logger.info(
            "request handled",
            extra={"status": response.status, "ms": round((time.perf_counter() - started) * 1000, 1)},
        )
        logger.remove_keys(["request_id", "route"])
        return result

    return handler
