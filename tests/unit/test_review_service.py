"""Reviews and decisions on in-memory repositories: links, first decision wins, what follows."""

from __future__ import annotations

import pytest
from msgspec.structs import replace

from shared import errors
from shared.domain.staff import StaffMember
from shared.domain.verification import CLAIM_LIFETIME, Claim, CredentialImage, Reviewer, Submission
from shared.services.result_notifier import ResultNotifier
from shared.services.review import DecisionForm, ReviewLinks, ReviewService, ReviewView, Standing
from tests.unit.fakes import FakeAuditLog, FakeMessages, FakeOutbox, FakeQueue, FakeReviewers
from tests.unit.services_setup import ALICE, BOB, NOW, World, consented

SUBMISSION = "01JSSSSSSSSSSSSSSSSSSSSSS1"
REJECT = DecisionForm(
    "reject", "image_unreadable", "请上传第二页", ["qualification"], internal_note="与注册系统姓名不符"
)
APPROVE = DecisionForm("approve", None, "", [])


def pending(world: World, user_id: str = ALICE, revision: int = 1) -> Submission:
    image = CredentialImage(
        "practice_license", f"credentials/{user_id}/{SUBMISSION}/0.jpg", "s" * 64, "d" * 16, 9, 9
    )
    world.users.add(consented(user_id, verification_status="pending", verification_submission=SUBMISSION))
    return world.submissions.add(
        Submission(
            SUBMISSION,
            user_id,
            revision,
            "pending",
            "张三",
            "协和",
            "心内科",
            "主治",
            "doctor",
            "A-1",
            (image,),
            NOW,
        )
    )


def build(world: World, inform: object = None, *reviewers: Reviewer) -> tuple[ReviewService, ReviewLinks]:
    links = ReviewLinks(lambda: "k" * 32, 3600)
    team = FakeReviewers(*(reviewers or (Reviewer("rev-1", "审核员", NOW),)))
    inform_user = inform or ResultNotifier(
        world.users, FakeMessages, None, "pages/verify/index", None, world.clock
    )
    review = ReviewService(
        links,
        world.submissions,
        team,
        world.storage,
        inform_user,  # type: ignore[arg-type]
        world.clock,
        audit=FakeAuditLog(world.submissions.audit),
        queue=FakeQueue(world.submissions),
        users=world.users,
    )
    return review, links


def test_a_link_shows_the_submission_with_reused_credentials_flagged() -> None:
    world = World()
    submission = pending(world)
    from shared.domain.verification import FingerprintUse

    world.submissions.fingerprints[("license:A1", BOB)] = FingerprintUse("license:A1", BOB, "other")
    review, links = build(world)
    shown = review.show(SUBMISSION, links.sign("rev-1", SUBMISSION, 1))
    assert isinstance(shown, ReviewView) and shown.submission == submission
    assert shown.reused == [("license", 1)]
    assert shown.images[0][1].startswith("https://bucket.example/credentials/")


def test_the_first_decision_wins_and_a_later_one_sees_it() -> None:
    world = World()
    pending(world)
    review, links = build(world)
    token = links.sign("rev-1", SUBMISSION, 1)
    decided = review.decide(SUBMISSION, token, REJECT)
    assert not decided.conflict and decided.submission.status == "rejected"
    assert decided.submission.redo == ("qualification",) and decided.submission.note == "请上传第二页"
    assert decided.submission.internal_note == "与注册系统姓名不符"
    assert world.submissions.items[SUBMISSION].internal_note == "与注册系统姓名不符"
    user = world.users.users[ALICE]
    assert (user.verification_status, user.verification_reason) == ("rejected", "image_unreadable")
    late = review.decide(SUBMISSION, token, APPROVE)
    assert late.conflict and late.submission.status == "rejected"
    assert [a.outcome for a in world.submissions.audit] == ["reject"]
    assert isinstance(review.show(SUBMISSION, token), Standing)


