"""Configuration, read from the environment in one place and validated once per cold start.

Every environment variable the code reads is named here and nowhere else.
"""

from __future__ import annotations

import os
from functools import lru_cache
from urllib.parse import urlsplit

from msgspec import Struct

from shared.domain.times import DEFAULT_ZONE, parse_zone
from shared.errors import ConfigError

# Names of the environment variables (the only place they are spelled).
ENV_STAGE = "STAGE"
ENV_REGION = "AWS_REGION"
ENV_ENDPOINT = "AWS_ENDPOINT_URL"
ENV_TABLE_PREFIX = "TABLE_PREFIX"
ENV_BUCKET = "CREDENTIALS_BUCKET"
ENV_TOPIC_ARN = "REVIEWER_TOPIC_ARN"
ENV_WECHAT_BASE_URL = "WECHAT_BASE_URL"
ENV_WECHAT_APPID = "WECHAT_APPID"
ENV_WECHAT_SECRET = "WECHAT_SECRET"  # noqa: S105 - a variable name; local stage only; deployed stages read SSM
ENV_WECHAT_SECRET_PARAM = "WECHAT_SECRET_PARAM"  # noqa: S105 - a variable name
# The keys, one per purpose, so that rotating one never invalidates another: each is a plain
# value in the local stages and an SSM SecureString parameter (its name) in deployed stages.
ENV_REVIEW_LINK_KEY = "REVIEW_LINK_KEY"  # reviewer links and their page's CSRF field
ENV_REVIEW_LINK_KEY_PARAM = "REVIEW_LINK_KEY_PARAM"
ENV_CONSOLE_KEY = "CONSOLE_KEY"  # the console's CSRF fields and sign-in rate windows' names
ENV_CONSOLE_KEY_PARAM = "CONSOLE_KEY_PARAM"
ENV_CURSOR_KEY = "CURSOR_KEY"  # list cursors
ENV_CURSOR_KEY_PARAM = "CURSOR_KEY_PARAM"
ENV_PUBLIC_BASE_URL = "PUBLIC_BASE_URL"
ENV_SESSION_DAYS = "SESSION_DAYS"
ENV_CONSENT_CACHE_SECONDS = "CONSENT_CACHE_SECONDS"
# Consent receipts: the ES256 signing key's SSM parameter (a PEM; deployed stages), or the seed
# the local stages derive a P-256 key from, and the controller named in every receipt.
ENV_RECEIPT_KEY = "CONSENT_RECEIPT_KEY"
ENV_RECEIPT_KEY_PARAM = "CONSENT_RECEIPT_KEY_PARAM"
ENV_CONTROLLER_NAME = "CONSENT_CONTROLLER_NAME"
ENV_CONTROLLER_CONTACT = "CONSENT_CONTROLLER_CONTACT"
ENV_LOG_LEVEL = "LOG_LEVEL"
# Verification: the local outbox of notifications (local stage only).
ENV_OUTBOX_PATH = "OUTBOX_PATH"
# Comments: the blocked-words file (one word a line; default: the one shipped in
# shared/domain/) and WeChat's msgSecCheck on comments ("on" unless set to "off").
ENV_BLOCKED_WORDS_PATH = "COMMENT_BLOCKED_WORDS_PATH"
# The subscribe-message template of the verification result (unset: no WeChat message is sent).
ENV_RESULT_TEMPLATE_ID = "WECHAT_RESULT_TEMPLATE_ID"
ENV_WECHAT_CONTENT_CHECK = "WECHAT_CONTENT_CHECK"  # "off": as CONTENT_CHECK=off (older setting)
# The content check on comments (the stage's contentCheck): wechat (msgSecCheck), tms (Tencent
# Cloud's text moderation) or off (the blocked words alone); its quota a minute; the SQS queue of
# comments waiting for a paced check (the worker `contentCheckWorker` drains it).
ENV_CONTENT_CHECK = "CONTENT_CHECK"
ENV_CONTENT_CHECK_PER_MINUTE = "CONTENT_CHECK_PER_MINUTE"
ENV_CONTENT_CHECK_QUEUE_URL = "CONTENT_CHECK_QUEUE_URL"
# Tencent Cloud TMS: its endpoint, region and policy (BizType), and its API key: a plain id and
# key in the local stages, an SSM SecureString parameter ("<SecretId>:<SecretKey>") deployed.
ENV_TMS_BASE_URL = "TMS_BASE_URL"
ENV_TMS_REGION = "TMS_REGION"
ENV_TMS_BIZ_TYPE = "TMS_BIZ_TYPE"
ENV_TMS_SECRET_ID = "TMS_SECRET_ID"  # noqa: S105 - a variable name; local stages only
ENV_TMS_SECRET_KEY = "TMS_SECRET_KEY"  # noqa: S105 - a variable name; local stages only
ENV_TMS_CREDENTIALS_PARAM = "TMS_CREDENTIALS_PARAM"
# The mini-program page the result message opens (a stage setting: the app's pages may move).
ENV_RESULT_PAGE = "WECHAT_RESULT_PAGE"
# The zone every time is shown in (responses, receipts, exports, pages): an offset such as +08:00,
# UTC, or an IANA name; stored times stay UTC.
ENV_TIME_ZONE = "TIME_ZONE"
# How many days the bucket's lifecycle keeps the images of decided submissions (the stage's
# imageRetentionDays): what an applicant may still keep in a resubmission.
ENV_IMAGE_RETENTION_DAYS = "IMAGE_RETENTION_DAYS"
# The base URL of the platform's own pages (用户服务协议, 隐私政策) that consent documents link to;
# they open in the mini-program's web-view, so the host goes into its business-domain list.
ENV_PLATFORM_PAGES_URL = "PLATFORM_PAGES_URL"
# How many distinct readers' reports hide a comment until a moderator decides (reportHideThreshold).
ENV_REPORT_HIDE_THRESHOLD = "REPORT_HIDE_THRESHOLD"
# Where the mini-program posts credential images when an ICP-filed domain of the operator's fronts
# the bucket (the stage's uploadBaseUrl); unset: the bucket's own regional host, as S3 signs it.
ENV_UPLOAD_BASE_URL = "UPLOAD_BASE_URL"
# The review SLA (the stage's reviewSlaHours): the console's queue shows each pending submission's
# age against it; those older bring reviewers a reminder, and admins too past twice it.
ENV_REVIEW_SLA_HOURS = "REVIEW_SLA_HOURS"
# At most one message per reviewer in this many seconds (the stage's reviewerBatchSeconds): the
# links of submissions arriving meanwhile go together in the next one. 0 sends each link at once.
ENV_REVIEWER_BATCH_SECONDS = "REVIEWER_BATCH_SECONDS"

