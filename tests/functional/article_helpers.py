"""Helpers for article and comment tests: demo articles, verified users, comment pages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from infra.ops import articles as article_ops
from shared.store.users import UserItem
from tests.functional.conftest import Api, Reply
from tests.functional.consent_helpers import approve, consented

ARTICLE = "hypertension-elderly"  # a demo article of infra/seed/articles
OTHER_ARTICLE = "antibiotic-stewardship"


def seed_articles() -> dict[str, str]:
    return article_ops.import_seed()


def verified(api: Api, name: str = "alice") -> str:
    """A user under the current agreement whose HCP verification is approved.

    Through the real consent endpoints; the approval is set on the user item as the reviewer's
    decision would (the verification flow is tested on its own).
    """
    user_id = consented(api, name)
    approve(user_id)
    assert api.get("/v1/me").body["next_step"] in {"done", "questions"}
    return user_id


def with_submission(user_id: str, real_name: str, profession: str, department: str) -> str:
    """Give the user an approved submission, as the verification flow leaves it."""
    from ulid import ULID

    from shared.store.verification import SubmissionItem

    submission_id = str(ULID())
    SubmissionItem(
        submission_id,
        user_id=user_id,
        revision=1,
        status="approved",
        real_name=real_name,
        hospital="演示医院",
        department=department,
        title="主治医师",
        profession=profession,
        documents=[],
        submitted_at=datetime.now(UTC),
    ).save()
    UserItem(user_id).update(actions=[UserItem.verification_submission.set(submission_id)])
    return submission_id


def post(api: Api, text: str, article: str = ARTICLE, **kw: Any) -> Reply:
    return api.post(f"/v1/articles/{article}/comments", {"text": text}, **kw)


def count(api: Api, article: str = ARTICLE, **kw: Any) -> int:
    return int(api.get(f"/v1/articles/{article}", **kw).body["comment_count"])


def all_comments(api: Api, article: str = ARTICLE, limit: int = 7, **kw: Any) -> list[dict[str, Any]]:
    """Every comment, page by page with next_cursor (bounded)."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(1000):
        query = f"?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        page = api.get(f"/v1/articles/{article}/comments{query}", **kw)
        assert page.status == 200, page.body
        items += page.body["items"]
        cursor = page.body["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("paging did not end")
