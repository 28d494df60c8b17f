"""One key per purpose: rotating one invalidates what it signed and nothing that the others signed.

Each purpose signs through the very objects the handlers use (`shared.wiring`): a reviewer link
and its page's CSRF field (the review-link key), a console CSRF field and a sign-in rate window's
name (the console key), a list cursor (the cursor key), a consent receipt (the receipt key).
"""

from __future__ import annotations

from typing import Any

import pytest

from shared import errors, wiring
from shared.adapters.signing import console_digest

PURPOSES = ("REVIEW_LINK_KEY", "CONSOLE_KEY", "CURSOR_KEY", "CONSENT_RECEIPT_KEY")


def signed() -> dict[str, Any]:
    """What each purpose signed with the keys as they now stand."""
    app = wiring.services()
    link = app.review_links.sign("reviewer-1", "submission-1", 1)
    return {
        "REVIEW_LINK_KEY": (link, app.review_csrf.token(link)),
        "CONSOLE_KEY": (app.console_csrf.token("session-1"), console_digest(app.cfg, "sign-in-who\nalice")),
        "CURSOR_KEY": app.cursors.sign("articles", {"k": "2026", "id": "a1"}),
        "CONSENT_RECEIPT_KEY": app.receipts.key_id,
    }


def still_valid(purpose: str, before: Any) -> bool:
    app = wiring.services()
    try:
        if purpose == "REVIEW_LINK_KEY":
            link, csrf = before
            app.review_links.verify(link, "submission-1")
            app.review_csrf.check(link, csrf)
        elif purpose == "CONSOLE_KEY":
            csrf, window = before
            app.console_csrf.check("session-1", csrf)
            if console_digest(app.cfg, "sign-in-who\nalice") != window:
                return False
        elif purpose == "CURSOR_KEY":
            app.cursors.load("articles", before, {"k", "id"})
        else:
            return bool(app.receipts.key_id == before)
    except (errors.Forbidden, errors.BadRequest):
        return False
    return True


@pytest.mark.parametrize("rotated", PURPOSES)
def test_rotating_one_key_invalidates_its_own_tokens_only(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, rotated: str
) -> None:
    before = signed()
    assert all(still_valid(purpose, before[purpose]) for purpose in PURPOSES)
    monkeypatch.setenv(rotated, env[rotated] + "-rotated")
    wiring.reset()
    assert {purpose: still_valid(purpose, before[purpose]) for purpose in PURPOSES} == {
        purpose: purpose != rotated for purpose in PURPOSES
    }
