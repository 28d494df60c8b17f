"""The local route table matches as API Gateway does: literal path segments before captures."""

from __future__ import annotations

import pytest

from infra.routes import Route, match


def _route(function: str, method: str, path: str) -> Route:
    return Route(function, f"functions/x.{function}", method, path)


# Captures first, as a file may list them: first-match-in-file-order would pick them.
ROUTES = [
    _route("recordById", "GET", "/v1/consents/{record_id}"),
    _route("receipt", "GET", "/v1/consents/{record_id}/receipt"),
    _route("anyDocument", "POST", "/v1/consents/{document}/withdraw"),
    _route("receiptKey", "GET", "/v1/consents/receipt-key"),
    _route("receiptKeyHistory", "GET", "/v1/consents/receipt-key/{version}"),
    _route("informedWithdraw", "POST", "/v1/consents/informed-consent/withdraw"),
    _route("documents", "GET", "/v1/consents/documents"),
]


@pytest.mark.parametrize(
    ("method", "path", "function", "params"),
    [
        ("GET", "/v1/consents/receipt-key", "receiptKey", {}),
        ("GET", "/v1/consents/documents?x=1", "documents", {}),
        ("GET", "/v1/consents/01J0ABC", "recordById", {"record_id": "01J0ABC"}),
        ("GET", "/v1/consents/01J0ABC/receipt", "receipt", {"record_id": "01J0ABC"}),
        # the literal on the left decides first, as in the gateway's tree of segments
        ("GET", "/v1/consents/receipt-key/receipt", "receiptKeyHistory", {"version": "receipt"}),
        ("GET", "/v1/consents/receipt-key/3", "receiptKeyHistory", {"version": "3"}),
        ("POST", "/v1/consents/informed-consent/withdraw", "informedWithdraw", {}),
        (
            "POST",
            "/v1/consents/hcp-identity-agreement/withdraw",
            "anyDocument",
            {"document": "hcp-identity-agreement"},
        ),
    ],
)
def test_a_literal_segment_wins_over_a_capture_whatever_the_order(
    method: str, path: str, function: str, params: dict[str, str]
) -> None:
    route, bound = match(ROUTES, method, path)
    assert (route.function, bound) == (function, params)
    route, bound = match(list(reversed(ROUTES)), method, path)
    assert (route.function, bound) == (function, params)


def test_the_leftmost_literal_decides_between_two_partial_captures() -> None:
    routes = [_route("second", "GET", "/v1/{a}/b"), _route("first", "GET", "/v1/a/{b}")]
    assert match(routes, "GET", "/v1/a/b")[0].function == "first"


def test_no_route_is_a_lookup_error_naming_the_request() -> None:
    with pytest.raises(LookupError, match="no route for DELETE /v1/consents/receipt-key"):
        match(ROUTES, "DELETE", "/v1/consents/receipt-key")