def test_a_decision_racing_another_answers_the_one_that_stands() -> None:
    world = World()
    pending(world)
    review, links = build(world)
    token = links.sign("rev-1", SUBMISSION, 1)

    class Racing(type(world.submissions)):  # type: ignore[misc]
        def get(self, submission_id: str) -> Submission | None:  # the other decision lands after this read
            found = super().get(submission_id)
            if found is not None and found.status == "pending" and not self.audit:
                self.items[submission_id] = replace(found, status="approved")
            return found

    racing = Racing(world.users, world.guards)
    racing.items = world.submissions.items
    world.submissions = racing
    review, _ = build(world)
    outcome = review.decide(SUBMISSION, token, REJECT)
    assert outcome.conflict and outcome.submission.status == "approved" and racing.audit == []


@pytest.mark.parametrize(
    ("reviewer", "revision", "message"),
    [
        (Reviewer("rev-1", "审核员", NOW, active=False), 1, "reviewer_inactive"),
        (Reviewer("rev-1", "审核员", NOW), 2, "link_old_revision"),
    ],
)
def test_links_die_with_their_reviewer_or_revision(reviewer: Reviewer, revision: int, message: str) -> None:
    world = World()
    pending(world, revision=revision)
    review, links = build(world, None, reviewer)
    with pytest.raises(errors.Forbidden) as refused:
        review.show(SUBMISSION, links.sign("rev-1", SUBMISSION, 1))
    assert refused.value.case == message


def test_after_a_decision_images_are_tagged_and_the_applicant_is_told() -> None:
    world, outbox, messages = World(), FakeOutbox(), FakeMessages(answer="owed")
    pending(world)
    review, links = build(
        world,
        ResultNotifier(world.users, lambda: messages, "tmpl", "pages/verify/index", outbox, world.clock),
    )
    review.decide(SUBMISSION, links.sign("rev-1", SUBMISSION, 1), APPROVE)
    assert world.storage.tags == {f"credentials/{ALICE}/{SUBMISSION}/0.jpg": {"verification": "approved"}}
    assert [e["status"] for e in outbox.entries] == ["approved"]
    assert messages.sent[0][:3] == (f"openid-{ALICE}", "tmpl", "pages/verify/index")
    assert world.submissions.user_messages[SUBMISSION] == "owed"


def test_a_failing_message_never_undoes_the_decision() -> None:
    world = World()
    pending(world)

    def broken(submission: Submission) -> str:
        raise ConnectionError("WeChat is down")

    review, links = build(world, broken)
    decided = review.decide(SUBMISSION, links.sign("rev-1", SUBMISSION, 1), APPROVE)
    assert decided.submission.status == "approved" and world.submissions.user_messages[SUBMISSION] == "owed"


def test_an_invalid_decision_is_refused_and_changes_nothing() -> None:
    world = World()
    pending(world)
    review, links = build(world)
    with pytest.raises(errors.BadRequest):
        review.decide(
            SUBMISSION, links.sign("rev-1", SUBMISSION, 1), DecisionForm("reject", "nonsense", "", [])
        )
    assert world.submissions.items[SUBMISSION].status == "pending" and world.submissions.audit == []


def test_a_withdrawn_submission_shows_so_and_takes_no_decision() -> None:
    world = World()
    pending(world)
    review, links = build(world)
    token = links.sign("rev-1", SUBMISSION, 1)
    world.submissions.items[SUBMISSION] = replace(world.submissions.items[SUBMISSION], status="withdrawn")
    shown = review.show(SUBMISSION, token)
    assert isinstance(shown, Standing) and shown.submission.status == "withdrawn" and not shown.conflict
    late = review.decide(SUBMISSION, token, APPROVE)
    assert late.conflict and late.submission.status == "withdrawn" and world.submissions.audit == []


