"""The question collection: the questions (a data file shipped with the code) and answer rules.

The questions are loaded once at import from `questions.json` beside this module, so listing
them and deciding whether any required question exists costs no read.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec

from shared import errors

QUESTIONS_FILE = Path(__file__).with_name("questions.json")
KINDS = ("single", "multi", "text")
MAX_TEXT_CHARS = 500
MAX_ANSWERS = 50


class Question(msgspec.Struct, frozen=True):
    id: str
    question: str
    kind: str
    options: tuple[str, ...]
    required: bool

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "question": self.question,
            "kind": self.kind,
            "options": list(self.options),
            "required": self.required,
        }


def parse_questions(document: dict[str, Any]) -> tuple[Question, ...]:
    """Build and check the questions of a seed document (a bad seed fails at import, loudly)."""
    found: list[Question] = []
    for raw in document["questions"]:
        question = Question(
            id=str(raw["id"]),
            question=str(raw["question"]),
            kind=str(raw["kind"]),
            options=tuple(str(o) for o in raw.get("options") or ()),
            required=bool(raw.get("required", False)),
        )
        if question.kind not in KINDS:
            raise ValueError(f"question {question.id}: kind must be one of {KINDS}")
        if (question.kind == "text") != (not question.options):
            raise ValueError(f"question {question.id}: options are for single and multi questions only")
        if len(set(question.options)) != len(question.options):
            raise ValueError(f"question {question.id}: options repeat")
        found.append(question)
    if len({q.id for q in found}) != len(found):
        raise ValueError("question ids repeat")
    return tuple(found)


def _load() -> tuple[str, tuple[Question, ...]]:
    document = json.loads(QUESTIONS_FILE.read_text(encoding="utf-8"))
    return str(document["version"]), parse_questions(document)


QUESTIONS_VERSION, QUESTIONS = _load()
HAS_REQUIRED_QUESTIONS = any(q.required for q in QUESTIONS)

AnswerValue = str | list[str]


def check_value(question: Question, value: Any, field: str, faults: errors.Faults) -> AnswerValue | None:
    """The value, normalised, if it fits the question's kind and options; else a fault on `field`."""
    if question.kind == "single":
        if not isinstance(value, str) or value not in question.options:
            faults.add(field, "not_allowed", "answer_single")
            return None
        return value
    if question.kind == "multi":
        if not isinstance(value, list) or not value:
            faults.add(field, "required" if value == [] else "invalid", "answer_multi")
        elif any(not isinstance(v, str) or v not in question.options for v in value):
            faults.add(field, "not_allowed", "answer_options")
        elif len(set(value)) != len(value):
            faults.add(field, "invalid", "answer_repeat")
        else:  # stored in the order of the options, so the same choice always compares equal
            return [o for o in question.options if o in value]
        return None
    if not isinstance(value, str) or not (1 <= len(value.strip()) <= MAX_TEXT_CHARS):
        code = "invalid" if not isinstance(value, str) else "required" if not value.strip() else "too_long"
        faults.add(field, code, "answer_text", max=MAX_TEXT_CHARS)
        return None
    return value.strip()


def check_answers(
    answers: list[tuple[str, Any]], questions: tuple[Question, ...] = QUESTIONS
) -> dict[str, AnswerValue]:
    """All required questions answered at once, each answer checked; every fault named (400).

    A fault names the answer's place in the body (`answers[2].value`); a required question left
    unanswered is named `answers.<question id>`, since the body has no place for it.
    """
    by_id = {q.id: q for q in questions}
    if len(answers) > MAX_ANSWERS:
        raise errors.invalid("answers", "too_long", "answers_count", max=MAX_ANSWERS)
    faults = errors.Faults()
    checked: dict[str, AnswerValue] = {}
    seen: set[str] = set()
    for index, (question_id, value) in enumerate(answers):
        question = by_id.get(question_id)
        if question is None:
            faults.add(f"answers[{index}].question_id", "not_allowed", "answer_unknown")
        elif question_id in seen:
            faults.add(f"answers[{index}].question_id", "invalid", "answer_twice")
        else:
            seen.add(question_id)
            found = check_value(question, value, f"answers[{index}].value", faults)
            if found is not None:
                checked[question_id] = found
    for question in questions:
        if question.required and question.id not in seen:
            faults.add(f"answers.{question.id}", "required", "answer_required")
    faults.raise_any()
    return checked


class Answers(msgspec.Struct, frozen=True):
    """A user's answers to the question collection (personal data)."""

    user_id: str
    values: dict[str, AnswerValue]
    questions_version: str
    answered_at: datetime
