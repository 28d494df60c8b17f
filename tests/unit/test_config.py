"""Config is validated once: a deployed stage refuses the fake WeChat and plain-text secrets."""

from __future__ import annotations

import pytest

from shared.config import load
from shared.errors import ConfigError

DEPLOYED = {
    "STAGE": "prod",
    "WECHAT_SECRET_PARAM": "/hcp/prod/wechat-secret",
    "SIGNING_KEY_PARAM": "/hcp/prod/signing-key",
}


def test_local_stage_accepts_the_loopback_fake() -> None:
    cfg = load({"STAGE": "local", "WECHAT_BASE_URL": "http://127.0.0.1:5555/", "WECHAT_SECRET": "s"})
    assert cfg.is_local
    assert cfg.wechat_base_url == "http://127.0.0.1:5555"
    assert cfg.table("users") == "hcp-local-users"


def test_deployed_stage_uses_real_wechat_by_default() -> None:
    cfg = load(DEPLOYED)
    assert cfg.wechat_base_url == "https://api.weixin.qq.com"
    assert not cfg.is_local


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:5555", "https://127.0.0.1:5555", "https://localhost", "http://api.weixin.qq.com"],
)
def test_deployed_stage_refuses_the_fake_or_plain_http(url: str) -> None:
    with pytest.raises(ConfigError):
        load({**DEPLOYED, "WECHAT_BASE_URL": url})


@pytest.mark.parametrize("secret", ["WECHAT_SECRET", "SIGNING_KEY"])
def test_deployed_stage_refuses_plain_secrets(secret: str) -> None:
    with pytest.raises(ConfigError):
        load({**DEPLOYED, secret: "plain"})


def test_deployed_stage_needs_its_ssm_parameters() -> None:
    with pytest.raises(ConfigError):
        load({"STAGE": "prod"})


def test_numbers_are_checked() -> None:
    with pytest.raises(ConfigError):
        load({"STAGE": "local", "SESSION_DAYS": "thirty"})
