"""A write that meets a concurrent transaction on a busy item (an article's count shard), tried again."""

from __future__ import annotations

import random
from collections.abc import Callable

from shared.domain.outcomes import Contended, Outcome

MAX_ATTEMPTS = 5  # a write meeting a concurrent transaction on a busy article is tried this often


def until_uncontended(
    write: Callable[[], Outcome], sleep: Callable[[float], None], attempts: int = MAX_ATTEMPTS
) -> Outcome:
    """The write, tried again with a growing, jittered pause while another transaction holds an
    item it touches; the last outcome (still `Contended` after `attempts`)."""
    outcome = write()
    for attempt in range(1, attempts):
        if not isinstance(outcome, Contended):
            break
        sleep(random.uniform(0.01, 0.05) * 2**attempt)  # noqa: S311 - jitter only
        outcome = write()
    return outcome
