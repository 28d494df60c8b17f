"""GET /v1/articles, GET /v1/articles/{id}, GET|POST /v1/articles/{id}/comments, DELETE /v1/comments/{id},
POST /v1/comments/{id}/reports, PUT /v1/me/author (how the caller is shown as a comment author)."""

from __future__ import annotations

import msgspec

from shared.edge import Request, Response, http_handler, json_body
from shared.wiring import services


class CommentBody(msgspec.Struct, forbid_unknown_fields=True):
    text: str
    reply_to: str | None = None


class ReportBody(msgspec.Struct, forbid_unknown_fields=True):
    reason: str
    text: str | None = None


class AuthorBody(msgspec.Struct, forbid_unknown_fields=True):
    style: str
    show_department: bool = True


@http_handler
def articles(request: Request) -> Response:
    app = services()
    caller = app.access.consented(request)  # the list is a teaser: any caller under the agreement
    query = request.query
    return Response(200, app.articles.page(caller.user, query.get("limit"), query.get("cursor")))


@http_handler
def article(request: Request) -> Response:
    app = services()
    caller = app.access.verified(request)
    return Response(200, app.articles.detail(caller.user, request.path_params.get("id", "")))


@http_handler
def comments(request: Request) -> Response:
    app = services()
    caller = app.access.verified(request)
    query = request.query
    article_id = request.path_params.get("id", "")
    app.articles.require_readable(article_id)  # an article's comments are hidden with it
    page = app.comments.page(caller.user, article_id, query.get("limit"), query.get("cursor"))
    return Response(200, page)


@http_handler
def post_comment(request: Request) -> Response:
    app = services()
    caller = app.access.verified(request)
    body = json_body(request, CommentBody)
    article_id = request.path_params.get("id", "")
    key = request.header("idempotency-key")
    return Response(201, app.comments.post(caller.user, article_id, body.text, body.reply_to, key))


@http_handler
def delete_comment(request: Request) -> Response:
    app = services()
    caller = app.access.verified(request)
    return Response(200, app.comments.delete(caller.user, request.path_params.get("id", "")))


@http_handler
def report_comment(request: Request) -> Response:
    app = services()
    caller = app.access.verified(request)
    body = json_body(request, ReportBody)
    counted, report = app.comments.report(
        caller.user, request.path_params.get("id", ""), body.reason, body.text
    )
    return Response(201 if counted else 200, report)


@http_handler
def author(request: Request) -> Response:
    app = services()
    caller = app.access.verified(request)
    body = json_body(request, AuthorBody)
    return Response(200, app.comments.choose_author(caller.user, body.style, body.show_department))
