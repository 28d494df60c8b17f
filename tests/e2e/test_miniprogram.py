"""The reference mini-program (miniprogram/) walked end to end by its own jest tests against a local
stack this test starts: the pages rendered by miniprogram-simulate, their `wx.request`, `wx.uploadFile`
and `wx.login` bound to real HTTP on it, a reviewer deciding through the console.

pytest drives it (not a jest global setup) so that `make test` and CI run it with the rest of the e2e
tier, on the stack helpers every other e2e test uses; what the journey needs besides the stack (another
approved user's comments, the images to upload) is prepared here with the same helpers.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, Client, RunningStack, start_stack, stop_stack
from tests.e2e.journey import bring, image

pytestmark = pytest.mark.e2e

JEST = ROOT / "node_modules" / "jest" / "bin" / "jest.js"
JEST_CONFIG = ROOT / "miniprogram" / "tests" / "jest.config.js"
# for states.test.js: two users approved here, one with a submission waiting
READER, COMMENTER, PENDING = "mp-states-reader", "mp-states-commenter", "mp-states-pending"
RESULT_TEMPLATE = "local-review-result"  # the app must ask for it, as GET /v1/config names it
PEER_COMMENTS = 5  # as many as one user may post in a minute: more than a screenful (config.ts)
RUN_TIMEOUT_SECONDS = 300
IMAGES = {
    "license.jpg": (200, 40, 40),
    "qualification.jpg": (40, 160, 60),
    "badge.jpg": (40, 60, 200),
    "license-2.jpg": (220, 120, 40),
    "badge-2.jpg": (120, 40, 200),
}


def _prepare(stack: RunningStack) -> str:
    """Users the jest tests log in as (the fake WeChat's `dev:` codes), and a peer's comments on the
    newest article, more than one screenful: that article's id."""
    peer = Client(stack)
    bring(peer, "mp-journey-peer", "done")
    for name in (READER, COMMENTER):
        bring(Client(stack), name, "done")
    bring(Client(stack), PENDING, "pending")
    article_id = str(peer.call("GET", "/v1/articles").json()["items"][0]["id"])
    for n in range(PEER_COMMENTS):
        posted = peer.call("POST", f"/v1/articles/{article_id}/comments", {"text": f"同行评论 {n + 1}"})
        assert posted.status_code == 201, posted.text
    return article_id


def test_the_mini_program_against_the_local_stack(tmp_path: Path) -> None:
    node = shutil.which("node")
    assert node, "Node.js is needed for the mini-program's tests"
    assert JEST.exists(), "jest is not installed: run `npm ci` at the repository's root"
    images = tmp_path / "images"
    images.mkdir()
    for name, color in IMAGES.items():
        (images / name).write_bytes(image(color))

    stack = start_stack(tmp_path / "var", {"WECHAT_RESULT_TEMPLATE_ID": RESULT_TEMPLATE})
    try:
        try:
            article_id = _prepare(stack)
        except AssertionError as broken:  # an endpoint the preparation needs is broken too
            pytest.fail(f"preparing the other users failed, before any screen ran: {broken}")
        env = {
            **os.environ,
            "MP_BASE_URL": stack.base_url,
            "MP_OUTBOX": str(stack.var / "outbox.jsonl"),
            "MP_ARTICLE_ID": article_id,
            "MP_IMAGES": str(images),
            "MP_READER": READER,
            "MP_COMMENTER": COMMENTER,
            "MP_PENDING": PENDING,
            "CI": "true",  # jest: no watch mode, no interactive output
            "FORCE_COLOR": "0",  # a failure's output readable in pytest's report
        }
        run = subprocess.run(
            [node, str(JEST), "--config", str(JEST_CONFIG)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_SECONDS,
            check=False,
        )
    finally:
        stop_stack(stack)
    assert run.returncode == 0, f"the mini-program's journey failed:\n{run.stdout}\n{run.stderr}"
