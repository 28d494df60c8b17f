"""The access gate: who the caller is, and whether they may use what they ask for.

Every endpoint goes through one of these; each costs the one read of the caller's user item
(the token check), and the current document versions come from the catalog cached per container.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from shared.domain.gate import CurrentDocuments, require_agreement, require_collection, require_verified
from shared.services.sessions import Caller, SessionService

if TYPE_CHECKING:
    from shared.services.ports import Credentials


class Access:
    def __init__(self, sessions: SessionService, documents: Callable[[], CurrentDocuments]) -> None:
        self._sessions = sessions
        self._documents = documents

    def caller(self, request: Credentials) -> Caller:
        """The authenticated caller (one read), whatever their gate state; else 401."""
        return self._sessions.authenticate(request.bearer_token())

    def consented(self, request: Credentials) -> Caller:
        """A caller under the current identity agreement, else 403 consent_required."""
        caller = self.caller(request)
        require_agreement(caller.user.gate, self._documents())
        return caller

    def verified(self, request: Credentials) -> Caller:
        """A consented caller whose HCP verification is approved, else 403."""
        caller = self.caller(request)
        require_verified(caller.user.gate, self._documents())
        return caller

    def collecting(self, request: Credentials) -> Caller:
        """A verified caller who agreed to the current informed consent (the question collection)."""
        caller = self.caller(request)
        require_collection(caller.user.gate, self._documents())
        return caller
