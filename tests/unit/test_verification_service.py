"""Submitting credentials, on in-memory repositories and bucket (real image bytes, Pillow)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from msgspec.structs import replace

from shared import errors
from shared.adapters import images
from shared.domain.verification import (
    SUBMITS_PER_DAY,
    UPLOADS_PER_HOUR,
    Submission,
    submit_window,
    upload_key,
)
from shared.services.verification import VerificationService
from tests.unit.services_setup import ALICE, World, consented

FIELDS: dict[str, Any] = {
    "real_name": "张三",
    "hospital": "协和医院",
    "department": "心内科",
    "title": "主治医师",
    "profession": "doctor",
    "license_number": None,
}


class Notifier:
    def __init__(self) -> None:
        self.told: list[tuple[str, int]] = []

    def deliver_new(self, submission_id: str, revision: int) -> None:
        self.told.append((submission_id, revision))


def png(color: tuple[int, int, int]) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (32, 32), color).save(out, "PNG")
    return out.getvalue()


def uploaded(world: World, n: int, kind: str = "practice_license") -> str:
    key = upload_key(ALICE, kind, "image/png", f"01JXP{n:021d}").key
    from tests.unit.fakes import Stored

    world.storage.objects[key] = Stored(png((n * 40 % 255, 10, 10)), "image/png")
    return key


def service(world: World, notifier: Notifier | None = None) -> VerificationService:
    told = notifier or Notifier()
    return VerificationService(
        world.submissions,
        world.storage,
        images.sanitize,
        lambda: told,
        world.idempotency,
        world.clock,
        world.windows,
    )


def test_a_submission_stores_clean_images_and_tells_the_reviewers() -> None:
    world, notifier = World(), Notifier()
    alice = world.users.add(consented())
    key = uploaded(world, 1)
    done = service(world, notifier).submit(alice, FIELDS, [key], None)
    submission = world.submissions.items[done["submission_id"]]
    assert done["status"] == "pending" and notifier.told == [(submission.submission_id, 1)]
    assert world.users.users[ALICE].verification_status == "pending"
    assert key not in world.storage.objects  # the original, EXIF and all, is gone
    clean = submission.documents[0].key
    assert (
        clean.startswith(f"credentials/{ALICE}/")
        and world.storage.objects[clean].content_type == "image/jpeg"
    )


def test_a_replayed_key_answers_the_first_submission_without_touching_the_images() -> None:
    world = World()
    alice = world.users.add(consented())
    key = uploaded(world, 1)
    first = service(world).submit(alice, FIELDS, [key], "k")
    reads = world.storage.reads
    replay = service(world).submit(world.users.users[ALICE], FIELDS, [key], "k")
    assert replay == first and world.storage.reads == reads and len(world.submissions.items) == 1


def test_a_key_reused_with_another_body_is_a_conflict_even_after_a_rejection() -> None:
    world = World()
    alice = world.users.add(consented())
    first = service(world).submit(alice, FIELDS, [uploaded(world, 1)], "k")
    rejected = replace(world.users.users[ALICE], verification_status="rejected")
    world.users.users[ALICE] = rejected
    with pytest.raises(errors.Conflict):
        service(world).submit(rejected, {**FIELDS, "hospital": "另一家医院"}, [uploaded(world, 2)], "k")
    assert list(world.submissions.items) == [first["submission_id"]]
    again = service(world).submit(rejected, {**FIELDS, "hospital": "另一家医院"}, [uploaded(world, 3)], "k2")
    assert again["submission_id"] != first["submission_id"]
    assert world.submissions.items[again["submission_id"]].revision == 2


def test_a_submit_that_lost_a_race_leaves_no_image_behind() -> None:
    world = World()
    alice = world.users.add(consented())
    world.users.users[ALICE] = replace(alice, verification_status="pending", verification_submission="other")
    with pytest.raises(errors.Conflict):
        service(world).submit(alice, FIELDS, [uploaded(world, 1)], None)  # `alice` was read before
    assert not [k for k in world.storage.objects if k.startswith("credentials/")]
    assert world.submissions.items == {}


def test_a_failure_half_way_through_the_images_removes_those_written() -> None:
    world = World()
    alice = world.users.add(consented())
    keys = [uploaded(world, 1), uploaded(world, 2, "work_badge")]
    world.storage.fail_put = 2
    with pytest.raises(ConnectionError):
        service(world).submit(alice, FIELDS, keys, None)
    assert not [k for k in world.storage.objects if k.startswith("credentials/")]
    assert world.users.users[ALICE].verification_status is None and world.submissions.items == {}


def test_a_pending_user_may_not_submit_nor_upload() -> None:
    world = World()
    alice = world.users.add(consented(verification_status="pending"))
    with pytest.raises(errors.Conflict):
        service(world).submit(alice, FIELDS, [uploaded(world, 1)], None)
    with pytest.raises(errors.Conflict):
        service(world).upload(alice, "practice_license", "image/png", 100)


# ---- the applicant's side: correct, keep, withdraw, update ----
def _rejected(world: World, redo: tuple[str, ...] = (), note: str | None = None) -> Submission:
    """Alice's first submission (a licence and a badge), rejected with `redo` and notes."""
    alice = world.users.add(consented())
    done = service(world).submit(alice, FIELDS, [uploaded(world, 1), uploaded(world, 2, "work_badge")], None)
    sid = done["submission_id"]
    submission = world.submissions.items[sid] = replace(
        world.submissions.items[sid],
        status="rejected",
        decided_at=world.clock(),
        reason="image_unreadable",
        note=note,
        internal_note="内部：与执业注册系统核对不一致",
        redo=redo,
    )
    world.users.users[ALICE] = replace(
        world.users.users[ALICE], verification_status="rejected", verification_reason="image_unreadable"
    )
    return submission


