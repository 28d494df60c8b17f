"""serverless.yml is the one route table: every route is served locally and documented."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from infra import resources
from infra.gateway import create_app, openapi_document
from infra.routes import load_serverless, routes
from tests.functional.conftest import Api

ROUTES = routes()


def test_there_are_routes() -> None:
    assert {"POST /v1/auth/login", "POST /v1/auth/logout", "GET /v1/me"} <= {r.route_key for r in ROUTES}


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.route_key)
def test_every_handler_imports(route) -> None:  # type: ignore[no-untyped-def]
    assert callable(route.resolve())


@pytest.fixture
def client(aws) -> FlaskClient:  # type: ignore[no-untyped-def]
    return create_app().test_client()


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.route_key)
def test_every_route_is_served_by_the_local_gateway(client: FlaskClient, route) -> None:  # type: ignore[no-untyped-def]
    path = re.sub(r"\{\w+\+?\}", "x", route.path)
    reply = client.open(path, method=route.method)
    # The handler answered (its request id header), not Flask's router.
    assert "X-Request-Id" in reply.headers, (route.route_key, reply.status_code)
    assert reply.status_code < 500


def test_unknown_paths_get_the_json_error_shape(client: FlaskClient) -> None:
    reply = client.get("/v1/nope")
    assert reply.status_code == 404
    assert reply.json == {"error": {"code": "not_found", "message": reply.json["error"]["message"]}}
    assert client.put("/v1/me").status_code == 405


def test_openapi_documents_exactly_the_routes_of_serverless_yml_but_the_console() -> None:
    document = openapi_document()
    assert document["openapi"].startswith("3.1")
    documented = {
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }
    assert documented == {r.route_key for r in ROUTES if r.in_contract}
    assert {r.route_key for r in ROUTES if not r.in_contract} >= {"GET /console", "POST /console/login"}


def test_openapi_is_served(client: FlaskClient) -> None:
    reply = client.get("/openapi.json")
    assert reply.status_code == 200
    assert reply.json["paths"]


def test_models_match_the_tables_of_serverless_yml() -> None:
    declared = {
        spec["Properties"]["TableName"].replace("${self:custom.prefix}", ""): spec["Properties"]
        for spec in load_serverless()["resources"]["Resources"].values()
        if spec.get("Type") == "AWS::DynamoDB::Table"
    }
    models = resources.load_models()
    assert set(models) == set(declared)
    for name, model in models.items():
        keys = {k["AttributeName"]: k["KeyType"] for k in declared[name]["KeySchema"]}
        stored = {
            name: attr.attr_name for name, attr in model.get_attributes().items()
        }  # as DynamoDB names them
        hash_key = stored[model._hash_keyname]
        range_key = stored[model._range_keyname] if model._range_keyname else None
        expected = {hash_key: "HASH", **({range_key: "RANGE"} if range_key else {})}
        assert keys == expected, name


def test_the_app_learns_the_stages_template_and_page_before_login(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared import wiring

    none = api.get("/v1/config", token="")
    assert none.status == 200 and none.body == {
        "subscribe_templates": {"review_result": None},
        "pages": {"review_result": "pages/verify/index"},
    }
    monkeypatch.setenv("WECHAT_RESULT_TEMPLATE_ID", "tmpl-result-1")
    monkeypatch.setenv("WECHAT_RESULT_PAGE", "/pages/status/index")
    wiring.reset()
    configured = api.get("/v1/config", token="")
    assert configured.body == {
        "subscribe_templates": {"review_result": "tmpl-result-1"},
        "pages": {"review_result": "pages/status/index"},
    }
    assert "max-age" in configured.headers["Cache-Control"]
