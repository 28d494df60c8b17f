"""POST /v1/auth/login, POST /v1/auth/logout."""

from __future__ import annotations

import msgspec

from shared.domain import times
from shared.edge import Request, Response, http_handler, json_body
from shared.services.profile import user_view
from shared.wiring import services


class LoginBody(msgspec.Struct, forbid_unknown_fields=True):
    code: str


@http_handler
def login(request: Request) -> Response:
    body = json_body(request, LoginBody)
    app = services()
    documents = app.current_documents()  # before the session is stored: a fault here writes nothing
    result = app.sessions.login(body.code)
    user = user_view(result.user, documents)
    return Response(200, {"token": result.token, "expires_at": times.iso(result.expires_at), "user": user})


@http_handler
def logout(request: Request) -> Response:
    services().sessions.logout(request.bearer_token())
    return Response(200, {"logged_out": True})
