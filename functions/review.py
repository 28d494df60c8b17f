"""GET /review/{submission_id}?t=..., POST /review/{submission_id}/decision: the reviewer's HTML pages."""

from __future__ import annotations

from shared.edge import Request, Response, http_handler
from shared.wiring import services


@http_handler
def page(request: Request) -> Response:
    return services().review.page(request)


@http_handler
def decide(request: Request) -> Response:
    return services().review.decide(request)
