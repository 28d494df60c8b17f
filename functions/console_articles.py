"""The editors' console (HTML): articles and the answer statistics, for editors and admins.

`articles`: GET /console/articles (every article with its state), POST
/console/articles/{id}/publish (`publish_at` optional), POST /console/articles/{id}/unpublish,
POST /console/articles/import (multipart, field `file`), GET /console/articles/{id}/preview.
`answers`: GET /console/answers. Every POST checks the origin, the session with the member's role
and the CSRF field before anything else (the import's CSRF field travels in its multipart body).
Only the import reads multipart (the standard library's MIME parser, imported on the first upload).
"""

from __future__ import annotations

from urllib.parse import urlencode

from functions.console import posted_form, signed_in
from shared import errors
from shared.domain.article_files import MAX_ARTICLE_BYTES
from shared.domain.articles import ARTICLE_ID, check_article_id
from shared.domain.staff import CONSOLE_ROLES
from shared.edge import Request, Response
from shared.pages import check_same_origin
from shared.pages.console import SESSION_COOKIE, console_routes, redirect
from shared.pages.console_articles import answers_page, desk_page, preview_page
from shared.wiring import services

DESK = "/console/articles"
MAX_UPLOAD_BYTES = MAX_ARTICLE_BYTES + 8 * 1024  # the file, its part headers and the CSRF field


SAVED_WORDS = {"created": "已导入", "updated": "已更新", "unchanged": "内容未变，未作更改"}


def desk(request: Request) -> Response:
    app = services()
    caller = signed_in(request, "articles")
    notice = ""
    imported, saved = request.query.get("imported", ""), request.query.get("saved", "")
    if ARTICLE_ID.fullmatch(imported) and saved in SAVED_WORDS:  # where an import sent the browser
        notice = f"{imported}：{SAVED_WORDS[saved]}"
    return desk_page(caller, app.publishing.desk(), app.console_csrf.token(caller.session), notice=notice)


def publish(request: Request) -> Response:
    app = services()
    caller, form = posted_form(request, "articles")
    article_id = check_article_id(request.path_params.get("id", ""))
    app.publishing.publish(caller.member, article_id, form.one("publish_at"))
    return redirect(DESK)


def unpublish(request: Request) -> Response:
    app = services()
    caller, _ = posted_form(request, "articles")
    app.publishing.unpublish(caller.member, check_article_id(request.path_params.get("id", "")))
    return redirect(DESK)


def import_file(request: Request) -> Response:
    """A Markdown file: back to the list, which says what came of it; or the list (400) with every
    fault by its line. Nothing is read after the write, so a fault there cannot hide it."""
    from shared.pages.uploads import read_upload

    app = services()
    check_same_origin(request, app.cfg.public_base_url, required=True)
    caller = app.console_access.member(request.cookies.get(SESSION_COOKIE), CONSOLE_ROLES["articles"])
    upload = read_upload(request, MAX_UPLOAD_BYTES, case="article_upload")
    app.console_csrf.check(caller.session, upload.fields.get("csrf", ""))
    csrf = app.console_csrf.token(caller.session)
    raw = upload.files.get("file")
    try:
        if not raw:
            raise errors.invalid("file", "required", "article_upload_missing")
        done = app.publishing.import_file(caller.member, raw)
    except errors.BadRequest as exc:
        faults = [f.describe("zh")["message"] for f in exc.fields or ()] or [exc.message("zh")]
        return desk_page(caller, app.publishing.desk(), csrf, faults=faults, status=400)
    return redirect(f"{DESK}?{urlencode({'imported': done.article_id, 'saved': done.saved})}")


def preview(request: Request) -> Response:
    app = services()
    caller = signed_in(request, "articles")
    article, state = app.publishing.preview(request.path_params.get("id", ""))
    return preview_page(caller, article, state, app.console_csrf.token(caller.session))


articles = console_routes(
    {
        "GET /console/articles": desk,
        "POST /console/articles/import": import_file,
        "POST /console/articles/{id}/publish": publish,
        "POST /console/articles/{id}/unpublish": unpublish,
        "GET /console/articles/{id}/preview": preview,
    }
)


def statistics(request: Request) -> Response:
    app = services()
    caller = signed_in(request, "answers")
    questions, users = app.answer_statistics.report()
    csrf = app.console_csrf.token(caller.session)
    return answers_page(caller, questions, users, csrf, app.answer_statistics.floor)


answers = console_routes({"GET /console/answers": statistics})
