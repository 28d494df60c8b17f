"""Layers import inward: the domain and the use cases know nothing of storage, HTTP or AWS."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {
    "shared/domain": (
        "pynamodb",
        "boto3",
        "botocore",
        "flask",
        "jinja2",
        "shared.edge",
        "shared.store",
        "shared.services",
        "shared.adapters",
        "shared.pages",
        "shared.wiring",
        "functions",
    ),
    "shared/services": (
        "pynamodb",
        "boto3",
        "botocore",
        "flask",
        "jinja2",
        "PIL",
        "shared.edge",
        "shared.store",
        "shared.adapters",
        "shared.pages",
        "shared.wiring",
        "functions",
    ),
    "tests/unit": ("moto",),
}


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_no_module_imports_an_outer_layer(folder: str) -> None:
    offending = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in sorted((ROOT / folder).glob("*.py"))
        for name in imports(path)
        if any(name == banned or name.startswith(banned + ".") for banned in FORBIDDEN[folder])
    }
    assert not offending, sorted(offending)


def test_loading_every_use_case_loads_no_storage_library() -> None:
    modules = sorted(p.stem for p in (ROOT / "shared" / "services").glob("*.py") if p.stem != "__init__")
    probe = (
        "import sys\n"
        + "".join(f"import shared.services.{m}\n" for m in modules)
        + "print(sorted(n for n in sys.modules if n.split('.')[0] in ('pynamodb', 'flask', 'jinja2', 'moto')"
        + " or n.startswith(('shared.store', 'shared.edge', 'shared.pages', 'shared.adapters'))))"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout


def test_no_code_names_an_issue_number() -> None:
    """History lives in git: comments say why, not which ticket."""
    tagged = [
        f"{path.relative_to(ROOT)}:{n}"
        for folder in ("shared", "functions", "infra")
        for path in sorted((ROOT / folder).rglob("*"))
        if path.suffix in (".py", ".yml", ".yaml", ".html", ".md")
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"[Ii]ssue [0-9]+", line)
    ]
    tagged += [
        f"serverless.yml:{n}"
        for n, line in enumerate((ROOT / "serverless.yml").read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"[Ii]ssue [0-9]+", line)
    ]
    assert not tagged, tagged
