"""POST /v1/verification/uploads, POST /v1/verification, GET /v1/verification,
POST /v1/verification/withdraw."""

from __future__ import annotations

import msgspec

from shared.edge import Request, Response, http_handler, json_body
from shared.wiring import services


class UploadBody(msgspec.Struct, forbid_unknown_fields=True):
    kind: str
    content_type: str
    size: int


class SubmitBody(msgspec.Struct, forbid_unknown_fields=True):
    real_name: str
    hospital: str
    department: str
    title: str
    profession: str
    documents: list[str]
    license_number: str | None = None
    keep: list[str] = []  # kinds whose image the latest submission holds, reused instead of uploaded


@http_handler
def uploads(request: Request) -> Response:
    app = services()
    caller = app.access.consented(request)
    body = json_body(request, UploadBody)
    return Response(200, app.verification.upload(caller.user, body.kind, body.content_type, body.size))


@http_handler
def submit(request: Request) -> Response:
    app = services()
    caller = app.access.consented(request)
    body = json_body(request, SubmitBody)
    fields = msgspec.structs.asdict(body)
    documents, keep = fields.pop("documents"), fields.pop("keep")
    key = request.header("idempotency-key")
    return Response(201, app.verification.submit(caller.user, fields, documents, key, keep))


@http_handler
def status(request: Request) -> Response:
    app = services()
    caller = app.access.consented(request)
    return Response(200, app.verification.status(caller.user))


@http_handler
def withdraw(request: Request) -> Response:
    app = services()
    caller = app.access.consented(request)
    return Response(200, app.verification.withdraw(caller.user))
