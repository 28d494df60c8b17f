"""The local gateway: a Flask app that serves every httpApi route of serverless.yml.

Each request becomes an API Gateway HTTP API v2 event for the very handler Lambda would run,
and the handler's result becomes the HTTP response, as API Gateway would do it.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, Response, abort, request
from werkzeug.exceptions import HTTPException

from infra.events import http_api_event
from infra.routes import Route, routes

# API Gateway HTTP APIs refuse request bodies over 10 MB.
MAX_REQUEST_BYTES = 10 * 1024 * 1024
OPENAPI_PATH = Path(__file__).resolve().parent / "openapi.yaml"
PAGES_DIR = Path(__file__).resolve().parent / "seed" / "pages"
PAGE_NAME = re.compile(r"[a-z][a-z0-9-]{0,40}")


def _view(route: Route, handler: Callable[..., Any]) -> Callable[..., Response]:
    def view(**path_params: str) -> Response:
        event = http_api_event(
            request.method,
            request.path,
            route_key=route.route_key,
            path_params=path_params,
            query_string=request.query_string.decode("latin-1"),
            headers=dict(request.headers),
            body=request.get_data(cache=False),
            source_ip=request.remote_addr or "127.0.0.1",
        )
        result = handler(event, None)
        return _to_flask(result)

    view.__name__ = f"route_{route.function}_{route.method.lower()}"
    return view


def _to_flask(result: dict[str, Any]) -> Response:
    body = result.get("body") or ""
    data = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode("utf-8")
    response = Response(data, status=int(result.get("statusCode", 200)))
    response.headers.clear()
    for name, value in (result.get("headers") or {}).items():
        response.headers[name] = str(value)
    for cookie in result.get("cookies") or []:
        response.headers.add("Set-Cookie", cookie)
    return response


def _json_error(status: int, code: str, message: str) -> Response:
    payload = json.dumps({"error": {"code": code, "message": message}}, ensure_ascii=False)
    return Response(payload, status=status, content_type="application/json; charset=utf-8")


def openapi_document() -> dict[str, Any]:
    import yaml

    with OPENAPI_PATH.open(encoding="utf-8") as fh:
        return dict(yaml.safe_load(fh))


def create_app() -> Flask:
    app = Flask("hcp-local-gateway")
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    for route in routes():
        app.add_url_rule(
            route.flask_rule,
            endpoint=f"{route.function}:{route.route_key}",
            view_func=_view(route, route.resolve()),
            methods=[route.method],
        )

    @app.get("/openapi.json")
    def openapi() -> Response:
        return Response(
            json.dumps(openapi_document(), ensure_ascii=False), content_type="application/json; charset=utf-8"
        )

    @app.get("/pages/<name>")
    def platform_page(name: str) -> Response:
        """The platform's own pages that consent documents link to (a deployed stage names their
        real home in PLATFORM_PAGES_URL); here, local stand-ins."""
        page = PAGES_DIR / f"{name}.html"
        if not PAGE_NAME.fullmatch(name) or not page.is_file():
            abort(404)
        return Response(page.read_bytes(), content_type="text/html; charset=utf-8")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        from shared.messages import language, message

        status = exc.code or 500
        codes = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
        code = codes.get(status, "bad_request")
        words = message(code, "default", language(request.headers.get("Accept-Language")), {})
        response = _json_error(status, code, words)
        for name, value in exc.get_headers():
            if name.lower() == "allow":
                response.headers[name] = value
        return response

    return app
