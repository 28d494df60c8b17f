"""Deploy tier: package stage `ci` once, offline, through the Makefile; tests read what it built.

`make ci-package` builds the Lambda zips (`infra.package`, with the Python of the Lambda runtime)
into build/lambda-ci and runs `npx osls package` with dummy credentials and the pinned osls and
plugins (package-lock.json; `npm ci` on first use) into build/package-ci (never a developer's
`.serverless/` or `build/lambda/`). `make lint` scans the same template with checkov: whichever runs
first packages, and make repackages only when something that goes into the package changed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infra import deploy
from infra.routes import ROOT

PACKAGE_TIMEOUT_SECONDS = 600  # the first run downloads the wheels; later runs use the plugin's cache
TEMPLATE = "cloudformation-template-update-stack.json"
STAGE = "ci"
CI_PACKAGE = "build/package-ci"  # the Makefile's CI_PACKAGE
CI_LAMBDA = "build/lambda-ci"  # the Makefile's CI_LAMBDA: the zips of that package


@dataclass(frozen=True)
class Packaged:
    folder: Path
    lambda_dir: Path  # the zips (osls empties its package folder: they live beside it)
    template: dict[str, Any]
    lint: Future[list[str]]  # cfn-lint runs (~10 s) while the other tests do

    def lint_findings(self) -> list[str]:
        return self.lint.result(timeout=PACKAGE_TIMEOUT_SECONDS)

    @property
    def template_path(self) -> Path:
        return self.folder / TEMPLATE

    def bundle_of(self, function_id: str) -> str:
        """The bundle whose zip a function (by logical id) runs: its S3 key's file name."""
        key = self.resources[function_id]["Properties"]["Code"]["S3Key"]
        return str(key).rpartition("/")[2].removesuffix(".zip")

    def zip_of(self, bundle: str) -> Path:
        return self.lambda_dir / f"{bundle}.zip"

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return dict(self.template["Resources"])

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {name: spec for name, spec in self.resources.items() if spec["Type"] == kind}


@pytest.fixture(scope="session")
def packaged() -> Iterator[Packaged]:
    missing = [tool for tool in ("node", "npm", "npx", "make") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"packaging needs Node.js and make: {', '.join(missing)} not found on PATH")
    folder = ROOT / CI_PACKAGE
    zips = ROOT / CI_LAMBDA
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    done = subprocess.run(
        ["make", "--no-print-directory", "ci-package"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=PACKAGE_TIMEOUT_SECONDS,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(
            f"make ci-package failed ({done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
        )
    template = json.loads((folder / TEMPLATE).read_text(encoding="utf-8"))
    with ThreadPoolExecutor(max_workers=1) as pool:
        yield Packaged(folder, zips, template, pool.submit(deploy.lint, folder / TEMPLATE))
