"""Consent rules, the question rules, the catalog cache and record sealing (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared import errors
from shared.domain import questions as q
from shared.domain.consent import (
    AGREEMENT,
    INFORMED,
    Document,
    check_decision,
    check_document_key,
    check_version,
)
from shared.services.consent import ConsentCatalog, seal, unseal


def test_decisions_per_document() -> None:
    assert check_decision(AGREEMENT, "refuse") == "refuse"
    assert check_decision(INFORMED, "skip") == "skip"
    for key, bad in ((AGREEMENT, "skip"), (INFORMED, "refuse"), (AGREEMENT, "withdraw")):
        with pytest.raises(errors.BadRequest):
            check_decision(key, bad)
    with pytest.raises(errors.NotFound):
        check_document_key("terms")


@pytest.mark.parametrize("version", ["2026-11-01", "2026-11-01.2"])
def test_good_versions(version: str) -> None:
    assert check_version(version) == version


@pytest.mark.parametrize("version", ["CURRENT", "v1", "2026-11-1", "2026-11-01.0", "2026-11-01.10", ""])
def test_bad_versions(version: str) -> None:
    with pytest.raises(ValueError, match="version"):
        check_version(version)


def _doc(version: str) -> Document:
    return Document(AGREEMENT, version, "t", "b", "0" * 64, True, datetime(2026, 11, 1, tzinfo=UTC))


def test_the_catalog_reads_once_per_window() -> None:
    loads: list[int] = []
    now = [100.0]
    version = ["2026-11-01"]

    def load() -> dict[str, Document]:
        loads.append(1)
        return {AGREEMENT: _doc(version[0])}

    catalog = ConsentCatalog(load, ttl=30, clock=lambda: now[0])
    assert catalog.current().agreement_version == "2026-11-01"
    assert catalog.current().informed_version is None
    version[0] = "2026-12-01"
    now[0] += 29.9
    assert catalog.current().agreement_version == "2026-11-01"  # still cached
    assert len(loads) == 1
    now[0] += 0.2
    assert catalog.current().agreement_version == "2026-12-01"  # the window passed
    assert len(loads) == 2
    catalog.invalidate()
    catalog.current()
    assert len(loads) == 3
    assert catalog.current().has_required_questions is q.HAS_REQUIRED_QUESTIONS


def test_the_catalog_says_when_a_document_is_unpublished() -> None:
    catalog = ConsentCatalog(dict, ttl=0)
    with pytest.raises(errors.NotFound, match="not been published"):
        catalog.document(INFORMED)


def test_sealed_fields_open_only_with_the_key_and_for_their_record() -> None:
    key = bytes(range(32))
    fields = {"user_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "source_ip": "203.0.113.9", "user_agent": "微信"}
    sealed = seal(key, "subject", "rec1", fields)
    assert b"203.0.113.9" not in sealed and b"01ARZ3" not in sealed
    assert unseal(key, "subject", "rec1", sealed) == fields
    assert unseal(None, "subject", "rec1", sealed) is None  # the key was shredded
    assert unseal(bytes(32), "subject", "rec1", sealed) is None
    assert unseal(key, "subject", "rec2", sealed) is None  # moved to another record
    assert unseal(key, "subject", "rec1", sealed[:-1] + bytes([sealed[-1] ^ 1])) is None


def test_the_seed_questions_are_sound() -> None:
    assert q.QUESTIONS and q.HAS_REQUIRED_QUESTIONS
    assert {x.kind for x in q.QUESTIONS} == set(q.KINDS)


@pytest.mark.parametrize(
    "raw",
    [
        {"questions": [{"id": "a", "question": "?", "kind": "scale", "options": ["1"]}]},
        {"questions": [{"id": "a", "question": "?", "kind": "text", "options": ["x"]}]},
        {"questions": [{"id": "a", "question": "?", "kind": "single", "options": []}]},
        {"questions": [{"id": "a", "question": "?", "kind": "single", "options": ["x", "x"]}]},
        {
            "questions": [
                {"id": "a", "question": "?", "kind": "text"},
                {"id": "a", "question": "?", "kind": "text"},
            ]
        },
    ],
)
def test_a_bad_question_seed_fails_loudly(raw: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="question"):
        q.parse_questions(raw)


def test_answers_are_normalised() -> None:
    questions = q.parse_questions(
        {
            "questions": [
                {"id": "m", "question": "?", "kind": "multi", "options": ["a", "b", "c"], "required": True},
                {"id": "t", "question": "?", "kind": "text", "required": False},
            ]
        }
    )
    checked = q.check_answers([("m", ["c", "a"]), ("t", "  hi  ")], questions)
    assert checked == {"m": ["a", "c"], "t": "hi"}  # option order; trimmed
    assert q.check_answers([("m", ["b"])], questions) == {"m": ["b"]}
    assert (
        q.check_answers([("m", ["b"]), ("t", "x" * q.MAX_TEXT_CHARS)], questions)["t"]
        == "x" * q.MAX_TEXT_CHARS
    )
    with pytest.raises(errors.BadRequest, match="500"):
        q.check_answers([("m", ["b"]), ("t", "x" * (q.MAX_TEXT_CHARS + 1))], questions)
    with pytest.raises(errors.BadRequest, match="At most"):
        q.check_answers([("t", "x")] * (q.MAX_ANSWERS + 1), questions)


def test_every_answer_at_fault_is_named_at_once() -> None:
    questions = q.parse_questions(
        {
            "questions": [
                {"id": "s", "question": "?", "kind": "single", "options": ["a", "b"], "required": True},
                {"id": "m", "question": "?", "kind": "multi", "options": ["a", "b"], "required": True},
                {"id": "t", "question": "?", "kind": "text", "required": True},
                {"id": "u", "question": "?", "kind": "text", "required": False},
            ]
        }
    )
    body = [("s", "z"), ("m", ["a", "a"]), ("nope", "x"), ("u", "  "), ("s", "a")]
    with pytest.raises(errors.BadRequest) as caught:
        q.check_answers(body, questions)
    faults = [(f["field"], f["code"]) for f in caught.value.body("zh")["fields"]]
    assert faults == [
        ("answers[0].value", "not_allowed"),
        ("answers[1].value", "invalid"),
        ("answers[2].question_id", "not_allowed"),
        ("answers[3].value", "required"),
        ("answers[4].question_id", "invalid"),
        ("answers.t", "required"),
    ]
    assert caught.value.message("zh") == "有 6 项需要修改，请检查标出的项目。"
