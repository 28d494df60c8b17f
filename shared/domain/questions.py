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


def check_value(question: Question, value: Any) -> AnswerValue:
    """The value, normalised, if it fits the question's kind and options; else 400."""
    where = f"answer to {question.id}"
    if question.kind == "single":
        if not isinstance(value, str) or value not in question.options:
            raise errors.BadRequest(f"the {where} must be one of its options")
        return value
    if question.kind == "multi":
        if not isinstance(value, list) or not value:
            raise errors.BadRequest(f"the {where} must be a non-empty list of its options")
        if any(not isinstance(v, str) or v not in question.options for v in value):
            raise errors.BadRequest(f"the {where} may hold only its options")
        if len(set(value)) != len(value):
            raise errors.BadRequest(f"the {where} repeats an option")
        # Stored in the order of the options, so the same choice always compares equal.
        return [o for o in question.options if o in value]
    if not isinstance(value, str) or not (1 <= len(value.strip()) <= MAX_TEXT_CHARS):
        raise errors.BadRequest(f"the {where} must be 1 to {MAX_TEXT_CHARS} characters")
    return value.strip()


def check_answers(
    answers: list[tuple[str, Any]], questions: tuple[Question, ...] = QUESTIONS
) -> dict[str, AnswerValue]:
    """All required questions answered at once, each answer checked; unknown questions are 400."""
    by_id = {q.id: q for q in questions}
    if len(answers) > MAX_ANSWERS:
        raise errors.BadRequest(f"at most {MAX_ANSWERS} answers")
    checked: dict[str, AnswerValue] = {}
    for question_id, value in answers:
        question = by_id.get(question_id)
        if question is None:
            raise errors.BadRequest(f"there is no question {question_id[:64]!r}")
        if question_id in checked:
            raise errors.BadRequest(f"question {question_id} is answered twice")
        checked[question_id] = check_value(question, value)
    missing = [q.id for q in questions if q.required and q.id not in checked]
    if missing:
        raise errors.BadRequest(f"every required question must be answered; missing: {', '.join(missing)}")
    return checked


class Answers(msgspec.Struct, frozen=True):
    """A user's answers to the question collection (personal data)."""

    user_id: str
    values: dict[str, AnswerValue]
    questions_version: str
    answered_at: datetime
