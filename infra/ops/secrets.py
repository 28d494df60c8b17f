"""`python -m infra.ops secrets ...`: a deployed stage's SSM parameters, one key per purpose.

    secrets ensure STAGE       create each missing key (`make deploy` runs it before deploying);
                               fails, naming them, while the WeChat appid or secret is missing
    secrets status STAGE       which parameters exist and when they last changed (never a value)
    secrets rotate STAGE NAME  a new value for one key: what it signed stops being valid, nothing else

Every parameter lives under `/hcp/<stage>/`. The keys are SecureString parameters (the account's
`aws/ssm` key): `review-link-key` (reviewer links, their page's CSRF field), `console-key` (the
console's CSRF fields and sign-in rate windows), `cursor-key` (list cursors), each 48 random bytes,
and `consent-receipt-key` (an ES256 private key, PEM). A stage deployed before the keys were split
has one `signing-key` for the first three: `ensure` starts them as copies of it, so reviewer links,
cursors and open forms issued before the upgrade stay valid, and no function reads `signing-key`
after it. Each key is its own parameter from then on (rotating one leaves the others be); to stop
them sharing a value, `rotate` each at a quiet moment (rotating `review-link-key` ends the reviewer
links of the last 72 hours: best when no submission waits), then delete `signing-key` (`status`
says which still share it). The region is the environment's (AWS_REGION).
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Callable
from typing import Any

SERVICE = "hcp"
LEGACY_KEY = "signing-key"  # the single key of stages deployed before the keys were split
HMAC_KEYS = ("review-link-key", "console-key", "cursor-key")
RECEIPT_KEY = "consent-receipt-key"
KEYS = (*HMAC_KEYS, RECEIPT_KEY)
# Put by the operator (README, launch steps): nothing here can make them up.
GIVEN = ("wechat-appid", "wechat-secret")
HMAC_KEY_BYTES = 48


def prefix(stage: str) -> str:
    return f"/{SERVICE}/{stage}/"


def new_hmac_key() -> str:
    return secrets.token_urlsafe(HMAC_KEY_BYTES)


def new_receipt_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    private = ec.generate_private_key(ec.SECP256R1())
    return private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


GENERATORS: dict[str, Callable[[], str]] = {
    **dict.fromkeys(HMAC_KEYS, new_hmac_key),
    RECEIPT_KEY: new_receipt_key,
}


def _existing(ssm: Any, stage: str) -> dict[str, dict[str, Any]]:
    """The stage's parameters by short name (metadata only)."""
    found: dict[str, dict[str, Any]] = {}
    pages = ssm.get_paginator("describe_parameters").paginate(
        ParameterFilters=[{"Key": "Name", "Option": "BeginsWith", "Values": [prefix(stage)]}]
    )
    for page in pages:
        for parameter in page["Parameters"]:
            found[parameter["Name"].removeprefix(prefix(stage))] = parameter
    return found


def _value(ssm: Any, stage: str, name: str) -> str:
    return str(ssm.get_parameter(Name=prefix(stage) + name, WithDecryption=True)["Parameter"]["Value"])


def _put(ssm: Any, stage: str, name: str, value: str, overwrite: bool = False) -> None:
    ssm.put_parameter(
        Name=prefix(stage) + name,
        Value=value,
        Type="SecureString",
        Overwrite=overwrite,
        Description=f"{SERVICE} {stage}: {name} (python -m infra.ops secrets)",
    )


def ensure(ssm: Any, stage: str) -> tuple[list[str], list[str]]:
    """Create the missing keys: (created, the operator's parameters still missing)."""
    existing = _existing(ssm, stage)
    legacy = _value(ssm, stage, LEGACY_KEY) if LEGACY_KEY in existing else None
    created = []
    for name in KEYS:
        if name in existing:
            continue
        value = legacy if legacy and name in HMAC_KEYS else GENERATORS[name]()
        _put(ssm, stage, name, value)
        created.append(name)
    return created, [name for name in GIVEN if name not in existing]


def rotate(ssm: Any, stage: str, name: str) -> None:
    if name not in GENERATORS:
        raise SystemExit(f"{name!r} is not a key this command makes: one of {', '.join(KEYS)}")
    _put(ssm, stage, name, GENERATORS[name](), overwrite=True)


def status(ssm: Any, stage: str) -> list[str]:
    existing = _existing(ssm, stage)
    legacy = _value(ssm, stage, LEGACY_KEY) if LEGACY_KEY in existing else None
    lines = []
    for name in (*GIVEN, *KEYS, *([LEGACY_KEY] if legacy else [])):
        parameter = existing.get(name)
        if parameter is None:
            lines.append(f"{prefix(stage)}{name}: missing")
            continue
        note = ""
        if name == LEGACY_KEY:
            note = " (no function reads it: delete it once no key below shares its value)"
        elif legacy and name in HMAC_KEYS and _value(ssm, stage, name) == legacy:
            note = f" (still the old {LEGACY_KEY}'s value: rotate it)"
        lines.append(
            f"{prefix(stage)}{name}: {parameter['Type']}, changed {parameter['LastModifiedDate']}{note}"
        )
    return lines


def _client() -> Any:
    import boto3

    return boto3.client("ssm")


def main(argv: list[str]) -> int:
    command, args = (argv[0], argv[1:]) if argv else ("", [])
    if command == "ensure" and len(args) == 1:
        created, missing = ensure(_client(), args[0])
        for name in created:
            print(f"created {prefix(args[0])}{name}")
        if missing:
            print(
                f"missing: {', '.join(prefix(args[0]) + name for name in missing)}"
                " (README, Secrets in SSM: put them, then deploy again)",
                file=sys.stderr,
            )
            return 1
        return 0
    if command == "status" and len(args) == 1:
        print("\n".join(status(_client(), args[0])))
        return 0
    if command == "rotate" and len(args) == 2:
        rotate(_client(), args[0], args[1])
        print(f"rotated {prefix(args[0])}{args[1]}: running functions take it within 5 minutes")
        return 0
    print(__doc__, file=sys.stderr)
    return 2
