"""Answer statistics: how many users chose each option of each single or multi question, and how
many users answered, the aggregates the informed consent announces, never one person's answers.

They are counters moved in the same transaction as the answers they count: an answer written adds
its user's choices, a change moves the difference, a withdrawal or an account deletion takes them
away, each conditioned on the answers being as read, so the counts stay exact under concurrency.
A transaction moves one of STAT_SHARDS counter items picked at random (concurrent transactions on
one item conflict); a count is the sum over them. Counts under MIN_SHOWN show as `<5`.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping

from shared.domain.questions import QUESTIONS, AnswerValue, Question

STAT_SHARDS = 8
USERS = "users"  # the counter of answering users
MIN_SHOWN = 5


def counter_name(question_id: str, option: str) -> str:
    """The counter of one option: a digest, so no question's or option's text is an attribute name."""
    return "c_" + hashlib.sha256(f"{question_id}\n{option}".encode()).hexdigest()[:20]


def counters(
    values: Mapping[str, AnswerValue] | None, questions: tuple[Question, ...] = QUESTIONS
) -> Counter[str]:
    """What one user's answers add to the counters (nothing for no answers; text answers are not
    counted)."""
    found: Counter[str] = Counter()
    if not values:
        return found
    found[USERS] += 1
    choices = {q.id for q in questions if q.kind != "text"}
    for question_id, value in values.items():
        if question_id in choices:
            for option in [value] if isinstance(value, str) else value:
                found[counter_name(question_id, option)] += 1
    return found


def delta(
    before: Mapping[str, AnswerValue] | None, after: Mapping[str, AnswerValue] | None
) -> dict[str, int]:
    """How the counters move when one user's answers go from `before` to `after`."""
    moved = counters(after)
    moved.subtract(counters(before))
    return {name: n for name, n in sorted(moved.items()) if n}


def shown(count: int) -> str:
    """A count as the console shows it: `<5` under MIN_SHOWN, so no one person stands out."""
    return f"<{MIN_SHOWN}" if count < MIN_SHOWN else str(count)
