"""The one place that builds clients, repositories and services from config.

Nothing here runs at import time: a function's first request builds what it uses, once per
container, and tests rebuild it with `reset()` after changing the environment.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

from shared import config
from shared.domain.gate import CurrentDocuments, require_agreement, require_verified
from shared.edge import Request
from shared.services.consent import ConsentCatalog, ConsentService
from shared.services.profile import gate_state
from shared.services.sessions import Caller, SessionService
from shared.store import base
from shared.store.users import UserRepository

# Only login, comment posts and the notifier talk to WeChat or read SSM: the WeChat client and
# the secrets adapter are imported where they are built, so other functions never load them
# (cold start, issue 7).
if TYPE_CHECKING:
    from shared.adapters.notify import SnsChannel  # verification (issue 4)
    from shared.adapters.storage import CredentialStorage  # verification (issue 4)
    from shared.adapters.wechat import WeChatClient, WeChatMessaging
    from shared.services.account import AccountService
    from shared.services.articles import ArticleService, CommentService, Cursors  # issue 5
    from shared.services.notifier import Notifier  # verification (issue 4)
    from shared.services.questions import AnswerService
    from shared.services.receipts import ReceiptSigner
    from shared.services.review import ReviewLinks, ReviewService  # verification (issue 4)
    from shared.services.userdata import PersonalDataStore
    from shared.services.verification import VerificationService  # verification (issue 4)
    from shared.store.verification import (  # verification (issue 4)
        ReviewerRepository,
        SubmissionRecord,
        VerificationRepository,
    )


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
        from shared.adapters import secrets
        from shared.adapters.wechat import WeChatClient

        cfg = self.cfg
        secret = secrets.secret(cfg, cfg.wechat_secret, cfg.wechat_secret_param)
        return WeChatClient(cfg.wechat_base_url, cfg.wechat_appid, secret)

    @cached_property
    def sessions(self) -> SessionService:
        return SessionService(self.users, self.wechat, self.cfg.wechat_appid, self.cfg.session_days, utcnow)

    def current_documents(self) -> CurrentDocuments:
        """The versions in force, from the catalog cached per container: no read per request."""
        return self.consent_catalog.current()

    # ---- consent (issue 3) ----
    @cached_property
    def consent_catalog(self) -> ConsentCatalog:
        from shared.store.consent import DocumentRepository

        return ConsentCatalog(DocumentRepository().current, self.cfg.consent_cache_seconds)

    @cached_property
    def consent(self) -> ConsentService:
        from shared.store.consent import ConsentRepository, DocumentRepository

        return ConsentService(self.consent_catalog, DocumentRepository(), ConsentRepository(), utcnow)

    @cached_property
    def receipts(self) -> ReceiptSigner:
        from shared.services.receipts import ReceiptSigner

        return ReceiptSigner(self.cfg)

    @cached_property
    def answers(self) -> AnswerService:
        from shared.services.questions import AnswerService
        from shared.store.consent import AnswerRepository

        return AnswerService(AnswerRepository(), utcnow)

    @cached_property
    def account(self) -> AccountService:
        from shared.services.account import AccountService

        return AccountService(self.personal_data_stores, utcnow)

    # ---- verification, reviewers, notifier (issue 4) ----
    @cached_property
    def storage(self) -> CredentialStorage:
        from shared.adapters.storage import CredentialStorage

        return CredentialStorage(self.cfg)

    @cached_property
    def verification_repo(self) -> VerificationRepository:
        from shared.store.verification import VerificationRepository

        return VerificationRepository()

    @cached_property
    def reviewers(self) -> ReviewerRepository:
        from shared.store.verification import ReviewerRepository

        return ReviewerRepository()

    @cached_property
    def verification(self) -> VerificationService:
        from shared.services.verification import VerificationService

        return VerificationService(self.verification_repo, self.storage, lambda: self.notifier, utcnow)

    @cached_property
    def review_links(self) -> ReviewLinks:
        from shared.adapters.signing import signing_key
        from shared.domain.verification import REVIEW_LINK_LIFETIME
        from shared.services.review import ReviewLinks

        return ReviewLinks(lambda: signing_key(self.cfg), int(REVIEW_LINK_LIFETIME.total_seconds()))

    @cached_property
    def sns(self) -> SnsChannel:
        from shared.adapters.notify import SnsChannel

        return SnsChannel(self.cfg)

    @cached_property
    def notifier(self) -> Notifier:
        from shared.adapters import secrets
        from shared.adapters.notify import OutboxChannel, WebhookChannel
        from shared.services.notifier import Notifier, link_builder
        from shared.store.verification import NotificationRepository

        cfg = self.cfg
        outbox = OutboxChannel(cfg.outbox_path) if cfg.is_local and cfg.outbox_path else None
        return Notifier(
            self.reviewers,
            NotificationRepository(),
            self.verification_repo,
            link_builder(cfg.public_base_url, self.review_links.sign),
            self.sns if cfg.topic_arn else None,
            WebhookChannel(),
            outbox,
            lambda param: secrets.secret(cfg, None, param),
            utcnow,
        )

    @cached_property
    def review(self) -> ReviewService:
        from shared.services.review import ReviewService

        return ReviewService(
            self.review_links,
            self.verification_repo,
            self.reviewers,
            self.storage,
            self.inform_applicant,
            self.cfg.public_base_url,
            utcnow,
        )

    def inform_applicant(self, submission: SubmissionRecord) -> str:
        """Tell the applicant the result by a WeChat subscribe message: "sent", or "owed" when
        they allowed none (the app shows the result anyway). The local stage also writes it to the
        outbox. Without a configured template nothing is sent ("skipped")."""
        from shared.domain.verification import RESULT_PAGE, result_message

        cfg = self.cfg
        outcome = "skipped"
        status = str(submission.status)
        if cfg.is_local and cfg.outbox_path:
            from shared.adapters.notify import OutboxChannel

            OutboxChannel(cfg.outbox_path).append(
                {
                    "channel": "user",
                    "user_id": submission.user_id,
                    "submission_id": submission.submission_id,
                    "status": status,
                    "reason": submission.reason,
                }
            )
            outcome = "outbox"
        if cfg.result_template_id:
            user = self.users.get(str(submission.user_id))
            if user is None:
                return "gone"  # the account was deleted meanwhile
            decided_at = submission.decided_at or utcnow()
            data = result_message(status, submission.reason, decided_at)
            outcome = self.wechat_messaging().send_subscribe_message(
                str(user.openid), cfg.result_template_id, RESULT_PAGE, data
            )
        return outcome

    # ---- WeChat messaging, articles and comments (issue 5) ----
    def wechat_messaging(self) -> WeChatMessaging:
        """Subscribe messages and msgSecCheck, with the access token shared through DynamoDB."""
        return self._wechat_messaging

    @cached_property
    def _wechat_messaging(self) -> WeChatMessaging:
        import time

        from shared.adapters.wechat import AccessTokens, WeChatMessaging
        from shared.store.wechat import AccessTokenRepository

        client = self.wechat()
        tokens = AccessTokens(self.cfg.wechat_appid, client, AccessTokenRepository(), time.time)
        return WeChatMessaging(client, tokens, "developer" if self.cfg.is_local else "formal")

    @cached_property
    def cursors(self) -> Cursors:
        from shared.adapters.signing import serializer
        from shared.services.articles import Cursors

        return Cursors(lambda purpose: serializer(self.cfg, purpose))

    @cached_property
    def articles(self) -> ArticleService:
        from shared.services.articles import ArticleService
        from shared.store.articles import ArticleRepository

        return ArticleService(ArticleRepository(), self.cursors)

    @cached_property
    def comments(self) -> CommentService:
        from functools import cache

        from shared.services.articles import CommentService, ContentCheck, load_blocked_words
        from shared.services.sessions import new_user_id
        from shared.store.articles import CommentRepository

        cfg = self.cfg
        content = ContentCheck(
            cache(lambda: load_blocked_words(cfg.blocked_words_path)),
            self.wechat_messaging if cfg.wechat_content_check else None,
        )
        return CommentService(
            CommentRepository(), self.cursors, content, self._approved_submission, utcnow, new_user_id
        )

    def _approved_submission(self, submission_id: str) -> SubmissionRecord | None:
        return self.verification_repo.get(submission_id)

    def comment_store(self) -> PersonalDataStore:
        from shared.services.articles import CommentStore
        from shared.store.articles import CommentRepository

        return CommentStore(CommentRepository())

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
        from shared.services.account import AccountStore
        from shared.services.consent import ConsentStore
        from shared.services.questions import AnswerStore
        from shared.store.consent import AnswerRepository, ConsentRepository

        return [
            AccountStore(self.users, self.cfg.wechat_appid),  # erased last (it holds the sessions)
            ConsentStore(self.users, ConsentRepository()),
            AnswerStore(AnswerRepository()),
            self.verification_store(),  # issue 4: submissions, fingerprints, images
            self.comment_store(),  # issue 5: comments stay, shown as from a deleted user
        ]

    def verification_store(self) -> PersonalDataStore:
        from shared.services.verification import VerificationStore

        return VerificationStore(self.verification_repo, self.storage)


@lru_cache(maxsize=1)
def services() -> Services:
    return Services(config.current())


def reset() -> None:
    """Forget the built services and config (tests, after changing the environment)."""
    services.cache_clear()
    config.current.cache_clear()
