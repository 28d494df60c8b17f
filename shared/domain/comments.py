"""Articles and comments: the rules, free of storage and HTTP.

Limits are named here and quoted by the errors. A public comment id names its article
(`<ULID>.<article id>`), so deleting or replying by id needs no lookup.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime

import msgspec

from shared import errors
from shared.domain.articles import ARTICLE_ID
from shared.domain.ids import is_ulid
from shared.domain.rates import RateWindow, rate_key, window_end
from shared.domain.text import visible_text

MIN_COMMENT_CHARS = 1
MAX_COMMENT_CHARS = 1000
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 50
COMMENTS_PER_MINUTE = 5
COMMENTS_PER_DAY = 50
MINUTE_SECONDS = 60
DAY_SECONDS = 86_400
_DIGITS = re.compile(r"^[0-9]{1,3}$")  # ASCII only: str.isdigit() accepts other scripts' digits
_PARTITION = re.compile(r"^[1-9][0-9]?$")  # a comment id's partition after the first: no 0, no padding

VISIBLE = "visible"
HELD = "held"  # not (yet) shown to others: shown to its author only, not counted (`held_for` says why)
HIDDEN = "hidden"  # by readers' reports or a moderator: shown to its author only, not counted
DELETED = "deleted"  # a tombstone: the text is gone, replies keep their parent
# Why a comment is held: waiting for its paced content check (`shared.services.queued_checks`),
# the check said "review", or the check could not take it (WeChat's 61010: the user has been away
# two hours); the last two wait in the moderation queue.
HELD_FOR_CHECK = "check"
HELD_FOR_REVIEW = "review"
HELD_UNCHECKABLE = "uncheckable"
HIDDEN_BY_CHECK = "content_check"  # `hidden_by` when the paced check found it risky
UNSHOWN = (HELD, HIDDEN)  # waiting for, or decided by, a moderator: their author alone sees them

# Reports: why a reader reports a comment (POST /v1/comments/{id}/reports), with its label.
REPORT_REASONS = {
    "spam": "垃圾广告",
    "abuse": "辱骂或人身攻击",
    "misinformation": "虚假或误导性医学信息",
    "privacy": "泄露他人隐私",
    "other": "其他",
}
MAX_REPORT_TEXT_CHARS = 200
REPORTS_PER_HOUR = 20
HOUR_SECONDS = 3600
REPORT_RECORD_DAYS = 90  # a reader's report is remembered this long (one report per reader counts)
REPORT_LOG_ENTRIES = 10  # the reports a moderator reads on the comment itself (reason, text)
# Why a moderator hides a comment: the author sees the label (reason_text).
HIDE_REASONS = {
    "spam": "垃圾广告",
    "abuse": "辱骂或人身攻击",
    "misinformation": "虚假或误导性医学信息",
    "privacy": "泄露他人隐私",
    "off_topic": "与学术讨论无关",
    "other": "违反社区规范",
}
HIDDEN_BY_REPORTS = "reports"  # `hidden_by` when the readers' reports hid it
# What the author reads of a comment the paced content check hid (`reason_text`).
CHECK_REASONS = {HIDDEN_BY_CHECK: "未通过内容安全检测"}
# A reply's context: at most this much of the comment replied to.
EXCERPT_CHARS = 50
# Moderation queues (the comments' sparse index `moderation`): what waits for a moderator (held by
# the content check, hidden by reports), and what a moderator hid (it stands until one restores it).
QUEUE_PENDING = "pending"
QUEUE_HIDDEN = "hidden"
MAX_MUTE_DAYS = 3650
NO_END = 253_402_300_799  # 9999-12-31T23:59:59Z: the end of a mute given no end (`days` 0)


def mute_end(now: datetime, days: int) -> int:
    """When a mute of `days` days (0: no end) ends, in epoch seconds."""
    if not 0 <= days <= MAX_MUTE_DAYS:
        raise errors.invalid("days", "invalid", "mute_days", max=MAX_MUTE_DAYS)
    return NO_END if days == 0 else int(now.timestamp()) + days * DAY_SECONDS


def check_not_muted(muted_until: int | None, now: datetime) -> None:
    """403 `muted` (with `until`, null for no end) while a mute holds; it ends by itself."""
    if muted_until is not None and muted_until > now.timestamp():
        until = None if muted_until >= NO_END else datetime.fromtimestamp(muted_until, UTC)
        raise errors.Muted(until=until)


DELETED_USER_NAME = "已注销用户"
DEFAULT_AUTHOR_NAME = "认证医务人员"
PROFESSION_TITLES = {"doctor": "医生", "nurse": "护士", "pharmacist": "药师"}
DEFAULT_TITLES = {"doctor": "认证医生", "nurse": "认证护士", "pharmacist": "认证药师"}
# Two-character surnames, so that 欧阳娜娜 shows as 欧阳医生, not 欧医生.
COMPOUND_SURNAMES = frozenset(
    {"欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒"}
    | {"夏侯", "轩辕", "令狐", "钟离", "澹台", "独孤", "南宫", "西门", "端木", "呼延", "百里"}
)


def normalize_text(raw: str) -> str:
    """Trimmed, NFC, without control characters (newlines kept), format characters or bidi
    controls (`visible_text`), then checked for length."""
    text = visible_text(raw.replace("\r\n", "\n").replace("\r", "\n"))
    text = "".join(ch for ch in text if ch == "\n" or unicodedata.category(ch) != "Cc").strip()
    if not MIN_COMMENT_CHARS <= len(text) <= MAX_COMMENT_CHARS:
        raise errors.invalid(
            "text",
            "required" if not text else "too_long",
            "comment_length",
            min=MIN_COMMENT_CHARS,
            max=f"{MAX_COMMENT_CHARS:,}",
            count=f"{len(text):,}",
        )
    return text


def shown_to(comment: Comment, viewer_id: str) -> bool:
    """A visible comment to everyone; a held or hidden one to its author alone; a tombstone to
    nobody."""
    return comment.status == VISIBLE or (comment.status in UNSHOWN and comment.author_id == viewer_id)


def excerpt(text: str | None) -> str:
    """The first EXCERPT_CHARS characters of a comment, with an ellipsis when cut."""
    text = (text or "").replace("\n", " ")
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"


def check_report(reason: str, text: str | None) -> str | None:
    """A report's reason (one of REPORT_REASONS) and its optional text, cleaned: the text, or None."""
    faults = errors.Faults()
    if reason not in REPORT_REASONS:
        faults.add("reason", "not_allowed", "report_reason")
    cleaned = None
    if text is not None:
        cleaned = visible_text(text).strip() or None
        if cleaned is not None and len(cleaned) > MAX_REPORT_TEXT_CHARS:
            faults.add("text", "too_long", "report_text", max=MAX_REPORT_TEXT_CHARS)
    faults.raise_any()
    return cleaned


