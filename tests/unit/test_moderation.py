"""Reports, moderation and mutes on in-memory repositories: who may report, the threshold, exact
counts each way, what the author sees, and a mute that ends by itself."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared import errors
from shared.domain.comments import (
    HIDDEN,
    NO_END,
    QUEUE_HIDDEN,
    QUEUE_PENDING,
    VISIBLE,
    CommentRef,
    parse_comment_id,
)
from shared.services.moderation import Moderation, mute_state
from tests.unit.fakes import FakeAuditLog
from tests.unit.services_setup import ALICE, BOB, World, approved
from tests.unit.test_comment_service import ARTICLE, count, setup

READERS = ("01JRRRRRRRRRRRRRRRRRRRRRR1", "01JRRRRRRRRRRRRRRRRRRRRRR2", "01JRRRRRRRRRRRRRRRRRRRRRR3")


def readers(world: World) -> list[str]:
    for reader in READERS:
        world.users.add(approved(reader))
    return list(READERS)


def ref(public_id: str) -> CommentRef:
    found = parse_comment_id(public_id)
    assert found is not None
    return found


def moderation(world: World, comments: object) -> Moderation:
    return Moderation(comments, world.users, FakeAuditLog(), lambda: None, world.clock)  # type: ignore[arg-type]


def test_three_distinct_readers_hide_a_comment_and_a_repeat_counts_nothing() -> None:
    world, comments, service = setup()
    posted = service.post(world.users.users[ALICE], ARTICLE, "某药可以根治高血压", None, None)
    first, second, third = readers(world)
    assert count(comments) == 1
    assert service.report(world.users.users[first], posted["id"], "misinformation", "无依据")[0]
    assert not service.report(world.users.users[first], posted["id"], "spam", None)[0]  # a repeat
    assert service.report(world.users.users[second], posted["id"], "misinformation", None)[0]
    stored = comments.get(ref(posted["id"]))
    assert stored is not None and (stored.status, stored.reports) == (VISIBLE, 2) and count(comments) == 1
    assert service.report(world.users.users[third], posted["id"], "abuse", None)[0]
    stored = comments.get(ref(posted["id"]))
    assert stored is not None and stored.status == HIDDEN and count(comments) == 0
    assert stored.report_log == (("misinformation", "无依据"), ("misinformation", None), ("abuse", None))
    # hidden from everyone but its author, who sees the state and the reason's label
    assert service.page(world.users.users[BOB], ARTICLE, None, None)["items"] == []
    (mine,) = service.page(world.users.users[ALICE], ARTICLE, None, None)["items"]
    assert (mine["state"], mine["reason_text"]) == ("hidden", "虚假或误导性医学信息")
    with pytest.raises(errors.NotFound):  # no longer visible: nothing to report
        service.report(world.users.users[BOB], posted["id"], "spam", None)


def test_who_may_report_what() -> None:
    world, comments, service = setup()
    posted = service.post(world.users.users[ALICE], ARTICLE, "评论", None, None)
    with pytest.raises(errors.Forbidden) as own:
        service.report(world.users.users[ALICE], posted["id"], "spam", None)
    assert own.value.case == "own_comment"
    with pytest.raises(errors.BadRequest) as reason:
        service.report(world.users.users[BOB], posted["id"], "boring", "x" * 300)
    assert [f.field for f in reason.value.fields or ()] == ["reason", "text"]
    with pytest.raises(errors.NotFound):
        service.report(world.users.users[BOB], "not-a-comment", "spam", None)
    assert comments.reports == {}


def test_reports_are_rate_limited_per_reader() -> None:
    world, _, service = setup()
    bob = world.users.users[BOB]
    for n in range(20):
        posted = service.post(world.users.users[ALICE], ARTICLE, f"评论{n}", None, None)
        world.clock.advance(minutes=2)  # past the comment windows
        assert service.report(bob, posted["id"], "spam", None)[0]
    posted = service.post(world.users.users[ALICE], ARTICLE, "再一条", None, None)
    with pytest.raises(errors.RateLimited) as limited:
        service.report(bob, posted["id"], "spam", None)
    assert limited.value.case == "reports_hour" and limited.value.params["limit"] == 20


def test_a_restore_counts_the_comment_again_and_starts_a_new_round_of_reports() -> None:
    world, comments, service = setup()
    posted = service.post(world.users.users[ALICE], ARTICLE, "有争议的观点", None, None)
    reporters = readers(world)
    for reader in reporters:
        service.report(world.users.users[reader], posted["id"], "abuse", None)
    mod = moderation(world, comments)
    assert [c.ref.public_id for c in mod.page(QUEUE_PENDING, None).comments] == [posted["id"]]
    mod.restore("mod-1", posted["id"])
    assert count(comments) == 1 and mod.page(QUEUE_PENDING, None).comments == []
    with pytest.raises(errors.Conflict):
        mod.restore("mod-1", posted["id"])  # once: it is visible now
    assert count(comments) == 1
    assert service.report(world.users.users[reporters[0]], posted["id"], "abuse", None)[0]  # a new round


def test_a_moderators_hide_stands_and_delete_leaves_the_count_once() -> None:
    world, comments, service = setup()
    posted = service.post(world.users.users[ALICE], ARTICLE, "广告内容", None, None)
    mod = moderation(world, comments)
    with pytest.raises(errors.BadRequest):
        mod.hide("mod-1", posted["id"], "because")
    mod.hide("mod-1", posted["id"], "spam")
    assert count(comments) == 0
    assert [c.ref.public_id for c in mod.page(QUEUE_HIDDEN, None).comments] == [posted["id"]]
    with pytest.raises(errors.Conflict):
        mod.hide("mod-2", posted["id"], "abuse")  # a moderator's hide stands until restored
    (mine,) = service.page(world.users.users[ALICE], ARTICLE, None, None)["items"]
    assert (mine["state"], mine["reason_text"]) == ("hidden", "垃圾广告")
    mod.delete("mod-1", posted["id"])
    assert count(comments) == 0 and service.page(world.users.users[ALICE], ARTICLE, None, None)["items"] == []
    other = service.post(world.users.users[ALICE], ARTICLE, "正常评论", None, None)
    mod.delete("mod-1", other["id"])
    assert count(comments) == 0
    with pytest.raises(errors.NotFound):
        mod.delete("mod-1", "nope")


def test_a_reply_says_what_it_answers_and_never_the_text_of_a_hidden_or_deleted_one() -> None:
    world, comments, service = setup()
    parent = service.post(world.users.users[ALICE], ARTICLE, "长" * 60, None, None)
    reply = service.post(world.users.users[BOB], ARTICLE, "同意", parent["id"], None)
    by_id = {c["id"]: c for c in service.page(world.users.users[BOB], ARTICLE, None, None)["items"]}
    context = by_id[reply["id"]]["reply_context"]
    assert context == {"author": {"display_name": "欧阳医生"}, "excerpt": "长" * 49 + "…", "state": "visible"}
    assert reply["reply_context"] == context  # the post answers as the page shows it
    assert by_id[parent["id"]]["reply_context"] is None
    moderation(world, comments).hide("mod-1", parent["id"], "abuse")
    service.forget()
    (shown,) = service.page(world.users.users[BOB], ARTICLE, None, None)["items"]
    assert shown["reply_context"] == {
        "author": {"display_name": "欧阳医生"},
        "excerpt": None,
        "state": "hidden",
    }


def test_a_mute_stops_posts_and_reports_and_ends_by_itself() -> None:
    world, comments, service = setup()
    posted = service.post(world.users.users[ALICE], ARTICLE, "评论", None, None)
    mod = moderation(world, comments)
    state = mod.mute("mod-1", BOB, 7)
    assert state.until is not None and state.until - world.clock() == timedelta(days=7)
    with pytest.raises(errors.Muted) as muted:
        service.post(world.users.users[BOB], ARTICLE, "还想说", None, None)
    assert muted.value.body()["until"] is not None
    with pytest.raises(errors.Muted):
        service.report(world.users.users[BOB], posted["id"], "spam", None)
    world.clock.advance(days=7, seconds=1)
    assert service.post(world.users.users[BOB], ARTICLE, "又可以说了", None, None)["state"] == VISIBLE
    mod.mute("mod-1", BOB, 0)
    assert world.users.users[BOB].muted_until == NO_END and mute_state(NO_END).forever
    with pytest.raises(errors.Muted) as forever:
        service.post(world.users.users[BOB], ARTICLE, "不限期", None, None)
    assert forever.value.body()["until"] is None
    mod.unmute("mod-1", BOB)
    assert world.users.users[BOB].muted_until is None
    with pytest.raises(errors.BadRequest):
        mod.mute("mod-1", BOB, -1)
    with pytest.raises(errors.NotFound):
        mod.mute("mod-1", "01JNOBODYNOBODYNOBODYNOBOD", 1)
    assert [a.action for a in world.users.audit] == ["mute", "mute", "unmute"]


def test_a_readers_reports_are_in_their_export_and_go_with_their_account() -> None:
    from shared.services.comments import ReportData

    world, comments, service = setup()
    posted = service.post(world.users.users[ALICE], ARTICLE, "评论", None, None)
    service.report(world.users.users[BOB], posted["id"], "privacy", "含患者姓名")
    data = ReportData(comments)
    (exported,) = data.export(BOB)
    assert (exported["comment_id"], exported["reason"]) == (posted["id"], "privacy")
    assert exported["created_at"].endswith("+08:00")
    data.erase(BOB)
    assert data.export(BOB) == [] and comments.get(ref(posted["id"])).reports == 1  # the count stays
