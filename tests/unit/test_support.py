"""Support in the console on in-memory repositories: search by what a request quotes, and a
user's page with what each role may see."""

from __future__ import annotations

from msgspec.structs import replace

from shared.domain.comments import Comment
from shared.domain.staff import StaffMember
from shared.domain.verification import FingerprintUse, index_keys_of
from shared.services.support import Found, Support
from tests.unit.fakes import FakeAuditLog
from tests.unit.services_setup import ALICE, BOB, NOW, World, consented
from tests.unit.test_review_service import SUBMISSION, pending

REVIEWER = StaffMember("rev-1", "审核员", "reviewer", NOW)
MODERATOR = StaffMember("mod-1", "评论管理员", "moderator", NOW)
COMMENT = Comment(
    "a1", "01JCCCCCCCCCCCCCCCCCCCCCC1", ALICE, "张医生", "心内科", True, "好文", None, "visible", NOW
)


def build(world: World) -> Support:
    comments = {COMMENT.ref.public_id: COMMENT}
    return Support(
        world.users,
        world.submissions,
        lambda ref: comments.get(ref.public_id),
        lambda author, limit: [c for c in comments.values() if c.author_id == author][:limit],
        world.catalog.current,
        FakeAuditLog(world.users.audit),
        world.clock,
    )


def indexed(world: World) -> None:
    submission = pending(world)
    for key in index_keys_of(submission):
        world.submissions.fingerprints[(key, ALICE)] = FingerprintUse(key, ALICE, SUBMISSION)


def test_anyone_with_the_page_finds_a_user_by_user_submission_or_comment_id() -> None:
    world = World()
    indexed(world)
    support = build(world)
    assert support.search(MODERATOR, ALICE) == [Found(ALICE, "user")]
    assert support.search(MODERATOR, ALICE.lower()) == [Found(ALICE, "user")]
    assert support.search(MODERATOR, SUBMISSION) == [Found(ALICE, "submission", SUBMISSION)]
    assert support.search(MODERATOR, COMMENT.ref.public_id) == [Found(ALICE, "comment")]
    assert support.search(MODERATOR, "01JZZZZZZZZZZZZZZZZZZZZZZZ") == []
    assert support.search(MODERATOR, "   ") == []


def test_only_the_reviewing_roles_find_a_user_by_exact_name_or_licence_number() -> None:
    world = World()
    indexed(world)  # 张三, licence A-1
    support = build(world)
    assert support.search(MODERATOR, "张三") == [] and support.search(MODERATOR, "A-1") == []
    assert support.search(REVIEWER, "张三") == [Found(ALICE, "name", SUBMISSION)]
    assert support.search(REVIEWER, "张 三") == [Found(ALICE, "name", SUBMISSION)]  # spaces do not count
    assert support.search(REVIEWER, "张") == []
    assert support.search(REVIEWER, "a 1") == []  # too short to be a licence number: not looked up


def test_a_users_page_shows_verification_details_to_the_reviewing_roles_alone() -> None:
    world = World()
    pending(world)
    world.users.users[ALICE] = replace(world.users.users[ALICE], verification_status="approved")
    support = build(world)
    seen = support.user_file(REVIEWER, ALICE)
    assert seen is not None and seen.history is not None and seen.history[0].real_name == "张三"
    assert seen.may_revoke and seen.comments == [COMMENT]
    moderated = support.user_file(MODERATOR, ALICE)
    assert moderated is not None and moderated.history is None and not moderated.may_revoke
    assert moderated.step == seen.step
    assert support.user_file(REVIEWER, BOB) is None and support.user_file(REVIEWER, "x") is None
    world.users.add(consented(BOB))
    bob = support.user_file(REVIEWER, BOB)
    assert bob is not None and bob.history == [] and not bob.may_revoke and bob.step == "verify"
