"""Config is validated once: a deployed stage refuses the fake WeChat and plain-text secrets."""

from __future__ import annotations

import pytest

from shared.config import load
from shared.errors import ConfigError

DEPLOYED = {
    "STAGE": "prod",
    "WECHAT_SECRET_PARAM": "/hcp/prod/wechat-secret",
    "REVIEW_LINK_KEY_PARAM": "/hcp/prod/review-link-key",
    "CONSOLE_KEY_PARAM": "/hcp/prod/console-key",
    "CURSOR_KEY_PARAM": "/hcp/prod/cursor-key",
    "CONSENT_RECEIPT_KEY_PARAM": "/hcp/prod/consent-receipt-key",
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


@pytest.mark.parametrize(
    "secret", ["WECHAT_SECRET", "REVIEW_LINK_KEY", "CONSOLE_KEY", "CURSOR_KEY", "CONSENT_RECEIPT_KEY"]
)
def test_deployed_stage_refuses_plain_secrets(secret: str) -> None:
    with pytest.raises(ConfigError, match="SSM"):
        load({**DEPLOYED, secret: "plain"})


@pytest.mark.parametrize("param", sorted(DEPLOYED.keys() - {"STAGE"}))
def test_deployed_stage_needs_each_of_its_ssm_parameters(param: str) -> None:
    assert load(DEPLOYED).review_link_key.param == "/hcp/prod/review-link-key"
    with pytest.raises(ConfigError, match=param):
        load({key: value for key, value in DEPLOYED.items() if key != param})


def test_each_key_comes_from_its_own_variable() -> None:
    cfg = load({"STAGE": "local", "REVIEW_LINK_KEY": "r", "CONSOLE_KEY": "c", "CURSOR_KEY": "k"})
    assert (cfg.review_link_key.value, cfg.console_key.value, cfg.cursor_key.value) == ("r", "c", "k")
    assert cfg.receipt_key.value is None


def test_numbers_are_checked() -> None:
    with pytest.raises(ConfigError):
        load({"STAGE": "local", "SESSION_DAYS": "thirty"})


def test_the_linked_pages_live_on_the_stage_setting_or_the_local_gateway() -> None:
    assert load({"STAGE": "local"}).platform_pages_url == "http://127.0.0.1:8000/pages"
    assert load({**DEPLOYED, "PLATFORM_PAGES_URL": "https://www.example.cn/legal/"}).platform_pages_url == (
        "https://www.example.cn/legal"
    )
    with pytest.raises(ConfigError, match="PLATFORM_PAGES_URL"):
        _ = load(DEPLOYED).platform_pages_url  # a deployed stage must name them
    with pytest.raises(ConfigError, match="https"):
        load({**DEPLOYED, "PLATFORM_PAGES_URL": "http://www.example.cn/legal"})


def test_a_local_stage_name_refuses_to_run_in_lambda() -> None:
    with pytest.raises(ConfigError, match="Lambda"):
        load({"STAGE": "test", "AWS_LAMBDA_FUNCTION_NAME": "hcp-test-me"})
    assert load({**DEPLOYED, "AWS_LAMBDA_FUNCTION_NAME": "hcp-prod-me"}).stage != "test"


def test_an_upload_domain_is_an_https_origin() -> None:
    assert load(DEPLOYED).upload_base_url == ""  # the bucket's own host
    assert load({**DEPLOYED, "UPLOAD_BASE_URL": "https://upload.example.cn/"}).upload_base_url == (
        "https://upload.example.cn"
    )
    for wrong in ("http://upload.example.cn", "https://upload.example.cn/images", "upload.example.cn"):
        with pytest.raises(ConfigError, match="UPLOAD_BASE_URL"):
            load({**DEPLOYED, "UPLOAD_BASE_URL": wrong})


def test_reviewer_messages_are_batched_when_deployed_and_sent_at_once_locally() -> None:
    assert load({"STAGE": "local"}).reviewer_batch_seconds == 0
    assert load(DEPLOYED).reviewer_batch_seconds == 60
    assert load({**DEPLOYED, "REVIEWER_BATCH_SECONDS": "0"}).reviewer_batch_seconds == 0
    assert load(DEPLOYED).review_sla_hours == 24
    assert load({**DEPLOYED, "REVIEW_SLA_HOURS": "8"}).review_sla_hours == 8


@pytest.mark.parametrize(
    ("name", "value"),
    [("REVIEWER_BATCH_SECONDS", "-1"), ("REVIEWER_BATCH_SECONDS", "3601"), ("REVIEW_SLA_HOURS", "0")],
)
def test_the_review_settings_are_checked(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load({**DEPLOYED, name: value})


def test_the_deployed_stages_pass_the_review_settings_the_code_defaults_to() -> None:
    from infra.routes import load_serverless
    from shared import config

    template = load_serverless()
    default = template["custom"]["stages"]["default"]
    assert default["reviewerBatchSeconds"] == config.DEFAULT_REVIEWER_BATCH_SECONDS
    assert default["reviewSlaHours"] == config.DEFAULT_REVIEW_SLA_HOURS
    env = template["provider"]["environment"]
    assert env[config.ENV_REVIEW_SLA_HOURS] == "${self:custom.stage.reviewSlaHours}"
    for function in ("verificationSubmit", "notifierRetry", "reviewReminders"):
        variables = template["functions"][function]["environment"]
        assert variables[config.ENV_REVIEWER_BATCH_SECONDS] == "${self:custom.stage.reviewerBatchSeconds}"


def test_the_content_check_is_chosen_per_stage() -> None:
    assert load({"STAGE": "local"}).content_check == "wechat"
    assert load({"STAGE": "local", "CONTENT_CHECK": "TMS"}).content_check == "tms"
    assert (
        load({"STAGE": "local", "WECHAT_CONTENT_CHECK": "off", "CONTENT_CHECK": "tms"}).content_check == "off"
    )
    with pytest.raises(ConfigError, match="wechat, tms, off"):
        load({"STAGE": "local", "CONTENT_CHECK": "baidu"})
    with pytest.raises(ConfigError, match="CONTENT_CHECK_PER_MINUTE"):
        load({"STAGE": "local", "CONTENT_CHECK_PER_MINUTE": "10"})


def test_a_deployed_stage_checking_with_tms_reads_its_key_from_ssm_over_tls() -> None:
    tms = {**DEPLOYED, "CONTENT_CHECK": "tms"}
    with pytest.raises(ConfigError, match="TMS_CREDENTIALS_PARAM"):
        load(tms)
    cfg = load({**tms, "TMS_CREDENTIALS_PARAM": "/hcp/prod/tms-credentials"})
    assert cfg.tms_base_url == "https://tms.tencentcloudapi.com"
    with pytest.raises(ConfigError, match="TMS base URL"):
        load({**tms, "TMS_CREDENTIALS_PARAM": "/p", "TMS_BASE_URL": "http://127.0.0.1:9"})
    with pytest.raises(ConfigError, match="plain"):
        load({**tms, "TMS_CREDENTIALS_PARAM": "/p", "TMS_SECRET_KEY": "k"})
