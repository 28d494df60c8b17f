"""Posting, reading and deleting comments on in-memory repositories."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
import pytest

from shared import errors
from shared.domain.articles import Article, ArticleHead, Section
from shared.domain.comments import COMMENTS_PER_DAY, COMMENTS_PER_MINUTE, HELD, Comment, parse_comment_id
from shared.domain.outcomes import Outcome, refused
from shared.domain.verification import Submission
from shared.services.articles import COUNT_SECONDS
from shared.services.comments import CommentData, CommentService, ContentCheck
from shared.services.cursors import Cursors
from shared.services.moderation import Moderation
from tests.unit.fakes import FakeArticles, FakeAuditLog, FakeChecker, FakeComments
from tests.unit.services_setup import ALICE, BOB, NOW, World, approved

ARTICLE = "hypertension-elderly"
APPROVED = "01JSSSSSSSSSSSSSSSSSSSSSS1"


class Signer:
    """Cursors signed by a reversible marker (the real signer is itsdangerous, tested elsewhere)."""

    def __init__(self, purpose: str) -> None:
        self.purpose = purpose

    def dumps(self, obj: dict[str, str]) -> str:
        return self.purpose + "|" + "|".join(f"{k}={v}" for k, v in sorted(obj.items()))

    def loads(self, token: str) -> dict[str, str]:
        from itsdangerous import BadSignature

        purpose, _, rest = str(token).partition("|")
        if purpose != self.purpose:
            raise BadSignature("another purpose")
        return dict(pair.split("=", 1) for pair in rest.split("|"))


def shards_of(articles: FakeArticles) -> Callable[[str, bool], int | None]:
    def shards(article_id: str, fresh: bool) -> int | None:
        found = articles.articles.get(article_id)
        return None if found is None else found.head.comment_shards

    return shards


def setup(checker: FakeChecker | None = None) -> tuple[World, FakeComments, CommentService]:
    world = World()
    head = ArticleHead(ARTICLE, "高血压", "编辑部", True, None, "摘要", NOW)
    comments = FakeComments(world.users, world.guards, FakeArticles(Article(head, (Section("一", "正文"),))))
    submission = Submission(
        APPROVED, ALICE, 1, "approved", "欧阳娜娜", "协和", "心内科", "主治", "doctor", None, (), NOW
    )
    world.submissions.add(submission)
    world.users.add(approved(ALICE, verification_submission=APPROVED))
    world.users.add(approved(BOB))
    content = ContentCheck(lambda: frozenset({"网赌"}), (lambda: checker) if checker else None)
    service = CommentService(
        comments,
        world.users,
        Cursors(Signer),
        content,
        world.submissions.get,
        world.idempotency,
        shards_of(comments.articles),
        world.clock,
        sleep=lambda seconds: None,
    )
    return world, comments, service


def count(comments: FakeComments) -> int:
    return comments.articles.total(ARTICLE)


def test_a_post_shows_the_author_as_surname_and_title_and_remembers_it() -> None:
    world, comments, service = setup()
    posted = service.post(world.users.users[ALICE], ARTICLE, "  很有帮助  ", None, None)
    assert posted["text"] == "很有帮助" and posted["author"]["display_name"] == "欧阳医生"
    assert world.users.users[ALICE].author_source == APPROVED and count(comments) == 1
    world.submissions.items.clear()  # the next post reads no submission: the display is remembered
    assert (
        service.post(world.users.users[ALICE], ARTICLE, "再来一条", None, None)["author"]["department"]
        == "心内科"
    )


def test_the_minute_and_the_day_limits_say_which_and_when_to_retry() -> None:
    world, comments, service = setup()
    for n in range(COMMENTS_PER_MINUTE):
        service.post(world.users.users[ALICE], ARTICLE, f"第{n}条", None, None)
    with pytest.raises(errors.RateLimited, match="a minute") as minute:
        service.post(world.users.users[ALICE], ARTICLE, "太快了", None, None)
    assert 1 <= minute.value.retry_after <= 60 and count(comments) == COMMENTS_PER_MINUTE
    day_key = next(k for k in comments.windows if "#d#" in k)
    comments.windows[day_key] = COMMENTS_PER_DAY
    world.clock.advance(minutes=2)
    with pytest.raises(errors.RateLimited, match="a day") as day:
        service.post(world.users.users[ALICE], ARTICLE, "今天太多了", None, None)
    assert day.value.retry_after > 60


def test_a_replayed_key_gets_the_first_comment_and_another_text_a_conflict() -> None:
    world, comments, service = setup()
    first = service.post(world.users.users[ALICE], ARTICLE, "一次", None, "key-1")
    assert service.post(world.users.users[ALICE], ARTICLE, "一次", None, "key-1") == first
    with pytest.raises(errors.Conflict, match="different request"):
        service.post(world.users.users[ALICE], ARTICLE, "另一条", None, "key-1")
    assert count(comments) == 1 and len(comments.items) == 1


def test_a_busy_article_is_retried_and_the_comment_counted_once() -> None:
    world, comments, service = setup()
    comments.contend = 2
    posted = service.post(world.users.users[ALICE], ARTICLE, "热门", None, None)
    assert comments.posts == 3 and count(comments) == 1
    comments.contend = 2
    service.delete(world.users.users[ALICE], posted["id"])
    assert count(comments) == 0


def test_an_article_busy_beyond_the_retries_is_a_conflict_and_changes_nothing() -> None:
    world, comments, service = setup()
    posted = service.post(world.users.users[ALICE], ARTICLE, "热门", None, None)
    comments.contend = 100
    with pytest.raises(errors.Conflict):
        service.delete(world.users.users[ALICE], posted["id"])
    with pytest.raises(errors.Conflict):
        service.post(world.users.users[ALICE], ARTICLE, "又一条", None, None)
    assert count(comments) == 1 and len(comments.items) == 1


def test_a_post_whose_first_attempt_landed_before_a_timeout_answers_the_comment() -> None:
    """The client library retries a write whose answer was lost; the retry finds the comment there."""
    world, comments, _ = setup()

    class Retried(FakeComments):
        def post(self, comment: Comment, *args: Any) -> Outcome:
            super().post(comment, *args)  # the first attempt, whose answer was lost
            return refused("comment", "minute")  # what the retry is told

    retried = Retried(world.users, world.guards, comments.articles)
    landed = CommentService(
        retried, world.users, Cursors(Signer), ContentCheck(frozenset, None), world.submissions.get,
        world.idempotency, lambda article_id, fresh: 1, world.clock,
    )  # fmt: skip
    posted = landed.post(world.users.users[ALICE], ARTICLE, "网络抖动", None, None)
    assert [c.text for c in retried.items.values()] == ["网络抖动"] and posted["text"] == "网络抖动"


def release(world: World, comments: FakeComments, service: CommentService, public_id: str) -> bool:
    """A moderator's restore (the console's, and the ops command's), through the one service, in
    another container than the readers' (whose caches it cannot empty)."""
    moderation = Moderation(comments, world.users, FakeAuditLog(), lambda: None, world.clock)
    try:
        moderation.restore("ops", public_id)
    except (errors.Conflict, errors.NotFound):
        return False
    return True