def _update(world: World) -> None:
    """Alice approved on "01JAPPROVED...", with an update pending as SUBMISSION."""
    pending(world)
    world.submissions.items[SUBMISSION] = replace(world.submissions.items[SUBMISSION], is_update=True)
    world.users.users[ALICE] = replace(
        world.users.users[ALICE],
        verification_status="approved",
        verification_submission="01JAPPROVEDAAAAAAAAAAAAAA1",
        verification_update=SUBMISSION,
        verification_update_status="pending",
    )


def test_an_approved_update_becomes_the_submission_in_force() -> None:
    world = World()
    _update(world)
    review, links = build(world)
    decided = review.decide(SUBMISSION, links.sign("rev-1", SUBMISSION, 1), APPROVE)
    assert decided.submission.status == "approved"
    user = world.users.users[ALICE]
    assert (user.verification_status, user.verification_submission) == ("approved", SUBMISSION)
    assert user.verification_update is None and user.verification_update_status is None


def test_a_rejected_update_leaves_the_approval_as_it_was() -> None:
    world = World()
    _update(world)
    review, links = build(world)
    review.decide(SUBMISSION, links.sign("rev-1", SUBMISSION, 1), REJECT)
    user = world.users.users[ALICE]
    assert (user.verification_status, user.verification_submission) == (
        "approved",
        "01JAPPROVEDAAAAAAAAAAAAAA1",
    )
    assert (user.verification_update, user.verification_update_status) == (SUBMISSION, "rejected")
    assert user.verification_reason is None  # the reason belongs to the update, not to the approval


# ---- the console's way in: the same code path, the same first-wins rule ----
REVIEWER = StaffMember("rev-2", "李审核", "reviewer", NOW)
OTHER = StaffMember("rev-3", "王审核", "reviewer", NOW)


def test_a_console_decision_and_a_link_decision_share_one_first_wins_rule() -> None:
    world = World()
    pending(world)
    review, links = build(world)
    first = review.decide_as(REVIEWER, SUBMISSION, APPROVE)
    assert not first.conflict and first.submission.decided_by == "rev-2"
    late = review.decide(SUBMISSION, links.sign("rev-1", SUBMISSION, 1), REJECT)
    assert late.conflict and late.submission.status == "approved"
    decisions = [a for a in world.submissions.audit if a.action == "decision"]
    assert [(a.actor, a.outcome, a.subject, a.revision) for a in decisions] == [
        ("rev-2", "approve", SUBMISSION, 1)
    ]
    again = review.decide_as(OTHER, SUBMISSION, REJECT)
    assert again.conflict and world.submissions.items[SUBMISSION].status == "approved"


def test_showing_credentials_writes_its_audit_line_first_and_shows_nothing_without_it() -> None:
    world = World()
    pending(world)
    review, links = build(world)
    shown = review.show_to(REVIEWER, SUBMISSION)
    assert isinstance(shown, ReviewView) and shown.images
    review.show(SUBMISSION, links.sign("rev-1", SUBMISSION, 1))
    opened = [(a.action, a.actor, a.subject) for a in world.submissions.audit]
    assert opened == [("credentials_open", "rev-2", SUBMISSION), ("credentials_open", "rev-1", SUBMISSION)]
    failing = FakeAuditLog()
    failing.fail = True
    review._audit = failing  # a trail that cannot be written
    signed = world.storage.views
    with pytest.raises(errors.Conflict) as refused:
        review.show_to(REVIEWER, SUBMISSION)
    assert refused.value.case == "audit_not_stored"
    assert world.storage.views == signed  # no image link was signed


def test_a_decided_submission_shows_its_standing_and_no_credentials() -> None:
    world = World()
    pending(world)
    review, _ = build(world)
    review.decide_as(REVIEWER, SUBMISSION, APPROVE)
    lines = len(world.submissions.audit)
    assert isinstance(review.show_to(OTHER, SUBMISSION), Standing)
    assert len(world.submissions.audit) == lines