LOCAL_STAGES = frozenset({"local", "test"})
DEFAULT_WECHAT_BASE_URL = "https://api.weixin.qq.com"
# The content-check services a stage may choose (its contentCheck.service); here, not beside the
# pacing in shared/domain/content_check.py, so that a function's cold start does not load that.
WECHAT, TMS, OFF = "wechat", "tms", "off"
SERVICES = (WECHAT, TMS, OFF)
DEFAULT_CHECKS_PER_MINUTE = 4000  # WeChat's msgSecCheck quota per app (../shared/docs/wechat.md)
DEFAULT_TMS_BASE_URL = "https://tms.tencentcloudapi.com"
DEFAULT_TMS_REGION = "ap-shanghai"
DEFAULT_SESSION_DAYS = 30
DEFAULT_CONTROLLER_NAME = "HCP学术分享平台运营方"
DEFAULT_CONTROLLER_CONTACT = "privacy@example.invalid"
DEFAULT_TIME_ZONE = DEFAULT_ZONE
DEFAULT_RESULT_PAGE = "pages/verify/index"
DEFAULT_IMAGE_RETENTION_DAYS = 180
DEFAULT_REPORT_HIDE_THRESHOLD = 3
DEFAULT_REVIEW_SLA_HOURS = 24
DEFAULT_REVIEWER_BATCH_SECONDS = 60  # deployed stages; the local stages send each link at once
MAX_REVIEWER_BATCH_SECONDS = 3600


