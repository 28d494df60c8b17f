"""Cold start of the packaged functions: each handler's import and module init, from its own zip.

Every sample is a new interpreter that sees what a Lambda container sees: the function's unzipped
zip (as /var/task) and the runtime's boto3/botocore (as /var/runtime, compiled), nothing else
(`-I -S`: no site-packages, no environment), and writes no bytecode (`-B`: /var/task is
read-only). Interpreter start-up itself is the same for all and left out: the clock starts before
the import, inside.

Two packagings of the same code are timed:
- before: one zip for every function, holding every runtime dependency and no bytecode at all
  (what serverless-python-requirements with `slim: true` built: it deletes every .pyc), so every
  module, the libraries' included, is compiled at every cold start. `BENCH_BEFORE_ZIP=path` times
  another zip instead (an older build's `hcp.zip`, say).
- after: the bundle's zip that `infra.package` builds (core, sealing or images), with bytecode.
The floor is `import pynamodb.models, botocore.session` from the core zip, after. Each round times
the floor and every target once, in a shuffled order, so a burst of load on this shared machine
touches all of them alike; a row is the median of its rounds, in CPU time (wall time beside it).
On a loaded machine the CPU times move by more than the margins compared: `BENCH_CLOCK=instructions`
counts the instructions instead (valgrind's callgrind, one round, exact, about 30 s a sample),
less those of an interpreter that imports nothing.

A page function's first request also loads its template: `infra.package` ships them compiled to
modules. The rounds time the load of the console's queue page (which extends the base and imports
the macros) over `import shared.pages`, from the zip and from a copy without the compiled modules.

A function that renders pages also loads the page library (Jinja2, `shared.pages`), which the
architecture accepts for those functions alone: its target is the same ratio plus the library's
own import, measured in the same rounds (`import shared.edge, jinja2` less `import shared.edge`).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra import package
from infra.routes import ROOT, load_serverless

RUNS = 9
FLOOR = "import pynamodb.models, botocore.session"
TARGET_FLOOR_RATIO = 1.15
PAGE_LIBRARY = "jinja2"
WITHOUT_PAGE_LIBRARY = "import shared.edge"
WITH_PAGE_LIBRARY = f"import shared.edge, {PAGE_LIBRARY}"
WORK = ROOT / "var" / "bench-lambda"
FIRST_TEMPLATE = "console_queue.html"
PAGES = "import shared.pages"
FIRST_PAGE = f"{PAGES} as pages; pages._environment().get_template({FIRST_TEMPLATE!r})"
COMPILED_TEMPLATES = "compiled_templates"
# What the Lambda Python runtime provides beside the zip.
RUNTIME_MODULES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")
BEFORE_ZIP_ENV = "BENCH_BEFORE_ZIP"
CLOCK_ENV = "BENCH_CLOCK"  # "cpu" (the default) or "instructions"
CPU, WALL = 0, 1


@dataclass(frozen=True)
class Function:
    name: str  # the function's name in serverless.yml
    handler: str  # "functions/auth.login"
    memory_mb: int
    bundle: str = "core"

    @property
    def module(self) -> str:
        return self.handler.rpartition(".")[0].replace("/", ".")

    @property
    def statement(self) -> str:
        return f"from {self.module} import {self.handler.rpartition('.')[2]}"


def functions(document: dict[str, Any] | None = None) -> list[Function]:
    """Every function of serverless.yml (HTTP and scheduled alike), its memory size and bundle."""
    document = document or load_serverless()
    default_memory = _provider_memory(document)
    found = []
    for name, spec in (document.get("functions") or {}).items():
        artifact = str((spec.get("package") or {}).get("artifact") or "core.zip")
        bundle = artifact.rpartition("/")[2].removesuffix(".zip")
        found.append(
            Function(name, str(spec["handler"]), int(spec.get("memorySize") or default_memory), bundle)
        )
    return found


def _provider_memory(document: dict[str, Any]) -> int:
    value = document.get("provider", {}).get("memorySize", 1024)
    if isinstance(value, str) and value.startswith("${"):
        # `${self:custom.stage.memorySize}`: the per-stage setting; every listed stage inherits
        # the default's, so the default stands for them all.
        value = document["custom"]["stages"]["default"]["memorySize"]
    return int(value)


def _unzip(path: Path, folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    with zipfile.ZipFile(path) as archive:
        archive.extractall(folder)
    return folder


def _runtime(folder: Path) -> Path:
    """The runtime's modules, as links to this virtualenv's (compiled) copies."""
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "__pycache__").mkdir(parents=True)
    import importlib

    for name in RUNTIME_MODULES:
        origin = Path(str(importlib.import_module(name).__file__))
        source = origin.parent if origin.name == "__init__.py" else origin
        (folder / source.name).symlink_to(source)
        if source.is_file():  # a lone module's bytecode lives in its folder's __pycache__
            for compiled in (source.parent / "__pycache__").glob(f"{source.stem}.*.pyc"):
                shutil.copy2(compiled, folder / "__pycache__" / compiled.name)
    return folder


def _before(bundles: dict[str, Path], folder: Path) -> Path:
    """One folder with every bundle's files and no bytecode: the single zip of the old packaging."""
    shutil.rmtree(folder, ignore_errors=True)
    for source in bundles.values():
        shutil.copytree(
            source,
            folder,
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns("__pycache__", COMPILED_TEMPLATES),
        )
    return folder


