"""The question collection: asked only of approved HCPs who agreed to the informed consent."""

from __future__ import annotations

from typing import Any

import pytest

from infra.metering import metered
from shared.domain.consent import INFORMED
from shared.store.answers import AnswersItem
from shared.store.users import UserItem
from tests.functional.conftest import Api
from tests.functional.consent_helpers import agree_all, approve, decide, publish_seed

REQUIRED = [
    {"question_id": "years_in_practice", "value": "11-20年"},
    {"question_id": "institution_level", "value": "二级医院"},
    {"question_id": "specialty_areas", "value": ["肿瘤"]},
]


def hcp(api: Api, informed: str = "agree", approved: bool = True) -> str:
    publish_seed()
    body = api.login("alice")
    agree_all(api, informed=informed)
    if approved:
        approve(body["user"]["id"])
    return str(body["user"]["id"])


def test_an_approved_hcp_who_agreed_is_asked_then_done(api: Api) -> None:
    hcp(api)
    assert api.get("/v1/me").body["next_step"] == "questions"
    items = api.get("/v1/questions").body["items"]
    assert {i["kind"] for i in items} == {"single", "multi", "text"}
    assert all(set(i) == {"id", "question", "kind", "options", "required"} for i in items)
    assert all(isinstance(o, str) for i in items for o in i["options"])
    reply = api.post("/v1/answers", {"answers": REQUIRED})
    assert reply.status == 200
    assert reply.body["next_step"] == "done"
    assert api.get("/v1/me").body["next_step"] == "done"


@pytest.mark.parametrize(
    ("informed", "approved", "code"),
    [("skip", True, "consent_required"), ("agree", False, "verification_required")],
)
def test_others_are_not_asked(api: Api, informed: str, approved: bool, code: str) -> None:
    hcp(api, informed=informed, approved=approved)
    for reply in (api.get("/v1/questions"), api.post("/v1/answers", {"answers": REQUIRED})):
        assert reply.status == 403
        assert reply.body["error"]["code"] == code
    assert AnswersItem.count() == 0


def test_a_user_who_skipped_is_done_without_questions(api: Api) -> None:
    hcp(api, informed="skip")
    assert api.get("/v1/me").body["next_step"] == "done"


def test_answers_and_the_gate_flag_are_written_in_one_transaction(api: Api) -> None:
    user_id = hcp(api)
    with metered() as meter:
        api.post("/v1/answers", {"answers": REQUIRED})
    assert meter.calls == ["GetItem", "GetItem", "TransactWriteItems"]
    assert UserItem.get(user_id).questions_answered is True


def test_a_repeat_writes_nothing_and_answers_the_same(api: Api) -> None:
    hcp(api)
    first = api.post("/v1/answers", {"answers": REQUIRED}, headers={"idempotency-key": "k1"})
    with metered() as meter:
        again = api.post("/v1/answers", {"answers": REQUIRED})
        replay = api.post("/v1/answers", {"answers": REQUIRED}, headers={"idempotency-key": "k1"})
    assert first.body == again.body == replay.body
    assert "TransactWriteItems" not in meter.calls and "PutItem" not in meter.calls


def test_an_idempotency_key_reused_with_other_answers_is_409(api: Api) -> None:
    hcp(api)
    api.post("/v1/answers", {"answers": REQUIRED}, headers={"idempotency-key": "k1"})
    changed = [*REQUIRED[:2], {"question_id": "specialty_areas", "value": ["儿科"]}]
    reply = api.post("/v1/answers", {"answers": changed}, headers={"idempotency-key": "k1"})
    assert reply.status == 409
    assert api.post("/v1/answers", {"answers": changed}, headers={"idempotency-key": "k2"}).status == 200


@pytest.mark.parametrize(
    ("answers", "field", "code", "message"),
    [
        (REQUIRED[:2], "answers.specialty_areas", "required", "这道题必须回答。"),
        (
            [*REQUIRED, {"question_id": "nope", "value": "x"}],
            "answers[3].question_id",
            "not_allowed",
            "没有这个问题",
        ),
        (
            [*REQUIRED[:2], {"question_id": "specialty_areas", "value": []}],
            "answers[2].value",
            "required",
            "至少选择一项",
        ),
        (
            [*REQUIRED[:2], {"question_id": "specialty_areas", "value": ["肿瘤", "肿瘤"]}],
            "answers[2].value",
            "invalid",
            "重复",
        ),
        (
            [*REQUIRED[:2], {"question_id": "specialty_areas", "value": ["外星医学"]}],
            "answers[2].value",
            "not_allowed",
            "给出的选项",
        ),
        (
            [*REQUIRED[:2], {"question_id": "specialty_areas", "value": "肿瘤"}],
            "answers[2].value",
            "invalid",
            "至少选择一项",
        ),
        (
            [{"question_id": "years_in_practice", "value": "99年"}, *REQUIRED[1:]],
            "answers[0].value",
            "not_allowed",
            "选择一项",
        ),
        (
            [{"question_id": "years_in_practice", "value": ["3-10年"]}, *REQUIRED[1:]],
            "answers[0].value",
            "not_allowed",
            "选择一项",
        ),
        (
            [*REQUIRED, {"question_id": "suggestions", "value": "   "}],
            "answers[3].value",
            "required",
            "1 至 500",
        ),
        (
            [*REQUIRED, {"question_id": "suggestions", "value": "长" * 501}],
            "answers[3].value",
            "too_long",
            "1 至 500",
        ),
        ([*REQUIRED, REQUIRED[0]], "answers[3].question_id", "invalid", "回答了两次"),
    ],
)
def test_answers_are_checked_against_kind_and_options(
    api: Api, answers: list[Any], field: str, code: str, message: str
) -> None:
    hcp(api)
    reply = api.post("/v1/answers", {"answers": answers})
    assert reply.status == 400
    error = reply.body["error"]
    assert [(f["field"], f["code"]) for f in error["fields"]] == [(field, code)]
    assert message in error["fields"][0]["message"] and error["message"] == error["fields"][0]["message"]
    assert AnswersItem.count() == 0


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "{",
        "[]",
        "{}",
        '{"answers": null}',
        '{"answers": [{"question_id": 1, "value": "x"}]}',
        '{"answers": [{"question_id": "a", "value": 3}]}',
        '{"answers": [], "x": 1}',
    ],
)
def test_malformed_answer_bodies_are_400(api: Api, raw: str) -> None:
    hcp(api)
    assert api.post("/v1/answers", raw=raw).status == 400


def test_answers_after_a_withdrawal_are_refused(api: Api) -> None:
    hcp(api)
    api.post(f"/v1/consents/{INFORMED}/withdraw")
    reply = api.post("/v1/answers", {"answers": REQUIRED})
    assert reply.status == 403
    assert reply.body["error"]["code"] == "consent_required"
    assert decide(api, INFORMED, "agree").status == 201
    assert api.post("/v1/answers", {"answers": REQUIRED}).status == 200
