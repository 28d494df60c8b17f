"""Articles and comments over real HTTP against the local stack, the approval through a reviewer link."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Client, RunningStack
from tests.e2e.journey import consent, review, submit

pytestmark = pytest.mark.e2e


def _approved(stack: RunningStack, name: str) -> Client:
    client = Client(stack)
    client.login(name)
    consent(client)
    review(client, submit(client, (10, 120, 60), real_name="赵一鸣"), "approve")
    return client


def test_an_approved_user_reads_posts_pages_and_deletes(stack: RunningStack) -> None:
    reader = Client(stack)
    reader.login("e2e-articles-unverified")
    consent(reader)
    assert reader.call("GET", "/v1/articles").status_code == 200
    for path in ("/v1/articles/hypertension-elderly", "/v1/articles/hypertension-elderly/comments"):
        refused = reader.call("GET", path)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "verification_required"

    client = _approved(stack, "e2e-articles-zhao")
    listed = client.call("GET", "/v1/articles").json()
    assert len(listed["items"]) >= 3
    article_id = listed["items"][0]["id"]
    article = client.call("GET", f"/v1/articles/{article_id}").json()
    assert article["sections"] and article["sections"][0]["heading"]
    before = article["comment_count"]

    ids = []
    for n in range(4):
        posted = client.call("POST", f"/v1/articles/{article_id}/comments", {"text": f"端到端评论 {n}"})
        assert posted.status_code == 201, posted.text
        assert posted.json()["author"]["display_name"] == "赵医生"
        ids.append(posted.json()["id"])
    assert "赵一鸣" not in posted.text
    too_long = client.call("POST", f"/v1/articles/{article_id}/comments", {"text": "字" * 1001})
    assert too_long.status_code == 400

    seen: list[str] = []
    cursor = None
    for _ in range(100):
        query = "?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = client.call("GET", f"/v1/articles/{article_id}/comments{query}").json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    count = client.call("GET", f"/v1/articles/{article_id}").json()["comment_count"]
    assert count == before + 4 == len(seen)
    assert len(set(seen)) == len(seen) and set(ids) <= set(seen)  # no repeats, none dropped
    assert client.call("DELETE", f"/v1/comments/{ids[0]}").status_code == 200
    assert client.call("DELETE", f"/v1/comments/{ids[0]}").status_code == 404
    assert client.call("GET", f"/v1/articles/{article_id}").json()["comment_count"] == count - 1


def test_a_comment_past_the_checks_inline_share_is_held_then_shown_by_the_paced_worker(
    stack: RunningStack,
) -> None:
    """The local stack polls the content check's queue (moto's SQS) as Lambda would: a comment
    held past the minute's inline share becomes visible and counted once the worker checks it."""
    import time

    import boto3

    from shared.domain.content_check import INLINE_SHARE, Budget
    from tests.e2e.journey import wait_for

    endpoint = next(line.split()[-1] for line in stack.lines if line.strip().startswith("aws_endpoint"))
    guards = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=endpoint)
    client = _approved(stack, "e2e-paced-qian")
    now = int(time.time())
    spent = [w.key for epoch in (now, now + 60) for w in Budget(4000).windows(epoch, INLINE_SHARE)]
    for key in spent:  # the burst's share of this minute and the next
        item = {"key": {"S": key}, "used": {"N": str(Budget(4000).shard_limit(INLINE_SHARE))}}
        guards.put_item(TableName="hcp-local-comment_guards", Item=item)
    article_id = "perioperative-anticoagulation"
    posted = client.call("POST", f"/v1/articles/{article_id}/comments", {"text": "高峰时的端到端评论"})
    for key in spent:  # the burst over: the other tests post inline
        guards.delete_item(TableName="hcp-local-comment_guards", Key={"key": {"S": key}})
    assert posted.status_code == 201 and posted.json()["state"] == "held", posted.text

    def shown() -> bool:
        page = client.call("GET", f"/v1/articles/{article_id}/comments").json()["items"]
        return any(c["id"] == posted.json()["id"] and c["state"] == "visible" for c in page)

    assert wait_for(shown, timeout=20)
    visible, cursor = 0, None
    for _ in range(100):  # counted once: the count is the comments readers can see
        query = "?limit=50" + (f"&cursor={cursor}" if cursor else "")
        page = client.call("GET", f"/v1/articles/{article_id}/comments{query}").json()
        visible += sum(1 for c in page["items"] if c["state"] == "visible")
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert client.call("GET", f"/v1/articles/{article_id}").json()["comment_count"] == visible
