"""Reviewer messages batched per window: a burst of submissions loses nothing and floods no one.

SNS suspends an e-mail subscription sent more than about 10 messages a second. With a window of
`reviewerBatchSeconds`, a reviewer gets at most one message per window, and that message carries
the link of every waiting submission their channel has not had (the oldest MAX_LINKS_PER_MESSAGE).
"""

from __future__ import annotations

import itertools
import math
import re
from collections import defaultdict
from datetime import UTC, datetime

import pytest

from shared.domain.verification import Reviewer, Submission
from shared.errors import ChannelFailed
from shared.services.notifier import MAX_LINKS_PER_MESSAGE, Notifier
from tests.unit.fakes import Clock, FakeNotifications, FakeReviewers, FakeWindows

WINDOW = 60
START = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
LINK = re.compile(r"/review/(\w+)\?t=tok-(\w+)")


class Statuses:
    """The submissions as the notifier reads them: their status alone matters here."""

    def __init__(self) -> None:
        self.status: dict[str, str] = {}

    def get(self, submission_id: str) -> Submission | None:
        status = self.status.get(submission_id)
        if status is None:
            return None
        return Submission(submission_id, "u", 1, status, "n", "h", "d", "t", "p", None, (), START)


class Channels:
    """E-mail and robots, each message kept with the time it went and the reviewer it went to."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.sent: list[tuple[str, datetime, str]] = []  # (reviewer:channel, when, text)
        self.robots = {"https://robot.example/2": "r2", "https://robot.example/3": "r3"}
        self.mail_down = False

    def send(self, reviewer_id: str, subject: str, text: str) -> None:  # the e-mail topic
        if self.mail_down:
            raise ChannelFailed("sns:Throttling")
        self.sent.append((f"{reviewer_id}:sns", self.clock(), text))

    def post(self, url: str, secret: str | None, text: str) -> None:  # a robot
        self.sent.append((f"{self.robots[url]}:webhook", self.clock(), text))


class Robots:
    def __init__(self, channels: Channels) -> None:
        self.channels = channels

    def send(self, url: str, secret: str | None, text: str) -> None:
        self.channels.post(url, secret, text)


class World:
    def __init__(self, batch: int = WINDOW) -> None:
        self.clock = Clock(START)
        self.notifications = FakeNotifications()
        self.submissions = Statuses()
        self.windows = FakeWindows()
        self.channels = Channels(self.clock)
        self.reviewers = FakeReviewers(
            Reviewer("r1", "甲", START, email="r1@example.com"),
            Reviewer("r2", "值班群", START, webhook="https://robot.example/2"),
            Reviewer("r3", "乙", START, email="r3@example.com", webhook="https://robot.example/3"),
        )
        self.notifier = Notifier(
            self.reviewers,
            self.notifications,
            self.submissions,
            lambda reviewer, sid, revision: f"https://api.example/review/{sid}?t=tok-{reviewer}",
            self.channels,
            Robots(self.channels),
            None,
            lambda param: "secret",
            self.clock,
            self.windows,
            batch,
            "https://api.example/console/verifications",
        )
        self.count = 0

    def submit(self) -> str:
        self.count += 1
        sid = f"S{self.count:05d}"
        self.submissions.status[sid] = "pending"
        self.notifications.add(sid, 1, self.clock())
        self.notifier.deliver_new(sid, 1)
        return sid

    def scheduled_retries(self, limit: int = 100) -> int:
        """The retry every minute until nothing is pending; how many runs it took."""
        for run in range(1, limit + 1):
            self.clock.advance(seconds=60)
            self.notifier.retry_due()
            if not self.notifications.waiting(1000):
                return run
        raise AssertionError("notifications still pending")

    def links_by_channel(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = defaultdict(list)
        for channel, _, text in self.channels.sent:
            for sid, reviewer in LINK.findall(text):
                assert channel.startswith(f"{reviewer}:"), "a link went to another reviewer"
                found[channel].append(sid)
        return found


CHANNELS = ["r1:sns", "r2:webhook", "r3:sns", "r3:webhook"]


@pytest.mark.parametrize("burst", [1, 2, 10, 11, 37, 120])
def test_a_burst_reaches_every_reviewer_channel_once_per_link_in_few_messages(burst: int) -> None:
    world = World()
    ids = []
    for _ in range(burst):  # ten a second
        ids.append(world.submit())
        world.clock.advance(seconds=0.1)
    world.scheduled_retries()
    links = world.links_by_channel()
    assert sorted(links) == CHANNELS
    per_channel: dict[str, list[datetime]] = defaultdict(list)
    for channel, at, _ in world.channels.sent:
        per_channel[channel].append(at)
    # the first link goes at once, alone; the rest in messages of at most MAX_LINKS_PER_MESSAGE
    bound = 1 + math.ceil((burst - 1) / MAX_LINKS_PER_MESSAGE)
    for channel in CHANNELS:
        assert sorted(links[channel]) == ids, channel  # every link exactly once
        assert len(per_channel[channel]) <= bound, (channel, len(per_channel[channel]), bound)
        times = per_channel[channel]
        assert all((b - a).total_seconds() >= WINDOW for a, b in itertools.pairwise(times))
    assert all(n.outcome == "delivered" and not n.pending for n in world.notifications.items.values())


def test_no_reviewer_gets_more_than_one_message_a_window_over_a_long_stream() -> None:
    """Submissions keep arriving for ten minutes, one every 7 seconds, while the retry runs."""
    world = World()
    ids = []
    for second in range(0, 600, 7):
        ids.append(world.submit())
        world.clock.advance(seconds=7)
        if second % 60 < 7:
            world.notifier.retry_due()
    world.scheduled_retries()
    for channel, sids in world.links_by_channel().items():
        assert sorted(sids) == ids, channel
    by_reviewer: dict[str, set[datetime]] = defaultdict(set)
    for channel, at, _ in world.channels.sent:
        by_reviewer[channel.split(":")[0]].add(at)
    for times in by_reviewer.values():
        ordered = sorted(times)
        assert all((b - a).total_seconds() >= WINDOW for a, b in itertools.pairwise(ordered))
        assert len(ordered) <= 600 // WINDOW + 2


def test_a_channel_that_fails_keeps_its_links_for_a_later_message() -> None:
    world = World()
    world.channels.mail_down = True
    first = [world.submit() for _ in range(3)]
    assert world.windows.sent_at.get("r1") is None  # nothing reached r1: its window was given back
    world.clock.advance(seconds=5)
    world.channels.mail_down = False
    second = [world.submit() for _ in range(2)]  # r1's window is open: it gets these, and the owed
    world.scheduled_retries(limit=400)
    for channel, sids in world.links_by_channel().items():
        assert sorted(set(sids)) == first + second, channel
        assert len(sids) == len(set(sids)), channel  # never twice


def test_a_submission_decided_before_its_batch_is_not_sent() -> None:
    world = World()
    world.submit()
    late = [world.submit() for _ in range(3)]
    world.submissions.status[late[0]] = "approved"  # decided through the console meanwhile
    world.submissions.status[late[1]] = "withdrawn"
    world.scheduled_retries()
    for sids in world.links_by_channel().values():
        assert late[0] not in sids and late[1] not in sids and late[2] in sids
    assert world.notifications.items[late[0]].outcome == "moot"


def test_a_burst_costs_one_window_claim_per_reviewer_and_no_read_while_windows_are_taken() -> None:
    world = World()
    world.submit()
    reads_before = world.notifications.writes, world.windows.claims
    for _ in range(20):
        world.submit()
    writes, claims = world.notifications.writes - reads_before[0], world.windows.claims - reads_before[1]
    assert claims == 20 * 3  # each submission tries each reviewer's window once
    assert writes == 20  # and records that it waits, once


def test_without_a_window_each_link_goes_at_once_alone() -> None:
    world = World(batch=0)
    ids = [world.submit() for _ in range(4)]
    assert len(world.channels.sent) == 4 * len(CHANNELS)
    for channel, sids in world.links_by_channel().items():
        assert sids == ids, channel
    assert world.windows.claims == 0
