"""The one idempotency mechanism of every write that takes an `Idempotency-Key`.

A use case asks for a `Guard` (the key checked, what the request asks for digested), sets the
response it will give on it, and has its repository record it inside the write's own transaction:
the guard exists exactly when the write happened. When the write is refused on "guard", the key
was used: `replay` answers the first response if the request is the same, else 409. A use case
that is costly to repeat (verification images) asks `first_response` before doing the work.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from shared import errors
from shared.domain.idempotency import Guard, new_guard
from shared.domain.outcomes import Refused

if TYPE_CHECKING:
    from shared.services.ports import Guards


class Idempotency:
    def __init__(self, guards: Guards, clock: Callable[[], datetime]) -> None:
        self._guards = guards
        self._clock = clock

    def guard(self, caller_id: str, operation: str, key: str | None, request: Any) -> Guard | None:
        """The guard of this request's key (None without a key); 400 for a malformed key."""
        if key is None:
            return None
        return new_guard(caller_id, operation, key, request, int(self._clock().timestamp()))

    def first_response(self, guard: Guard | None) -> Any | None:
        """The first response to this key if it was used for the same request; 409 if it was used
        for another; None if it is unused (one read, only when a key is given)."""
        if guard is None:
            return None
        stored = self._guards.get(guard.owner, guard.key, guard.created_at)
        return None if stored is None else self._answer(stored, guard)

    def record(self, guard: Guard, response: Any) -> Any:
        """Record a key whose request wrote nothing else, with its response; that response, or the
        first one if the key was used meanwhile for the same request (409 for another)."""
        outcome = self._guards.record(guard.answering(response))
        if isinstance(outcome, Refused):
            return self.replay(guard)
        return response

    def replay(self, guard: Guard) -> Any:
        """After a write refused on "guard": the first response, or 409."""
        stored = self._guards.get(guard.owner, guard.key, guard.created_at)
        if stored is None:  # it expired between the write and this read: the write may be tried again
            raise errors.Conflict("key_in_flight")
        return self._answer(stored, guard)

    @staticmethod
    def _answer(stored: Guard, guard: Guard) -> Any:
        if stored.request != guard.request:
            raise errors.Conflict("key_reused")
        return json.loads(stored.response)
