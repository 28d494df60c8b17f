"""GET /v1/questions, POST /v1/answers (the optional question collection)."""

from __future__ import annotations

from typing import Any

import msgspec

from shared.edge import Request, Response, http_handler, json_body
from shared.services.questions import questions_view
from shared.wiring import services


class Answer(msgspec.Struct, forbid_unknown_fields=True):
    question_id: str
    value: str | list[str]


class AnswersBody(msgspec.Struct, forbid_unknown_fields=True):
    answers: list[Answer]


@http_handler
def questions(request: Request) -> Response:
    services().access.collecting(request)
    return Response(200, {"items": questions_view(), "next_cursor": None})


@http_handler
def answers(request: Request) -> Response:
    app = services()
    caller = app.access.collecting(request)
    body = json_body(request, AnswersBody)
    pairs: list[tuple[str, Any]] = [(a.question_id, a.value) for a in body.answers]
    result = app.answers.submit(
        caller.user, app.current_documents(), pairs, request.header("idempotency-key")
    )
    return Response(200, result)
