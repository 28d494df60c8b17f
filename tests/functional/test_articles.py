"""Articles and comments through the handlers (moto in-process, the fake WeChat on loopback)."""

from __future__ import annotations

import threading
import time
import unicodedata
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from infra.bench.capacity import capacity
from infra.fake_wechat import FakeWeChatServer
from infra.metering import metered
from infra.ops import articles as article_ops
from shared.domain.articles import COUNT_SHARDS
from shared.domain.comments import (
    COMMENTS_PER_DAY,
    COMMENTS_PER_MINUTE,
    MAX_COMMENT_CHARS,
    rate_key,
    window_end,
)
from shared.services.articles import COUNT_SECONDS
from shared.store.articles import ArticleItem, ArticleRepository, CountShardItem, body_key, count_key
from shared.store.base import connection_for
from shared.store.comments import CommentItem
from shared.store.rates import RateWindowItem
from shared.store.users import UserItem
from tests.functional.article_helpers import (
    ARTICLE,
    OTHER_ARTICLE,
    all_comments,
    count,
    post,
    seed_articles,
    verified,
    with_submission,
)
from tests.functional.conftest import Api
from tests.functional.consent_helpers import consented

CHECK = "/wxa/msg_sec_check"


@pytest.fixture
def alice(api: Api) -> str:
    seed_articles()
    return verified(api, "alice")


def tokens_of(api: Api, names: list[str]) -> list[str]:
    found = []
    for name in names:
        verified(api, name)
        assert api.token
        found.append(api.token)
    return found


# ---- articles ----


def test_the_list_is_newest_first_and_pages_with_a_signed_cursor(api: Api, alice: str) -> None:
    first = api.get("/v1/articles?limit=2")
    assert first.status == 200
    assert [a["id"] for a in first.body["items"]] == [
        "perioperative-anticoagulation",
        "antibiotic-stewardship",
    ]
    item = first.body["items"][0]
    assert set(item) >= {
        "id",
        "title",
        "published_at",
        "author",
        "original",
        "source",
        "summary",
        "comment_count",
    }
    assert item["original"] is False and item["source"]
    assert "sections" not in item
    rest = api.get(f"/v1/articles?limit=2&cursor={first.body['next_cursor']}")
    assert [a["id"] for a in rest.body["items"]] == [ARTICLE]
    forged = first.body["next_cursor"][:-2] + ("AA" if not first.body["next_cursor"].endswith("AA") else "BB")
    reply = api.get(f"/v1/articles?cursor={forged}")
    assert reply.status == 400 and reply.body["error"]["code"] == "bad_request"


def test_a_demo_article_has_its_sections(api: Api, alice: str) -> None:
    reply = api.get(f"/v1/articles/{ARTICLE}")
    assert reply.status == 200
    article = reply.body
    assert article["title"].startswith("老年高血压") and article["original"] is True
    assert article["comment_count"] == 0
    assert len(article["sections"]) >= 4
    assert all(s["heading"] and s["body"] for s in article["sections"])
    kinds = [(s["kind"], s["heading"][:2]) for s in article["sections"]]
    assert kinds[0] == ("qa", "老年") and kinds[-1] == ("text", "声明")  # 问： marks a question
    assert not any(s["heading"].startswith("问") for s in article["sections"] if s["kind"] == "qa")
    assert "## " not in "".join(s["body"] for s in article["sections"])


def test_an_unknown_article_is_404(api: Api, alice: str) -> None:
    for path in ("/v1/articles/no-such-article", "/v1/articles/BAD..id", "/v1/articles/" + "a" * 65):
        reply = api.get(path)
        assert reply.status == 404 and reply.body["error"]["code"] == "not_found"


def test_an_unverified_user_sees_the_list_but_not_the_article_or_comments(api: Api) -> None:
    seed_articles()
    consented(api, "bob")
    assert api.get("/v1/articles").status == 200
    for reply in (
        api.get(f"/v1/articles/{ARTICLE}"),
        api.get(f"/v1/articles/{ARTICLE}/comments"),
        post(api, "你好"),
        api.delete(f"/v1/comments/01J00000000000000000000000.{ARTICLE}"),
    ):
        assert reply.status == 403
        assert reply.body["error"]["code"] == "verification_required"


