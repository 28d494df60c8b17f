"""Consent receipts: signed JWS anyone can verify with the published key; tampering fails."""

from __future__ import annotations

import base64
import json

import pytest
from joserfc import jws
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet

from shared.domain.consent import AGREEMENT
from tests.functional.conftest import Api
from tests.functional.consent_helpers import decide, publish_seed


@pytest.fixture
def record_id(api: Api) -> str:
    publish_seed()
    api.login("alice")
    return str(decide(api, AGREEMENT, "agree").body["id"])


def public_keys(api: Api) -> KeySet:
    reply = api.get("/v1/consents/receipt-key", token="")
    assert reply.status == 200
    assert "public" in reply.headers["Cache-Control"]
    for key in reply.body["keys"]:
        assert "d" not in key  # never the private part
    return KeySet.import_key_set(reply.body)


def test_a_receipt_verifies_with_the_published_key(api: Api, record_id: str) -> None:
    reply = api.get(f"/v1/consents/{record_id}/receipt")
    assert reply.status == 200
    token = reply.body["receipt"]
    verified = jws.deserialize_compact(token, public_keys(api), algorithms=["ES256"])
    claims = json.loads(verified.payload)
    assert verified.protected["alg"] == "ES256"
    assert verified.protected["kid"] == claims["publicKey"]
    assert claims == reply.body["claims"]
    assert claims["consentReceiptID"] == record_id
    assert claims["version"] == "KI-CR-v1.1.0"
    assert claims["jurisdiction"] == "CN" and claims["language"] == "zh-CN"
    assert claims["sensitive"] is True
    assert claims["document"]["key"] == AGREEMENT and claims["decision"] == "agree"
    shown = next(d for d in api.get("/v1/consents/documents").body["items"] if d["key"] == AGREEMENT)
    assert claims["document"]["sha256"] == shown["sha256"]  # the receipt names the text agreed to
    purpose = claims["services"][0]["purposes"][0]
    assert purpose["consentType"] == "EXPLICIT" and purpose["thirdPartyDisclosure"] is False
    for field in ("purposeCategory", "piiCategory", "primaryPurpose", "termination", "purpose"):
        assert field in purpose
    for field in ("consentTimestamp", "collectionMethod", "piiPrincipalId", "piiControllers", "policyUrl"):
        assert claims[field]


def test_the_receipt_names_the_pseudonym_never_the_user_or_openid(api: Api, record_id: str) -> None:
    from infra.fake_wechat import dev_openid

    user_id = api.get("/v1/me").body["id"]
    reply = api.get(f"/v1/consents/{record_id}/receipt")
    claims = reply.body["claims"]
    assert claims["piiPrincipalId"] != user_id
    assert user_id not in reply.text and dev_openid("alice") not in reply.text
    assert "pytest" not in reply.text  # nor the user agent (or source IP) sealed in the record
    assert not {"source_ip", "user_agent"} & set(claims)


def _tamper(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["decision"] = "refuse"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def test_a_tampered_receipt_fails_verification(api: Api, record_id: str) -> None:
    token = api.get(f"/v1/consents/{record_id}/receipt").body["receipt"]
    with pytest.raises(BadSignatureError):
        jws.deserialize_compact(_tamper(token), public_keys(api), algorithms=["ES256"])


def test_another_users_record_is_not_found(api: Api, record_id: str) -> None:
    api.login("bob")
    decide(api, AGREEMENT, "agree")
    reply = api.get(f"/v1/consents/{record_id}/receipt")
    assert reply.status == 404
    assert reply.body["error"]["code"] == "not_found"


@pytest.mark.parametrize("bad", ["x", "01ARZ3NDEKTSV4RRFFQ69G5FAV", "..%2Fetc", "0" * 300])
def test_unknown_record_ids_are_404(api: Api, record_id: str, bad: str) -> None:
    assert api.get(f"/v1/consents/{bad}/receipt").status == 404


def test_a_receipt_needs_a_token(api: Api, record_id: str) -> None:
    assert api.get(f"/v1/consents/{record_id}/receipt", token="").status in (401,)
