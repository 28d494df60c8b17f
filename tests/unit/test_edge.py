"""The HTTP edge: events in, results out, one error mapper, no detail in a 500."""

from __future__ import annotations

import base64
import json

import msgspec
import pytest

from infra.events import http_api_event
from shared import errors
from shared.edge import REQUEST_ID_HEADER, Request, Response, http_handler, json_body, parse_event


class Body(msgspec.Struct, forbid_unknown_fields=True):
    code: str


def test_parse_event_reads_a_v2_event() -> None:
    event = http_api_event(
        "post",
        "/v1/x",
        headers={"Authorization": "Bearer abc", "User-Agent": "ua"},
        query_string="a=1&a=2",
        body='{"code": "c"}',
        path_params={"id": "7"},
    )
    request = parse_event(event)
    assert request.method == "POST"
    assert request.bearer_token() == "abc"
    assert request.query == {"a": "1,2"}
    assert request.path_params == {"id": "7"}
    assert request.user_agent == "ua"
    assert json_body(request, Body).code == "c"


def test_base64_bodies_are_decoded_and_bad_base64_is_a_400() -> None:
    event = http_api_event("POST", "/x", body='{"code": "c"}')
    event["body"] = base64.b64encode(b'{"code": "c"}').decode()
    event["isBase64Encoded"] = True
    assert json_body(parse_event(event), Body).code == "c"
    event["body"] = "!!!"
    with pytest.raises(errors.BadRequest):
        parse_event(event)


@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer", "Bearer   "])
def test_missing_or_other_auth_schemes_give_no_token(header: str | None) -> None:
    headers = {} if header is None else {"authorization": header}
    assert parse_event(http_api_event("GET", "/", headers=headers)).bearer_token() is None


def test_body_limits_are_named_in_the_error() -> None:
    request = parse_event(http_api_event("POST", "/", body='{"code": "' + "x" * 3000 + '"}'))
    with pytest.raises(errors.PayloadTooLarge) as caught:
        json_body(request, Body, max_bytes=2048)
    assert "2 KB" in caught.value.message("zh") and "2 KB" in caught.value.message("en")


def test_validation_errors_name_the_field_not_the_value() -> None:
    request = parse_event(http_api_event("POST", "/", body='{"code": 123456789}'))
    with pytest.raises(errors.BadRequest) as caught:
        json_body(request, Body)
    error = caught.value.body("zh")
    assert error["fields"] == [{"field": "code", "code": "invalid", "message": "登录凭证的格式不正确。"}]
    assert error["message"] == "登录凭证的格式不正确。"
    assert "123456789" not in json.dumps(caught.value.body("en"))


def _handler(exc: Exception | None):  # type: ignore[no-untyped-def]
    @http_handler
    def endpoint(request: Request) -> Response:
        if exc:
            raise exc
        return Response(200, {"text": "中文"})

    return endpoint


def test_domain_errors_become_their_status_and_code() -> None:
    limited = errors.RateLimited("comments_minute", retry_after=30, limit=5)
    result = _handler(limited)(http_api_event("GET", "/"), None)
    assert result["statusCode"] == 429
    message = "评论太频繁了：每分钟最多 5 条，请稍后再试。"
    assert json.loads(result["body"]) == {"error": {"code": "rate_limited", "message": message}}
    assert result["headers"]["Content-Language"] == "zh-CN"
    assert result["headers"]["Retry-After"] == "30"
    assert result["headers"][REQUEST_ID_HEADER]


def test_an_unexpected_exception_is_a_500_without_detail(capsys: pytest.CaptureFixture[str]) -> None:
    result = _handler(KeyError("secret-detail"))(http_api_event("GET", "/"), None)
    assert result["statusCode"] == 500
    assert json.loads(result["body"]) == {
        "error": {"code": "internal_error", "message": "服务出错了，请稍后再试。"}
    }
    assert "secret-detail" not in result["body"]


def test_a_malformed_event_is_a_4xx_not_a_crash() -> None:
    result = _handler(None)({"isBase64Encoded": True, "body": "%%%"}, None)
    assert result["statusCode"] == 400


def test_chinese_is_returned_as_is() -> None:
    result = _handler(None)(http_api_event("GET", "/"), None)
    assert "中文" in result["body"]


def test_the_request_id_of_api_gateway_is_kept() -> None:
    event = http_api_event("GET", "/")
    result = _handler(None)(event, None)
    assert result["headers"][REQUEST_ID_HEADER] == event["requestContext"]["requestId"]


def test_cookies_come_from_the_v2_list_or_the_header_and_go_out_as_the_v2_list() -> None:
    event = http_api_event("GET", "/console", headers={"Cookie": "a=1; b=two=2; a=3; junk"})
    assert event["cookies"] == ["a=1", "b=two=2", "a=3", "junk"]
    assert parse_event(event).cookies == {"a": "1", "b": "two=2"}  # the first value of a name
    del event["cookies"]  # a hand-made event with the header alone
    assert parse_event(event).cookies == {"a": "1", "b": "two=2"}
    assert parse_event(http_api_event("GET", "/x")).cookies == {}

    def endpoint(request: Request) -> Response:
        return Response(303, headers={"Location": "/"}, cookies=["s=v; Path=/console; HttpOnly"])

    result = http_handler(endpoint)(http_api_event("GET", "/x"), None)
    assert result["statusCode"] == 303 and result["cookies"] == ["s=v; Path=/console; HttpOnly"]
    assert "cookies" not in http_handler(lambda r: Response(200, {}))(http_api_event("GET", "/x"), None)