def test_without_the_agreement_nothing_is_served(api: Api) -> None:
    seed_articles()
    api.login("carol")
    reply = api.get("/v1/articles")
    assert reply.status == 403 and reply.body["error"]["code"] == "consent_required"
    assert api.get("/v1/articles", token="").status == 401


def test_reading_costs_the_gate_plus_one_call_then_only_the_gate(
    api: Api, alice: str, aged: list[float]
) -> None:
    api.get("/v1/consents/documents")  # warms the container's consent catalog
    with metered() as meter:
        assert api.get(f"/v1/articles/{ARTICLE}").status == 200
    assert meter.calls == ["GetItem", "BatchGetItem"]  # the head, the body and the counters at once
    with metered() as meter:
        assert api.get("/v1/articles").status == 200
    assert meter.calls == ["GetItem", "Query", "BatchGetItem"]  # the feed, then its counters
    with metered() as meter:  # within the periods, the container's caches answer
        assert api.get(f"/v1/articles/{ARTICLE}").status == 200
        assert api.get("/v1/articles").status == 200
    assert meter.calls == ["GetItem", "GetItem"]
    aged[0] += COUNT_SECONDS + 1
    with metered() as meter:  # the counts are older than their period: they alone are read again
        assert api.get(f"/v1/articles/{ARTICLE}").status == 200
    assert meter.calls == ["GetItem", "BatchGetItem"]


# ---- posting ----


def test_a_comment_is_posted_normalized_and_counted(api: Api, alice: str) -> None:
    decomposed = unicodedata.normalize("NFD", "  请问\u0007 老年患者的café目标？\r\n第二行\u202e  ")
    reply = post(api, decomposed)
    assert reply.status == 201, reply.body
    comment = reply.body
    assert comment["text"] == "请问 老年患者的café目标？\n第二行"
    assert unicodedata.is_normalized("NFC", comment["text"])
    assert comment["id"].endswith(f".{ARTICLE}") and comment["reply_to"] is None
    assert comment["author"]["display_name"] and comment["author"]["verified"] is True
    assert count(api) == 1
    listed = api.get(f"/v1/articles/{ARTICLE}/comments").body
    assert listed["items"][0]["id"] == comment["id"] and listed["next_cursor"] is None


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("字" * MAX_COMMENT_CHARS, 201),
        ("字" * (MAX_COMMENT_CHARS + 1), 400),
        ("   ", 400),
        ("\u0000\u0001", 400),
        ("", 400),
    ],
)
def test_text_length_is_checked_after_trimming(api: Api, alice: str, text: str, status: int) -> None:
    reply = post(api, text)
    assert reply.status == status, reply.body
    if status == 400:
        assert "1,000" in reply.body["error"]["message"]
        assert count(api) == 0


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "{",
        "[]",
        "null",
        '{"text": 1}',
        '{"text": "a", "x": 1}',
        '{"reply_to": "x"}',
        '{"text": "\\ud800"}',
    ],
)
def test_no_malformed_comment_gets_a_500(api: Api, alice: str, raw: str) -> None:
    reply = api.post(f"/v1/articles/{ARTICLE}/comments", raw=raw)
    assert 400 <= reply.status < 500, reply.body


def test_posting_to_an_unknown_article_is_404_and_counts_nothing(api: Api, alice: str) -> None:
    reply = post(api, "你好", article="no-such-article")
    assert reply.status == 404
    assert CommentItem.count("no-such-article") == 0
    assert RateWindowItem.count() == 0  # no rate window was spent


def test_posting_costs_the_gate_the_checks_budget_and_one_transaction(api: Api, alice: str) -> None:
    assert post(api, "预热").status == 201
    with metered() as meter:
        assert post(api, "第二条评论").status == 201
    # the gate's read, a unit of the content check's inline share (one shard), the transaction
    assert meter.calls == ["GetItem", "UpdateItem", "TransactWriteItems"]


