"""The page layer: HTML pages beside the JSON edge (`shared.edge`).

Templates (Jinja2, autoescaped) live in `templates/`; `render` turns one into a response with
the pages' security headers and a strict CSP; `page_handler` wraps a page endpoint as a Lambda
handler whose errors are HTML pages too (the edge's one error mapping, shown as a page);
`read_form`, `check_same_origin` and `Csrf` are what every form post needs. Only the functions
that render pages import this package (and Jinja2 with it).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    ModuleLoader,
    StrictUndefined,
    select_autoescape,
)

from shared import errors
from shared.domain import times
from shared.edge import Request, Response, http_handler, upstream_error
from shared.log import logger

TEMPLATES = Path(__file__).with_name("templates")
# The templates compiled to Python modules by `infra.package` (the zips only, never the repo): a
# function's first page then loads bytecode instead of lexing, parsing and compiling its template.
COMPILED_TEMPLATES = Path(__file__).with_name("compiled_templates")
# Two notes of 500 Chinese characters, percent-encoded (9 bytes each), and the rest of a form.
MAX_FORM_BYTES = 16 * 1024
MAX_FORM_FIELDS = 20
HTML = "text/html; charset=utf-8"
# An error page's heading by status, and what it says when the error has no words of its own
# (the catalogue's Chinese for the error's case otherwise: pages speak Chinese only).
ERROR_PAGES: dict[int, tuple[str, str]] = {
    400: ("请求无效", "表单内容不完整或不正确，请返回上一页检查后重新提交。"),
    403: ("链接无效或已过期", "此链接无效、已过期，或不允许此操作。请从最新的通知中重新打开链接。"),
    404: ("未找到", "要查看的申请不存在，或已被删除。"),
    409: ("已有审核决定", "此申请的状态已经改变，请刷新页面查看现行决定。"),
    413: ("内容过大", "提交的表单内容过多，请缩短备注后重试。"),
    415: ("请求无效", "请从页面上的表单提交。"),
    429: ("操作太频繁", "操作太频繁了，请稍后再试。"),
    503: ("服务暂时不可用", "依赖的服务暂时繁忙，请稍后再试。"),
}
OTHER_ERROR = ("无法完成", "暂时无法完成此操作，请稍后再试。")
# Cases whose page has its own heading and a way on (the console's): (heading, link, link text).
CASE_PAGES: dict[str, tuple[str, str, str]] = {
    "console_session": ("需要重新登录", "/console/login", "登录控制台"),
    "console_role": ("无权访问", "/console", "返回概览"),
    "sign_in_link": ("链接无效或已过期", "/console/login", "重新申请登录链接"),
    "staff_inactive": ("账号已停用", "/console/login", "返回登录页"),
    "sign_in_who": ("操作太频繁", "/console/login", "返回登录页"),
    "sign_in_address": ("操作太频繁", "/console/login", "返回登录页"),
}


@cache
def _environment() -> Environment:
    source = FileSystemLoader(TEMPLATES)
    if COMPILED_TEMPLATES.is_dir():  # a template missing there is still read from its source
        return _make_environment(ChoiceLoader([ModuleLoader(COMPILED_TEMPLATES), source]))
    return _make_environment(source)


def compile_templates(target: Path) -> int:
    """Every template as a Python module in `target` (for ModuleLoader); how many were written."""
    env = _make_environment(FileSystemLoader(TEMPLATES))
    names = env.list_templates(extensions=["html"])
    env.compile_templates(str(target), zip=None, ignore_errors=False)
    return len(names)


def _make_environment(loader: BaseLoader) -> Environment:
    env = Environment(
        loader=loader,
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when
    env.filters["clock"] = clock
    return env


def when(moment: datetime | None) -> str:
    """A time as people read it on a page: `2026-11-30 10:04`, in the stage's zone."""
    return times.readable(moment)


def clock(moment: datetime | None) -> str:
    """A time of day, `14:05`, in the stage's zone (when a claim ends)."""
    return "" if moment is None else times.local(moment).strftime("%H:%M")


NO_SOURCE = "'none'"


def csp(image_origin: str | None = None) -> str:
    return (
        "default-src 'none'; "
        f"img-src {image_origin or NO_SOURCE}; "
        "style-src 'unsafe-inline'; "
        "form-action 'self'; "
        "base-uri 'none'; "
        "frame-ancestors 'none'"
    )


