"""GET /v1/config: what the app needs before login (no auth, no storage read, no storage library)."""

from __future__ import annotations

from shared import config as settings
from shared.edge import Request, Response, http_handler
from shared.services.profile import app_config

CONFIG_CACHE_SECONDS = 300


@http_handler
def config(request: Request) -> Response:
    cfg = settings.current()
    return Response(
        200,
        app_config(cfg.result_template_id, cfg.result_page),
        headers={"Cache-Control": f"public, max-age={CONFIG_CACHE_SECONDS}"},
    )
