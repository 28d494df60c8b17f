"""The console's funnel: users counted by gate state from the users table's stream, shown by step."""

from __future__ import annotations

import itertools
import re
from functools import cache

import pytest

from functions.funnel import count
from infra.ops import consent as consent_ops
from infra.ops import funnel as funnel_ops
from infra.streams import StreamPump
from shared import config, wiring
from shared.domain.consent import AGREEMENT
from shared.store.funnel import FunnelItem
from tests.functional.conftest import Api
from tests.functional.consent_helpers import agree_all, consented, decide, publish_seed
from tests.functional.console_helpers import Browser, member
from tests.functional.verification_helpers import add_reviewer, post_decision, reviewer_links, submit, upload

_viewers = itertools.count()


@cache
def _pump(stream_arn_key: str) -> StreamPump:
    return StreamPump(config.current(), config.current().table("users"), count)


def pump() -> int:
    """Deliver the users table's new stream records to funnelCount, as Lambda would."""
    cfg = config.current()
    return _pump(f"{cfg.region}:{cfg.table_prefix}").drain()


def steps(api: Api, env: dict[str, str]) -> dict[str, int]:
    """The dashboard's funnel, as an admin sees it."""
    admin = member("admin", f"看板管理员{next(_viewers)}")
    browser = Browser(api)
    browser.sign_in(admin, env["OUTBOX_PATH"], admin)
    page = browser.get("/console").text
    return {step: int(users) for step, users in re.findall(r'data-step="(\w+)" data-users="(\d+)"', page)}


def test_users_are_counted_at_their_step_as_they_move(api: Api, env: dict[str, str]) -> None:
    add_reviewer()
    publish_seed()
    api.login("newcomer")  # identity_agreement
    api.login("rita")
    decide(api, AGREEMENT, "refuse")  # refused
    consented(api, "vera")  # verify
    consented(api, "paul")
    assert submit(api, [upload(api)]).status == 201  # pending
    consented(api, "alma")
    sid = submit(api, [upload(api)]).body["submission_id"]
    link = reviewer_links(env["OUTBOX_PATH"], sid)[0]
    assert post_decision(api, link, "approve").status == 200  # questions (informed consent agreed)
    consented(api, "gone")
    assert api.delete("/v1/me").status == 200  # counted, then not
    assert pump() > 0
    assert steps(api, env) == {
        "identity_agreement": 1,
        "refused": 1,
        "informed_consent": 0,
        "verify": 1,
        "pending": 1,
        "rejected": 0,
        "questions": 1,
        "done": 0,
    }
    assert pump() == 0  # nothing new: the console's own reads changed no user


def test_a_new_agreement_version_moves_everyone_without_a_write(
    api: Api, env: dict[str, str], tmp_path: object
) -> None:
    for name in ("amy", "ben"):
        consented(api, name)
    pump()
    assert steps(api, env)["verify"] == 2
    counters = sorted(str(i.attribute_values) for i in FunnelItem.scan())
    newer = next(p for p in consent_ops.seed_files() if p.parent.name == AGREEMENT)
    text = newer.read_text(encoding="utf-8").rstrip("\n") + "\n\n（修订）\n"
    folder = tmp_path / AGREEMENT  # type: ignore[operator]
    folder.mkdir(parents=True)
    (folder / "2099-01-01.md").write_text(text, encoding="utf-8")
    assert consent_ops.publish(folder / "2099-01-01.md") == "published"
    wiring.reset()
    assert steps(api, env)["identity_agreement"] == 2
    assert sorted(str(i.attribute_values) for i in FunnelItem.scan()) == counters


def test_the_recount_and_the_stream_agree_and_count_nobody_twice(
    api: Api, env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    consented(api, "amy")
    api.login("ben")
    assert funnel_ops.main(["recount"]) == 0  # before the stream: everyone counted from scratch
    assert "2 users seen, 2 recounted" in capsys.readouterr().out
    pump()  # the stream's records of the same changes move nothing more
    agree_all(api)  # ben moves on
    pump()
    assert funnel_ops.main(["recount"]) == 0
    assert "0 recounted" in capsys.readouterr().out
    shown = steps(api, env)
    assert (shown["verify"], shown["identity_agreement"]) == (2, 0)
    assert funnel_ops.main(["nonsense"]) == 2


def test_a_failed_recount_is_delivered_again(
    api: Api, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.store.funnel import FunnelRepository

    consented(api, "amy")
    real = FunnelRepository.move
    failures = iter([RuntimeError("throttled"), None])

    def flaky(self: FunnelRepository, *args: object) -> object:
        fault = next(failures, None)
        if fault is not None:
            raise fault
        return real(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(FunnelRepository, "move", flaky)
    wiring.reset()
    pump()
    assert sum(steps(api, env).values()) == 1