def prepare(zips: Path = package.OUT) -> dict[str, Path]:
    """The unpacked folders the samples run from: each bundle, before, and the runtime."""
    missing = [b for b in package.BUNDLES if not (zips / f"{b}.zip").exists()]
    if missing:
        raise SystemExit(f"no {', '.join(missing)} zip in {zips}: run `make lambda-zips` first")
    folders = {bundle: _unzip(zips / f"{bundle}.zip", WORK / bundle) for bundle in package.BUNDLES}
    before_zip = os.environ.get(BEFORE_ZIP_ENV)
    if before_zip:
        folders["before"] = _unzip(Path(before_zip), WORK / "before")
    else:
        folders["before"] = _before({b: folders[b] for b in package.BUNDLES}, WORK / "before")
    folders["runtime"] = _runtime(WORK / "runtime")
    folders["source_templates"] = WORK / "source-templates"  # core, its templates not compiled
    shutil.rmtree(folders["source_templates"], ignore_errors=True)
    shutil.copytree(
        folders["core"], folders["source_templates"], ignore=shutil.ignore_patterns(COMPILED_TEMPLATES)
    )
    return folders


def _instructions(statement: str, task: Path, runtime: Path) -> float:
    """Millions of instructions of a new interpreter that runs `statement` (callgrind)."""
    code = f"import sys; sys.path[:0] = sys.argv[1:3]\n{statement}"
    out = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            *("-I", "-S", "-B", "-X", "frozen_modules=on", "-c", code, str(task), str(runtime)),
        ],
        cwd=WORK,
        capture_output=True,
        text=True,
        check=True,
    )
    collected = [line for line in out.stderr.splitlines() if "Collected :" in line]
    return int(collected[-1].rsplit(":", 1)[1].strip().replace(",", "")) / 1e6


def _sample(statement: str, task: Path, runtime: Path) -> tuple[float, float]:
    """(CPU ms, wall ms) of running `statement` in a new interpreter that sees `task` and `runtime`;
    (millions of instructions, 0) with BENCH_CLOCK=instructions."""
    if os.environ.get(CLOCK_ENV) == "instructions":
        return _instructions(statement, task, runtime) - _instructions("pass", task, runtime), 0.0
    code = (
        "import sys; sys.path[:0] = sys.argv[1:3]\n"
        "import time; c, w = time.process_time(), time.perf_counter()\n"
        f"{statement}\n"
        "print((time.process_time() - c) * 1000, (time.perf_counter() - w) * 1000)"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-X", "frozen_modules=on", "-c", code, str(task), str(runtime)],
        cwd=WORK,
        capture_output=True,
        text=True,
        check=True,
    )
    cpu, wall = out.stdout.strip().splitlines()[-1].split()
    return float(cpu), float(wall)


def _median(samples: list[tuple[float, float]], which: int) -> float:
    return statistics.median(sample[which] for sample in samples)


def _renders_pages(module: str, task: Path, runtime: Path) -> bool:
    probe = (
        f"import sys; sys.path[:0] = sys.argv[1:3]; import {module}; print({PAGE_LIBRARY!r} in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", probe, str(task), str(runtime)],
        cwd=WORK,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip().endswith("True")