def report_windows(user_id: str, now: datetime) -> list[RateWindow]:
    hour_end = window_end(now, HOUR_SECONDS)
    return [RateWindow("reports", rate_key(user_id, "r", hour_end), REPORTS_PER_HOUR, hour_end)]


def blocked_word(text: str, words: frozenset[str]) -> str | None:
    """The first blocked word `text` contains (case-insensitive), if any."""
    folded = text.casefold()
    return next((w for w in words if w and w in folded), None)


def page_size(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_PAGE_SIZE
    if not _DIGITS.fullmatch(raw) or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise errors.BadRequest("limit", max=MAX_PAGE_SIZE)
    return int(raw)


# A busy article's comments spread over this many partitions at most (its `comment_shards`, raised
# by ops before an event; a page reads them all, in parallel).
MAX_COMMENT_SHARDS = 16


class CommentRef(msgspec.Struct, frozen=True):
    article_id: str
    comment_id: str  # ULID
    shard: int = 0  # which of the article's comment partitions holds it

    @property
    def public_id(self) -> str:
        base = f"{self.comment_id}.{self.article_id}"
        return f"{base}.{self.shard}" if self.shard else base


def parse_comment_id(public_id: str) -> CommentRef | None:
    comment_id, _, rest = public_id.partition(".")
    article_id, _, shard = rest.partition(".")
    if not is_ulid(comment_id) or not ARTICLE_ID.fullmatch(article_id):
        return None
    if shard and not (_PARTITION.fullmatch(shard) and int(shard) < MAX_COMMENT_SHARDS):
        return None
    return CommentRef(article_id, comment_id, int(shard or 0))


class AuthorDisplay(msgspec.Struct, frozen=True):
    """What others see of a comment's author: never the full name."""

    name: str
    department: str | None
    verified: bool


# How a verified user chose to be shown (PUT /v1/me/author): surname + title (王医生, the default)
# or the title alone (认证医生); the department shown or not. Never the full name.
AUTHOR_STYLES = ("surname", "title")
DEFAULT_AUTHOR_STYLE = "surname"


def author_display(
    real_name: str | None,
    profession: str | None,
    department: str | None,
    verified: bool,
    style: str = DEFAULT_AUTHOR_STYLE,
    show_department: bool = True,
) -> AuthorDisplay:
    """Surname + profession title (王医生), or a generic title when either is unknown or the user
    chose the title alone."""
    name = visible_text(real_name or "").strip()
    title = PROFESSION_TITLES.get(profession or "")
    # details approved before they were cleaned at submission are cleaned here, as they are shown
    department = visible_text(department or "") if show_department else None
    if style == "surname" and name and title and _is_han(name[0]):
        surname = name[:2] if name[:2] in COMPOUND_SURNAMES and len(name) > 2 else name[0]
        display = surname + title
    else:
        display = DEFAULT_TITLES.get(profession or "", DEFAULT_AUTHOR_NAME)
    return AuthorDisplay(display, (department or "").strip() or None, verified)


def _is_han(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"


class Comment(msgspec.Struct, frozen=True):
    article_id: str
    comment_id: str  # ULID: newest first = descending
    author_id: str | None  # None once the author deleted their account
    author_name: str  # the display name, fixed at write time (王医生)
    author_department: str | None
    author_verified: bool
    text: str | None  # None once deleted
    reply_to: str | None  # the parent's public id
    status: str  # visible | held | hidden | deleted
    created_at: datetime
    deleted_at: datetime | None = None
    shard: int = 0
    hidden_by: str | None = None  # a staff id, or HIDDEN_BY_REPORTS
    hide_reason: str | None = None  # a code of HIDE_REASONS, or the leading report reason
    reports: int = 0  # distinct readers' reports since it was last shown anew
    report_round: int = 0  # how many times a moderator restored it (reports count per round)
    report_log: tuple[tuple[str, str | None], ...] = ()  # (reason, text) of the round's first reports
    queued_at: datetime | None = None  # when it entered the moderation queue
    held_for: str | None = None  # HELD_FOR_CHECK, HELD_FOR_REVIEW or HELD_UNCHECKABLE while held

    @property
    def ref(self) -> CommentRef:
        return CommentRef(self.article_id, self.comment_id, self.shard)


def rate_windows(user_id: str, now: datetime) -> list[RateWindow]:
    minute_end, day_end = window_end(now, MINUTE_SECONDS), window_end(now, DAY_SECONDS)
    return [
        RateWindow("minute", rate_key(user_id, "m", minute_end), COMMENTS_PER_MINUTE, minute_end),
        RateWindow("day", rate_key(user_id, "d", day_end), COMMENTS_PER_DAY, day_end),
    ]
