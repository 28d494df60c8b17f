"""The consent texts say what the system does: how long images and backups last, who sees credentials.

The current seed documents state these facts through placeholders filled from serverless.yml (the
stage's settings, the tables' point-in-time recovery) and from the staff roles, never as typed
numbers or role names: a setting that changes changes the published text (and publishing it under
the same version is refused), so the text cannot keep an old promise.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest

from infra.ops import consent as consent_ops
from infra.routes import load_serverless
from shared.domain import staff
from shared.domain.consent import AGREEMENT, DOCUMENT_KEYS, INFORMED

TEMPLATE = load_serverless()
STAGES = [*TEMPLATE["custom"]["stages"], "local"]  # a stage serverless.yml does not list takes default


def current_seed(key: str) -> Path:
    return [p for p in consent_ops.seed_files() if p.parent.name == key][-1]


def rendered(key: str, stage: str, template: dict[str, Any] = TEMPLATE) -> str:
    return consent_ops.read_document(current_seed(key), consent_ops.stage_facts(stage, template)).body


def settings(stage: str) -> dict[str, Any]:
    stages = TEMPLATE["custom"]["stages"]
    return dict(stages.get(stage) or stages["default"])


@pytest.mark.parametrize("stage", STAGES)
def test_the_agreement_states_the_stages_image_and_backup_periods(stage: str) -> None:
    body = rendered(AGREEMENT, stage)
    days = settings(stage)["imageRetentionDays"]
    keys = settings(stage)["consentKeyRecoveryDays"]
    assert f"图片在提交之日起满{days}天时删除" in body
    assert "证件图片保存至您注销账号为止" not in body and "执业信息与证件图片保存至" not in body
    assert "保留最近35天的备份" in body and "保留至多35天" in body  # DynamoDB's own period
    assert f"个人密钥的备份至多保留{keys}天" in body
    assert "{{" not in body


@pytest.mark.parametrize("stage", STAGES)
def test_the_informed_consent_states_the_backup_period(stage: str) -> None:
    body = rendered(INFORMED, stage)
    assert "保留最近35天的备份" in body and "{{" not in body


@pytest.mark.parametrize(
    ("where", "value", "expected"),
    [
        (("custom", "stages", "default", "imageRetentionDays"), 91, "满91天时删除"),
        (("custom", "stages", "default", "consentKeyRecoveryDays"), 3, "至多保留3天"),
        (
            ("custom", "table", "PointInTimeRecoverySpecification", "RecoveryPeriodInDays"),
            14,
            "保留最近14天的备份",
        ),
    ],
)
def test_a_changed_setting_changes_the_text(where: tuple[str, ...], value: int, expected: str) -> None:
    before = rendered(AGREEMENT, "local")
    changed = copy.deepcopy(TEMPLATE)
    node = changed
    for part in where[:-1]:
        node = node[part]
    node[where[-1]] = value
    after = rendered(AGREEMENT, "local", changed)
    assert after != before and expected in after and expected not in before


def test_the_seed_types_no_fact_it_should_read() -> None:
    """The current texts name the periods and roles by placeholder only: a number or a role typed
    in would not follow its setting."""
    facts = consent_ops.stage_facts("local")
    for key in DOCUMENT_KEYS:
        raw = current_seed(key).read_text(encoding="utf-8")
        body = raw.split("\n---\n", 1)[1]
        for label in staff.ROLE_LABELS.values():
            assert label not in body, (key, label)
        numbers = set(re.findall(r"\d+天", body))
        assert numbers == set(), (key, numbers)
        used = set(re.findall(r"\{\{(\w+)\}\}", body))
        assert used <= facts.keys()
    agreement = current_seed(AGREEMENT).read_text(encoding="utf-8")
    assert set(re.findall(r"\{\{(\w+)\}\}", agreement)) == facts.keys()  # every fact is stated


def test_the_agreement_names_who_sees_credentials_from_the_roles(monkeypatch: pytest.MonkeyPatch) -> None:
    body = rendered(AGREEMENT, "local")
    assert staff.credential_roles() == (staff.REVIEWER, staff.ADMIN)
    assert "只有审核员和管理员可以查看您提交的执业信息与证件图片" in body
    assert "评论管理员、内容编辑不能查看" in body
    # a console page that showed credentials to moderators would change the text
    monkeypatch.setattr(staff, "CONSOLE_ROLES", {**staff.CONSOLE_ROLES, "held": frozenset({staff.MODERATOR})})
    with pytest.raises(ValueError, match="held"):  # a page nobody said whether it shows credentials
        staff.credential_roles()
    monkeypatch.setattr(staff, "PAGES_WITHOUT_CREDENTIALS", staff.PAGES_WITHOUT_CREDENTIALS | {"held"})
    assert rendered(AGREEMENT, "local") == body  # not a credential page
    monkeypatch.setattr(staff, "PAGES_WITHOUT_CREDENTIALS", staff.PAGES_WITHOUT_CREDENTIALS - {"held"})
    monkeypatch.setattr(staff, "CREDENTIAL_PAGES", staff.CREDENTIAL_PAGES | {"held"})
    assert staff.credential_roles() == (staff.REVIEWER, staff.MODERATOR, staff.ADMIN)
    wider = rendered(AGREEMENT, "local")
    assert "只有审核员、评论管理员和管理员可以查看" in wider and "内容编辑不能查看" in wider


def test_every_console_page_says_whether_it_shows_credentials() -> None:
    """A new console page must be named in CREDENTIAL_PAGES or PAGES_WITHOUT_CREDENTIALS, so the
    consent texts' sentence about who sees credentials follows the console."""
    pages = set(staff.CONSOLE_ROLES)
    assert pages <= staff.CREDENTIAL_PAGES | staff.PAGES_WITHOUT_CREDENTIALS
    assert not staff.CREDENTIAL_PAGES & staff.PAGES_WITHOUT_CREDENTIALS


def test_an_unknown_placeholder_is_refused(tmp_path: Path) -> None:
    path = tmp_path / AGREEMENT / "2026-12-02.md"
    path.parent.mkdir()
    path.write_text("---\ntitle: t\nsummary: s\nrequired: true\n---\n保存{{retention}}天\n", encoding="utf-8")
    with pytest.raises(consent_ops.PublishError, match="retention"):
        consent_ops.read_document(path, consent_ops.stage_facts("local"))
    path.write_text("---\ntitle: t\nsummary: s\nrequired: true\n---\n保存{{ 1 }}天\n", encoding="utf-8")
    with pytest.raises(consent_ops.PublishError, match="placeholder"):
        consent_ops.read_document(path, consent_ops.stage_facts("local"))
