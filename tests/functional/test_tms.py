"""Tencent Cloud TMS's adapter on its loopback fake: the signed request, the verdicts, the errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from infra.fake_tms import FakeTmsServer
from shared import errors
from shared.adapters.tms import TextModeration, credentials_from, sign


@pytest.fixture
def fake() -> Iterator[FakeTmsServer]:
    server = FakeTmsServer("AKIDunit", "unit-secret").start()
    yield server
    server.stop()


def checker(fake: FakeTmsServer, key: str = "unit-secret") -> TextModeration:
    return TextModeration(fake.base_url, "ap-shanghai", lambda: ("AKIDunit", key))


def test_the_suggestion_decides_and_the_text_goes_base64_encoded(fake: FakeTmsServer) -> None:
    moderation = checker(fake)
    assert moderation.check_text("", "通过的评论") == "pass"
    assert moderation.check_text("", "需要待审") == "review"
    assert moderation.check_text("", "有风险") == "risky"
    assert fake.state.texts == ["通过的评论", "需要待审", "有风险"]


def test_a_wrong_key_fails_the_signature_and_is_never_a_verdict(fake: FakeTmsServer) -> None:
    with pytest.raises(errors.UpstreamUnavailable):
        checker(fake, "another-secret").check_text("", "评论")
    assert fake.state.texts == []


@pytest.mark.parametrize("code", ["RequestLimitExceeded", "InternalError", "http_502"])
def test_a_busy_or_failing_service_may_answer_later(fake: FakeTmsServer, code: str) -> None:
    fake.state.fail_next(code)
    with pytest.raises(errors.UpstreamUnavailable):
        checker(fake).check_text("", "评论")


def test_parameters_it_refuses_are_uncheckable(fake: FakeTmsServer) -> None:
    fake.state.fail_next("InvalidParameterValue.ErrTextContentLen")
    with pytest.raises(errors.ContentUncheckable, match="tms_InvalidParameter"):
        checker(fake).check_text("", "评论")


def test_the_signature_depends_on_every_signed_part() -> None:
    base = sign("AKID", "key", "tms.tencentcloudapi.com", b"{}", 1_764_500_000)
    assert base.startswith("TC3-HMAC-SHA256 Credential=AKID/2025-11-30/tms/tc3_request, ")
    assert "SignedHeaders=content-type;host, Signature=" in base
    for changed in (
        sign("AKID", "other", "tms.tencentcloudapi.com", b"{}", 1_764_500_000),
        sign("AKID", "key", "tms.intl.tencentcloudapi.com", b"{}", 1_764_500_000),
        sign("AKID", "key", "tms.tencentcloudapi.com", b"{ }", 1_764_500_000),
        sign("AKID", "key", "tms.tencentcloudapi.com", b"{}", 1_764_500_001),
    ):
        assert changed != base


def test_the_ssm_parameter_holds_the_id_and_the_key() -> None:
    assert credentials_from("AKIDx:secret:with:colons\n") == ("AKIDx", "secret:with:colons")
    with pytest.raises(errors.ConfigError):
        credentials_from("no-colon")
