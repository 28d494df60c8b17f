"""The staff console (HTML): sign-in by one-time link, sign-out, the dashboard, the verification
queue and decisions, users and search, the staff list and the audit trail.

Sign-in: GET /console/login, POST /console/login, GET /console/auth?t=..., POST /console/auth,
POST /console/logout. GET /console. Related pages share a function (`console_routes`):
`verifications` (the queue, a submission, its decision and claim), `users` (a user, search,
revocation), `admin` (the staff list, the audit trail). Every POST checks the origin, the session
with the member's role, and the form's CSRF field before anything else; every page checks the
session and the role.
"""

from __future__ import annotations

import msgspec

from shared import errors, wiring
from shared.domain.audit import is_month, month_of
from shared.domain.comments import MAX_MUTE_DAYS, QUEUE_PENDING
from shared.domain.ids import is_ulid
from shared.domain.staff import CONSOLE_ROLES, is_link_token
from shared.edge import Request, Response
from shared.pages import Form, check_same_origin, read_form
from shared.pages.console import (
    HOME_PATH,
    SESSION_COOKIE,
    SIGN_IN_PATH,
    audit_page,
    cleared_session_cookie,
    comments_page,
    confirm_page,
    console_handler,
    console_routes,
    dashboard_page,
    decided_page,
    link_sent_page,
    pre_sign_in,
    queue_page,
    redirect,
    search_page,
    session_cookie,
    sign_in_page,
    staff_page,
    user_page,
    verification_page,
)
from shared.services.console import StaffCaller
from shared.services.moderation import user_subject
from shared.services.review import DecisionForm, Standing
from shared.services.support import MAX_QUERY_CHARS
from shared.wiring import Services, services

AUDIT_PAGE = 50


@console_handler
def login_page(request: Request) -> Response:
    app = services()
    pre, cookies = pre_sign_in(request, secure=not app.cfg.is_local)
    return sign_in_page(app.console_csrf.token(f"pre.{pre}"), cookies)


@console_handler
def request_link(request: Request) -> Response:
    app = services()
    check_same_origin(request, app.cfg.public_base_url, required=True)
    form = read_form(request)
    pre, _ = pre_sign_in(request, secure=False)
    app.console_csrf.check(f"pre.{pre}", form.one("csrf"))
    app.sign_in.request_link(form.one("who"), request.source_ip)
    return link_sent_page()


@console_handler
def confirm(request: Request) -> Response:
    """The link's page: a button, and nothing used (mail scanners open links)."""
    token = request.query.get("t", "")
    if not is_link_token(token):
        raise errors.Forbidden("sign_in_link")
    return confirm_page(token, services().console_csrf.token(f"auth.{token}"))


@console_handler
def open_session(request: Request) -> Response:
    app = services()
    check_same_origin(request, app.cfg.public_base_url, required=True)
    form = read_form(request)
    token = form.one("t")
    app.console_csrf.check(f"auth.{token}", form.one("csrf"))
    opened = app.sign_in.open_session(token)
    return redirect(HOME_PATH, [session_cookie(opened.cookie, secure=not app.cfg.is_local)])


@console_handler
def sign_out(request: Request) -> Response:
    app = services()
    check_same_origin(request, app.cfg.public_base_url, required=True)
    form = read_form(request)
    caller = app.console_access.member(request.cookies.get(SESSION_COOKIE), CONSOLE_ROLES["sign_out"])
    app.console_csrf.check(caller.session, form.one("csrf"))
    app.sign_in.sign_out(caller)
    return redirect(SIGN_IN_PATH, [cleared_session_cookie(secure=not app.cfg.is_local)])


@console_handler
def dashboard(request: Request) -> Response:
    app = services()
    caller = app.console_access.member(request.cookies.get(SESSION_COOKIE), CONSOLE_ROLES["dashboard"])
    csrf = app.console_csrf.token(caller.session)
    return dashboard_page(caller, app.dashboard.numbers(), csrf, app.moderation.waiting())


def signed_in(request: Request, page: str) -> StaffCaller:
    """The member of the request's console session, if their role may open `page` (else 403)."""
    return services().console_access.member(request.cookies.get(SESSION_COOKIE), CONSOLE_ROLES[page])


