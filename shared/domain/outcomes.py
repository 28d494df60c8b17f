"""What a conditional write came to, in the domain's words: done, refused (and on what), contended.

Repositories name the conditions of each write (`"article"`, `"minute"`, `"guard"`...) and say which
ones failed; services branch on those names, never on storage error codes or key formats.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Written:
    """The write (or every write of the transaction) happened."""


@dataclass(frozen=True)
class Refused:
    """A condition failed, so nothing was written; `failed` names the conditions that failed."""

    failed: frozenset[str]

    def __contains__(self, name: object) -> bool:
        return name in self.failed


@dataclass(frozen=True)
class Contended:
    """Another writer held an item at that moment (a transaction conflict): nothing was written,
    and the same write may succeed if tried again."""


Outcome = Written | Refused | Contended

WRITTEN = Written()
CONTENDED = Contended()


def refused(*names: str) -> Refused:
    return Refused(frozenset(names))
