"""Demo data for the local stage. Idempotent: running it twice changes nothing."""

from __future__ import annotations

from shared.config import Config


def seed(cfg: Config) -> None:
    """Load the seed content (consent documents, questions, articles, reviewers) for `cfg`'s stage."""
