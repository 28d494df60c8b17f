"""Submitting credentials, on in-memory repositories and bucket (real image bytes, Pillow)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from msgspec.structs import replace

from shared import errors
from shared.adapters import images
from shared.domain.verification import upload_key
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
        world.submissions, world.storage, images.sanitize, lambda: told, world.idempotency, world.clock
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


@pytest.mark.parametrize("status", ["pending", "approved"])
def test_a_pending_or_approved_user_may_not_submit(status: str) -> None:
    world = World()
    alice = world.users.add(consented(verification_status=status))
    with pytest.raises(errors.Conflict):
        service(world).submit(alice, FIELDS, [uploaded(world, 1)], None)
    with pytest.raises(errors.Conflict):
        service(world).upload(alice, "practice_license", "image/png", 100)