def render(
    template: str,
    *,
    status: int = 200,
    image_origin: str | None = None,
    headers: Mapping[str, str] | None = None,
    **context: Any,
) -> Response:
    """The template rendered as a page, with the pages' headers (CSP allowing images only from
    `image_origin`, when a page shows some)."""
    body = _environment().get_template(template).render(**context)
    page_headers = {
        "Content-Security-Policy": csp(image_origin),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",  # a link's token never travels to an image host
        "Cache-Control": "no-store",
        **(headers or {}),
    }
    return Response(status, raw=body.encode("utf-8"), content_type=HTML, headers=page_headers)


def error_page(exc: errors.DomainError) -> Response:
    title, message = ERROR_PAGES.get(exc.status, OTHER_ERROR)
    if exc.case not in ("default", "fields"):
        message = exc.message("zh")
    elif exc.fields:  # a form's fields at fault: each one's own words
        message = " ".join(fault.describe("zh")["message"] for fault in exc.fields)
    link: tuple[str, str] | None = None
    if exc.case in CASE_PAGES:
        title, *way_on = CASE_PAGES[exc.case]
        link = (way_on[0], way_on[1])
    return render(
        "error.html", status=exc.status, headers=exc.headers, title=title, message=message, link=link
    )


def page_handler(
    endpoint: Callable[[Request], Response],
) -> Callable[[Mapping[str, Any], Any], dict[str, Any]]:
    """A page endpoint as a Lambda handler: a domain error or an AWS fault (as the edge maps it)
    answers an HTML error page; anything else goes on to the edge's logged 500."""

    def page(request: Request) -> Response:
        try:
            return endpoint(request)
        except errors.DomainError as exc:
            return error_page(exc)
        except Exception as exc:
            mapped = upstream_error(exc)
            if mapped is None:
                raise
            logger.warning("upstream fault", extra={"status": mapped.status, "error": type(exc).__name__})
            return error_page(mapped)

    return http_handler(page)


@dataclass(frozen=True)
class Form:
    """A urlencoded form post: each field once (`one`) or a list (`many`)."""

    fields: Mapping[str, list[str]]

    def one(self, name: str) -> str:
        values = self.fields.get(name) or [""]
        if len(values) > 1:
            raise errors.BadRequest("form_repeated")
        return values[0].strip()

    def many(self, name: str) -> list[str]:
        return [v for v in self.fields.get(name, []) if v]


def read_form(request: Request, max_bytes: int = MAX_FORM_BYTES) -> Form:
    if len(request.body) > max_bytes:
        raise errors.PayloadTooLarge("form")
    content_type = (request.header("content-type") or "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise errors.UnsupportedMediaType("form")
    try:
        fields = parse_qs(
            request.body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise errors.BadRequest("form") from exc
    return Form(fields)


def check_same_origin(request: Request, base_url: str, *, required: bool = False) -> None:
    """A form post must come from our own pages: a foreign Origin or Referer is 403, and so is a
    post with neither when `required` (every browser sends Origin on a POST; a console form whose
    CSRF field an attacker can compute, the link's confirm, has only this check against login CSRF)."""
    if required and request.header("origin") is None and request.header("referer") is None:
        raise errors.Forbidden("form_origin")
    expected = urlsplit(base_url)
    for header in ("origin", "referer"):
        value = request.header(header)
        if value is None:
            continue
        try:
            seen = urlsplit(value)
        except ValueError:  # e.g. "http://[": not a URL, so not our page either
            seen = None
        if seen is None or (seen.scheme, seen.netloc) != (expected.scheme, expected.netloc):
            raise errors.Forbidden("form_origin")


class Csrf:
    """A form's CSRF field, bound to what the form acts for (a link's token, a session)."""

    def __init__(self, key: Callable[[], str], purpose: str) -> None:
        self._key = key
        self._purpose = purpose

    def token(self, binding: str) -> str:
        message = f"{self._purpose}\n{binding}".encode()
        return hmac.new(self._key().encode(), message, hashlib.sha256).hexdigest()

    def check(self, binding: str, value: str) -> None:
        if not hmac.compare_digest(value.encode(), self.token(binding).encode()):
            raise errors.Forbidden("form_csrf")
