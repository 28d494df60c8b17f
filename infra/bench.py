"""`make bench`: cold starts, AWS calls and cost per endpoint, written to var/bench.json.

Cold start: the import (and module-level init) of each function's handler in a fresh interpreter,
median of several runs, beside the floor (`import pynamodb.models, botocore.session`) measured in
the same run.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from typing import Any

from infra.routes import ROOT, routes

RUNS = 7
TARGET_FLOOR_RATIO = 1.4
FLOOR_IMPORT = "import pynamodb.models, botocore.session"


def _time_import(statement: str, runs: int = RUNS) -> float:
    code = f"import time; t = time.perf_counter(); {statement}; print((time.perf_counter() - t) * 1000)"
    samples = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-X", "frozen_modules=on", "-c", code],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        samples.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(samples)


def cold_starts(runs: int = RUNS) -> dict[str, Any]:
    floor = _time_import(FLOOR_IMPORT, runs)
    handlers = sorted({r.handler for r in routes()})
    results: dict[str, Any] = {}
    for handler in handlers:
        module, _, attr = handler.rpartition(".")
        ms = _time_import(f"from {module.replace('/', '.')} import {attr}", runs)
        results[handler] = {"ms": round(ms, 1), "floor_ratio": round(ms / floor, 2)}
    return {"floor_ms": round(floor, 1), "functions": results}


def main() -> int:
    report: dict[str, Any] = {"cold_start": cold_starts()}
    floor = report["cold_start"]["floor_ms"]
    print(f"{'function':40} {'import ms':>10} {'x floor':>8}  target <= {TARGET_FLOOR_RATIO}")
    print(f"{'(floor: pynamodb.models + botocore.session)':40} {floor:>10}")
    ok = True
    for name, row in report["cold_start"]["functions"].items():
        verdict = "ok" if row["floor_ratio"] <= TARGET_FLOOR_RATIO else "OVER"
        ok &= verdict == "ok"
        print(f"{name:40} {row['ms']:>10} {row['floor_ratio']:>8}  {verdict}")
    out = ROOT / "var" / "bench.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"written {out.relative_to(ROOT)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
