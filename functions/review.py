"""GET /review/{submission_id}?t=..., POST /review/{submission_id}/decision: the reviewer's HTML pages."""

from __future__ import annotations

from shared.edge import Request, Response
from shared.pages import check_same_origin, page_handler, read_form
from shared.pages.review import review_page, standing_page
from shared.services.review import DecisionForm, Standing
from shared.wiring import services


@page_handler
def page(request: Request) -> Response:
    app = services()
    token = request.query.get("t", "")
    shown = app.review.show(request.path_params.get("submission_id", ""), token)
    if isinstance(shown, Standing):
        return standing_page(shown)
    return review_page(shown, token, app.review_csrf.token(token), app.storage.origin())


@page_handler
def decide(request: Request) -> Response:
    app = services()
    check_same_origin(request, app.cfg.public_base_url)
    form = read_form(request)
    token = form.one("t")
    app.review_csrf.check(token, form.one("csrf"))
    decision = DecisionForm(
        form.one("decision"),
        form.one("reason") or None,
        form.one("note"),
        form.many("redo"),
        internal_note=form.one("internal_note"),
    )
    return standing_page(app.review.decide(request.path_params.get("submission_id", ""), token, decision))
