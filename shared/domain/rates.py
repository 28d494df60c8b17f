"""Per-user rate windows: at most `limit` writes of a kind until the window's end.

A window is a counter item written in the same transaction as the write it counts (or, where the
write is no transaction, by one conditional update before it), conditioned under its limit: a
refusal names the window, and the window's end says when to try again. Commenting, verification
upload links and verification submits each have their own windows.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

import msgspec


class RateWindow(msgspec.Struct, frozen=True):
    """A user's window: at most `limit` writes until `ends_at` (epoch seconds)."""

    name: str  # how the refusal says which limit was reached (minute, day, uploads, submits)
    key: str
    limit: int
    ends_at: int

    def retry_after(self, epoch: int) -> int:
        """Seconds until the window ends, at least one."""
        return max(1, self.ends_at - epoch)


def rate_key(user_id: str, span: str, end: int) -> str:
    """The guard item of a user's rate window (`span` names the kind and length, "m" or "d" for
    comments), keyed by a digest of the user id so that a deleted user leaves no id behind in
    windows still waiting for their TTL."""
    rater = hashlib.sha256(f"rate\n{user_id}".encode()).hexdigest()[:32]
    return f"rate#{rater}#{span}#{end}"


def window_end(now: datetime, seconds: int) -> int:
    """The epoch second at which the rate window holding `now` ends."""
    epoch = int(now.timestamp())
    return epoch - epoch % seconds + seconds
