"""What a conditional write came to, in the domain's words: done, refused (and on what), contended.

Repositories name the conditions of each write (`"article"`, `"minute"`, `"guard"`...) and say which
ones failed; services branch on those names, never on storage error codes or key formats.
"""

from __future__ import annotations

import msgspec


class Written(msgspec.Struct, frozen=True):
    """The write (or every write of the transaction) happened."""


class Refused(msgspec.Struct, frozen=True):
    """A condition failed, so nothing was written; `failed` names the conditions that failed."""

    failed: frozenset[str]

    def __contains__(self, name: object) -> bool:
        return name in self.failed


class Contended(msgspec.Struct, frozen=True):
    """Another writer held an item at that moment (a transaction conflict): nothing was written,
    and the same write may succeed if tried again."""


Outcome = Written | Refused | Contended

WRITTEN = Written()
CONTENDED = Contended()


def refused(*names: str) -> Refused:
    return Refused(frozenset(names))
