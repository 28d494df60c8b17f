"""The IaC security scan of `make lint`: checkov on the packaged template, less the accepted skips.

    python -m infra.iac_scan CHECKOV TEMPLATE [SKIPS]

CHECKOV is the checkov executable of its own virtualenv (.ci/checkov-requirements.txt; it never
shares the project's). It runs offline: `--skip-download` and BC_SKIP_MAPPING=TRUE, so nothing is
fetched from Bridgecrew/Prisma. Every failed check must be listed in SKIPS (infra/checkov-skips.yaml)
with its reason, for the resource it failed on; anything else fails, and so does a skip that no
finding matches any longer, so the file stays the true list of what is accepted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SKIPS = ROOT / "infra" / "checkov-skips.yaml"
TIMEOUT_SECONDS = 600


@dataclass(frozen=True)
class Finding:
    check_id: str
    resource: str  # the logical id
    name: str


@dataclass(frozen=True)
class Skip:
    check_id: str
    reason: str
    resources: frozenset[str] | None  # only these; None: any
    excepted: frozenset[str]  # never these

    def covers(self, finding: Finding) -> bool:
        if finding.check_id != self.check_id or finding.resource in self.excepted:
            return False
        return self.resources is None or finding.resource in self.resources


def load_skips(path: Path = SKIPS) -> list[Skip]:
    declared = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    skips = []
    for check_id, entry in declared.items():
        reason = str((entry or {}).get("reason") or "").strip()
        if not reason:
            raise SystemExit(f"{path.name}: {check_id} has no reason")
        only = entry.get("resources")
        skips.append(
            Skip(
                check_id=str(check_id),
                reason=reason,
                resources=frozenset(only) if only is not None else None,
                excepted=frozenset(entry.get("except") or ()),
            )
        )
    return skips


def _as_list(report: Any) -> list[Any]:
    return report if isinstance(report, list) else [report]


def findings(report: Any) -> list[Finding]:
    """The failed checks of checkov's JSON report (one framework: an object; several: a list)."""
    found = []
    for one in _as_list(report):
        for failed in (one.get("results") or {}).get("failed_checks") or []:
            # checkov names a CloudFormation resource "AWS::Type.LogicalId"
            found.append(
                Finding(failed["check_id"], failed["resource"].rpartition(".")[2], failed["check_name"])
            )
    return found


def judge(found: list[Finding], skips: list[Skip]) -> tuple[list[Finding], list[Skip], int]:
    """(the findings no skip covers, the skips that covered nothing, how many were skipped)."""
    open_findings = [f for f in found if not any(s.covers(f) for s in skips)]
    unused = [s for s in skips if not any(s.covers(f) for f in found)]
    return open_findings, unused, len(found) - len(open_findings)


def run_checkov(checkov: Path, template: Path) -> Any:
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    done = subprocess.run(
        [
            str(checkov),
            "--file",
            str(template),
            "--framework",
            "cloudformation",
            "--skip-download",
            "--quiet",
            "--compact",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    if done.returncode not in (0, 1) or not done.stdout.strip():
        raise SystemExit(f"checkov failed to run ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout)


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    checkov, template = Path(argv[0]), Path(argv[1])
    skips = load_skips(Path(argv[2]) if len(argv) > 2 else SKIPS)
    report = run_checkov(checkov, template)
    open_findings, unused, skipped = judge(findings(report), skips)
    for finding in open_findings:
        print(f"checkov: {finding.check_id} {finding.resource}: {finding.name}")
    for skip in unused:
        print(f"checkov: the skip of {skip.check_id} matches no finding any longer: remove it")
    if open_findings or unused:
        print("checkov: fix each finding above, or list it with its reason in infra/checkov-skips.yaml")
        return 1
    passed = sum(int((r.get("summary") or {}).get("passed") or 0) for r in _as_list(report))
    print(f"checkov: clean ({passed} checks passed, {skipped} findings skipped by {len(skips)} listed skips)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
