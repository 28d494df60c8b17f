"""Consent receipts: a Kantara Consent Receipt (v1.1) per record, signed as a compact JWS (ES256).

Anyone can verify a receipt with the public key served at `GET /v1/consents/receipt-key`.
The private key is a secret: an SSM SecureString (PEM) in deployed stages; the local and test
stages derive a P-256 key from their signing key, so nothing extra has to be generated.
The JOSE library is imported only here, and only when a receipt or the key is asked for.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from functools import cached_property
from typing import Any

from shared import errors
from shared.adapters import secrets
from shared.config import Config
from shared.domain.consent import AGREEMENT, ConsentRecord

ALGORITHM = "ES256"
RECEIPT_VERSION = "KI-CR-v1.1.0"
JURISDICTION = "CN"
LANGUAGE = "zh-CN"
COLLECTION_METHOD = "WeChat mini-program consent page (explicit tap on the shown text)"
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551

# What each document is consented to, in the receipt's terms (one service, one purpose each).
PURPOSES: dict[str, dict[str, Any]] = {
    AGREEMENT: {
        "service": "HCP身份认证 (HCP identity verification)",
        "purpose": "确认使用者为医疗卫生专业人士，以提供仅限HCP的学术内容",
        "purposeCategory": ["Identity verification", "Legal obligation (content restricted to HCPs)"],
        "piiCategory": [
            "WeChat openid",
            "real name",
            "hospital",
            "department",
            "title",
            "profession",
            "licence and credential images",
            "source IP",
            "user agent",
        ],
        "primaryPurpose": True,
        "termination": "account deletion or withdrawal of this agreement",
    },
    "informed-consent": {
        "service": "执业背景问卷 (practice-background questionnaire)",
        "purpose": "了解使用者的专业构成以改进学术内容，仅以汇总统计使用",
        "purposeCategory": ["Service improvement", "Aggregate statistics"],
        "piiCategory": ["years in practice", "institution level", "specialty areas", "interests"],
        "primaryPurpose": False,
        "termination": "withdrawal of this consent or account deletion",
    },
}


class ReceiptSigner:
    def __init__(self, cfg: Config) -> None:
        self._cfg = cfg

    @cached_property
    def _key(self) -> Any:
        from joserfc.jwk import ECKey  # deferred: ~150 ms, paid only by the receipt functions

        cfg = self._cfg
        if cfg.receipt_key_param:
            return ECKey.import_key(secrets.secret(cfg, None, cfg.receipt_key_param))
        if not cfg.is_local:
            raise errors.ConfigError("CONSENT_RECEIPT_KEY_PARAM is required in deployed stages")
        from cryptography.hazmat.primitives.asymmetric import ec

        seed = hmac.new(
            secrets.secret(cfg, cfg.signing_key, cfg.signing_key_param).encode(),
            b"consent-receipt-key",
            hashlib.sha256,
        ).digest()
        private = ec.derive_private_key(int.from_bytes(seed) % (_P256_ORDER - 1) + 1, ec.SECP256R1())
        return ECKey.import_key(private)

    @property
    def key_id(self) -> str:
        return str(self._key.thumbprint())

    def public_jwks(self) -> dict[str, Any]:
        public = dict(self._key.as_dict(private=False))
        public.update({"kid": self.key_id, "alg": ALGORITHM, "use": "sig"})
        return {"keys": [public]}

    def sign(self, claims: dict[str, Any]) -> str:
        from joserfc import jws

        payload = json.dumps(claims, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        header = {"alg": ALGORITHM, "kid": self.key_id, "typ": "JWT", "cty": "kantara-consent-receipt+json"}
        return str(jws.serialize_compact(header, payload.encode(), self._key, algorithms=[ALGORITHM]))


def receipt_claims(cfg: Config, record: ConsentRecord, key_id: str) -> dict[str, Any]:
    """The fields of a Kantara Consent Receipt v1.1 that apply to one consent record."""
    purpose = PURPOSES[str(record.document)]
    decided_at = record.decided_at
    return {
        "version": RECEIPT_VERSION,
        "jurisdiction": JURISDICTION,
        "consentTimestamp": int(decided_at.timestamp()),
        "collectionMethod": COLLECTION_METHOD,
        "consentReceiptID": str(record.record_id),
        "publicKey": key_id,
        "language": LANGUAGE,
        "piiPrincipalId": str(record.subject),  # the consent pseudonym, never the openid
        "piiControllers": [
            {
                "piiController": cfg.controller_name,
                "contact": cfg.controller_contact,
                "email": cfg.controller_contact,
                "onBehalf": False,
            }
        ],
        "policyUrl": f"{cfg.public_base_url}/v1/consents/documents",
        "services": [
            {
                "service": purpose["service"],
                "purposes": [
                    {
                        "purpose": purpose["purpose"],
                        "purposeCategory": purpose["purposeCategory"],
                        "consentType": "EXPLICIT",
                        "piiCategory": purpose["piiCategory"],
                        "primaryPurpose": purpose["primaryPurpose"],
                        "termination": purpose["termination"],
                        "thirdPartyDisclosure": False,
                    }
                ],
            }
        ],
        "sensitive": True,
        "spiCat": ["professional credentials (PIPL Art. 28 sensitive personal information)"]
        if record.document == AGREEMENT
        else [],
        "iat": int(decided_at.timestamp()),
        "document": {"key": record.document, "version": record.version, "sha256": record.sha256},
        "decision": record.decision,
        "decidedAt": decided_at.isoformat(),
    }
