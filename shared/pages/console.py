"""The staff console's pages: sign-in, the link's confirmation, the dashboard, the verification
queue and its decision pages, users and search, the staff list and the audit trail.

`console_handler` wraps a console endpoint: a request without a valid session is sent to the
sign-in page when it asks for a page (GET: 303 to /console/login), and refused when it posts
(403: nothing changed). The session and the pre-sign-in cookies are `HttpOnly`, `SameSite=Strict`,
`Path=/console`, and `Secure` in deployed stages.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from shared import errors
from shared.domain.audit import ACTION_LABELS, OUTCOME_LABELS, AuditEvent, next_month, previous_month
from shared.domain.gate import Step
from shared.domain.staff import (
    CONSOLE_ROLES,
    MAX_WHO_CHARS,
    ROLE_LABELS,
    SESSION_LIFETIME,
    SIGN_IN_LINK_LIFETIME,
    StaffMember,
    allowed,
)
from shared.domain.verification import MAX_NOTE_CHARS
from shared.edge import Request, Response
from shared.pages import HTML, page_handler, render

if TYPE_CHECKING:
    from shared.services.console import DashboardNumbers, StaffCaller
    from shared.services.moderation import ModerationPage
    from shared.services.review import QueuePage, ReviewView, Standing
    from shared.services.support import Found, UserFile

SESSION_COOKIE = "hcp_console"
PRE_COOKIE = "hcp_console_pre"  # binds the sign-in form's CSRF field before there is a session
PRE_COOKIE_SECONDS = 24 * 3600
COOKIE_PATH = "/console"
SIGN_IN_PATH = "/console/login"
HOME_PATH = "/console"
_PRE = re.compile(r"^[A-Za-z0-9_-]{22}$")

STEP_LABELS = {
    Step.IDENTITY_AGREEMENT: "待同意身份认证协议",
    Step.REFUSED: "拒绝了协议",
    Step.INFORMED_CONSENT: "待处理知情同意书",
    Step.VERIFY: "待提交认证",
    Step.PENDING: "审核中",
    Step.REJECTED: "审核未通过",
    Step.QUESTIONS: "待回答问题",
    Step.DONE: "已通过认证",
}


def cookie(name: str, value: str, max_age: int, *, secure: bool) -> str:
    parts = [f"{name}={value}", f"Max-Age={max_age}", f"Path={COOKIE_PATH}", "HttpOnly", "SameSite=Strict"]
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


def session_cookie(value: str, *, secure: bool) -> str:
    return cookie(SESSION_COOKIE, value, int(SESSION_LIFETIME.total_seconds()), secure=secure)


def cleared_session_cookie(*, secure: bool) -> str:
    return cookie(SESSION_COOKIE, "", 0, secure=secure)


def pre_sign_in(request: Request, *, secure: bool) -> tuple[str, list[str]]:
    """The visitor's pre-sign-in value (the sign-in form's CSRF binding) and the cookies to set:
    the one they hold, or a new one."""
    held = request.cookies.get(PRE_COOKIE, "")
    if _PRE.fullmatch(held):
        return held, []
    fresh = secrets.token_urlsafe(16)
    return fresh, [cookie(PRE_COOKIE, fresh, PRE_COOKIE_SECONDS, secure=secure)]


def redirect(location: str, cookies: list[str] | None = None) -> Response:
    return Response(
        303,
        raw=b"",
        content_type=HTML,
        headers={"Location": location, "Cache-Control": "no-store"},
        cookies=cookies or [],
    )


def console_handler(
    endpoint: Callable[[Request], Response],
) -> Callable[[Mapping[str, Any], Any], dict[str, Any]]:
    """A console endpoint as a Lambda handler (HTML errors): signed out, a page request goes to
    the sign-in page and a post is refused (403, nothing changed)."""

    def page(request: Request) -> Response:
        try:
            return endpoint(request)
        except errors.Unauthorized as exc:
            if request.method == "GET":
                return redirect(SIGN_IN_PATH)
            raise errors.Forbidden("console_session") from exc

    return page_handler(page)


def console_routes(
    endpoints: Mapping[str, Callable[[Request], Response]],
) -> Callable[[Mapping[str, Any], Any], dict[str, Any]]:
    """Several console routes in one function (`"GET /console/x"` -> endpoint): related pages
    share a function, and the stack stays well inside CloudFormation's resource limit."""

    def dispatch(request: Request) -> Response:
        endpoint = endpoints.get(request.route_key)
        if endpoint is None:
            raise errors.NotFound("route")
        return endpoint(request)

    return console_handler(dispatch)


