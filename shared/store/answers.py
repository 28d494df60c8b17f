"""The answers of the question collection: one item per user (personal data).

Access patterns (all by key): read the caller's answers (one GetItem); store them with the
user's `questions_answered` flag in one transaction; delete them with a withdrawal or an account.
Every write or deletion moves the answer statistics' counters in its transaction, by the
difference between the answers as read and as written, conditioned on them being as read.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import MapAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.models import Model

from shared.domain.answer_stats import delta
from shared.domain.idempotency import Guard
from shared.domain.outcomes import Contended, Outcome, Refused
from shared.domain.questions import Answers
from shared.store.answer_stats import AnswerStatsRepository
from shared.store.base import Transaction, get_item, table
from shared.store.idempotency import IdempotencyRepository
from shared.store.users import UserRepository


@table("answers")
class AnswersItem(Model):
    class Meta:
        table_name = "answers"

    user_id = UnicodeAttribute(hash_key=True)
    answers = MapAttribute[str, Any]()
    questions_version = UnicodeAttribute()
    answered_at = UTCDateTimeAttribute()


def _plain(raw: Any) -> dict[str, Any]:
    return dict(raw.as_dict() if hasattr(raw, "as_dict") else raw or {})


MAX_DELETE_ATTEMPTS = 5


class AnswerRepository:
    def __init__(
        self, users: UserRepository, guards: IdempotencyRepository, stats: AnswerStatsRepository
    ) -> None:
        self._users = users
        self._guards = guards
        self._stats = stats

    def get(self, user_id: str) -> Answers | None:
        item = get_item(AnswersItem, user_id)
        if item is None:
            return None
        return Answers(str(item.user_id), _plain(item.answers), str(item.questions_version), item.answered_at)

    def save(
        self, answers: Answers, informed_version: str, *, seen: Answers | None, guard: Guard | None
    ) -> Outcome:
        """Store the answers and mark the questions answered, at once. `Refused`: "user" (the
        informed consent checked is no longer held: a racing withdrawal leaves no answers behind),
        "answers" (they changed since `seen` was read), "guard" (the Idempotency-Key was used)."""
        tx = Transaction(AnswersItem)
        tx.put(
            "answers",
            AnswersItem(
                answers.user_id,
                answers=answers.values,
                questions_version=answers.questions_version,
                answered_at=answers.answered_at,
            ),
            AnswersItem.user_id.does_not_exist()
            if seen is None
            else AnswersItem.answered_at == seen.answered_at,
        )
        self._users.enlist_answered(tx, answers.user_id, informed_version)
        self._stats.enlist(tx, delta(None if seen is None else seen.values, answers.values))
        if guard is not None:
            self._guards.enlist(tx, guard)
        return tx.commit()

    def enlist_delete(self, tx: Transaction, user_id: str) -> None:
        """Delete the answers in `tx` with their counts ("answers": refused if they change before
        it commits, so a racing answer is never left counted or uncounted)."""
        stored = self.get(user_id)
        if stored is None:  # none: it holds only if none appear meanwhile
            tx.check("answers", AnswersItem, user_id, condition=AnswersItem.user_id.does_not_exist())
            return
        tx.delete("answers", AnswersItem(user_id), AnswersItem.answered_at == stored.answered_at)
        self._stats.enlist(tx, delta(stored.values, None))

    def delete(self, user_id: str) -> None:
        """Delete the answers and take them out of the counts (an account's deletion)."""
        for _ in range(MAX_DELETE_ATTEMPTS):
            tx = Transaction(AnswersItem)
            self.enlist_delete(tx, user_id)
            if not isinstance(tx.commit(), Refused | Contended):
                return
        raise RuntimeError("the answers kept changing during the deletion: run it again")