def posted_form(request: Request, action: str) -> tuple[StaffCaller, Form]:
    """A console form post: same origin, a session whose member may act, the session's CSRF field."""
    app = services()
    check_same_origin(request, app.cfg.public_base_url, required=True)
    form = read_form(request)
    caller = signed_in(request, action)
    app.console_csrf.check(caller.session, form.one("csrf"))
    return caller, form


def _id(request: Request, name: str, missing: str) -> str:
    value = request.path_params.get(name, "")
    if not is_ulid(value):
        raise errors.NotFound(missing)
    return value


# ---- verifications: reviewers and admins ----
def queue(request: Request) -> Response:
    app = services()
    caller = signed_in(request, "verifications")
    after = request.query.get("after") or None
    if after is not None and not is_ulid(after):
        raise errors.BadRequest("cursor")
    page = app.review.queue(after)
    csrf = app.console_csrf.token(caller.session)
    return queue_page(caller, page, after, csrf, wiring.utcnow(), app.cfg.review_sla_hours)


def verification(request: Request) -> Response:
    app = services()
    caller = signed_in(request, "verifications")
    shown = app.review.show_to(caller.member, _id(request, "submission_id", "submission"))
    csrf = app.console_csrf.token(caller.session)
    if isinstance(shown, Standing):
        return decided_page(caller, shown, csrf)
    return verification_page(caller, shown, csrf, app.storage.origin())


def decide(request: Request) -> Response:
    app = services()
    caller, form = posted_form(request, "verifications")
    decision = DecisionForm(
        form.one("decision"),
        form.one("reason") or None,
        form.one("note"),
        form.many("redo"),
        internal_note=form.one("internal_note"),
    )
    standing = app.review.decide_as(caller.member, _id(request, "submission_id", "submission"), decision)
    return decided_page(caller, standing, app.console_csrf.token(caller.session))


def claim(request: Request) -> Response:
    app = services()
    caller, _ = posted_form(request, "verifications")
    submission_id = _id(request, "submission_id", "submission")
    claimed = app.review.claim(caller.member, submission_id)
    if isinstance(claimed, Standing):
        return decided_page(caller, claimed, app.console_csrf.token(caller.session))
    return redirect(f"/console/verifications/{submission_id}")


verifications = console_routes(
    {
        "GET /console/verifications": queue,
        "GET /console/verifications/{submission_id}": verification,
        "POST /console/verifications/{submission_id}/decision": decide,
        "POST /console/verifications/{submission_id}/claim": claim,
    }
)


# ---- users: support (reviewers, moderators, admins) ----
def user(request: Request) -> Response:
    app = services()
    caller = signed_in(request, "users")
    found = app.support.user_file(caller.member, _id(request, "user_id", "user"))
    if found is None:
        raise errors.NotFound("user")
    return user_page(caller, found, app.console_csrf.token(caller.session))


def search(request: Request) -> Response:
    app = services()
    caller = signed_in(request, "users")
    q = request.query.get("q", "").strip()
    if len(q) > MAX_QUERY_CHARS:
        raise errors.BadRequest("search_long", max=MAX_QUERY_CHARS)
    results = app.support.search(caller.member, q) if q else []
    return search_page(caller, q, results, app.console_csrf.token(caller.session), MAX_QUERY_CHARS)


def revoke(request: Request) -> Response:
    app = services()
    caller, form = posted_form(request, "revoke")
    user_id = _id(request, "user_id", "user")
    app.review.revoke(caller.member, user_id, form.one("reason"), form.one("note"), form.one("internal_note"))
    return redirect(f"/console/users/{user_id}")


def mute(request: Request) -> Response:
    app = services()
    caller, form = posted_form(request, "mute")
    user_id = _id(request, "user_id", "user")
    days = form.one("days")
    if not days.isascii() or not days.isdigit():
        raise errors.invalid("days", "invalid", "mute_days", max=MAX_MUTE_DAYS)
    app.moderation.mute(caller.member.staff_id, user_id, int(days))
    return redirect(f"/console/users/{user_id}")


def unmute(request: Request) -> Response:
    app = services()
    caller, _ = posted_form(request, "mute")
    user_id = _id(request, "user_id", "user")
    app.moderation.unmute(caller.member.staff_id, user_id)
    return redirect(f"/console/users/{user_id}")


