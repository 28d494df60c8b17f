"""The one place that builds clients, repositories and services from config.

Nothing here runs at import time: a function's first request builds what it uses, once per
container, and tests rebuild it with `reset()` after changing the environment.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cached_property, lru_cache

from shared import config
from shared.adapters import secrets
from shared.adapters.wechat import WeChatClient
from shared.domain.gate import CurrentDocuments, require_agreement, require_verified
from shared.edge import Request
from shared.services.profile import gate_state
from shared.services.sessions import Caller, SessionService
from shared.services.userdata import PersonalDataStore
from shared.store import base
from shared.store.users import UserRepository


def utcnow() -> datetime:
    return datetime.now(UTC)


class Services:
    def __init__(self, cfg: config.Config) -> None:
        self.cfg = cfg
        # every model module registers itself with the store on import
        base.bind(cfg)

    @cached_property
    def users(self) -> UserRepository:
        return UserRepository()

    def wechat(self) -> WeChatClient:
        return self._wechat

    @cached_property
    def _wechat(self) -> WeChatClient:
        cfg = self.cfg
        secret = secrets.secret(cfg, cfg.wechat_secret, cfg.wechat_secret_param)
        return WeChatClient(cfg.wechat_base_url, cfg.wechat_appid, secret)

    @cached_property
    def sessions(self) -> SessionService:
        return SessionService(self.users, self.wechat, self.cfg.wechat_appid, self.cfg.session_days, utcnow)

    def current_documents(self) -> CurrentDocuments:
        # Replaced by the consent catalog (issue 3): nothing published means nothing is served.
        return CurrentDocuments(agreement_version=None, informed_version=None)

    # ---- access: the one gate every endpoint goes through ----
    def caller(self, request: Request) -> Caller:
        """The authenticated caller (one read), whatever their gate state."""
        return self.sessions.authenticate(request.bearer_token())

    def consented_caller(self, request: Request) -> Caller:
        """A caller under the current identity agreement, else 403 consent_required."""
        caller = self.caller(request)
        require_agreement(gate_state(caller.user), self.current_documents())
        return caller

    def verified_caller(self, request: Request) -> Caller:
        """A consented caller whose HCP verification is approved, else 403."""
        caller = self.caller(request)
        require_verified(gate_state(caller.user), self.current_documents())
        return caller

    # ---- the user-data registry: each capability adds its store here ----
    def personal_data_stores(self) -> list[PersonalDataStore]:
        return []


@lru_cache(maxsize=1)
def services() -> Services:
    return Services(config.current())


def reset() -> None:
    """Forget the built services and config (tests, after changing the environment)."""
    services.cache_clear()
    config.current.cache_clear()