# Structs rather than dataclasses: a dataclass builds its methods by compiling source at every
# cold start (several ms for these), a Struct's come ready from msgspec's C code.
class SecretSource(Struct, frozen=True):
    """Where one secret comes from: a plain value (local stages) or an SSM parameter (deployed)."""

    name: str  # the variable that names it, for errors
    value: str | None = None
    param: str | None = None


class Config(Struct, frozen=True):
    stage: str
    region: str
    endpoint_url: str | None
    table_prefix: str
    bucket: str
    topic_arn: str
    wechat_base_url: str
    wechat_appid: str
    wechat_secret: str | None
    wechat_secret_param: str | None
    public_base_url: str
    session_days: int
    consent_cache_seconds: float
    review_link_key: SecretSource = SecretSource(ENV_REVIEW_LINK_KEY_PARAM)
    console_key: SecretSource = SecretSource(ENV_CONSOLE_KEY_PARAM)
    cursor_key: SecretSource = SecretSource(ENV_CURSOR_KEY_PARAM)
    receipt_key: SecretSource = SecretSource(ENV_RECEIPT_KEY_PARAM)
    controller_name: str = DEFAULT_CONTROLLER_NAME
    controller_contact: str = DEFAULT_CONTROLLER_CONTACT
    outbox_path: str | None = None  # var/outbox.jsonl in the local stage
    blocked_words_path: str | None = None
    content_check: str = WECHAT  # wechat | tms | off
    checks_per_minute: int = DEFAULT_CHECKS_PER_MINUTE
    check_queue_url: str | None = None  # local stages: found by the queue's name
    tms_base_url: str = DEFAULT_TMS_BASE_URL
    tms_region: str = DEFAULT_TMS_REGION
    tms_biz_type: str = ""
    tms_secret_id: str | None = None
    tms_secret_key: str | None = None
    tms_credentials_param: str | None = None
    result_template_id: str | None = None  # the WeChat message of the review result
    time_zone: str = DEFAULT_TIME_ZONE
    result_page: str = DEFAULT_RESULT_PAGE
    pages_url: str = ""  # the local stage: the local gateway's own placeholder pages
    image_retention_days: int = DEFAULT_IMAGE_RETENTION_DAYS
    report_hide_threshold: int = DEFAULT_REPORT_HIDE_THRESHOLD
    upload_base_url: str = ""
    review_sla_hours: int = DEFAULT_REVIEW_SLA_HOURS
    reviewer_batch_seconds: int = 0

    @property
    def is_local(self) -> bool:
        return self.stage in LOCAL_STAGES

    @property
    def platform_pages_url(self) -> str:
        """Where the linked documents live: the stage's setting, else (local) the gateway's pages."""
        if self.pages_url:
            return self.pages_url
        if self.is_local:
            return f"{self.public_base_url}/pages"
        raise ConfigError(f"{ENV_PLATFORM_PAGES_URL} is required in deployed stages")

    def table(self, name: str) -> str:
        return f"{self.table_prefix}{name}"

    @property
    def check_queue_name(self) -> str:
        """The queue of comments waiting for a paced content check (its dead letters: `-dead`)."""
        return f"{self.table_prefix}content-checks"


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    import ipaddress  # deferred: only deployed stages validate this, once per cold start

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name, "")
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer") from exc


def _content_check(env: dict[str, str]) -> str:
    if env.get(ENV_WECHAT_CONTENT_CHECK, "").strip().lower() == "off":
        return OFF
    chosen = (env.get(ENV_CONTENT_CHECK) or WECHAT).strip().lower()
    if chosen not in SERVICES:
        raise ConfigError(f"{ENV_CONTENT_CHECK} must be one of {', '.join(SERVICES)}")
    return chosen


def _secret(env: dict[str, str], value: str, param: str) -> SecretSource:
    return SecretSource(param, env.get(value) or None, env.get(param) or None)


