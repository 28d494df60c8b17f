"""GET /v1/consents/{record_id}/receipt, GET /v1/consents/receipt-key.

A module of its own: only these handlers pay for the JOSE library (imported on first use).
"""

from __future__ import annotations

from shared.edge import Request, Response, http_handler
from shared.services.receipts import receipt_claims
from shared.wiring import services

KEY_CACHE_SECONDS = 300


@http_handler
def receipt(request: Request) -> Response:
    app = services()
    caller = app.access.caller(request)
    record = app.consent.record(caller.user, request.path_params.get("record_id", ""))
    claims = receipt_claims(app.cfg, record, app.receipts.key_id)
    return Response(200, {"receipt": app.receipts.sign(claims), "claims": claims})


@http_handler
def receipt_key(request: Request) -> Response:
    jwks = services().receipts.public_jwks()
    return Response(200, jwks, headers={"Cache-Control": f"public, max-age={KEY_CACHE_SECONDS}"})
