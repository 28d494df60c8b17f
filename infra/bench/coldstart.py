"""Cold start: the import and module-level init of each function's handler, in fresh interpreters.

Every sample is a new `python -c`, timed from inside (interpreter start-up itself is the same for
all and left out). The targets are compared in one interleaved run: each round times the floor,
the single all-routes app and every function once, in a shuffled order, so a burst of load on
this shared machine touches all of them alike; a row is the median of its rounds. The clock is
the interpreter's CPU time, which other processes on the machine barely move (wall time, which
they do, is recorded beside it).

A function that renders pages also loads the page library (Jinja2, `shared.pages`), which the
architecture accepts for those functions alone: its targets are the same ratios plus the
library's own import, measured in the same rounds (`import shared.edge, jinja2` less
`import shared.edge`), so the allowance is what the library costs, no more.

Bytecode, as on Lambda: the deploy zip ships no .pyc (serverless.yml excludes them and /var/task
is read-only), so every cold start compiles the project's own modules, while the libraries come
compiled. Samples read the libraries' bytecode from a cache under var/ (filled by a first, untimed
round) and compile `functions/`, `shared/` and `infra/` from source every time, whatever
PYTHONDONTWRITEBYTECODE or stray __pycache__ folders say. `bytecode_saving_cpu_ms` shows what shipping
compiled project modules would save on one function.
"""

from __future__ import annotations

import os
import random
import shutil
import statistics
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

from infra.routes import ROOT, load_serverless

RUNS = 9
FLOOR = "import pynamodb.models, botocore.session"
# What one function serving every route would load: Flask and every handler, wired into one app
# (the local gateway's app; zappa, which deployed it as one function, was removed, see README).
SINGLE_APP = "from infra.gateway import create_app; create_app()"
TARGET_FLOOR_RATIO = 1.4
TARGET_SINGLE_APP_RATIO = 0.6
PAGE_LIBRARY = "jinja2"
WITHOUT_PAGE_LIBRARY = "import shared.edge"
WITH_PAGE_LIBRARY = f"import shared.edge, {PAGE_LIBRARY}"
PYCACHE = ROOT / "var" / "bench-pycache"
BYTECODE_PROBE = "me"  # the function whose saving from shipped bytecode is reported
CPU, WALL = 0, 1


@dataclass(frozen=True)
class Function:
    name: str  # the function's name in serverless.yml
    handler: str  # "functions/auth.login"
    memory_mb: int

    @property
    def module(self) -> str:
        return self.handler.rpartition(".")[0].replace("/", ".")

    @property
    def statement(self) -> str:
        return f"from {self.module} import {self.handler.rpartition('.')[2]}"


def functions(document: dict[str, Any] | None = None) -> list[Function]:
    """Every function of serverless.yml (HTTP and scheduled alike), with its memory size."""
    document = document or load_serverless()
    default_memory = _provider_memory(document)
    return [
        Function(name, str(spec["handler"]), int(spec.get("memorySize") or default_memory))
        for name, spec in (document.get("functions") or {}).items()
    ]


def _provider_memory(document: dict[str, Any]) -> int:
    value = document.get("provider", {}).get("memorySize", 1024)
    if isinstance(value, str) and value.startswith("${"):
        # `${self:custom.stage.memorySize}`: the per-stage setting; every listed stage inherits
        # the default's, so the default stands for them all.
        value = document["custom"]["stages"]["default"]["memorySize"]
    return int(value)


PROJECT_PACKAGES = ("functions", "shared", "infra")


