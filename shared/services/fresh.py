"""Per-container caches with a stated staleness: what readers may see late (api.md allows 60 s for
article text and state, 5 s for counts and the first page of comments) is kept in the container
for that long, so a busy article costs a few reads a second per container, not one per request.

A caller who has just written reads around the caches (see `ArticleService`), so they always see
their own writes. `clock` is the one time source, so the bench can age every cache at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")

clock: Callable[[], float] = time.monotonic


class Fresh(Generic[V]):
    """Values kept `ttl` seconds after they were read; at most `size` of them (oldest out first)."""

    def __init__(self, ttl: float, size: int = 1000) -> None:
        self.ttl = ttl
        self._size = size
        self._kept: dict[Hashable, tuple[float, V]] = {}

    def get(self, key: Hashable) -> V | None:
        found = self._kept.get(key)
        if found is None or found[0] <= clock():
            return None
        return found[1]

    def put(self, key: Hashable, value: V) -> V:
        if key not in self._kept and len(self._kept) >= self._size:
            del self._kept[next(iter(self._kept))]  # dicts keep insertion order: the oldest
        self._kept.pop(key, None)
        self._kept[key] = (clock() + self.ttl, value)
        return value

    def clear(self) -> None:
        self._kept.clear()