def _approved(world: World) -> Submission:
    """Alice approved on a first submission of a licence (department 心内科)."""
    alice = world.users.add(consented())
    sid = service(world).submit(alice, FIELDS, [uploaded(world, 1)], None)["submission_id"]
    approved = world.submissions.items[sid] = replace(
        world.submissions.items[sid], status="approved", decided_at=world.clock()
    )
    world.users.users[ALICE] = replace(world.users.users[ALICE], verification_status="approved")
    return approved


def test_the_status_shows_the_reason_the_note_to_the_applicant_and_what_may_be_kept() -> None:
    world = World()
    rejected = _rejected(world, redo=("practice_license",), note="执业证书照片模糊，请重新拍摄")
    view = service(world).status(world.users.users[ALICE])
    assert view["status"] == "rejected" and view["submission_id"] == rejected.submission_id
    assert (view["reason"], view["reason_text"]) == ("image_unreadable", "图片无法辨认")
    assert view["note"] == "执业证书照片模糊，请重新拍摄" and view["redo_documents"] == ["practice_license"]
    assert view["fields"] == {**FIELDS}
    assert view["documents"] == [
        {"kind": "practice_license", "keepable": False},
        {"kind": "work_badge", "keepable": True},
    ]
    assert view["update"] is None and view["decided_at"].endswith("+08:00")
    assert "内部" not in repr(view) and "internal_note" not in view and "decided_by" not in view


def test_the_status_before_any_submission() -> None:
    world = World()
    view = service(world).status(world.users.add(consented()))
    assert view["status"] == "none" and view["submission_id"] is None and view["fields"] is None
    assert view["documents"] == [] and view["update"] is None and view["reason_text"] is None


def test_a_resubmission_keeps_an_image_as_a_copy_and_uploads_only_what_was_asked() -> None:
    world, notifier = World(), Notifier()
    rejected = _rejected(world, redo=("practice_license",))
    badge = rejected.documents[1]
    new_licence = uploaded(world, 3)
    done = service(world, notifier).submit(
        world.users.users[ALICE], FIELDS, [new_licence], None, keep=["work_badge"]
    )
    second = world.submissions.items[done["submission_id"]]
    assert [d.kind for d in second.documents] == ["practice_license", "work_badge"]
    kept = second.documents[1]
    assert kept.key.startswith(f"credentials/{ALICE}/{second.submission_id}/") and kept.key != badge.key
    assert (kept.sha256, kept.dhash) == (badge.sha256, badge.dhash)  # still seen by duplicate detection
    assert world.storage.copies == [(badge.key, kept.key)]
    assert world.storage.objects[kept.key] == world.storage.objects[badge.key]  # the old one untouched
    assert (
        world.submissions.fingerprints[(f"sha256:{badge.sha256}", ALICE)].submission_id
        == second.submission_id
    )
    assert second.revision == 2 and notifier.told == [(second.submission_id, 2)]
    assert world.users.users[ALICE].verification_status == "pending"


