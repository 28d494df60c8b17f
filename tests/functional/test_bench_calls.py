"""The AWS-call targets of `make bench`, guarded in `make test`.

The bench's own journey runs every endpoint's happy path against moto in-process; the timing
targets (cold start, depth time) stay in the bench.
"""

from __future__ import annotations

import pytest

from infra import resources
from infra.bench import depth, targets
from infra.bench.journey import Client, Journey, approved_hcp
from infra.routes import routes
from shared import config, wiring


@pytest.fixture
def deployed_like(aws: config.Config, monkeypatch: pytest.MonkeyPatch) -> config.Config:
    """The functional stage plus the reviewer topic, so an e-mail reviewer is informed by SNS."""
    monkeypatch.setenv(config.ENV_TOPIC_ARN, resources.ensure(aws).topic_arn)
    monkeypatch.setenv(config.ENV_REVIEWER_BATCH_SECONDS, str(config.DEFAULT_REVIEWER_BATCH_SECONDS))
    wiring.reset()
    return config.current()


def test_every_endpoint_meets_its_call_target(deployed_like: config.Config) -> None:
    measured = Journey().run()
    verdicts = targets.check_calls(measured)
    assert all(v.ok for v in verdicts), [v.line() for v in verdicts]
    by_label = {m.label: m for m in measured}
    assert by_label["GET /v1/me"].calls == ["GetItem"]
    assert by_label["GET /v1/articles/{id}/comments"].calls == ["GetItem", "Query"]
    assert by_label["POST /v1/articles/{id}/comments"].calls == [
        "GetItem",
        "UpdateItem",
        "TransactWriteItems",
    ]
    submit = by_label["POST /v1/verification (two images)"]
    assert submit.calls.count("Publish") == 1  # the one e-mail reviewer, through SNS
    assert submit.count <= targets.CALL_TARGETS["POST /v1/verification (two images)"]  # that Publish included
    # batched: the reviewer's window claimed, the other waiting links looked up, then one message
    assert submit.calls[-4:] == ["UpdateItem", "Query", "Publish", "UpdateItem"]
    driven = {m.label.split(" (")[0] for m in measured}
    # a new endpoint shows in the bench as "not driven" until the journey covers it
    assert {"GET /v1/me", "GET /v1/articles/{id}", "POST /v1/verification"} <= driven
    assert driven <= {r.route_key for r in routes()} | {
        "schedule notifierRetry",
        "schedule reviewReminders",
        "stream funnelCount",
    }
    assert {r.route_key for r in routes()} <= driven  # every route has its happy path here
    console = by_label["POST /console/login"]
    assert console.calls == ["GetItem", "GetItem", "TransactWriteItems", "Publish"]


def test_a_deep_comments_page_makes_the_same_calls(deployed_like: config.Config) -> None:
    from infra.ops import articles as article_ops
    from infra.ops import consent as consent_ops

    consent_ops.publish_seed()
    article_ops.import_seed()
    reader = Client()
    approved_hcp(reader, "deep-reader")
    result = depth.measure(reader, depth=60, timings=1)
    assert result["first"]["calls"] == result["deep"]["calls"] == ["GetItem", "Query"]
    assert result["page_items"] == [20, 20]
