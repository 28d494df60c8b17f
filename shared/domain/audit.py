"""The audit trail: one line per staff action, ids and codes only.

Every staff action (sign-in, opening a submission's credentials, claim, decision, revocation,
moderation, mute, publication, staff change) appends one `AuditEvent`: who (`actor`: a staff id,
`ops` for the command line, `-` for an anonymous sign-in request), what (`action`, a code), on what
(`subject`, `<kind>#<id>`, or a bare submission id for the lines about a submission), when, and the
reason code given. No name, e-mail, address or note text is ever in a line, so the trail stays
meaningful and free of personal data after an account is deleted. Lines are never changed or
removed; the console lists them newest first, one month of the stage's zone at a time.
"""

from __future__ import annotations

import re
from datetime import datetime

import msgspec

from shared.domain import times

# Actions about a submission (their subject is the submission id).
CREDENTIALS_OPENED = "credentials_open"  # a review page showed its images (link or console)
CLAIMED = "claim"
DECIDED = "decision"  # outcome: approve | reject
REVOKED = "revoke"  # an approval withdrawn (reason: a rejection reason)
# Actions on an article (subject `article#<id>`).
ARTICLE_IMPORTED = "article_import"  # from the console (the ops command line is not staff)
ARTICLE_PUBLISHED = "article_publish"  # outcome: published | scheduled
ARTICLE_UNPUBLISHED = "article_unpublish"

# What the console's audit page calls each action.
ACTION_LABELS: dict[str, str] = {
    CREDENTIALS_OPENED: "查看证件",
    CLAIMED: "认领审核",
    DECIDED: "审核决定",
    REVOKED: "撤销认证",
    "sign_in_link": "申请登录链接",
    "sign_in_link_printed": "命令行生成登录链接",
    "sign_in": "登录",
    "sign_out": "退出登录",
    "staff_add": "添加员工",
    "staff_deactivate": "停用员工",
    "staff_migrate": "审核员迁移为员工",
    "comment_restore": "恢复评论",
    "comment_hide": "隐藏评论",
    "comment_delete": "删除评论",
    "mute": "禁言",
    "unmute": "解除禁言",
    ARTICLE_IMPORTED: "导入文章",
    ARTICLE_PUBLISHED: "发布文章",
    ARTICLE_UNPUBLISHED: "下线文章",
}
OUTCOME_LABELS: dict[str, str] = {
    "approve": "通过",
    "reject": "拒绝",
    "sent": "已发送",
    "unknown": "无此员工",
    "inactive": "员工已停用",
    "no_channel": "无个人渠道",
    "no_end": "不限期",
    "published": "立即发布",
    "scheduled": "定时发布",
    "unchanged": "内容未变",
}

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class AuditEvent(msgspec.Struct, frozen=True):
    action: str
    actor: str
    subject: str  # submission id | staff#<id> | user#<id> | comment#<id> | article#<id>
    at: datetime
    reason: str | None = None  # a code: a rejection reason, a hide reason
    outcome: str | None = None  # a code: approve | reject, what a sign-in request came to
    role: str | None = None  # the role given, for a staff addition
    revision: int | None = None  # a decision's submission revision
    redo: tuple[str, ...] = ()  # a rejection's documents to redo (kinds)


def month_of(moment: datetime) -> str:
    """The month a line is listed under: `2026-11`, in the stage's zone."""
    return times.local(moment).strftime("%Y-%m")


def is_month(text: str) -> bool:
    return bool(_MONTH.fullmatch(text))


def previous_month(month: str) -> str:
    year, number = int(month[:4]), int(month[5:])
    return f"{year - 1}-12" if number == 1 else f"{year}-{number - 1:02d}"


def next_month(month: str) -> str:
    year, number = int(month[:4]), int(month[5:])
    return f"{year + 1}-01" if number == 12 else f"{year}-{number + 1:02d}"
