"""Fixtures shared by every tier."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

# Tests never reach real AWS: credentials and region are fakes before anything imports boto.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)


@pytest.fixture
def aged() -> Iterator[list[float]]:
    """How far the per-container caches' clock has been moved on (seconds; add to it)."""
    from shared.services import fresh

    clock, moved = fresh.clock, [0.0]
    fresh.clock = lambda: clock() + moved[0]
    try:
        yield moved
    finally:
        fresh.clock = clock
