"""`make load`, briefly: its checks hold under a short concurrent run (the full run is 50 users for
60 seconds; this one keeps CI short)."""

from __future__ import annotations

import subprocess
import sys

from tests.e2e.conftest import ROOT


def test_a_short_load_run_loses_and_doubles_nothing_and_counts_exactly() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tests.load", "--users", "8", "--seconds", "8"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-4000:]
    for promise in ("no 5xx", "no comment lost", "no comment doubled", "count = visible comments"):
        assert f"   {promise}: ok" in out, out[-4000:]
    assert "POST .../comments" in out and "not AWS's speed" in out
