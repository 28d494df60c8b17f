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

from shared import errors, wiring
from shared.domain.audit import is_month, month_of
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
from shared.services.review import DecisionForm, Standing
from shared.services.support import MAX_QUERY_CHARS
from shared.wiring import services

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
    return dashboard_page(caller, app.dashboard.numbers(), app.console_csrf.token(caller.session))


def _member(request: Request, page: str) -> StaffCaller:
    return services().console_access.member(request.cookies.get(SESSION_COOKIE), CONSOLE_ROLES[page])


def _posted(request: Request, action: str) -> tuple[StaffCaller, Form]:
    """A console form post: same origin, a session whose member may act, the session's CSRF field."""
    app = services()
    check_same_origin(request, app.cfg.public_base_url, required=True)
    form = read_form(request)
    caller = _member(request, action)
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
    caller = _member(request, "verifications")
    after = request.query.get("after") or None
    if after is not None and not is_ulid(after):
        raise errors.BadRequest("cursor")
    page = app.review.queue(after)
    csrf = app.console_csrf.token(caller.session)
    return queue_page(caller, page, after, csrf, wiring.utcnow(), app.cfg.review_sla_hours)


def verification(request: Request) -> Response:
    app = services()
    caller = _member(request, "verifications")
    shown = app.review.show_to(caller.member, _id(request, "submission_id", "submission"))
    csrf = app.console_csrf.token(caller.session)
    if isinstance(shown, Standing):
        return decided_page(caller, shown, csrf)
    return verification_page(caller, shown, csrf, app.storage.origin())


def decide(request: Request) -> Response:
    app = services()
    caller, form = _posted(request, "verifications")
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
    caller, _ = _posted(request, "verifications")
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
    caller = _member(request, "users")
    found = app.support.user_file(caller.member, _id(request, "user_id", "user"))
    if found is None:
        raise errors.NotFound("user")
    return user_page(caller, found, app.console_csrf.token(caller.session))


def search(request: Request) -> Response:
    app = services()
    caller = _member(request, "users")
    q = request.query.get("q", "").strip()
    if len(q) > MAX_QUERY_CHARS:
        raise errors.BadRequest("search_long", max=MAX_QUERY_CHARS)
    results = app.support.search(caller.member, q) if q else []
    return search_page(caller, q, results, app.console_csrf.token(caller.session), MAX_QUERY_CHARS)


def revoke(request: Request) -> Response:
    app = services()
    caller, form = _posted(request, "revoke")
    user_id = _id(request, "user_id", "user")
    app.review.revoke(caller.member, user_id, form.one("reason"), form.one("note"), form.one("internal_note"))
    return redirect(f"/console/users/{user_id}")


users = console_routes(
    {
        "GET /console/users/{user_id}": user,
        "GET /console/search": search,
        "POST /console/users/{user_id}/revoke": revoke,
    }
)


# ---- admin: the staff list, the audit trail ----
def staff(request: Request) -> Response:
    app = services()
    caller = _member(request, "staff")
    return staff_page(caller, app.staff_directory.listing(), app.console_csrf.token(caller.session))


AUDIT_CURSOR = "audit"


def audit(request: Request) -> Response:
    app = services()
    caller = _member(request, "audit")
    this_month = month_of(wiring.utcnow())
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