def test_keeping_alone_is_a_submission() -> None:
    world = World()
    _rejected(world)  # no redo: the applicant corrects a field and keeps both images
    done = service(world).submit(
        world.users.users[ALICE], {**FIELDS, "department": "心血管内科"}, [], None,
        keep=["practice_license", "work_badge"],
    )  # fmt: skip
    second = world.submissions.items[done["submission_id"]]
    assert second.department == "心血管内科" and len(second.documents) == 2 and world.storage.reads == 2


@pytest.mark.parametrize(
    ("keep", "case"),
    [(["practice_license"], "keep_redo"), (["qualification"], "keep_missing"), (["selfie"], "document_kind")],
)
def test_keeping_what_the_reviewer_asked_again_or_what_is_not_there_is_refused(
    keep: list[str], case: str
) -> None:
    world = World()
    _rejected(world, redo=("practice_license",))
    before = dict(world.storage.objects)
    with pytest.raises(errors.BadRequest) as refused:
        service(world).submit(world.users.users[ALICE], FIELDS, [uploaded(world, 3)], None, keep=keep)
    assert [(f.field, f.case) for f in refused.value.fields or ()] == [("keep", case)]
    assert len(world.submissions.items) == 1 and world.storage.copies == []
    assert {k: v for k, v in world.storage.objects.items() if not k.startswith("uploads/")} == {
        k: v for k, v in before.items() if not k.startswith("uploads/")
    }


def test_a_kept_image_gone_from_the_bucket_is_a_400_and_leaves_nothing() -> None:
    world = World()
    rejected = _rejected(world)
    del world.storage.objects[rejected.documents[1].key]  # expired or deleted meanwhile
    with pytest.raises(errors.BadRequest) as refused:
        service(world).submit(
            world.users.users[ALICE], FIELDS, [], None, keep=["practice_license", "work_badge"]
        )
    assert refused.value.fields and refused.value.fields[0].field == "keep"
    assert [k for k in world.storage.objects if k.startswith(f"credentials/{ALICE}/")] == [
        rejected.documents[0].key
    ]
    assert world.users.users[ALICE].verification_status == "rejected"


def test_a_failure_after_copying_removes_the_copies() -> None:
    world = World()
    rejected = _rejected(world)
    world.storage.fail_put = 1
    with pytest.raises(ConnectionError):
        service(world).submit(
            world.users.users[ALICE], FIELDS, [uploaded(world, 3)], None, keep=["work_badge"]
        )
    assert world.storage.copies and sorted(
        k for k in world.storage.objects if k.startswith("credentials/")
    ) == sorted(d.key for d in rejected.documents)


def test_a_new_upload_of_a_kept_image_is_the_same_image_twice() -> None:
    world = World()
    _rejected(world)
    again = uploaded(world, 1)  # the bytes of the kept licence
    with pytest.raises(errors.BadRequest) as refused:
        service(world).submit(world.users.users[ALICE], FIELDS, [again], None, keep=["practice_license"])
    assert refused.value.fields and refused.value.fields[0].case == "same_image"


def test_a_replayed_key_with_keep_answers_the_first_submission_and_copies_nothing_more() -> None:
    world = World()
    _rejected(world)
    first = service(world).submit(world.users.users[ALICE], FIELDS, [], "k", keep=["work_badge"])
    copies = list(world.storage.copies)
    replay = service(world).submit(world.users.users[ALICE], FIELDS, [], "k", keep=["work_badge"])
    assert replay == first and world.storage.copies == copies and len(world.submissions.items) == 2
    with pytest.raises(errors.Conflict):  # the same key, keeping something else
        service(world).submit(world.users.users[ALICE], FIELDS, [], "k", keep=["practice_license"])


def test_a_withdrawn_submission_goes_back_to_verify_and_its_images_are_tagged() -> None:
    world = World()
    alice = world.users.add(consented())
    sid = service(world).submit(alice, FIELDS, [uploaded(world, 1)], None)["submission_id"]
    pending = world.users.users[ALICE]
    assert service(world).withdraw(pending) == {"status": "withdrawn", "submission_id": sid}
    user = world.users.users[ALICE]
    assert user.verification_status == "withdrawn" and user.verification_submission == sid
    assert world.submissions.items[sid].status == "withdrawn"
    key = world.submissions.items[sid].documents[0].key
    assert world.storage.tags[key] == {"verification": "withdrawn"}
    view = service(world).status(user)
    assert view["status"] == "withdrawn" and view["fields"]["hospital"] == FIELDS["hospital"]
    assert view["documents"] == [{"kind": "practice_license", "keepable": True}]
    with pytest.raises(errors.Conflict) as nothing:
        service(world).withdraw(user)
    assert nothing.value.case == "verification_not_pending"
    # corrected and sent again, keeping the image
    again = service(world).submit(
        user, {**FIELDS, "title": "副主任医师"}, [], None, keep=["practice_license"]
    )
    assert world.users.users[ALICE].verification_submission == again["submission_id"]