def test_a_comment_the_check_wants_reviewed_is_held_and_not_counted() -> None:
    world, comments, service = setup(FakeChecker("review"))
    held = service.post(world.users.users[ALICE], ARTICLE, "待审", None, None)
    assert held["state"] == HELD and count(comments) == 0
    assert service.page(world.users.users[BOB], ARTICLE, None, None)["items"] == []
    assert [c["id"] for c in service.page(world.users.users[ALICE], ARTICLE, None, None)["items"]] == [
        held["id"]
    ]
    assert release(world, comments, service, held["id"]) and count(comments) == 1
    assert not release(world, comments, service, held["id"])  # not held any more


@pytest.mark.parametrize(("text", "checker"), [("来网赌吧", None), ("危险内容", FakeChecker("risky"))])
def test_refused_content_stores_nothing(text: str, checker: FakeChecker | None) -> None:
    world, comments, service = setup(checker)
    with pytest.raises(errors.ContentRejected):
        service.post(world.users.users[ALICE], ARTICLE, text, None, None)
    assert comments.items == {} and comments.windows == {}


def test_replies_need_a_visible_parent_of_the_same_article() -> None:
    world, _, service = setup()
    parent = service.post(world.users.users[BOB], ARTICLE, "原帖", None, None)
    reply = service.post(world.users.users[ALICE], ARTICLE, "回复", parent["id"], None)
    assert reply["reply_to"] == parent["id"]
    service.delete(world.users.users[BOB], parent["id"])
    with pytest.raises(errors.BadRequest, match="not deleted"):
        service.post(world.users.users[ALICE], ARTICLE, "再回复", parent["id"], None)
    with pytest.raises(errors.BadRequest):
        service.post(world.users.users[ALICE], ARTICLE, "回复", parent["id"].replace(ARTICLE, "other"), None)