# ---- pages ----


def sign_in_page(csrf: str, cookies: list[str]) -> Response:
    minutes = int(SIGN_IN_LINK_LIFETIME.total_seconds() // 60)
    page = render("console_login.html", csrf=csrf, max_who=MAX_WHO_CHARS, minutes=minutes, sent=False)
    page.cookies = cookies
    return page


def link_sent_page() -> Response:
    """The answer to every sign-in request, whoever it named."""
    minutes = int(SIGN_IN_LINK_LIFETIME.total_seconds() // 60)
    return render("console_login.html", csrf="", max_who=MAX_WHO_CHARS, minutes=minutes, sent=True)


def confirm_page(token: str, csrf: str) -> Response:
    return render("console_auth.html", token=token, csrf=csrf)


def dashboard_page(caller: StaffCaller, numbers: DashboardNumbers, csrf: str, comments: int) -> Response:
    return render(
        "console_dashboard.html",
        me=_me(caller),
        csrf=csrf,
        comments=comments,
        queue=numbers.queue,
        oldest=_age(numbers.queue.oldest_age),
        funnel=_funnel(numbers),
    )


def staff_page(caller: StaffCaller, members: list[StaffMember], csrf: str) -> Response:
    rows = [
        {
            "id": m.staff_id,
            "name": m.name,
            "role": ROLE_LABELS.get(m.role, m.role),
            "active": m.active,
            "channels": "、".join(
                label for label, present in (("邮件", m.email), ("机器人", m.webhook)) if present
            )
            or "无",
            "created_at": m.created_at,
        }
        for m in members
    ]
    return render("console_staff.html", me=_me(caller), csrf=csrf, rows=rows)


def _me(caller: StaffCaller) -> dict[str, Any]:
    member = caller.member
    return {
        "id": member.staff_id,
        "name": member.name,
        "role": ROLE_LABELS.get(member.role, member.role),
        "admin": member.role == "admin",
        "reviews": allowed(member.role, CONSOLE_ROLES["verifications"]),
        "supports": allowed(member.role, CONSOLE_ROLES["users"]),
        "moderates": allowed(member.role, CONSOLE_ROLES["comments"]),
        "edits": allowed(member.role, CONSOLE_ROLES["articles"]),
    }


def queue_page(
    caller: StaffCaller, page: QueuePage, after: str | None, csrf: str, now: datetime, sla_hours: int
) -> Response:
    sla = timedelta(hours=sla_hours)
    rows = [
        {
            "id": e.submission_id,
            "submitted_at": e.submitted_at,
            "age": _age(max(timedelta(0), now - e.submitted_at)),
            "late": now - e.submitted_at > sla,
            "is_update": e.is_update,
            "revision": e.revision,
            "claim": e.claim if e.claim is not None and e.claim.held(now) else None,
        }
        for e in page.entries
    ]
    return render(
        "console_queue.html",
        me=_me(caller),
        csrf=csrf,
        rows=rows,
        more=page.more,
        after=after,
        sla_hours=sla_hours,
    )


def verification_page(caller: StaffCaller, view: ReviewView, csrf: str, image_origin: str) -> Response:
    from shared.pages.review import LABELS

    return render(
        "console_verification.html",
        image_origin=image_origin,
        me=_me(caller),
        csrf=csrf,
        view=view,
        token="",
        action=f"/console/verifications/{view.submission.submission_id}/decision",
        labels=LABELS,
        max_note=MAX_NOTE_CHARS,
    )


def decided_page(caller: StaffCaller, standing: Standing, csrf: str) -> Response:
    from shared.pages.review import LABELS

    return render(
        "console_decided.html",
        status=409 if standing.conflict else 200,
        me=_me(caller),
        csrf=csrf,
        submission=standing.submission,
        conflict=standing.conflict,
        labels=LABELS,
    )


COMMENT_STATES = {"visible": "显示中", "held": "待审核（内容检查）", "hidden": "已隐藏", "deleted": "已删除"}
MATCHED_LABELS = {
    "user": "用户编号",
    "submission": "认证申请",
    "comment": "评论的作者",
    "name": "真实姓名",
    "license": "执业证书编号",
}


def user_page(caller: StaffCaller, file: UserFile, csrf: str) -> Response:
    from shared.pages.review import LABELS

    return render(
        "console_user.html",
        me=_me(caller),
        csrf=csrf,
        file=file,
        steps={step.value: label for step, label in STEP_LABELS.items()},
        labels=LABELS,
        comment_states=COMMENT_STATES,
        max_note=MAX_NOTE_CHARS,
        mute_days=MUTE_CHOICES,
    )


MUTE_CHOICES = ((1, "1 天"), (3, "3 天"), (7, "7 天"), (30, "30 天"), (0, "不限期"))


def comments_page(
    caller: StaffCaller, page: ModerationPage, after: str | None, csrf: str, threshold: int
) -> Response:
    from shared.domain.comments import HIDDEN_BY_REPORTS, HIDE_REASONS, REPORT_REASONS

    rows = []
    for c in page.comments:
        if c.status == "held" and c.held_for == "uncheckable":
            why = "内容检查无法完成（如作者两小时内未打开小程序），请人工审核"
        elif c.status == "held":
            why = "内容检查建议人工复核"
        elif c.hidden_by == "content_check":
            why = "内容检查判定违规，已自动隐藏"
        elif c.hidden_by == HIDDEN_BY_REPORTS:
            why = f"被 {c.reports} 位读者举报后自动隐藏"
        else:
            why = f"由 {c.hidden_by} 隐藏：{HIDE_REASONS.get(c.hide_reason or '', c.hide_reason or '')}"
        rows.append(
            {
                "id": c.ref.public_id,
                "state": c.status,
                "created_at": c.created_at,
                "article": c.article_id,
                "author": c.author_name,
                "author_id": c.author_id,
                "text": c.text or "",
                "why": why,
                "reports": c.report_log,
            }
        )
    return render(
        "console_comments.html",
        me=_me(caller),
        csrf=csrf,
        queue=page.queue,
        rows=rows,
        more=page.more,
        after=after,
        threshold=threshold,
        reasons=REPORT_REASONS,
        hide_reasons=HIDE_REASONS,
    )


def search_page(caller: StaffCaller, q: str, results: list[Found], csrf: str, max_q: int) -> Response:
    return render(
        "console_search.html",
        me=_me(caller),
        csrf=csrf,
        q=q,
        results=results,
        matched=MATCHED_LABELS,
        max_q=max_q,
    )


def audit_page(
    caller: StaffCaller,
    month: str,
    events: list[AuditEvent],
    more: str | None,
    csrf: str,
    this_month: str,
    subject: str = "",
) -> Response:
    from shared.domain.verification import REASONS

    rows = []
    for event in events:
        detail = [OUTCOME_LABELS.get(event.outcome, event.outcome) if event.outcome else ""]
        if event.reason:
            detail.append(REASONS.get(event.reason, event.reason))
        if event.role:
            detail.append(ROLE_LABELS.get(event.role, event.role))
        rows.append(
            {
                "at": event.at,
                "actor": event.actor,
                "action": event.action,
                "label": ACTION_LABELS.get(event.action, event.action),
                "subject": event.subject,
                "detail": "，".join(d for d in detail if d),
            }
        )
    return render(
        "console_audit.html",
        me=_me(caller),
        csrf=csrf,
        rows=rows,
        month=month,
        month_label=f"{month[:4]}年{int(month[5:])}月",
        more=more,
        previous=previous_month(month),
        following=next_month(month) if month < this_month else None,
        subject=subject,
    )


def _age(age: timedelta | None) -> str:
    """An age as people read it: 3天5小时, 5小时12分钟, 8分钟."""
    if age is None:
        return ""
    minutes = int(age.total_seconds() // 60)
    days, hours, mins = minutes // 1440, minutes % 1440 // 60, minutes % 60
    if days:
        return f"{days}天{hours}小时"
    if hours:
        return f"{hours}小时{mins}分钟"
    return f"{mins}分钟"


BAR_SPACE = 300  # the funnel's drawing width (SVG user units); bars are centred in it
ROW_HEIGHT = 44


def _funnel(numbers: DashboardNumbers) -> dict[str, Any] | None:
    """The funnel's rows, drawn as inline SVG by the template: bar widths and positions."""
    if numbers.funnel is None:
        return None
    most = max((s.users for s in numbers.funnel), default=0) or 1
    rows = []
    for index, step in enumerate(numbers.funnel):
        width = max(2.0, BAR_SPACE * step.users / most) if step.users else 0.0
        rows.append(
            {
                "step": step.step,
                "label": STEP_LABELS[Step(step.step)],
                "users": step.users,
                "y": index * ROW_HEIGHT,
                "x": round(10 + (BAR_SPACE - width) / 2, 1),
                "width": round(width, 1),
            }
        )
    return {
        "rows": rows,
        "height": len(rows) * ROW_HEIGHT,
        "width": BAR_SPACE + 20,
        "total": sum(s.users for s in numbers.funnel),
    }
