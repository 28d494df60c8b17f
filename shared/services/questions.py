"""The question collection: list the questions, take all required answers at once, idempotently."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from shared import errors
from shared.domain.gate import CurrentDocuments, next_step, require_collection
from shared.domain.questions import QUESTIONS, QUESTIONS_VERSION, AnswerValue, check_answers
from shared.services.profile import gate_state
from shared.store.consent import AnswerRecord, AnswerRepository
from shared.store.users import UserRecord

MAX_IDEMPOTENCY_KEY_CHARS = 128


def questions_view() -> list[dict[str, Any]]:
    return [q.view() for q in QUESTIONS]


def _answers_view(answers: dict[str, Any]) -> list[dict[str, Any]]:
    order = {q.id: i for i, q in enumerate(QUESTIONS)}
    return [
        {"question_id": qid, "value": value}
        for qid, value in sorted(answers.items(), key=lambda kv: order.get(kv[0], len(order)))
    ]


def _plain(raw: Any) -> dict[str, Any]:
    return dict(raw.as_dict() if hasattr(raw, "as_dict") else raw or {})


class AnswerService:
    def __init__(self, answers: AnswerRepository, clock: Callable[[], datetime]) -> None:
        self._answers = answers
        self._clock = clock

    def check_access(self, user: UserRecord, docs: CurrentDocuments) -> None:
        require_collection(gate_state(user), docs)

    def submit(
        self,
        user: UserRecord,
        docs: CurrentDocuments,
        answers: list[tuple[str, Any]],
        idempotency_key: str | None,
    ) -> dict[str, Any]:
        """Store the answers (all required ones at once); a repeat writes nothing and answers the same."""
        state = gate_state(user)
        require_collection(state, docs)
        step = next_step(replace(state, questions_answered=True), docs).value
        if idempotency_key is not None and not (0 < len(idempotency_key) <= MAX_IDEMPOTENCY_KEY_CHARS):
            raise errors.BadRequest(f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} characters")
        checked: dict[str, AnswerValue] = check_answers(answers)
        user_id = str(user.user_id)
        stored = self._answers.get(user_id)
        if stored is not None:
            same = _plain(stored.answers) == checked and bool(user.questions_answered)
            if idempotency_key and stored.idempotency_key == idempotency_key and not same:
                raise errors.Conflict("this Idempotency-Key was used with other answers")
            if same:
                return self._view(stored, step)
        record = AnswerRecord(
            user_id,
            answers=checked,
            questions_version=QUESTIONS_VERSION,
            answered_at=self._clock(),
            idempotency_key=idempotency_key,
        )
        # require_collection checked that the informed consent is published and agreed
        self._answers.save(record, str(docs.informed_version), seen=stored.answered_at if stored else None)
        return self._view(record, step)

    @staticmethod
    def _view(record: AnswerRecord, step: str) -> dict[str, Any]:
        return {
            "answers": _answers_view(_plain(record.answers)),
            "answered_at": record.answered_at.isoformat(),
            "next_step": step,
        }


class AnswerStore:
    """The user-data registry's view of the answers: exported, and deleted on erase."""

    name = "answers"

    def __init__(self, answers: AnswerRepository) -> None:
        self._answers = answers

    def export(self, user_id: str) -> Any:
        stored = self._answers.get(user_id)
        if stored is None:
            return None
        return {
            "answers": _answers_view(_plain(stored.answers)),
            "questions_version": stored.questions_version,
            "answered_at": stored.answered_at.isoformat(),
        }

    def erase(self, user_id: str, tombstone: str) -> None:
        self._answers.delete(user_id)
