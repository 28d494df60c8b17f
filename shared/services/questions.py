"""The question collection: list the questions, take all required answers at once, idempotently."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from msgspec.structs import replace

from shared import errors
from shared.domain import times
from shared.domain.gate import CurrentDocuments, next_step, require_collection
from shared.domain.outcomes import Refused, Written
from shared.domain.questions import QUESTIONS, QUESTIONS_VERSION, Answers, check_answers
from shared.domain.users import User
from shared.services.idempotency import Idempotency

if TYPE_CHECKING:
    from shared.services.ports import AnswerStore

OPERATION = "answers"


def questions_view() -> list[dict[str, Any]]:
    return [q.view() for q in QUESTIONS]


def _answers_view(values: dict[str, Any]) -> list[dict[str, Any]]:
    order = {q.id: i for i, q in enumerate(QUESTIONS)}
    return [
        {"question_id": qid, "value": value}
        for qid, value in sorted(values.items(), key=lambda kv: order.get(kv[0], len(order)))
    ]


class AnswerService:
    def __init__(self, answers: AnswerStore, idempotency: Idempotency, clock: Callable[[], datetime]) -> None:
        self._answers = answers
        self._idempotency = idempotency
        self._clock = clock

    def submit(
        self,
        user: User,
        docs: CurrentDocuments,
        answers: list[tuple[str, Any]],
        idempotency_key: str | None,
    ) -> dict[str, Any]:
        """Store the answers (all required ones at once); the same answers again write nothing."""
        require_collection(user.gate, docs)
        step = next_step(replace(user.gate, questions_answered=True), docs).value
        guard = self._idempotency.guard(user.user_id, OPERATION, idempotency_key, answers)
        first = self._idempotency.first_response(guard)  # a keyed request only: one read
        if first is not None:
            replayed: dict[str, Any] = first
            return replayed
        checked = check_answers(answers)
        stored = self._answers.get(user.user_id)
        if stored is not None and stored.values == checked and user.questions_answered:
            unchanged = self._view(stored, step)  # nothing to write, but a key is still used up
            recorded: dict[str, Any] = self._idempotency.record(guard, unchanged) if guard else unchanged
            return recorded
        record = Answers(user.user_id, checked, QUESTIONS_VERSION, self._clock())
        view = self._view(record, step)
        # require_collection checked that the informed consent is published and agreed
        outcome = self._answers.save(
            record,
            str(docs.informed_version),
            seen=stored,
            guard=guard.answering(view) if guard else None,
        )
        if isinstance(outcome, Written):
            return view
        if guard is not None and isinstance(outcome, Refused) and "guard" in outcome:
            again: dict[str, Any] = self._idempotency.replay(guard)
            return again
        raise errors.Conflict("answers_changed")

    @staticmethod
    def _view(record: Answers, step: str) -> dict[str, Any]:
        return {
            "answers": _answers_view(record.values),
            "answered_at": times.iso(record.answered_at),
            "next_step": step,
        }


class AnswerData:
    """The user's answers: exported, and deleted with the account."""

    name = "answers"

    def __init__(self, answers: AnswerStore) -> None:
        self._answers = answers

    def export(self, user_id: str) -> Any:
        stored = self._answers.get(user_id)
        if stored is None:
            return None
        return {
            "answers": _answers_view(stored.values),
            "questions_version": stored.questions_version,
            "answered_at": times.iso(stored.answered_at),
        }

    def erase(self, user_id: str) -> None:
        self._answers.delete(user_id)
