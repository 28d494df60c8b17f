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