def test_a_post_and_a_delete_cost_the_same_on_a_long_article(
    api: Api, alice: str, aws: Any, tmp_path: Path
) -> None:
    source = next(p for p in article_ops.seed_files() if ARTICLE in p.read_text(encoding="utf-8"))
    long = tmp_path / "long.md"
    text = source.read_text(encoding="utf-8").replace(f"id: {ARTICLE}", "id: long-article")
    long.write_text(text + "\n## 问：补充\n" + "答：" + "长" * 3000 + "\n", "utf-8")  # ~9 KB more
    assert article_ops.import_article(long) == "created"
    units: dict[str, tuple[float, float]] = {}
    for article in (ARTICLE, "long-article"):
        assert post(api, "预热", article=article).status == 201
        with capacity(aws.region) as posted:
            comment = post(api, "计费的评论", article=article).body["id"]
        with capacity(aws.region) as deleted:
            assert api.delete(f"/v1/comments/{comment}").status == 200
        units[article] = (posted.write, deleted.write)
    assert units["long-article"] == units[ARTICLE]
    assert count(api, article="long-article") == 1


def test_replies_must_name_a_live_comment_of_the_same_article(api: Api, alice: str) -> None:
    parent = post(api, "原评论").body["id"]
    other = post(api, "另一篇的评论", article=OTHER_ARTICLE).body["id"]
    reply = api.post(f"/v1/articles/{ARTICLE}/comments", {"text": "回复", "reply_to": parent})
    assert reply.status == 201 and reply.body["reply_to"] == parent
    for bad in (other, "nonsense", f"01J00000000000000000000000.{ARTICLE}"):
        refused = api.post(f"/v1/articles/{ARTICLE}/comments", {"text": "回复", "reply_to": bad})
        assert refused.status == 400, bad
    assert count(api) == 2