def test_only_the_author_deletes_and_the_count_follows_once() -> None:
    world, comments, service = setup()
    mine = service.post(world.users.users[ALICE], ARTICLE, "我的", None, None)
    with pytest.raises(errors.Forbidden):
        service.delete(world.users.users[BOB], mine["id"])
    assert service.delete(world.users.users[ALICE], mine["id"]) == {"id": mine["id"], "deleted": True}
    with pytest.raises(errors.NotFound):
        service.delete(world.users.users[ALICE], mine["id"])
    assert count(comments) == 0


def test_pages_run_newest_first_with_cursors_bound_to_their_article() -> None:
    world, _, service = setup()
    ids = []
    for n in range(5):
        world.clock.advance(minutes=1)  # a new minute window each time
        ids.append(service.post(world.users.users[ALICE], ARTICLE, f"第{n}条", None, None)["id"])
    first = service.page(world.users.users[BOB], ARTICLE, "3", None)
    second = service.page(world.users.users[BOB], ARTICLE, "3", first["next_cursor"])
    assert [c["id"] for c in first["items"] + second["items"]] == ids[::-1] and second["next_cursor"] is None
    with pytest.raises(errors.BadRequest, match="list position"):
        service.page(world.users.users[BOB], "other-article", "3", first["next_cursor"])
    with pytest.raises(errors.BadRequest):
        service.page(world.users.users[BOB], ARTICLE, "3", "articles-cursor|k=x|id=y")


def test_a_new_author_style_restyles_every_comment_and_erasure_anonymises_them() -> None:
    world, comments, service = setup()
    service.post(world.users.users[ALICE], ARTICLE, "一条", None, None)
    chosen = service.choose_author(world.users.users[ALICE], "title", False)
    assert chosen["display_name"] == "认证医生" and chosen["comments_updated"] == 1
    assert {c.author_name for c in comments.items.values()} == {"认证医生"}
    data = CommentData(comments)
    assert [c["text"] for c in data.export(ALICE)] == ["一条"]
    data.erase(ALICE)
    assert {(c.author_name, c.author_id) for c in comments.items.values()} == {("已注销用户", None)}
    assert data.export(ALICE) == []


def test_the_first_page_is_shared_for_a_few_seconds_and_each_reader_sees_their_own(
    aged: list[float],
) -> None:
    world, comments, service = setup(FakeChecker("review"))
    held = service.post(world.users.users[ALICE], ARTICLE, "待审", None, None)
    world.clock.advance(minutes=5)  # Alice's write is old: she reads through the cache too
    for _ in range(20):
        assert service.page(world.users.users[BOB], ARTICLE, None, None)["items"] == []
    reads = comments.reads
    mine = service.page(world.users.users[ALICE], ARTICLE, None, None)["items"]
    assert [c["id"] for c in mine] == [held["id"]] and comments.reads == reads  # the same page, hers shown
    assert release(world, comments, service, held["id"])
    assert service.page(world.users.users[BOB], ARTICLE, None, None)["items"] == []  # a few seconds late
    aged[0] += COUNT_SECONDS + 0.1
    assert [c["id"] for c in service.page(world.users.users[BOB], ARTICLE, None, None)["items"]] == [
        held["id"]
    ]
    posted = service.post(world.users.users[BOB], ARTICLE, "新评论", None, None)
    seen = [c["id"] for c in service.page(world.users.users[BOB], ARTICLE, None, None)["items"]]
    assert seen[0] == posted["id"]  # the writer sees their own write at once


def test_a_busy_articles_comments_spread_over_its_partitions_and_read_as_one() -> None:
    world, comments, service = setup()
    article = comments.articles.articles[ARTICLE]
    comments.articles.articles[ARTICLE] = msgspec.structs.replace(
        article, head=msgspec.structs.replace(article.head, comment_shards=4)
    )
    posted = []
    for n in range(12):
        world.clock.advance(minutes=1)
        posted.append(service.post(world.users.users[ALICE], ARTICLE, f"第{n}条", None, None)["id"])
    refs = [parse_comment_id(p) for p in posted]
    assert all(r is not None for r in refs) and len({r.shard for r in refs if r}) > 1  # spread
    assert count(comments) == 12
    first = service.page(world.users.users[BOB], ARTICLE, "5", None)
    rest = service.page(world.users.users[BOB], ARTICLE, "50", first["next_cursor"])
    assert [c["id"] for c in first["items"] + rest["items"]] == posted[::-1]
    assert comments.reads == 8  # one Query a partition per page
    assert service.delete(world.users.users[ALICE], posted[0])["deleted"] and count(comments) == 11