def _env(project_compiled: bool) -> dict[str, str]:
    """Libraries' bytecode from the cache; the project's too only when `project_compiled`."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    if not project_compiled:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _forget_project_bytecode() -> None:
    # the cache mirrors absolute source paths; the virtualenv (under ROOT too) stays cached
    for package in PROJECT_PACKAGES:
        shutil.rmtree(PYCACHE / ROOT.relative_to(ROOT.anchor) / package, ignore_errors=True)


def _sample(statement: str, env: dict[str, str]) -> tuple[float, float]:
    """(CPU ms, wall ms) of running `statement` in a new interpreter."""
    code = (
        "import time; c, w = time.process_time(), time.perf_counter(); "
        f"{statement}; "
        "print((time.process_time() - c) * 1000, (time.perf_counter() - w) * 1000)"
    )
    out = subprocess.run(
        [sys.executable, "-X", "frozen_modules=on", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    cpu, wall = out.stdout.strip().splitlines()[-1].split()
    return float(cpu), float(wall)


def _median(samples: list[tuple[float, float]], which: int) -> float:
    return statistics.median(sample[which] for sample in samples)


def _renders_pages(module: str) -> bool:
    probe = f"import sys, {module}; print({PAGE_LIBRARY!r} in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    return out.stdout.strip().endswith("True")


def measure(runs: int = RUNS) -> dict[str, Any]:
    """Medians of `runs` interleaved rounds; ratios and verdicts on CPU time.

    Functions of one module import exactly the same code (the handler is an attribute of it), so
    each module is timed once and its figure stands for each of its functions.
    """
    fns = functions()
    modules = {f.module: f.statement for f in fns}
    targets = {
        "floor": FLOOR,
        "single_app": SINGLE_APP,
        "without_pages": WITHOUT_PAGE_LIBRARY,
        "with_pages": WITH_PAGE_LIBRARY,
        **modules,
    }
    page_modules = {module for module in modules if _renders_pages(module)}
    for statement in targets.values():  # the untimed round that fills the bytecode cache
        _sample(statement, _env(project_compiled=True))
    probe = next((f for f in fns if f.name == BYTECODE_PROBE), fns[0])
    with_bytecode = [_sample(probe.statement, _env(project_compiled=True)) for _ in range(runs)]
    _forget_project_bytecode()
    env = _env(project_compiled=False)
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in targets}
    order = list(targets)
    for round_ in range(runs):
        random.Random(round_).shuffle(order)  # noqa: S311 - an order, not a secret: none always first
        for name in order:
            samples[name].append(_sample(targets[name], env))
    floor, single = _median(samples["floor"], CPU), _median(samples["single_app"], CPU)
    page_library = max(0.0, _median(samples["with_pages"], CPU) - _median(samples["without_pages"], CPU))
    rows: dict[str, dict[str, Any]] = {}
    for f in fns:
        ms = _median(samples[f.module], CPU)
        floor_ratio, single_ratio = round(ms / floor, 2), round(ms / single, 2)
        allowance = page_library if f.module in page_modules else 0.0
        floor_target = round(TARGET_FLOOR_RATIO + allowance / floor, 2)
        single_target = round(TARGET_SINGLE_APP_RATIO + allowance / single, 2)
        rows[f.name] = {
            "handler": f.handler,
            "cpu_ms": round(ms, 1),
            "wall_ms": round(_median(samples[f.module], WALL), 1),
            "floor_ratio": floor_ratio,
            "single_app_ratio": single_ratio,
            "renders_pages": f.module in page_modules,
            "floor_target": floor_target,
            "single_app_target": single_target,
            "ok": floor_ratio <= floor_target and single_ratio <= single_target,
        }
    with_bytecode_ms = _median(with_bytecode, CPU)
    return {
        "runs": runs,
        "clock": "CPU time of the import (wall time beside it)",
        "floor": _row(FLOOR, samples["floor"]),
        "single_app": _row(SINGLE_APP, samples["single_app"]),
        "targets": {"floor_ratio": TARGET_FLOOR_RATIO, "single_app_ratio": TARGET_SINGLE_APP_RATIO},
        "page_library": {"module": PAGE_LIBRARY, "cpu_ms": round(page_library, 1)},
        "functions": rows,
        "bytecode_saving_cpu_ms": {probe.name: round(rows[probe.name]["cpu_ms"] - with_bytecode_ms, 1)},
    }


def _row(statement: str, samples: list[tuple[float, float]]) -> dict[str, Any]:
    return {
        "statement": statement,
        "cpu_ms": round(_median(samples, CPU), 1),
        "wall_ms": round(_median(samples, WALL), 1),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(measure(int(sys.argv[1]) if len(sys.argv) > 1 else RUNS), indent=1))