def test_a_claim_shows_who_is_on_it_until_it_lapses_and_never_stops_a_decision() -> None:
    world = World()
    pending(world)
    review, _ = build(world)
    claim = review.claim(REVIEWER, SUBMISSION)
    assert isinstance(claim, Claim) and claim.until == NOW + CLAIM_LIFETIME
    with pytest.raises(errors.Conflict) as held:
        review.claim(OTHER, SUBMISSION)
    assert held.value.case == "claim_held" and held.value.params["name"] == "李审核"
    assert review.claim(REVIEWER, SUBMISSION) == claim  # the holder may claim again
    shown = review.show_to(OTHER, SUBMISSION)
    assert isinstance(shown, ReviewView) and shown.claim == claim
    world.clock.advance(seconds=CLAIM_LIFETIME.total_seconds() + 1)
    taken = review.claim(OTHER, SUBMISSION)
    assert isinstance(taken, Claim) and taken.staff_id == "rev-3"
    decided = review.decide_as(REVIEWER, SUBMISSION, APPROVE)  # advisory: the first decision wins
    assert not decided.conflict
    late = review.claim(OTHER, SUBMISSION)
    assert isinstance(late, Standing) and late.conflict
    claims = [a.actor for a in world.submissions.audit if a.action == "claim"]
    assert claims == ["rev-2", "rev-2", "rev-3"]


def test_the_queue_lists_pending_submissions_oldest_first_with_their_claims() -> None:
    world = World()
    pending(world)
    review, _ = build(world)
    review.claim(REVIEWER, SUBMISSION)
    page = review.queue(None)
    assert [e.submission_id for e in page.entries] == [SUBMISSION] and page.more is None
    assert page.entries[0].claim is not None and page.entries[0].claim.name == "李审核"
    review.decide_as(REVIEWER, SUBMISSION, APPROVE)
    assert review.queue(None).entries == []


def approved(world: World, update: bool = False) -> None:
    pending(world)
    review, _ = build(world)
    review.decide_as(REVIEWER, SUBMISSION, APPROVE)
    if update:
        world.submissions.add(
            replace(
                world.submissions.items[SUBMISSION], submission_id=UPDATE, status="pending", is_update=True
            )
        )
        user = world.users.users[ALICE]
        world.users.users[ALICE] = replace(
            user, verification_update=UPDATE, verification_update_status="pending"
        )


UPDATE = "01JSSSSSSSSSSSSSSSSSSSSSS2"


def test_a_revocation_makes_the_user_resubmit_and_withdraws_their_pending_update() -> None:
    world = World()
    approved(world, update=True)
    review, _ = build(world)
    revoked = review.revoke(REVIEWER, ALICE, "not_hcp_document", "请重新提交执业证书", "核查发现证书已注销")
    assert revoked.status == "revoked" and revoked.note == "请重新提交执业证书"
    user = world.users.users[ALICE]
    assert (user.verification_status, user.verification_reason) == ("revoked", "not_hcp_document")
    assert user.verification_update_status == "withdrawn"
    assert world.submissions.items[UPDATE].status == "withdrawn"
    line = world.submissions.audit[-1]
    assert (line.action, line.actor, line.subject, line.reason) == (
        "revoke",
        "rev-2",
        SUBMISSION,
        "not_hcp_document",
    )
    with pytest.raises(errors.Conflict) as again:
        review.revoke(REVIEWER, ALICE, "not_hcp_document", "")
    assert again.value.case == "not_approved"


def test_a_revocation_names_a_rejection_reason_and_a_known_user() -> None:
    world = World()
    approved(world)
    review, _ = build(world)
    with pytest.raises(errors.BadRequest):
        review.revoke(REVIEWER, ALICE, "because", "")
    with pytest.raises(errors.NotFound):
        review.revoke(REVIEWER, BOB, "other", "")
    assert world.users.users[ALICE].verification_status == "approved"