def test_a_withdrawal_that_loses_to_a_decision_is_a_conflict() -> None:
    world = World()
    alice = world.users.add(consented())
    sid = service(world).submit(alice, FIELDS, [uploaded(world, 1)], None)["submission_id"]
    read_before = world.users.users[ALICE]
    world.submissions.items[sid] = replace(world.submissions.items[sid], status="approved")
    world.users.users[ALICE] = replace(read_before, verification_status="approved")
    with pytest.raises(errors.Conflict):
        service(world).withdraw(read_before)
    assert world.users.users[ALICE].verification_status == "approved"


@pytest.mark.parametrize("status", [None, "rejected", "approved", "withdrawn"])
def test_nothing_pending_nothing_to_withdraw(status: str | None) -> None:
    world = World()
    with pytest.raises(errors.Conflict):
        service(world).withdraw(world.users.add(consented(verification_status=status)))


def test_an_approved_user_updates_their_details_and_stays_approved_meanwhile() -> None:
    world = World()
    approved = _approved(world)
    update = service(world).submit(
        world.users.users[ALICE],
        {**FIELDS, "hospital": "北京大学第一医院"},
        [],
        None,
        keep=["practice_license"],
    )
    user = world.users.users[ALICE]
    assert user.verification_status == "approved" and user.verification_submission == approved.submission_id
    assert (user.verification_update, user.verification_update_status) == (update["submission_id"], "pending")
    assert world.submissions.items[update["submission_id"]].is_update
    view = service(world).status(user)
    assert view["status"] == "approved" and view["submission_id"] == approved.submission_id
    assert view["fields"]["hospital"] == FIELDS["hospital"]  # the approved details are the ones in force
    assert (
        view["update"]["status"] == "pending" and view["update"]["fields"]["hospital"] == "北京大学第一医院"
    )
    with pytest.raises(errors.Conflict) as second:
        service(world).submit(user, FIELDS, [uploaded(world, 5)], None)
    assert second.value.case == "update_pending"
    with pytest.raises(errors.Conflict):
        service(world).upload(user, "practice_license", "image/png", 100)
    # withdrawn: the approval stands, and another update may follow
    assert service(world).withdraw(user)["submission_id"] == update["submission_id"]
    user = world.users.users[ALICE]
    assert (user.verification_status, user.verification_update_status) == ("approved", "withdrawn")
    assert service(world).status(user)["update"]["status"] == "withdrawn"
    service(world).submit(user, FIELDS, [uploaded(world, 6)], None)


def test_upload_links_are_limited_per_user_per_hour_with_a_retry_after() -> None:
    world = World()
    alice = world.users.add(consented())
    links = service(world)
    for _ in range(UPLOADS_PER_HOUR):
        links.upload(alice, "practice_license", "image/png", 100)
    with pytest.raises(errors.RateLimited) as caught:
        links.upload(alice, "practice_license", "image/png", 100)
    assert caught.value.headers["Retry-After"] == "3600"  # the clock stands on the hour
    assert "每小时最多 20 张" in caught.value.message("zh")
    world.clock.advance(hours=1)
    assert links.upload(alice, "practice_license", "image/png", 100)["key"].startswith(f"uploads/{ALICE}/")


def test_submits_are_limited_per_user_per_day_and_a_refused_one_leaves_nothing() -> None:
    world = World()
    alice = world.users.add(consented())
    window = submit_window(ALICE, world.clock())
    service(world).submit(alice, FIELDS, [uploaded(world, 1)], None)
    assert world.windows.counts[window.key] == 1  # counted with the submission
    bob = world.users.add(consented(ALICE))  # back to a state that may submit
    world.windows.counts[window.key] = SUBMITS_PER_DAY
    stored = dict(world.submissions.items)
    with pytest.raises(errors.RateLimited) as caught:
        service(world).submit(bob, FIELDS, [uploaded(world, 2)], None)
    assert caught.value.headers["Retry-After"] == str(22 * 3600)  # to midnight UTC, from 02:00
    assert world.submissions.items == stored
    assert len([k for k in world.storage.objects if k.startswith("credentials/")]) == 1  # the first only
