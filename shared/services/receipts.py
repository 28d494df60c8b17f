"""Consent receipts: a Kantara Consent Receipt (v1.1) per record, signed as a compact JWS (ES256)
by `shared.adapters.receipts.ReceiptSigner`; anyone can verify it with the public key served at
`GET /v1/consents/receipt-key`.
"""

from __future__ import annotations

from typing import Any

from shared.config import Config
from shared.domain import times
from shared.domain.consent import AGREEMENT, ConsentRecord

RECEIPT_VERSION = "KI-CR-v1.1.0"
JURISDICTION = "CN"
LANGUAGE = "zh-CN"
COLLECTION_METHOD = "WeChat mini-program consent page (explicit tap on the shown text)"

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
        "decidedAt": times.iso(decided_at),
    }
