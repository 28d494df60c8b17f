"""The funnel's counting on in-memory fakes: a user is counted once, in the state they hold now."""

from __future__ import annotations

from collections import Counter

import pytest

from shared.domain.funnel import SHARDS, counter_key, shard_of, signature, state_of
from shared.domain.gate import GateState
from shared.domain.outcomes import CONTENDED, WRITTEN, Outcome, refused
from shared.services.funnel import CountContended, FunnelCounter
from tests.unit.fakes import FakeUsers
from tests.unit.services_setup import ALICE, BOB, consented, user


class FakeFunnel:
    def __init__(self) -> None:
        self.members: dict[str, str] = {}
        self.counters: Counter[tuple[str, int]] = Counter()
        self.refuse = 0  # how many moves to refuse, as if another count moved the user first
        self.moves = 0

    def counted(self, user_id: str) -> str | None:
        return self.members.get(user_id)

    def move(self, user_id: str, before: str | None, after: str | None, shard: int) -> Outcome:
        if self.refuse:
            self.refuse -= 1
            return refused("user") if self.refuse % 2 else CONTENDED
        if self.members.get(user_id) != before:
            return refused("user")
        self.moves += 1
        if before is not None:
            self.counters[(before, shard)] -= 1
        if after is None:
            self.members.pop(user_id, None)
        else:
            self.members[user_id] = after
            self.counters[(after, shard)] += 1
        return WRITTEN

    def counts(self) -> list[tuple[str, int]]:
        totals: Counter[str] = Counter()
        for (state, _), users in self.counters.items():
            totals[state] += users
        return list(totals.items())


def test_a_state_has_one_signature_and_a_user_one_shard() -> None:
    state = GateState("v1", "agree", None, None, "pending")
    assert signature(state) == signature(GateState(**{f: getattr(state, f) for f in state.__struct_fields__}))
    assert state_of(signature(state)) == state
    assert 0 <= shard_of(ALICE) < SHARDS and shard_of(ALICE) == shard_of(ALICE)
    assert counter_key(signature(state), 3).endswith("#3")


def test_recounting_moves_a_user_once_and_removes_them_when_gone() -> None:
    users, funnel = FakeUsers(), FakeFunnel()
    counter = FunnelCounter(users, funnel)
    users.add(user(ALICE))
    assert counter.recount(ALICE) is True
    assert counter.recount(ALICE) is False  # delivered again: nothing moves
    users.add(consented(ALICE))
    users.add(user(BOB))
    assert counter.recount_all([ALICE, BOB, ALICE]) == []
    assert funnel.moves == 3
    assert sorted(n for _, n in counter.counts().states) == [1, 1]
    del users.users[ALICE]
    assert counter.recount(ALICE) is True
    assert [s for s, _ in counter.counts().states] == [user(BOB).gate]


def test_a_user_moved_by_another_count_meanwhile_is_read_again_and_a_busy_one_reported() -> None:
    users, funnel = FakeUsers(), FakeFunnel()
    counter = FunnelCounter(users, funnel)
    users.add(user(ALICE))
    funnel.refuse = 2
    assert counter.recount(ALICE) is True
    funnel.refuse = 3
    users.add(consented(ALICE))
    with pytest.raises(CountContended):
        counter.recount(ALICE)
    funnel.refuse = 3
    assert counter.recount_all([ALICE]) == [ALICE]
