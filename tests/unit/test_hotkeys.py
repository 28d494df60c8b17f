"""The hot-key report's arithmetic: how a request type's key uses become units a second per key."""

from __future__ import annotations

from infra.bench import hotkeys
from infra.bench.hotkeys import KeyUse, Profile


def _profiles(**uses: list[KeyUse]) -> dict[str, Profile]:
    return {name: Profile(name, list(found)) for name, found in uses.items()}


def test_constant_keys_take_the_whole_rate_and_user_keys_a_millionth() -> None:
    me = [KeyUse("users", "<user>", read=0.5), KeyUse("catalog", "CURRENT", read=0.5)]
    rows = {(r.target, r.key): r for r in hotkeys.apply_mix(_profiles(me=me))}
    assert rows[("catalog", "CURRENT")].reads == 0.5 * 2000
    assert rows[("users", "<user>")].reads == 0.5 * 2000 / hotkeys.USERS


def test_the_detail_reads_split_between_the_hot_article_and_the_others() -> None:
    detail = [
        KeyUse("articles", "<hot>", read=1.0, weight=0.8),
        KeyUse("articles", "<article>", read=1.0, weight=0.2),
    ]
    rows = {r.key: r for r in hotkeys.apply_mix(_profiles(detail=detail))}
    assert rows["<hot>"].reads == 16_000
    assert rows["<article>"].reads == 20_000 * 0.2 / hotkeys.OTHER_ARTICLES
    assert rows["<hot>"].share == 16_000 / hotkeys.PARTITION_RCU


def test_a_key_of_its_own_per_request_gets_one_requests_worth() -> None:
    submit = [KeyUse("submissions", "<new>", write=2.0)]
    (row,) = hotkeys.apply_mix(_profiles(verification_submit=submit))
    assert row.writes == 2.0


def test_keys_are_made_general() -> None:
    found = hotkeys.general(
        [
            KeyUse("t", "rate#u1#m#1"),
            KeyUse("t", "01J0BENCH0000000000000000A"),
            KeyUse("t", "dhash:0123456789abcdef"),
        ],
        {"u1": "<user>"},
    )
    assert [u.key for u in found] == ["rate#<user>#m#1", "<new>", "dhash:<new>"]


def test_the_content_check_rate_and_the_drain_of_a_burst() -> None:
    profiles = _profiles(comment_post=[], check_worker=[])
    profiles["comment_post"].content_checks = 1  # every post checked inline: far over the quota
    assert hotkeys.content_check_rate(profiles) == 60_000
    lines: list[str] = []
    assert hotkeys.report(profiles, print_=lines.append) is False
    assert any("MISSED" in line and "content check" in line for line in lines)
    # paced: 4% of the posts inline (40 a second), the worker 20 a second during the burst
    profiles["comment_post"].content_checks = hotkeys.INLINE_FRACTION
    profiles["check_worker"].content_checks = 1
    assert hotkeys.content_check_rate(profiles) == 3_600
    lines.clear()
    assert hotkeys.report(profiles, print_=lines.append) is True
    # 940 a second queue for 10 minutes (564,000), drained at 60 a second after: 9,400 s
    assert hotkeys.drain_seconds() == 9_400
    assert hotkeys.drain_seconds(30) == 0.0  # under the inline share nothing queues
    assert any("drains 9,400 s" in line for line in lines)


def test_the_budget_counters_spread_over_their_shards() -> None:
    found = hotkeys.general([KeyUse("comment_guards", "content-check#1764500000#3", write=1)], {})
    assert found[0].key == "content-check#<minute>#<shard>"
    (row,) = hotkeys.apply_mix(_profiles(comment_post=found))
    assert row.writes == 1_000 / 8  # 125 WCU a second: 12.5% of a partition


def test_a_tables_total_is_every_key_of_each_form_not_one_key() -> None:
    detail = [
        KeyUse("articles", "<hot>", read=1.0, weight=0.8),
        KeyUse("articles", "<article>#count#<shard>", read=0.5, weight=0.2),
    ]
    submit = [KeyUse("submissions", "<new>", write=2.0), KeyUse("users", "<user>", read=1.0)]
    totals = hotkeys.totals(_profiles(detail=detail, verification_submit=submit))
    assert totals["articles"] == (16_000 + 0.5 * 4_000, 0.0)
    assert totals["submissions"] == (0.0, 200.0)
    assert totals["users"] == (100.0, 0.0)


def test_a_cached_read_totals_its_refreshes_over_its_keys() -> None:
    # 1,000 containers busy on the detail each refresh the counters every 5 s, on each of the
    # 100 other articles' 8 counters: at most 200 a second a key, 40 a second asked
    cached = [KeyUse("articles", "<article>#count#<shard>", read=0.5, weight=0.2, period=5.0)]
    (row,) = hotkeys.apply_mix(_profiles(detail=cached))
    assert row.reads == 0.5 * 20_000 * 0.2 / hotkeys.OTHER_ARTICLES / 8
    assert hotkeys.totals(_profiles(detail=cached))["articles"][0] == 0.5 * 4_000
    hot = [KeyUse("articles", "<hot>", read=1.0, weight=0.8, period=60.0)]
    assert hotkeys.totals(_profiles(detail=hot))["articles"][0] == 20_000 * hotkeys.REQUEST_SECONDS / 60


def test_moto_time_counts_overlapping_calls_once() -> None:
    from infra.bench.depth import _union

    assert _union([]) == 0.0
    assert _union([(0.0, 1.0), (0.5, 2.0), (3.0, 4.0), (3.2, 3.5)]) == 3.0


def test_a_comment_written_to_the_hot_articles_first_partition_spreads_as_the_others() -> None:
    uses = [
        KeyUse("hcp-test-comments", "hypertension-elderly", write=2.0),  # a post, on partition 0
        KeyUse("hcp-test-comments", "hypertension-elderly", read=1.0),  # a page's Query of it
    ]
    found = hotkeys.general(uses, {"hypertension-elderly": "<hot>"})
    assert [u.key for u in found] == ["<hot>#<shard>", "<hot>"]
    rows = {r.key: r for r in hotkeys.apply_mix(_profiles(comment_post=found[:1]))}
    assert rows["<hot>#<shard>"].writes == 2.0 * 1_000 / hotkeys.HOT_PARTITIONS