def load(env: dict[str, str] | None = None) -> Config:
    """Build and validate the configuration from an environment mapping."""
    env = dict(os.environ if env is None else env)
    stage = env.get(ENV_STAGE, "local")
    wechat_base_url = env.get(ENV_WECHAT_BASE_URL, DEFAULT_WECHAT_BASE_URL).rstrip("/")
    cfg = Config(
        stage=stage,
        region=env.get(ENV_REGION, "cn-north-1" if stage not in LOCAL_STAGES else "us-east-1"),
        endpoint_url=env.get(ENV_ENDPOINT) or None,
        table_prefix=env.get(ENV_TABLE_PREFIX, f"hcp-{stage}-"),
        bucket=env.get(ENV_BUCKET, f"hcp-{stage}-credentials"),
        topic_arn=env.get(ENV_TOPIC_ARN, ""),
        wechat_base_url=wechat_base_url,
        wechat_appid=env.get(ENV_WECHAT_APPID, "wx-local-app"),
        wechat_secret=env.get(ENV_WECHAT_SECRET) or None,
        wechat_secret_param=env.get(ENV_WECHAT_SECRET_PARAM) or None,
        public_base_url=env.get(ENV_PUBLIC_BASE_URL, "http://127.0.0.1:8000").rstrip("/"),
        session_days=_int(env, ENV_SESSION_DAYS, DEFAULT_SESSION_DAYS),
        consent_cache_seconds=float(_int(env, ENV_CONSENT_CACHE_SECONDS, 30)),
        review_link_key=_secret(env, ENV_REVIEW_LINK_KEY, ENV_REVIEW_LINK_KEY_PARAM),
        console_key=_secret(env, ENV_CONSOLE_KEY, ENV_CONSOLE_KEY_PARAM),
        cursor_key=_secret(env, ENV_CURSOR_KEY, ENV_CURSOR_KEY_PARAM),
        receipt_key=_secret(env, ENV_RECEIPT_KEY, ENV_RECEIPT_KEY_PARAM),
        controller_name=env.get(ENV_CONTROLLER_NAME) or DEFAULT_CONTROLLER_NAME,
        controller_contact=env.get(ENV_CONTROLLER_CONTACT) or DEFAULT_CONTROLLER_CONTACT,
        outbox_path=env.get(ENV_OUTBOX_PATH) or None,
        blocked_words_path=env.get(ENV_BLOCKED_WORDS_PATH) or None,
        content_check=_content_check(env),
        checks_per_minute=_int(env, ENV_CONTENT_CHECK_PER_MINUTE, DEFAULT_CHECKS_PER_MINUTE),
        check_queue_url=env.get(ENV_CONTENT_CHECK_QUEUE_URL) or None,
        tms_base_url=(env.get(ENV_TMS_BASE_URL) or DEFAULT_TMS_BASE_URL).rstrip("/"),
        tms_region=env.get(ENV_TMS_REGION) or DEFAULT_TMS_REGION,
        tms_biz_type=env.get(ENV_TMS_BIZ_TYPE) or "",
        tms_secret_id=env.get(ENV_TMS_SECRET_ID) or None,
        tms_secret_key=env.get(ENV_TMS_SECRET_KEY) or None,
        tms_credentials_param=env.get(ENV_TMS_CREDENTIALS_PARAM) or None,
        result_template_id=env.get(ENV_RESULT_TEMPLATE_ID) or None,
        time_zone=env.get(ENV_TIME_ZONE) or DEFAULT_TIME_ZONE,
        result_page=(env.get(ENV_RESULT_PAGE) or DEFAULT_RESULT_PAGE).strip("/"),
        pages_url=(env.get(ENV_PLATFORM_PAGES_URL) or "").rstrip("/"),
        image_retention_days=_int(env, ENV_IMAGE_RETENTION_DAYS, DEFAULT_IMAGE_RETENTION_DAYS),
        report_hide_threshold=_int(env, ENV_REPORT_HIDE_THRESHOLD, DEFAULT_REPORT_HIDE_THRESHOLD),
        upload_base_url=(env.get(ENV_UPLOAD_BASE_URL) or "").rstrip("/"),
        review_sla_hours=_int(env, ENV_REVIEW_SLA_HOURS, DEFAULT_REVIEW_SLA_HOURS),
        reviewer_batch_seconds=_int(
            env, ENV_REVIEWER_BATCH_SECONDS, 0 if stage in LOCAL_STAGES else DEFAULT_REVIEWER_BATCH_SECONDS
        ),
    )
    if cfg.is_local and env.get("AWS_LAMBDA_FUNCTION_NAME"):
        # a local stage skips the deployed checks and sets cookies without Secure: never in Lambda
        raise ConfigError(f"stage {stage!r} is the local stack's and cannot run in Lambda")
    _validate(cfg)
    return cfg


