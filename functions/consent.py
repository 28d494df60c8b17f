"""GET /v1/consents/documents, POST /v1/consents, GET /v1/consents, POST /v1/consents/{document}/withdraw."""

from __future__ import annotations

import msgspec

from shared import config
from shared.edge import Request, Response, http_handler, json_body
from shared.services.consent import record_view
from shared.wiring import services


class DecisionBody(msgspec.Struct, forbid_unknown_fields=True):
    document: str
    version: str
    decision: str


@http_handler
def documents(request: Request) -> Response:
    pages_url = config.current().platform_pages_url
    items = [doc.view(pages_url) for doc in services().consent.current_documents()]
    return Response(200, {"items": items, "next_cursor": None})


@http_handler
def decide(request: Request) -> Response:
    app = services()
    caller = app.access.caller(request)
    body = json_body(request, DecisionBody)
    done = app.consent.decide(
        caller.user, body.document, body.version, body.decision, request.source_ip, request.user_agent
    )
    return Response(201, {**record_view(done.record), "next_step": done.next_step.value})


@http_handler
def history(request: Request) -> Response:
    app = services()
    caller = app.access.caller(request)
    return Response(200, {"items": app.consent.history(caller.user), "next_cursor": None})


@http_handler
def withdraw(request: Request) -> Response:
    app = services()
    caller = app.access.caller(request)
    document = request.path_params.get("document", "")
    done = app.consent.withdraw(caller.user, document, request.source_ip, request.user_agent)
    return Response(201, {**record_view(done.record), "next_step": done.next_step.value})
