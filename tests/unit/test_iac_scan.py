"""The IaC scan's verdict: a finding no listed skip covers fails, and so does a skip nothing needs."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.iac_scan import SKIPS, Finding, Skip, findings, judge, load_skips


def _report(*failed: tuple[str, str]) -> dict[str, object]:
    return {
        "check_type": "cloudformation",
        "results": {
            "failed_checks": [
                {"check_id": check, "resource": f"AWS::Lambda::Function.{resource}", "check_name": check}
                for check, resource in failed
            ]
        },
        "summary": {"passed": 3, "failed": len(failed)},
    }


VPC = Skip("CKV_AWS_117", "no private resource", None, frozenset())
CONCURRENCY = Skip("CKV_AWS_115", "only the expensive ones", None, frozenset({"SubmitLambdaFunction"}))


def test_checkov_names_resources_by_type_and_logical_id() -> None:
    assert findings(_report(("CKV_AWS_117", "MeLambdaFunction"))) == [
        Finding("CKV_AWS_117", "MeLambdaFunction", "CKV_AWS_117")
    ]
    assert findings([_report(), _report(("CKV_AWS_1", "X"))]) == [Finding("CKV_AWS_1", "X", "CKV_AWS_1")]


def test_a_finding_no_skip_covers_fails_the_scan() -> None:
    found = findings(_report(("CKV_AWS_117", "MeLambdaFunction"), ("CKV_AWS_45", "MeLambdaFunction")))
    open_findings, unused, skipped = judge(found, [VPC])
    assert [f.check_id for f in open_findings] == ["CKV_AWS_45"]
    assert (unused, skipped) == ([], 1)


def test_a_skip_never_covers_the_resources_it_excepts() -> None:
    found = findings(_report(("CKV_AWS_115", "MeLambdaFunction"), ("CKV_AWS_115", "SubmitLambdaFunction")))
    open_findings, _, _ = judge(found, [CONCURRENCY])
    assert [f.resource for f in open_findings] == ["SubmitLambdaFunction"]
    narrow = Skip("CKV_AWS_115", "one only", frozenset({"MeLambdaFunction"}), frozenset())
    assert [f.resource for f in judge(found, [narrow])[0]] == ["SubmitLambdaFunction"]


def test_a_skip_that_matches_nothing_any_longer_fails_the_scan() -> None:
    _, unused, _ = judge(findings(_report(("CKV_AWS_117", "MeLambdaFunction"))), [VPC, CONCURRENCY])
    assert unused == [CONCURRENCY]


def test_the_projects_skips_each_give_a_reason(tmp_path: Path) -> None:
    skips = load_skips(SKIPS)
    assert skips and all(len(s.reason) > 40 for s in skips)
    bare = tmp_path / "skips.yaml"
    bare.write_text("CKV_AWS_117: {resources: [A]}\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="no reason"):
        load_skips(bare)
