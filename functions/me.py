"""GET /v1/me."""

from __future__ import annotations

from shared.edge import Request, Response, http_handler
from shared.services.profile import user_view
from shared.wiring import services


@http_handler
def me(request: Request) -> Response:
    app = services()
    caller = app.access.caller(request)
    return Response(200, user_view(caller.user, app.current_documents()))
