"""Where the mini-program posts a credential image: the host its uploadFile list must name.

`make deploy` prints that list from the stack's UploadBaseUrl output, which is the stage's
uploadBaseUrl or else https://<bucket>.s3.<region>.<URL suffix> (serverless.yml): these tests hold
that the presigned POST the API hands out goes to exactly that origin. botocore signs offline.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import botocore.session
import pytest
from botocore.config import Config as BotoConfig

from shared.adapters.storage import CredentialStorage, PresignedPost
from shared.config import load

BUCKET = "hcp-prod-credentials"


def _post(region: str, upload_base_url: str = "") -> PresignedPost:
    cfg = load(
        {
            "STAGE": "prod",
            "AWS_REGION": region,
            "CREDENTIALS_BUCKET": BUCKET,
            "WECHAT_SECRET_PARAM": "/hcp/prod/wechat-secret",
            "REVIEW_LINK_KEY_PARAM": "/hcp/prod/review-link-key",
            "CONSOLE_KEY_PARAM": "/hcp/prod/console-key",
            "CURSOR_KEY_PARAM": "/hcp/prod/cursor-key",
            "CONSENT_RECEIPT_KEY_PARAM": "/hcp/prod/consent-receipt-key",
            "UPLOAD_BASE_URL": upload_base_url,
        }
    )
    client = botocore.session.get_session().create_client(
        "s3",
        region_name=region,
        aws_access_key_id="offline",
        aws_secret_access_key="offline",  # signs offline, reaches nothing
        config=BotoConfig(signature_version="s3v4"),
    )
    return CredentialStorage(cfg, client).presigned_post(
        "uploads/u1/a.jpg", "image/jpeg", 10, timedelta(minutes=10), datetime(2026, 1, 1, tzinfo=UTC)
    )


@pytest.mark.parametrize("region", ["cn-northwest-1", "cn-north-1"])
def test_uploads_go_to_the_buckets_regional_host_in_the_china_partition(region: str) -> None:
    assert _post(region).url == f"https://{BUCKET}.s3.{region}.amazonaws.com.cn/"


def test_an_upload_domain_takes_the_same_signed_form() -> None:
    direct = _post("cn-northwest-1")
    fronted = _post("cn-northwest-1", "https://upload.example.cn")
    assert fronted.url == "https://upload.example.cn/"
    assert fronted.fields["key"] == "uploads/u1/a.jpg" and fronted.fields["policy"]
    assert set(fronted.fields) == set(direct.fields)
