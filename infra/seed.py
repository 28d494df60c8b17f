"""Demo data for the local stage. Idempotent: running it twice changes nothing."""

from __future__ import annotations

from shared.config import Config


def seed(cfg: Config) -> None:
    """Load the seed content (consent documents, questions, articles, staff) for `cfg`'s stage."""
    from infra.ops import consent  # the consent documents; questions ship with the code

    consent.publish_seed()
    from infra.ops import staff  # one demo member of each role, reached through the local outbox

    staff.seed_demo()
    from infra.ops import articles  # three demo articles (imports are idempotent)

    articles.import_seed()