def _zip_sizes(zips: Path) -> dict[str, Any]:
    manifest = json.loads((zips / "manifest.json").read_text()) if (zips / "manifest.json").exists() else {}
    sizes = {
        bundle: {
            "zip_mb": round(facts["zip_bytes"] / 1e6, 1),
            "unzipped_mb": round(facts["unzipped_bytes"] / 1e6, 1),
        }
        for bundle, facts in manifest.items()
    }
    before = WORK / "before"
    before_zip = os.environ.get(BEFORE_ZIP_ENV)
    sizes["before"] = {
        "zip_mb": round(Path(before_zip).stat().st_size / 1e6, 1) if before_zip else None,
        "unzipped_mb": round(sum(f.stat().st_size for f in before.rglob("*") if f.is_file()) / 1e6, 1),
    }
    return sizes


def measure(runs: int = RUNS, zips: Path = package.OUT) -> dict[str, Any]:
    """Medians of `runs` interleaved rounds; ratios and verdicts on CPU time.

    Functions of one module import exactly the same code (the handler is an attribute of it), so
    each module is timed once per packaging and its figure stands for each of its functions.
    """
    folders = prepare(zips)
    runtime = folders["runtime"]
    counting = os.environ.get(CLOCK_ENV) == "instructions"
    runs = 1 if counting else runs
    fns = functions()
    modules = {f.module: f for f in fns}
    targets: dict[str, tuple[str, Path]] = {
        "floor": (FLOOR, folders["core"]),
        "without_pages": (WITHOUT_PAGE_LIBRARY, folders["core"]),
        "with_pages": (WITH_PAGE_LIBRARY, folders["core"]),
        "pages": (PAGES, folders["core"]),
        "first_page:compiled": (FIRST_PAGE, folders["core"]),
        "first_page:source": (FIRST_PAGE, folders["source_templates"]),
    }
    for module, f in modules.items():
        targets[f"after:{module}"] = (f.statement, folders[f.bundle])
        targets[f"before:{module}"] = (f.statement, folders["before"])
    page_modules = {m for m, f in modules.items() if _renders_pages(m, folders[f.bundle], runtime)}
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in targets}
    order = list(targets)
    for round_ in range(runs):
        random.Random(round_).shuffle(order)  # noqa: S311 - an order, not a secret: none always first
        for name in order:
            statement, task = targets[name]
            samples[name].append(_sample(statement, task, runtime))
    floor = _median(samples["floor"], CPU)
    page_library = max(0.0, _median(samples["with_pages"], CPU) - _median(samples["without_pages"], CPU))
    rows: dict[str, dict[str, Any]] = {}
    for f in fns:
        after, before = (
            _median(samples[f"after:{f.module}"], CPU),
            _median(samples[f"before:{f.module}"], CPU),
        )
        allowance = page_library if f.module in page_modules else 0.0
        target = round(TARGET_FLOOR_RATIO + allowance / floor, 2)
        rows[f.name] = {
            "handler": f.handler,
            "bundle": f.bundle,
            "before_cpu_ms": round(before, 1),
            "cpu_ms": round(after, 1),
            "wall_ms": round(_median(samples[f"after:{f.module}"], WALL), 1),
            "before_floor_ratio": round(before / floor, 2),
            "floor_ratio": round(after / floor, 2),
            "renders_pages": f.module in page_modules,
            "floor_target": target,
            "ok": round(after / floor, 2) <= target,
        }
    return {
        "runs": runs,
        "clock": "millions of instructions" if counting else "CPU time of the import (wall time beside it)",
        "floor": {
            "statement": FLOOR,
            "cpu_ms": round(floor, 1),
            "wall_ms": round(_median(samples["floor"], WALL), 1),
        },
        "target_floor_ratio": TARGET_FLOOR_RATIO,
        "page_library": {"module": PAGE_LIBRARY, "cpu_ms": round(page_library, 1)},
        "first_template": {
            "template": FIRST_TEMPLATE,
            **{
                f"{how}_cpu_ms": round(
                    max(0.0, _median(samples[f"first_page:{how}"], CPU) - _median(samples["pages"], CPU)), 1
                )
                for how in ("source", "compiled")
            },
        },
        "sizes": _zip_sizes(zips),
        "before": os.environ.get(BEFORE_ZIP_ENV) or "one zip of every dependency, no bytecode",
        "functions": rows,
    }


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]) if len(sys.argv) > 1 else RUNS), indent=1))
