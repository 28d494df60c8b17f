"""The users' funnel: how many users hold each gate state, so the console can say how many stand at
each `next_step` without reading every user.

Counted by gate *state* (the fields `next_step` reads), not by step: a user's step also depends on
the documents in force, so publishing a new agreement version moves everyone's step at once
without a single write; the dashboard derives the steps from the states with the current
documents. A state's count is split over `SHARDS` items (by user), so that users moving at the
same moment rarely meet on one counter.
"""

from __future__ import annotations

import hashlib

import msgspec

from shared.domain.gate import GateState

SHARDS = 8
_encoder = msgspec.json.Encoder(order="sorted")


def signature(state: GateState) -> str:
    """The state as a stable string (equal states, equal strings)."""
    return _encoder.encode(state).decode()


def state_of(text: str) -> GateState:
    return msgspec.json.decode(text, type=GateState)


def shard_of(user_id: str) -> int:
    return int(hashlib.sha256(user_id.encode()).hexdigest()[:8], 16) % SHARDS


def counter_key(state_signature: str, shard: int) -> str:
    return f"{hashlib.sha256(state_signature.encode()).hexdigest()[:24]}#{shard}"
