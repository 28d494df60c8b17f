"""Errors as the app shows them: Chinese words for the user (English when preferred), and for a
JSON body, the fields at fault, each with its code, so that a form can mark them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.functional.conftest import Api
from tests.functional.consent_helpers import consented
from tests.functional.verification_helpers import submit, upload
from tests.language import CHINESE, ENGLISH_SENTENCE

ENGLISH = {"accept-language": "en-US,en;q=0.9,zh-CN;q=0.5"}


def _faults(error: dict[str, Any]) -> list[tuple[str, str]]:
    return [(f["field"], f["code"]) for f in error["fields"]]


def test_a_form_with_several_faults_names_each_field_at_once(api: Api) -> None:
    consented(api)
    key = upload(api)
    bad = {"real_name": "  ", "hospital": "院" * 101, "department": "心内\x07科", "profession": "surgeon"}
    reply = submit(api, [key], **bad)
    assert reply.status == 400
    error = reply.body["error"]
    assert error["code"] == "bad_request"
    assert _faults(error) == [
        ("real_name", "required"),
        ("hospital", "too_long"),
        ("department", "invalid"),
        ("profession", "not_allowed"),
    ]
    assert error["message"] == "有 4 项需要修改，请检查标出的项目。"
    assert [f["message"] for f in error["fields"]][:2] == ["请填写姓名。", "医院不能超过 100 个字。"]
    assert reply.headers["Content-Language"] == "zh-CN"

    english = submit(api, [key], headers=ENGLISH, **bad)
    assert english.headers["Content-Language"] == "en"
    assert _faults(english.body["error"]) == _faults(error)
    assert english.body["error"]["message"] == "4 fields need correcting; see the marked fields."
    assert english.body["error"]["fields"][1]["message"] == "hospital may be at most 100 characters."


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, [("code", "required")]),
        ({"code": 7}, [("code", "invalid")]),
        ({"code": "dev:a", "admin": True}, [("admin", "not_allowed")]),
        ({"code": ""}, [("code", "required")]),
        ([1, 2], []),
    ],
)
def test_a_body_of_the_wrong_shape_names_its_first_fault(api: Api, body: Any, fields: list[Any]) -> None:
    reply = api.post("/v1/auth/login", body)
    assert reply.status == 400
    error = reply.body["error"]
    assert _faults(error) == fields
    assert CHINESE.search(error["message"]) and not ENGLISH_SENTENCE.search(error["message"])


def test_a_body_that_is_not_json_has_no_field_to_name(api: Api) -> None:
    reply = api.call("POST", "/v1/auth/login", raw='{"code": ')
    assert reply.status == 400 and reply.body["error"]["fields"] == []
    assert reply.body["error"]["message"] == "提交的内容格式不正确，请更新小程序后重试。"


def test_errors_outside_a_body_carry_no_fields(api: Api) -> None:
    consented(api)
    reply = api.get("/v1/consents/nope/receipt")
    assert reply.status == 404 and "fields" not in reply.body["error"]
    assert reply.body["error"]["message"] == "没有这条同意记录。"
    assert api.get("/v1/me", token="x.y.z").body["error"]["message"] == "登录已失效，请重新登录。"
    english = api.get("/v1/me", token="x.y.z", headers=ENGLISH)
    assert english.body["error"]["message"] == "Your session has ended; please log in again."
