"""The key that signs consent receipts (ES256, a compact JWS) and the public key set that verifies them.

The private key is a secret of its own: an SSM SecureString (PEM) in deployed stages; the local
and test stages derive a P-256 key from a plain seed (`CONSENT_RECEIPT_KEY`), so no PEM has to be
generated for them.
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

ALGORITHM = "ES256"
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


class ReceiptSigner:
    def __init__(self, cfg: Config) -> None:
        self._cfg = cfg

    @cached_property
    def _key(self) -> Any:
        from joserfc.jwk import ECKey  # deferred: ~150 ms, paid only by the receipt functions

        cfg = self._cfg
        source = cfg.receipt_key
        if source.param:
            return ECKey.import_key(secrets.secret(cfg, None, source.param))
        if not (cfg.is_local and source.value):
            raise errors.ConfigError(f"{source.name} is required in deployed stages")
        from cryptography.hazmat.primitives.asymmetric import ec

        seed = hmac.new(source.value.encode(), b"consent-receipt-key", hashlib.sha256).digest()
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
