"""GET /v1/me/export, DELETE /v1/me."""

from __future__ import annotations

from shared.edge import Request, Response, http_handler
from shared.wiring import services


@http_handler
def export(request: Request) -> Response:
    app = services()
    caller = app.access.caller(request)
    return Response(200, app.account.export(caller.user.user_id))


@http_handler
def delete(request: Request) -> Response:
    app = services()
    caller = app.access.caller(request)
    return Response(200, app.account.delete(caller.user.user_id))
