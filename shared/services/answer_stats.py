"""The console's answer statistics: counts per option of each single and multi question, and the
number of answering users, read from the counters (one BatchGetItem), never from anyone's answers;
a count under MIN_SHOWN shows as `<5`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared.domain.answer_stats import MIN_SHOWN, USERS, counter_name, shown
from shared.domain.questions import QUESTIONS, Question

if TYPE_CHECKING:
    from shared.services.ports import AnswerCounters


@dataclass(frozen=True)
class OptionCount:
    option: str
    shown: str  # "12" or "<5"


@dataclass(frozen=True)
class QuestionCounts:
    question: Question
    options: list[OptionCount]


class AnswerStatistics:
    floor = MIN_SHOWN

    def __init__(self, counters: AnswerCounters, questions: tuple[Question, ...] = QUESTIONS) -> None:
        self._counters = counters
        self._questions = questions

    def report(self) -> tuple[list[QuestionCounts], str]:
        """Each single or multi question with its options' counts, and the answering users."""
        totals = self._counters.totals()
        questions = [
            QuestionCounts(
                q, [OptionCount(o, shown(totals.get(counter_name(q.id, o), 0))) for o in q.options]
            )
            for q in self._questions
            if q.kind != "text"
        ]
        return questions, shown(totals.get(USERS, 0))