users = console_routes(
    {
        "GET /console/users/{user_id}": user,
        "GET /console/search": search,
        "POST /console/users/{user_id}/revoke": revoke,
        "POST /console/users/{user_id}/mute": mute,
        "POST /console/users/{user_id}/unmute": unmute,
    }
)


# ---- comments: moderators and admins ----
def moderation_queue(request: Request) -> Response:
    app = services()
    caller = signed_in(request, "comments")
    queue = request.query.get("queue") or QUEUE_PENDING
    after = request.query.get("after") or None
    page = app.moderation.page(queue, _moderation_cursor(app, queue, after))
    more = None if page.more is None else app.cursors.sign(MODERATION_CURSOR, {"q": queue, "at": page.more})
    csrf = app.console_csrf.token(caller.session)
    shown = msgspec.structs.replace(page, more=more)  # the position signed: a cursor no one can forge
    return comments_page(caller, shown, after, csrf, app.cfg.report_hide_threshold)


MODERATION_CURSOR = "moderation"


def _moderation_cursor(app: Services, queue: str, token: str | None) -> str | None:
    position = app.cursors.load(MODERATION_CURSOR, token, {"q", "at"})
    if position is not None and position["q"] != queue:
        raise errors.BadRequest("cursor")
    return None if position is None else position["at"]


def _moderated(request: Request, decide: str) -> Response:
    app = services()
    caller, form = posted_form(request, "comments")
    comment_id = request.path_params.get("comment_id", "")
    actor = caller.member.staff_id
    if decide == "restore":
        app.moderation.restore(actor, comment_id)
    elif decide == "hide":
        app.moderation.hide(actor, comment_id, form.one("reason"))
    else:
        app.moderation.delete(actor, comment_id)
    return redirect("/console/comments")


comments = console_routes(
    {
        "GET /console/comments": moderation_queue,
        "POST /console/comments/{comment_id}/restore": lambda r: _moderated(r, "restore"),
        "POST /console/comments/{comment_id}/hide": lambda r: _moderated(r, "hide"),
        "POST /console/comments/{comment_id}/delete": lambda r: _moderated(r, "delete"),
    }
)


# ---- admin: the staff list, the audit trail ----
def staff(request: Request) -> Response:
    app = services()
    caller = signed_in(request, "staff")
    return staff_page(caller, app.staff_directory.listing(), app.console_csrf.token(caller.session))


AUDIT_CURSOR = "audit"
MAX_SUBJECT_CHARS = 120
SUBJECT_LINES = 200


def audit(request: Request) -> Response:
    app = services()
    caller = signed_in(request, "audit")
    this_month = month_of(wiring.utcnow())
    subject = request.query.get("subject", "").strip()
    if subject:  # every line about one target (a submission id, user#..., comment#..., staff#...)
        if len(subject) > MAX_SUBJECT_CHARS:
            raise errors.BadRequest("audit_subject_long", max=MAX_SUBJECT_CHARS)
        target = subject.removeprefix("user#")
        if subject.startswith("user#") and is_ulid(target):  # a user's lines are under a digest
            subject = user_subject(target)
        lines = list(reversed(app.audit_trail.of_subject(subject)))[:SUBJECT_LINES]
        csrf = app.console_csrf.token(caller.session)
        return audit_page(caller, this_month, lines, None, csrf, this_month, subject=subject)
    month = request.query.get("month") or this_month
    if not is_month(month):
        raise errors.BadRequest("month")
    position = app.cursors.load(AUDIT_CURSOR, request.query.get("after"), {"month", "entry", "subject"})
    if position is not None and position["month"] != month:
        raise errors.BadRequest("cursor")
    after = None if position is None else (position["entry"], position["subject"])
    events, more = app.audit_trail.month(month, AUDIT_PAGE, after)
    token = (
        None
        if more is None
        else app.cursors.sign(AUDIT_CURSOR, {"month": month, "entry": more[0], "subject": more[1]})
    )
    return audit_page(caller, month, events, token, app.console_csrf.token(caller.session), this_month)


admin = console_routes({"GET /console/staff": staff, "GET /console/audit": audit})