def _validate(cfg: Config) -> None:
    try:
        parse_zone(cfg.time_zone)
    except ValueError as exc:
        raise ConfigError(f"{ENV_TIME_ZONE}: {exc}") from exc
    if cfg.image_retention_days < 2:
        raise ConfigError(f"{ENV_IMAGE_RETENTION_DAYS} must be at least 2")
    if not 1 <= cfg.report_hide_threshold <= 100:
        raise ConfigError(f"{ENV_REPORT_HIDE_THRESHOLD} must be 1 to 100")
    if not 1 <= cfg.review_sla_hours <= 24 * 14:
        raise ConfigError(f"{ENV_REVIEW_SLA_HOURS} must be 1 to 336 hours")
    if not 100 <= cfg.checks_per_minute <= 1_000_000:
        raise ConfigError(f"{ENV_CONTENT_CHECK_PER_MINUTE} must be 100 to 1,000,000")
    if not 0 <= cfg.reviewer_batch_seconds <= MAX_REVIEWER_BATCH_SECONDS:
        raise ConfigError(f"{ENV_REVIEWER_BATCH_SECONDS} must be 0 to {MAX_REVIEWER_BATCH_SECONDS}")
    if cfg.pages_url and not cfg.pages_url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        raise ConfigError(f"{ENV_PLATFORM_PAGES_URL} must be an https URL")
    upload = urlsplit(cfg.upload_base_url)
    if cfg.upload_base_url and (
        upload.scheme != "https" or not upload.hostname or upload.path or upload.query
    ):
        raise ConfigError(
            f"{ENV_UPLOAD_BASE_URL} must be an https origin (no path), as WeChat's uploadFile list needs"
        )
    if cfg.is_local:
        return
    # A deployed stage must talk to the real WeChat over TLS: the embedded fake is local only.
    if not cfg.wechat_base_url.startswith("https://") or _is_loopback(cfg.wechat_base_url):
        raise ConfigError(f"stage {cfg.stage!r} refuses WeChat base URL {cfg.wechat_base_url!r}")
    _validate_content_check(cfg)
    keys = (cfg.review_link_key, cfg.console_key, cfg.cursor_key, cfg.receipt_key)
    if cfg.wechat_secret or cfg.tms_secret_key or any(key.value for key in keys):
        raise ConfigError("deployed stages read secrets from SSM parameters, not plain environment values")
    missing = [] if cfg.wechat_secret_param else [ENV_WECHAT_SECRET_PARAM]
    missing += [key.name for key in keys if not key.param]
    if missing:
        raise ConfigError(f"deployed stages need the SSM parameter names {', '.join(missing)}")


def _validate_content_check(cfg: Config) -> None:
    """A deployed stage checks with the real service over TLS, with its key from SSM."""
    if cfg.content_check != TMS:
        return
    if not cfg.tms_base_url.startswith("https://") or _is_loopback(cfg.tms_base_url):
        raise ConfigError(f"stage {cfg.stage!r} refuses TMS base URL {cfg.tms_base_url!r}")
    if not cfg.tms_credentials_param:
        raise ConfigError(f"deployed stages need the SSM parameter name {ENV_TMS_CREDENTIALS_PARAM}")


@lru_cache(maxsize=1)
def current() -> Config:
    """The process's configuration, loaded on first use (once per cold start)."""
    return load()
