"""The composition root: builds clients, repositories and services from config, and nothing else.

Nothing here runs at import time: a function's first request builds what it uses, once per
container, and tests rebuild it with `reset()` after changing the environment. Heavy or rarely
needed modules (WeChat's client, the secrets adapter, Pillow, Jinja2) are imported where the
piece that needs them is built, so a function that never uses them never loads them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

from shared import config
from shared.domain import times
from shared.domain.gate import CurrentDocuments
from shared.services.access import Access
from shared.services.consent import ConsentCatalog, ConsentService
from shared.services.sessions import SessionService
from shared.store import base
from shared.store.users import UserRepository

if TYPE_CHECKING:
    from shared.adapters.check_queue import CheckQueue
    from shared.adapters.images import CleanImage
    from shared.adapters.notify import OutboxChannel, SnsChannel
    from shared.adapters.receipts import ReceiptSigner
    from shared.adapters.storage import CredentialStorage
    from shared.adapters.wechat import WeChatClient, WeChatMessaging
    from shared.pages import Csrf
    from shared.services.account import AccountService
    from shared.services.answer_stats import AnswerStatistics
    from shared.services.articles import ArticleService
    from shared.services.comments import CommentService
    from shared.services.console import ConsoleAccess, ConsoleDashboard, ConsoleSignIn
    from shared.services.cursors import Cursors
    from shared.services.funnel import FunnelCounter
    from shared.services.idempotency import Idempotency
    from shared.services.moderation import Moderation
    from shared.services.notifier import Notifier
    from shared.services.ports import PersonalData, TextChecker
    from shared.services.publishing import Publishing
    from shared.services.questions import AnswerService
    from shared.services.queued_checks import CheckPacing, QueuedChecks
    from shared.services.reminders import ReviewReminders
    from shared.services.result_notifier import ResultNotifier
    from shared.services.review import ReviewLinks, ReviewService
    from shared.services.staff import StaffDirectory
    from shared.services.support import Support
    from shared.services.verification import VerificationService
    from shared.store.answers import AnswerRepository
    from shared.store.audit import AuditTrail
    from shared.store.comments import CommentRepository
    from shared.store.consent import ConsentKeyRepository, ConsentRepository
    from shared.store.idempotency import IdempotencyRepository
    from shared.store.rates import RateWindowRepository
    from shared.store.staff import ReviewerPool, SignInRepository, StaffRepository
    from shared.store.verification import VerificationRepository


def utcnow() -> datetime:
    return datetime.now(UTC)


def clean_image(data: bytes, content_type: str) -> CleanImage:
    from shared.adapters import images  # Pillow: only the submit path pays for it

    return images.sanitize(data, content_type)


class Services:
    def __init__(self, cfg: config.Config) -> None:
        self.cfg = cfg
        # every model module registers itself with the store on import
        base.bind(cfg)
        times.use_zone(times.parse_zone(cfg.time_zone))

    # ---- repositories ----
    @cached_property
    def users(self) -> UserRepository:
        return UserRepository()

    @cached_property
    def guards(self) -> IdempotencyRepository:
        from shared.store.idempotency import IdempotencyRepository

        return IdempotencyRepository()

    @cached_property
    def answer_repo(self) -> AnswerRepository:
        from shared.store.answer_stats import AnswerStatsRepository
        from shared.store.answers import AnswerRepository

        return AnswerRepository(self.users, self.guards, AnswerStatsRepository())

    @cached_property
    def consent_repo(self) -> ConsentRepository:
        from shared.store.consent import ConsentRepository

        return ConsentRepository(self.users, self.answer_repo)

    @cached_property
    def consent_keys(self) -> ConsentKeyRepository:
        from shared.store.consent import ConsentKeyRepository

        return ConsentKeyRepository(self.users)

    @cached_property
    def rate_windows(self) -> RateWindowRepository:
        from shared.store.rates import RateWindowRepository

        return RateWindowRepository()

    @cached_property
    def submissions(self) -> VerificationRepository:
        from shared.store.verification import VerificationRepository

        return VerificationRepository(self.users, self.guards)

    @cached_property
    def staff(self) -> StaffRepository:
        from shared.store.staff import StaffRepository

        return StaffRepository()

    @cached_property
    def reviewers(self) -> ReviewerPool:
        """The active staff with the role `reviewer`, as the notifier and the review pages see them."""
        from shared.store.staff import ReviewerPool

        return ReviewerPool(self.staff)

    @cached_property
    def sign_in_links(self) -> SignInRepository:
        from shared.store.staff import SignInRepository

        return SignInRepository()

    @cached_property
    def comment_repo(self) -> CommentRepository:
        from shared.store.comments import CommentRepository

        return CommentRepository(self.users, self.guards)

    # ---- adapters ----
    def wechat(self) -> WeChatClient:
        return self._wechat

    @cached_property
    def _wechat(self) -> WeChatClient:
        from shared.adapters import secrets
        from shared.adapters.wechat import WeChatClient

        cfg = self.cfg
        secret = secrets.secret(cfg, cfg.wechat_secret, cfg.wechat_secret_param)
        return WeChatClient(cfg.wechat_base_url, cfg.wechat_appid, secret)

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

    def content_checker(self) -> TextChecker:
        """The stage's content check: WeChat's msgSecCheck, or Tencent Cloud's TMS."""
        return self._content_checker

    @cached_property
    def _content_checker(self) -> TextChecker:
        cfg = self.cfg
        if cfg.content_check != config.TMS:
            return self.wechat_messaging()
        from shared.adapters import secrets
        from shared.adapters.tms import TextModeration, credentials_from

        def credentials() -> tuple[str, str]:
            if cfg.tms_secret_id and cfg.tms_secret_key:
                return cfg.tms_secret_id, cfg.tms_secret_key
            return credentials_from(secrets.secret(cfg, None, cfg.tms_credentials_param))

        return TextModeration(cfg.tms_base_url, cfg.tms_region, credentials, cfg.tms_biz_type)

    @cached_property
    def check_queue(self) -> CheckQueue:
        from shared.adapters.check_queue import CheckQueue

        return CheckQueue(self.cfg)

    @cached_property
    def check_pacing(self) -> CheckPacing:
        from shared.services.queued_checks import CheckPacing

        return CheckPacing(self.rate_windows, self.cfg.checks_per_minute)

    @cached_property
    def queued_checks(self) -> QueuedChecks:
        from shared.services.queued_checks import QueuedChecks

        return QueuedChecks(
            self.comment_repo,
            self.users,
            self.content_checker,
            self.check_pacing,
            lambda: self.check_queue,
            utcnow,
        )

    @cached_property
    def storage(self) -> CredentialStorage:
        from shared.adapters.storage import CredentialStorage

        return CredentialStorage(self.cfg)

    @cached_property
    def sns(self) -> SnsChannel:
        from shared.adapters.notify import SnsChannel

        return SnsChannel(self.cfg)

    def review_link_key(self) -> str:
        """Reviewer links and the CSRF field of their page."""
        from shared.adapters import secrets

        return secrets.key(self.cfg, self.cfg.review_link_key)

    def console_key(self) -> str:
        """The console's CSRF fields (and, through `console_digest`, its rate windows' names)."""
        from shared.adapters import secrets

        return secrets.key(self.cfg, self.cfg.console_key)

    # ---- the gate ----
    @cached_property
    def sessions(self) -> SessionService:
        return SessionService(self.users, self.wechat, self.cfg.wechat_appid, self.cfg.session_days, utcnow)

    @cached_property
    def consent_catalog(self) -> ConsentCatalog:
        from shared.store.consent import DocumentRepository

        return ConsentCatalog(DocumentRepository().current, self.cfg.consent_cache_seconds)

    def current_documents(self) -> CurrentDocuments:
        """The versions in force, from the catalog cached per container: no read per request."""
        return self.consent_catalog.current()

    @cached_property
    def access(self) -> Access:
        return Access(self.sessions, self.current_documents)

    @cached_property
    def idempotency(self) -> Idempotency:
        from shared.services.idempotency import Idempotency

        return Idempotency(self.guards, utcnow)

    # ---- use cases ----
    @cached_property
    def consent(self) -> ConsentService:
        from shared.store.consent import DocumentRepository

        return ConsentService(
            self.consent_catalog, DocumentRepository(), self.consent_repo, self.consent_keys, utcnow
        )

    @cached_property
    def receipts(self) -> ReceiptSigner:
        from shared.adapters.receipts import ReceiptSigner

        return ReceiptSigner(self.cfg)

    @cached_property
    def answers(self) -> AnswerService:
        from shared.services.questions import AnswerService

        return AnswerService(self.answer_repo, self.idempotency, utcnow)

    @cached_property
    def verification(self) -> VerificationService:
        from shared.services.verification import VerificationService

        return VerificationService(
            self.submissions,
            self.storage,
            clean_image,
            lambda: self.notifier,
            self.idempotency,
            utcnow,
            self.rate_windows,
            self.cfg.image_retention_days,
        )

    @cached_property
    def review_links(self) -> ReviewLinks:
        from shared.domain.verification import REVIEW_LINK_LIFETIME
        from shared.services.review import ReviewLinks

        return ReviewLinks(self.review_link_key, int(REVIEW_LINK_LIFETIME.total_seconds()))

    @cached_property
    def review_csrf(self) -> Csrf:
        from shared.pages import Csrf

        return Csrf(self.review_link_key, "review-csrf")

    @cached_property
    def notifier(self) -> Notifier:
        from shared.adapters import secrets
        from shared.adapters.notify import WebhookChannel
        from shared.services.notifier import Notifier, link_builder
        from shared.store.verification import MessageWindowRepository, NotificationRepository

        cfg = self.cfg
        return Notifier(
            self.reviewers,
            NotificationRepository(),
            self.submissions,
            link_builder(cfg.public_base_url, self.review_links.sign),
            self.sns if cfg.topic_arn else None,
            WebhookChannel(),
            self.outbox,
            lambda param: secrets.secret(cfg, None, param),
            utcnow,
            MessageWindowRepository(),
            cfg.reviewer_batch_seconds,
            self._queue_link,
        )

    @property
    def _queue_link(self) -> str:
        """The console's queue of pending verifications (reminders and long batches point there)."""
        return f"{self.cfg.public_base_url}/console/verifications"

    @cached_property
    def reminders(self) -> ReviewReminders:
        from shared.adapters import secrets
        from shared.adapters.notify import WebhookChannel
        from shared.services.reminders import ReviewReminders, StaffChannels
        from shared.store.queue import ReviewQueue
        from shared.store.verification import MessageWindowRepository

        cfg = self.cfg
        return ReviewReminders(
            ReviewQueue(),
            self.staff,
            MessageWindowRepository(),
            StaffChannels(
                self.sns if cfg.topic_arn else None,
                WebhookChannel(),
                self.outbox,
                lambda param: secrets.secret(cfg, None, param),
            ),
            self._queue_link,
            cfg.review_sla_hours,
            cfg.reviewer_batch_seconds,
            utcnow,
        )

    @cached_property
    def outbox(self) -> OutboxChannel | None:
        """The local stage's outbox of notifications (var/outbox.jsonl); None when deployed."""
        from shared.adapters.notify import OutboxChannel

        cfg = self.cfg
        return OutboxChannel(cfg.outbox_path) if cfg.is_local and cfg.outbox_path else None

    @cached_property
    def result_notifier(self) -> ResultNotifier:
        from shared.services.result_notifier import ResultNotifier

        cfg = self.cfg
        return ResultNotifier(
            self.users, self.wechat_messaging, cfg.result_template_id, cfg.result_page, self.outbox, utcnow
        )

    @cached_property
    def review(self) -> ReviewService:
        from shared.services.review import ReviewService
        from shared.store.queue import ReviewQueue

        return ReviewService(
            self.review_links,
            self.submissions,
            self.reviewers,
            self.storage,
            self.result_notifier,
            utcnow,
            audit=self.audit_trail,
            queue=ReviewQueue(),
            users=self.users,
        )

    # ---- the staff console ----
    def _console_link(self, token: str) -> str:
        return f"{self.cfg.public_base_url}/console/auth?t={token}"

    @cached_property
    def staff_directory(self) -> StaffDirectory:
        from shared.services.staff import StaffDirectory

        cfg = self.cfg
        return StaffDirectory(
            self.staff,
            self.sign_in_links,
            self.sns if cfg.topic_arn else None,
            self._console_link,
            utcnow,
            local=cfg.is_local,
        )

    @cached_property
    def console_csrf(self) -> Csrf:
        from shared.pages import Csrf

        return Csrf(self.console_key, "console-csrf")

    @cached_property
    def sign_in(self) -> ConsoleSignIn:
        from shared.adapters.signing import console_digest
        from shared.services.console import ConsoleSignIn, SignInMessages

        cfg = self.cfg
        return ConsoleSignIn(
            self.staff,
            self.sign_in_links,
            SignInMessages(self.sns if cfg.topic_arn else None, self.outbox),
            lambda text: console_digest(cfg, text),
            self._console_link,
            utcnow,
        )

    @cached_property
    def console_access(self) -> ConsoleAccess:
        from shared.services.console import ConsoleAccess

        return ConsoleAccess(self.staff, utcnow)

    @cached_property
    def dashboard(self) -> ConsoleDashboard:
        from shared.services.console import ConsoleDashboard
        from shared.store.queue import ReviewQueue

        return ConsoleDashboard(ReviewQueue(), self.funnel.counts, self.current_documents, utcnow)

    @cached_property
    def support(self) -> Support:
        from shared.services.support import Support

        repo = self.comment_repo
        return Support(
            self.users,
            self.submissions,
            repo.get,
            repo.recent_by_author,
            self.current_documents,
            self.audit_trail,
            utcnow,
        )

    @cached_property
    def audit_trail(self) -> AuditTrail:
        from shared.store.audit import AuditTrail

        return AuditTrail()

    @cached_property
    def funnel(self) -> FunnelCounter:
        from shared.services.funnel import FunnelCounter
        from shared.store.funnel import FunnelRepository

        return FunnelCounter(self.users, FunnelRepository())

    @cached_property
    def cursors(self) -> Cursors:
        from shared.adapters.signing import cursor_serializer
        from shared.services.cursors import Cursors

        return Cursors(lambda purpose: cursor_serializer(self.cfg, purpose))

    @cached_property
    def articles(self) -> ArticleService:
        from shared.services.articles import ArticleService
        from shared.store.articles import ArticleRepository

        # the clock is looked up at each call, so a test that moves `utcnow` moves what readers see
        return ArticleService(ArticleRepository(), self.cursors, lambda: utcnow())  # noqa: PLW0108

    @cached_property
    def answer_statistics(self) -> AnswerStatistics:
        from shared.services.answer_stats import AnswerStatistics
        from shared.store.answer_stats import AnswerStatsRepository

        return AnswerStatistics(AnswerStatsRepository())

    @cached_property
    def publishing(self) -> Publishing:
        from shared.services.publishing import Publishing
        from shared.store.articles import ArticleRepository

        return Publishing(ArticleRepository(), self.audit_trail, lambda: utcnow())  # noqa: PLW0108

    @cached_property
    def comments(self) -> CommentService:
        from functools import cache

        from shared.services.comments import CommentService, ContentCheck, load_blocked_words

        cfg = self.cfg
        checking = cfg.content_check != config.OFF
        content = ContentCheck(
            cache(lambda: load_blocked_words(cfg.blocked_words_path)),
            self.content_checker if checking else None,
            (lambda: self.check_pacing) if checking else None,
            (lambda: self.check_queue) if checking else None,
        )
        return CommentService(
            self.comment_repo,
            self.users,
            self.cursors,
            content,
            self.submissions.get,
            self.idempotency,
            self.articles.comment_shards,
            utcnow,
            report_threshold=cfg.report_hide_threshold,
        )

    @cached_property
    def moderation(self) -> Moderation:
        from shared.services.moderation import Moderation

        return Moderation(self.comment_repo, self.users, self.audit_trail, self.comments.forget, utcnow)

    @cached_property
    def account(self) -> AccountService:
        from shared.services.account import AccountService
        from shared.store.deletions import DeletionLog

        return AccountService(self.personal_data, DeletionLog(), utcnow)

    # ---- the user-data registry: each capability adds what it holds about a user here, and
    # shared/services/account.py's TABLES names the tables it covers ----
    def personal_data(self) -> list[PersonalData]:
        from shared.services.account import AccountData, RateWindowData
        from shared.services.comments import CommentData, ReportData
        from shared.services.consent import ConsentData, ConsentKeyData
        from shared.services.funnel import FunnelData
        from shared.services.moderation import ModerationData
        from shared.services.questions import AnswerData
        from shared.services.verification import DuplicateIndexData, UploadData, VerificationData
        from shared.store.funnel import FunnelRepository

        return [
            AccountData(self.users, self.guards, self.cfg.wechat_appid),  # erased last (the sessions)
            ConsentData(self.users, self.consent_repo, self.consent_keys),
            ConsentKeyData(self.consent_keys),  # the pseudonym: deleting it unties the records
            AnswerData(self.answer_repo),
            VerificationData(self.submissions, self.storage, utcnow),  # submissions, images, audit
            DuplicateIndexData(self.submissions),
            UploadData(self.storage, utcnow),
            CommentData(self.comment_repo),  # comments stay, shown as from a deleted user
            ReportData(self.comment_repo),  # the reports they made (the counts stay)
            ModerationData(self.audit_trail),  # mutes: the audit lines about them stay
            RateWindowData(self.rate_windows, utcnow),
            FunnelData(FunnelRepository()),
        ]


@lru_cache(maxsize=1)
def services() -> Services:
    return Services(config.current())


def reset() -> None:
    """Forget the built services and config (tests, after changing the environment)."""
    services.cache_clear()
    config.current.cache_clear()
