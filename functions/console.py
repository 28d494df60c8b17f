"""The staff console (HTML): sign-in by one-time link, sign-out, the dashboard, the staff list.

GET /console/login, POST /console/login, GET /console/auth?t=..., POST /console/auth,
POST /console/logout, GET /console, GET /console/staff. Every POST checks the origin and the
form's CSRF field first; a page checks the session and the member's role.
"""

from __future__ import annotations

from shared import errors
from shared.domain.staff import CONSOLE_ROLES, is_link_token
from shared.edge import Request, Response
from shared.pages import check_same_origin, read_form
from shared.pages.console import (
    HOME_PATH,
    SESSION_COOKIE,
    SIGN_IN_PATH,
    cleared_session_cookie,
    confirm_page,
    console_handler,
    dashboard_page,
    link_sent_page,
    pre_sign_in,
    redirect,
    session_cookie,
    sign_in_page,
    staff_page,
)
from shared.wiring import services


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


@console_handler
def staff(request: Request) -> Response:
    app = services()
    caller = app.console_access.member(request.cookies.get(SESSION_COOKIE), CONSOLE_ROLES["staff"])
    return staff_page(caller, app.staff_directory.listing(), app.console_csrf.token(caller.session))
