"""Read the functions and HTTP API routes out of serverless.yml, the one route table."""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SERVERLESS_YML = ROOT / "serverless.yml"


class _CloudFormationLoader(yaml.SafeLoader):
    """Loads serverless.yml, keeping CloudFormation short tags (!Ref, !GetAtt...) as plain data."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {suffix: value}


_CloudFormationLoader.add_multi_constructor("!", _tag)


def load_serverless(path: Path = SERVERLESS_YML) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        # A SafeLoader subclass: CloudFormation short tags load as plain data, never as objects.
        document = yaml.load(fh, Loader=_CloudFormationLoader)  # noqa: S506  # nosec B506
    return dict(document)


# The staff console's pages are HTML for the platform's staff, not the mini-program's contract:
# the OpenAPI document (and the client types generated from it) leaves them out, and
# ../shared/docs/api.md describes them ("Reviewers and the staff console").
STAFF_CONSOLE = "/console"


@dataclass(frozen=True)
class Route:
    function: str
    handler: str  # "functions/auth.login"
    method: str
    path: str  # API Gateway form: /v1/articles/{id}

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def flask_rule(self) -> str:
        return re.sub(r"\{(\w+)\+?\}", r"<\1>", self.path)

    @property
    def in_contract(self) -> bool:
        """Is it part of the mini-program's contract (the OpenAPI document)? Not a console page."""
        return not (self.path == STAFF_CONSOLE or self.path.startswith(f"{STAFF_CONSOLE}/"))

    def resolve(self) -> Callable[..., Any]:
        module_path, _, attr = self.handler.rpartition(".")
        module = importlib.import_module(module_path.replace("/", "."))
        return getattr(module, attr)  # type: ignore[no-any-return]


def routes(document: dict[str, Any] | None = None) -> list[Route]:
    document = document or load_serverless()
    found: list[Route] = []
    for name, spec in (document.get("functions") or {}).items():
        for event in spec.get("events") or []:
            http = event.get("httpApi") if isinstance(event, dict) else None
            if http:
                found.append(Route(name, spec["handler"], str(http["method"]).upper(), str(http["path"])))
    return found


def _specificity(route: Route) -> tuple[bool, ...]:
    """Literal segments rank above captures, the leftmost difference first: the order API Gateway
    matches in (and Chalice's local RouteMatcher, which sorts its routes so)."""
    return tuple(not segment.startswith("{") for segment in route.path.strip("/").split("/"))


def _bind(route: Route, parts: list[str]) -> dict[str, str] | None:
    pattern = route.path.strip("/").split("/")
    if len(pattern) != len(parts):
        return None
    params: dict[str, str] = {}
    for want, got in zip(pattern, parts, strict=True):
        if want.startswith("{"):
            params[want.strip("{}+")] = got
        elif want != got:
            return None
    return params


def match(routes_: list[Route], method: str, path: str) -> tuple[Route, dict[str, str]]:
    """The route serving `method path` (query ignored) and its path parameters.

    Where several routes fit, the most specific wins whatever their order in serverless.yml:
    `GET /v1/consents/receipt-key` over a `GET /v1/consents/{record_id}`.
    """
    parts = path.split("?", maxsplit=1)[0].strip("/").split("/")
    candidates = sorted(
        (route for route in routes_ if route.method == method), key=_specificity, reverse=True
    )
    for route in candidates:
        params = _bind(route, parts)
        if params is not None:
            return route, params
    raise LookupError(f"no route for {method} {path}")


def invoke(
    routes_: list[Route], method: str, path: str, headers: dict[str, str], body: bytes | str | None
) -> tuple[int, dict[str, str], str, Any]:
    """Call the handler of `method path` in-process with the v2 event API Gateway would send:
    (status, headers, body text, body parsed as JSON or None). The cookies a v2 result sets come
    back as one `Set-Cookie` header, one cookie a line."""
    import json

    from infra.events import http_api_event

    route, params = match(routes_, method, path)
    path_only, _, query = path.partition("?")
    event = http_api_event(
        method,
        path_only,
        route_key=route.route_key,
        path_params=params,
        query_string=query,
        headers=headers,
        body=body,
    )
    result = route.resolve()(event, None)
    answer_headers = dict(result.get("headers") or {})
    if result.get("cookies"):
        answer_headers["Set-Cookie"] = "\n".join(result["cookies"])
    text = result.get("body") or ""
    try:
        parsed = json.loads(text) if text else None
    except ValueError:
        parsed = None
    return int(result["statusCode"]), answer_headers, text, parsed