def test_fifty_concurrent_posts_keep_the_count_exact(api: Api, alice: str, atomic_moto: None) -> None:
    tokens = tokens_of(api, [f"doc{i}" for i in range(10)])
    results: list[int] = []
    lock = threading.Lock()

    def one(token: str, n: int) -> None:
        reply = post(Api(), f"并发评论 {n}", token=token)
        with lock:
            results.append(reply.status)

    threads = [threading.Thread(target=one, args=(tokens[n % 10], n)) for n in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert results.count(201) == 50, results
    assert count(api) == 50
    listed = all_comments(api, limit=50)
    assert len(listed) == 50
    assert {c["text"] for c in listed} == {f"并发评论 {n}" for n in range(50)}
    found = ArticleRepository().get(ARTICLE, fresh=True)
    assert found is not None and found[0].head.comment_count + found[1] == 50
    shards = [
        int(i.delta) for i in CountShardItem.batch_get([count_key(ARTICLE, k) for k in range(COUNT_SHARDS)])
    ]
    assert sum(shards) == 50 and sum(1 for n in shards if n) > 1  # the writes spread over the shards


def test_paging_adds_up_to_the_count_and_a_deep_page_costs_the_same(api: Api, alice: str) -> None:
    tokens = tokens_of(api, [f"writer{i}" for i in range(5)])
    for n in range(23):
        assert post(api, f"评论 {n}", token=tokens[n % 5]).status == 201
    listed = all_comments(api, limit=5)
    assert len(listed) == count(api) == 23
    assert [c["text"] for c in listed] == [f"评论 {n}" for n in reversed(range(23))]  # newest first
    first = api.get(f"/v1/articles/{ARTICLE}/comments?limit=5")
    deep = first
    for _ in range(3):
        deep = api.get(f"/v1/articles/{ARTICLE}/comments?limit=5&cursor={deep.body['next_cursor']}")
    with metered() as meter:
        api.get(f"/v1/articles/{ARTICLE}/comments?limit=5")
    with metered() as deep_meter:
        api.get(f"/v1/articles/{ARTICLE}/comments?limit=5&cursor={deep.body['next_cursor']}")
    assert meter.calls == deep_meter.calls == ["GetItem", "Query"]


def test_cursors_cannot_be_forged_or_moved_to_another_article(api: Api, alice: str) -> None:
    for n in range(3):
        post(api, f"评论 {n}")
    cursor = api.get(f"/v1/articles/{ARTICLE}/comments?limit=1").body["next_cursor"]
    assert cursor
    moved = api.get(f"/v1/articles/{OTHER_ARTICLE}/comments?cursor={cursor}")
    assert moved.status == 400
    payload, _, signature = cursor.rpartition(".")
    forged = api.get(f"/v1/articles/{ARTICLE}/comments?cursor={payload}.{signature[::-1]}")
    assert forged.status == 400
    articles_cursor = api.get("/v1/articles?limit=1").body["next_cursor"]
    assert api.get(f"/v1/articles/{ARTICLE}/comments?cursor={articles_cursor}").status == 400
    for limit in ("0", "51", "abc", "-1"):
        reply = api.get(f"/v1/articles/{ARTICLE}/comments?limit={limit}")
        assert reply.status == 400 and "50" in reply.body["error"]["message"]


def test_a_replayed_idempotency_key_writes_once(api: Api, alice: str) -> None:
    headers = {"Idempotency-Key": "phone-retry-1"}
    first = post(api, "网络不好时的评论", headers=headers)
    with metered() as meter:
        again = post(api, "网络不好时的评论", headers=headers)
    assert first.status == again.status == 201
    assert again.body == first.body
    # the gate, the check's budget, the refused transaction; the replay reads its guard
    assert meter.calls == ["GetItem", "UpdateItem", "TransactWriteItems", "GetItem"]
    assert count(api) == 1
    assert len(all_comments(api)) == 1
    different = post(api, "另一条内容", headers=headers)
    assert different.status == 409
    assert post(api, "网络不好时的评论", headers={"Idempotency-Key": "phone-retry-2"}).status == 201
    assert count(api) == 2


def test_a_key_is_per_user(api: Api, alice: str) -> None:
    headers = {"Idempotency-Key": "same-key"}
    assert post(api, "甲的评论", headers=headers).status == 201
    verified(api, "bob")
    assert post(api, "乙的评论", headers=headers).status == 201
    assert count(api) == 2


def test_the_minute_limit_answers_429_with_retry_after(api: Api, alice: str) -> None:
    if time.time() % 60 > 50:  # keep all posts in one minute window
        time.sleep(61 - time.time() % 60)
    for n in range(COMMENTS_PER_MINUTE):
        assert post(api, f"评论 {n}").status == 201
    limited = post(api, "第六条")
    assert limited.status == 429
    assert limited.body["error"]["code"] == "rate_limited"
    assert f"{COMMENTS_PER_MINUTE}" in limited.body["error"]["message"]
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert count(api) == COMMENTS_PER_MINUTE
    verified(api, "bob")
    assert post(api, "别人不受影响").status == 201


def test_the_day_limit_answers_429_until_the_day_ends(api: Api, alice: str) -> None:
    end = window_end(datetime.now(UTC), 86_400)
    RateWindowItem(rate_key(alice, "d", end), used=COMMENTS_PER_DAY).save()
    limited = post(api, "今天的第五十一条")
    assert limited.status == 429
    assert str(COMMENTS_PER_DAY) in limited.body["error"]["message"]
    assert 60 <= int(limited.headers["Retry-After"]) <= 86_400 or time.time() % 86_400 > 86_340
    assert count(api) == 0


# ---- content check ----


def test_a_blocked_word_is_rejected_without_asking_wechat(
    api: Api, alice: str, wechat: FakeWeChatServer
) -> None:
    before = len(wechat.state.calls)
    reply = post(api, "可以代开发票，私聊")
    assert reply.status == 422 and reply.body["error"]["code"] == "content_rejected"
    assert len(wechat.state.calls) == before
    assert count(api) == 0


def test_a_risky_text_is_rejected_by_msgseccheck(api: Api, alice: str, wechat: FakeWeChatServer) -> None:
    reply = post(api, "这是一段有风险的内容")
    assert reply.status == 422 and reply.body["error"]["code"] == "content_rejected"
    check = [p for path, p in wechat.state.calls if path == CHECK][-1]
    assert check["scene"] == 2 and check["version"] == 2 and check["openid"].startswith("o-dev-")
    assert count(api) == 0


def test_a_text_to_review_is_held_for_its_author_only(api: Api, alice: str, aged: list[float]) -> None:
    held = post(api, "这条需要待审")
    assert held.status == 201 and held.body["state"] == "held"
    assert count(api) == 0
    mine = api.get(f"/v1/articles/{ARTICLE}/comments").body["items"]
    assert [c["id"] for c in mine] == [held.body["id"]]
    author_token = api.token
    verified(api, "bob")
    assert api.get(f"/v1/articles/{ARTICLE}/comments").body["items"] == []
    assert count(api) == 0
    # an operator releases it: everyone sees it, and it is counted
    assert article_ops.main(["release", held.body["id"]]) == 0
    assert count(api) == 0  # readers may see the count a few seconds late...
    aged[0] += COUNT_SECONDS + 1
    assert count(api) == 1  # ...not more
    assert [c["id"] for c in api.get(f"/v1/articles/{ARTICLE}/comments").body["items"]] == [held.body["id"]]
    assert article_ops.main(["release", held.body["id"]]) == 1  # released once only
    assert api.delete(f"/v1/comments/{held.body['id']}", token=author_token).status == 200
    assert count(api, token=author_token) == 0  # the author sees their own write at once
    aged[0] += COUNT_SECONDS + 1
    assert count(api) == 0


def test_the_check_being_down_stores_nothing_and_says_retry(
    api: Api, alice: str, wechat: FakeWeChatServer
) -> None:
    wechat.state.fail_next(CHECK, -1, times=2)
    reply = post(api, "一条正常评论", headers={"Idempotency-Key": "k1"})
    assert reply.status == 503 and reply.body["error"]["code"] == "upstream_unavailable"
    assert reply.headers["Retry-After"]
    assert count(api) == 0 and CommentItem.count(ARTICLE) == 0
    retried = post(api, "一条正常评论", headers={"Idempotency-Key": "k1"})
    assert retried.status == 201
    assert count(api) == 1


def test_the_wechat_check_can_be_switched_off(
    api: Api, alice: str, wechat: FakeWeChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared import wiring

    monkeypatch.setenv("WECHAT_CONTENT_CHECK", "off")
    wiring.reset()
    before = len(wechat.state.calls)
    assert post(api, "不经微信检查").status == 201
    assert len(wechat.state.calls) == before
    assert post(api, "代开发票").status == 422  # the blocked words still apply


# ---- deleting ----


def test_delete_drops_the_count_once_and_replies_stay(api: Api, alice: str) -> None:
    parent = post(api, "将被删除的评论").body["id"]
    child = api.post(f"/v1/articles/{ARTICLE}/comments", {"text": "回复它", "reply_to": parent}).body["id"]
    assert count(api) == 2
    with metered() as meter:
        assert api.delete(f"/v1/comments/{parent}").status == 200
    assert meter.calls == ["GetItem", "TransactWriteItems"]
    assert count(api) == 1
    again = api.delete(f"/v1/comments/{parent}")
    assert again.status == 404
    assert count(api) == 1
    listed = all_comments(api)
    assert [c["id"] for c in listed] == [child]
    assert listed[0]["reply_to"] == parent
    stored = CommentItem.get(ARTICLE, parent.split(".")[0])
    assert stored.text is None and stored.status == "deleted"  # the text is gone, the tombstone stays
    refused = api.post(f"/v1/articles/{ARTICLE}/comments", {"text": "回复已删", "reply_to": parent})
    assert refused.status == 400


def test_a_spread_articles_comments_span_its_partitions_and_read_as_one(
    api: Api, alice: str, atomic_moto: None, aged: list[float]
) -> None:
    assert article_ops.main(["spread", ARTICLE, "4"]) == 0
    assert article_ops.main(["spread", ARTICLE, "2"]) == 1  # never lowered
    assert article_ops.main(["spread", "no-such-article", "4"]) == 1
    aged[0] += 61  # posters and readers take it within a minute
    tokens = tokens_of(api, [f"spread{i}" for i in range(6)])
    results: list[tuple[int, str]] = []
    lock = threading.Lock()

    def one(token: str, n: int) -> None:
        reply = post(Api(), f"分区评论 {n}", token=token)
        with lock:
            results.append((reply.status, str((reply.body or {}).get("id"))))

    threads = [threading.Thread(target=one, args=(tokens[n % 6], n)) for n in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert [status for status, _ in results].count(201) == 24, results
    partitions = {i.split(".")[2] if i.count(".") == 2 else "0" for _, i in results}
    assert len(partitions) > 1  # the writes spread
    listed = all_comments(api, limit=5)
    assert [c["id"] for c in listed] == sorted((i for _, i in results), reverse=True)  # newest first
    with metered() as meter:
        assert api.get(f"/v1/articles/{ARTICLE}/comments", token=tokens[0]).status == 200
    assert meter.calls.count("Query") <= 4  # at most one a partition (or the cached page)
    assert count(api, token=tokens[0]) == 24
    sharded = next(i for _, i in results if i.count(".") == 2)
    owner = next(t for t in tokens if api.delete(f"/v1/comments/{sharded}", token=t).status == 200)
    assert count(api, token=owner) == 23
    assert api.delete(f"/v1/comments/{sharded}", token=owner).status == 404


def test_only_the_author_deletes(api: Api, alice: str) -> None:
    comment = post(api, "甲的评论").body["id"]
    verified(api, "bob")
    reply = api.delete(f"/v1/comments/{comment}")
    assert reply.status == 403 and reply.body["error"]["code"] == "forbidden"
    for bad in ("nonsense", f"01J00000000000000000000000.{ARTICLE}", "x" * 300):
        assert api.delete(f"/v1/comments/{bad}").status == 404
    assert count(api) == 1


def test_concurrent_deletes_drop_the_count_once(api: Api, alice: str, atomic_moto: None) -> None:
    comment = post(api, "被并发删除").body["id"]
    post(api, "留下的评论")
    token = api.token
    statuses: list[int] = []

    def delete() -> None:
        statuses.append(Api().delete(f"/v1/comments/{comment}", token=token).status)

    threads = [threading.Thread(target=delete) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert statuses.count(200) == 1 and set(statuses) <= {200, 404, 409}
    assert count(api) == 1


# ---- who is shown ----


def test_the_author_is_shown_as_surname_and_title_never_the_name(api: Api, alice: str) -> None:
    submission = with_submission(alice, "王小明", "doctor", "心内科")
    first = post(api, "第一条")
    assert first.status == 201
    assert first.body["author"] == {"display_name": "王医生", "verified": True, "department": "心内科"}
    user = UserItem.get(alice)
    assert user.author_name == "王医生" and user.author_source == submission
    with metered() as meter:  # remembered on the user item: no more reads
        assert post(api, "第二条").body["author"]["display_name"] == "王医生"
    assert meter.calls == ["GetItem", "UpdateItem", "TransactWriteItems"]  # UpdateItem: the check's budget
    verified(api, "bob")
    page = api.get(f"/v1/articles/{ARTICLE}/comments")
    assert "王小明" not in page.text and alice not in page.text
    assert [c["mine"] for c in page.body["items"]] == [False, False]


@pytest.mark.parametrize(
    ("name", "profession", "shown"),
    [
        ("欧阳娜娜", "nurse", "欧阳护士"),
        ("李雷", "pharmacist", "李药师"),
        ("John Smith", "doctor", "认证医生"),
    ],
)
def test_display_names(api: Api, alice: str, name: str, profession: str, shown: str) -> None:
    with_submission(alice, name, profession, "药剂科")
    assert post(api, "评论").body["author"]["display_name"] == shown


# ---- your data ----


def test_export_lists_comments_and_deletion_leaves_them_from_a_deleted_user(api: Api, alice: str) -> None:
    with_submission(alice, "张三", "doctor", "呼吸科")
    kept = post(api, "会留下的评论").body["id"]
    post(api, "另一篇", article=OTHER_ARTICLE)
    exported = api.get("/v1/me/export")
    assert exported.status == 200
    assert {c["id"] for c in exported.body["comments"]} >= {kept}
    assert {c["text"] for c in exported.body["comments"]} == {"会留下的评论", "另一篇"}
    assert api.delete("/v1/me").status == 200
    verified(api, "bob")
    comment = api.get(f"/v1/articles/{ARTICLE}/comments").body["items"][0]
    assert comment["id"] == kept and comment["text"] == "会留下的评论"
    assert comment["author"] == {"display_name": "已注销用户", "verified": False, "department": None}
    assert count(api) == 1
    stored = CommentItem.get(ARTICLE, kept.split(".")[0])
    assert stored.author_id is None
    assert list(CommentItem.by_author.query(alice)) == []


# ---- ops ----


def test_import_is_idempotent_and_never_touches_the_count(api: Api, alice: str, tmp_path: Path) -> None:
    assert set(seed_articles().values()) == {"unchanged"}
    post(api, "计数中的评论")
    source = next(p for p in article_ops.seed_files() if ARTICLE in p.read_text(encoding="utf-8"))
    changed = tmp_path / source.name
    changed.write_text(
        source.read_text(encoding="utf-8").replace("答：应个体化。", "答：应当个体化。"), "utf-8"
    )
    assert article_ops.import_article(changed) == "updated"
    assert article_ops.import_article(changed) == "unchanged"
    article = api.get(f"/v1/articles/{ARTICLE}").body
    assert article["comment_count"] == 1
    assert "应当个体化" in article["sections"][0]["body"]


def test_an_article_stored_as_one_item_is_served_and_split_on_reimport(api: Api, alice: str) -> None:
    """Articles imported before heads and bodies were split keep their sections on the head."""
    client = connection_for(ArticleItem).client
    table_name = ArticleItem.Meta.table_name
    body = client.get_item(TableName=table_name, Key={"article_id": {"S": body_key(ARTICLE)}})["Item"]
    client.update_item(
        TableName=table_name,
        Key={"article_id": {"S": ARTICLE}},
        UpdateExpression="SET sections = :s",
        ExpressionAttributeValues={":s": body["sections"]},
    )
    client.delete_item(TableName=table_name, Key={"article_id": {"S": body_key(ARTICLE)}})
    served = api.get(f"/v1/articles/{ARTICLE}").body["sections"]
    assert served and served[0]["kind"] == "qa"
    assert {r for n, r in seed_articles().items() if ARTICLE in n} == {"updated"}
    head = client.get_item(TableName=table_name, Key={"article_id": {"S": ARTICLE}})["Item"]
    assert "sections" not in head
    assert api.get(f"/v1/articles/{ARTICLE}").body["sections"] == served


@pytest.mark.parametrize(
    ("front", "message"),
    [
        ("id: Bad_Id", "id"),
        ("id: ok\noriginal: false", "source"),
        ("id: ok\npublished_at: 2026-10-01", "offset"),
    ],
)
def test_import_refuses_bad_files(tmp_path: Path, front: str, message: str, aws: Any) -> None:
    base = {
        "id": "ok",
        "title": "标题",
        "published_at": "2026-10-01T09:00:00+08:00",
        "author": "编辑",
        "original": "true",
        "summary": "摘要",
    }
    for line in front.splitlines():
        key, _, value = line.partition(": ")
        base[key] = value
    head = "\n".join(f"{k}: {v}" for k, v in base.items())
    path = tmp_path / "bad.md"
    path.write_text(f"---\n{head}\n---\n## 问：一\n答：二\n", encoding="utf-8")
    with pytest.raises(article_ops.ArticleFileError, match=message):
        article_ops.read_article(path)


# ---- the author chooses how they are shown ----


def test_the_author_may_show_the_title_alone_and_hide_the_department(api: Api, alice: str) -> None:
    with_submission(alice, "欧阳娜娜", "doctor", "心内科")
    first = post(api, "选择之前的评论")
    assert first.body["author"]["display_name"] == "欧阳医生"
    assert api.get("/v1/me").body["author"] == {"style": "surname", "show_department": True}

    chosen = api.call("PUT", "/v1/me/author", {"style": "title", "show_department": False})
    assert chosen.status == 200, chosen.body
    assert chosen.body == {
        "style": "title",
        "show_department": False,
        "display_name": "认证医生",
        "department": None,
        "verified": True,
        "comments_updated": 1,
    }
    assert api.get("/v1/me").body["author"] == {"style": "title", "show_department": False}
    post(api, "选择之后的评论")
    shown = [(c["author"]["display_name"], c["author"].get("department")) for c in all_comments(api)]
    assert shown == [("认证医生", None), ("认证医生", None)]  # the earlier comment follows the choice
    assert "欧阳" not in repr(all_comments(api))

    back = api.call("PUT", "/v1/me/author", {"style": "surname"})
    assert (
        back.status == 200 and back.body["display_name"] == "欧阳医生" and back.body["department"] == "心内科"
    )


@pytest.mark.parametrize(
    "body", [{"style": "full_name"}, {"style": 1}, {}, {"style": "title", "real_name": "x"}, []]
)
def test_an_unknown_author_style_is_a_400(api: Api, alice: str, body: Any) -> None:
    with_submission(alice, "王小明", "doctor", "心内科")
    reply = api.call("PUT", "/v1/me/author", body)
    assert reply.status == 400 and reply.body["error"]["code"] == "bad_request"


def test_only_a_verified_user_chooses_an_author_display(api: Api) -> None:
    consented(api, "bob")
    reply = api.call("PUT", "/v1/me/author", {"style": "title"})
    assert reply.status == 403 and reply.body["error"]["code"] == "verification_required"
