"""The content check's pacing and its worker, on in-memory fakes (no AWS, no WeChat).

A post checks inline while the minute's inline share lasts, else it is held and its id queued;
the worker spends its own share, checks, and settles the comment from the state it was queued in.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from msgspec.structs import replace

from shared import errors
from shared.domain import comments as rules
from shared.domain.content_check import BUDGET_SHARDS, INLINE_SHARE, WORKER_SHARE, Budget
from shared.domain.ids import new_id
from shared.services.queued_checks import CheckPacing, NotYet, QueuedChecks, backoff
from tests.unit.fakes import FakeChecker, FakeRateWindows
from tests.unit.services_setup import ALICE, NOW
from tests.unit.test_comment_service import ARTICLE, count, setup

EPOCH = NOW.timestamp()


class FakeQueue:
    def __init__(self) -> None:
        self.sent: list[str] = []
        self.later: list[tuple[str, int]] = []

    def send(self, public_id: str) -> None:
        self.sent.append(public_id)

    def retry_later(self, receipt: str, seconds: int) -> None:
        self.later.append((receipt, seconds))


class Checker(FakeChecker):
    """A checker that can fail: an exception to raise on the next call."""

    def __init__(self, suggest: str = "pass") -> None:
        super().__init__(suggest)
        self.fail: Exception | None = None

    def check_text(self, openid: str, text: str) -> str:
        if self.fail is not None:
            raise self.fail
        return super().check_text(openid, text)


def fill(windows: FakeRateWindows, share: float, epoch: float = EPOCH) -> None:
    """The minute's inline counters full (and the worker's reserve, for WORKER_SHARE)."""
    budget = Budget(4000)
    spent = budget.windows(int(epoch)) + (budget.reserve(int(epoch)) if share >= WORKER_SHARE else [])
    for window in spent:
        windows.counts[window.key] = window.limit


def world(suggest: str = "pass") -> Any:
    """The comment service with a paced check, the worker, and what they share."""
    from shared.services.comments import ContentCheck

    checker = Checker(suggest)
    w, comments, service = setup(checker)
    counters, queue, clock = FakeRateWindows(), FakeQueue(), [EPOCH]
    pacing = CheckPacing(counters, 4000, lambda: clock[0])
    service._content = ContentCheck(
        lambda: frozenset({"网赌"}), lambda: checker, lambda: pacing, lambda: queue
    )
    slept: list[float] = []
    worker = QueuedChecks(comments, w.users, lambda: checker, pacing, lambda: queue, w.clock, slept.append)
    return w, comments, service, worker, checker, counters, queue, clock, slept


def test_the_budget_splits_the_quota_over_its_shards() -> None:
    budget = Budget(4000)
    assert budget.shard_limit(INLINE_SHARE) == 300 and budget.shard_limit(WORKER_SHARE) == 450
    keys = {w.key for w in budget.windows(int(EPOCH), INLINE_SHARE)}
    assert len(keys) == BUDGET_SHARDS and all(k.startswith("content-check#") for k in keys)


def test_inline_until_the_share_is_spent_then_the_worker_keeps_its_own() -> None:
    counters, clock = FakeRateWindows(), [EPOCH]
    pacing = CheckPacing(counters, 4000, lambda: clock[0])
    granted = sum(pacing.inline() for _ in range(3000))
    assert 2000 < granted <= 2400  # a full shard refuses although another may have room
    fill(counters, INLINE_SHARE)
    assert not pacing.inline()
    assert sum(pacing.worker() for _ in range(2000)) == 3600 - 2400  # its reserve, under a burst
    assert not pacing.worker()
    clock[0] += 60  # the next minute: a fresh budget
    assert pacing.inline()


def test_after_a_burst_the_worker_borrows_what_posts_left_only_as_the_minute_passes() -> None:
    counters = FakeRateWindows()
    start = EPOCH - EPOCH % 60  # a minute's first second
    clock = [start]
    pacing = CheckPacing(counters, 4000, lambda: clock[0])
    taken = sum(pacing.worker() for _ in range(3000))
    assert 1200 <= taken < 1200 + 8 * 5 + 8  # its reserve, and a sixtieth of the inline share
    clock[0] = start + 30
    assert sum(pacing.inline() for _ in range(100)) == 100  # posts find their share
    taken += sum(pacing.worker() for _ in range(3000))
    assert taken <= 1200 + 2400 * 31 // 60
    clock[0] = start + 59
    taken += sum(pacing.worker() for _ in range(3000))
    assert taken == 3600 - 100  # by the minute's end: all the posts left of it


def test_under_the_share_a_post_is_checked_inline_and_counted() -> None:
    w, comments, service, _, checker, *_ = world()
    view = service.post(w.users.get(ALICE), ARTICLE, "剂量如何调整？", None, None)
    assert view["state"] == "visible" and checker.checked == ["剂量如何调整？"]
    assert count(comments) == 1


def test_past_the_share_the_comment_is_held_its_id_queued_and_nothing_checked() -> None:
    w, comments, service, _, checker, counters, queue, *_ = world()
    fill(counters, INLINE_SHARE)
    view = service.post(w.users.get(ALICE), ARTICLE, "高峰时的评论", None, None)
    assert view["state"] == "held" and view["mine"] is True
    assert queue.sent == [view["id"]] and checker.checked == []
    assert count(comments) == 0
    assert comments.get(rules.parse_comment_id(view["id"])).held_for == rules.HELD_FOR_CHECK


def test_a_blocked_word_is_refused_before_any_budget_is_spent() -> None:
    w, _, service, _, _, counters, queue, *_ = world()
    with pytest.raises(errors.ContentRejected):
        service.post(w.users.get(ALICE), ARTICLE, "网赌广告", None, None)
    assert counters.counts == {} and queue.sent == []


def test_a_text_the_check_cannot_take_inline_waits_for_a_moderator() -> None:
    w, comments, service, _, checker, *_ = world()
    checker.fail = errors.ContentUncheckable("wechat_61010")
    view = service.post(w.users.get(ALICE), ARTICLE, "评论", None, None)
    assert view["state"] == "held"
    assert comments.get(rules.parse_comment_id(view["id"])).held_for == rules.HELD_UNCHECKABLE


def queued_comment(suggest: str = "pass") -> Any:
    parts = world(suggest)
    w, _, service, _, _, counters, *_ = parts
    fill(counters, INLINE_SHARE)
    view = service.post(w.users.get(ALICE), ARTICLE, "高峰时的评论", None, None)
    return (*parts, view["id"])


@pytest.mark.parametrize(
    ("suggest", "status", "held_for", "counted"),
    [
        ("pass", rules.VISIBLE, None, 1),
        ("review", rules.HELD, rules.HELD_FOR_REVIEW, 0),
        ("risky", rules.HIDDEN, None, 0),
    ],
)
def test_the_worker_settles_on_the_verdict_and_counts_once(
    suggest: str, status: str, held_for: str | None, counted: int
) -> None:
    _, comments, _, worker, checker, *_, public_id = queued_comment()
    checker.suggest = suggest
    worker.check(public_id)
    settled = comments.get(rules.parse_comment_id(public_id))
    assert (settled.status, settled.held_for) == (status, held_for)
    assert count(comments) == counted
    assert worker.check(public_id) == "settled"  # a second delivery changes nothing
    assert count(comments) == counted


def test_the_worker_sends_what_the_check_cannot_take_to_a_moderator() -> None:
    _, comments, _, worker, checker, *_, public_id = queued_comment()
    checker.fail = errors.ContentUncheckable("wechat_61010")
    assert worker.check(public_id) == rules.HELD_UNCHECKABLE
    assert comments.get(rules.parse_comment_id(public_id)).held_for == rules.HELD_UNCHECKABLE


def test_a_comment_deleted_before_its_check_stays_deleted() -> None:
    w, comments, service, worker, checker, *_, public_id = queued_comment()
    service.delete(w.users.get(ALICE), public_id)
    assert worker.check(public_id) == "settled"
    assert checker.checked == [] and count(comments) == 0
    assert comments.get(rules.parse_comment_id(public_id)).status == rules.DELETED


def test_a_busy_check_delivers_the_message_again_after_a_growing_pause() -> None:
    _, comments, _, worker, checker, _, queue, *_, public_id = queued_comment()
    checker.fail = errors.UpstreamUnavailable("content_check")
    record = {
        "messageId": "m1",
        "receiptHandle": "r1",
        "body": json.dumps({"c": public_id}),
        "attributes": {"ApproximateReceiveCount": "3"},
    }
    assert worker.deliver([record], lambda: 100.0) == ["m1"]
    assert queue.later == [("r1", 120)]
    assert [backoff(n) for n in (1, 2, 3, 6, 20)] == [30, 60, 120, 900, 900]
    checker.fail = None
    assert worker.deliver([record], lambda: 100.0) == []
    assert count(comments) == 1


def test_the_worker_waits_for_the_next_minute_when_its_share_is_spent() -> None:
    _, comments, _, worker, _, counters, _, clock, slept, public_id = queued_comment()
    fill(counters, WORKER_SHARE)
    with pytest.raises(NotYet):  # no time left to wait in this invocation: the message comes back
        worker.check(public_id, lambda: 5.0)

    def next_minute(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    worker._sleep = next_minute
    assert worker.check(public_id, lambda: 170.0) == rules.VISIBLE
    assert 0 < slept[-1] <= 61 and count(comments) == 1


def test_a_message_before_its_comment_landed_comes_back_and_one_never_stored_is_dropped() -> None:
    _, _, _, worker, *_ = world()
    with pytest.raises(NotYet):
        worker.check(f"{new_id()}.{ARTICLE}")
    assert worker.check(f"01ARZ3NDEKTSV4RRFFQ69G5FAV.{ARTICLE}") == "never_stored"
    assert worker.check("not-a-comment-id") == "dropped"


def test_a_moderators_restore_before_the_check_stands() -> None:
    _, comments, _, worker, checker, *_, public_id = queued_comment()
    ref = rules.parse_comment_id(public_id)
    assert ref is not None
    comments.items[(ref.article_id, ref.comment_id)] = replace(
        comments.get(ref), status=rules.VISIBLE, held_for=None
    )
    assert worker.check(public_id) == "settled" and checker.checked == []
