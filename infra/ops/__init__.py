"""Ops commands: `python -m infra.ops <area> <command> [args]`.

Each area is a module of this package with a `main(argv: list[str]) -> int` function
(e.g. `infra/ops/consent.py` for `python -m infra.ops consent publish ...`). They run against
the stage named by the environment (STAGE, AWS_ENDPOINT_URL, TABLE_PREFIX...), like the functions.
"""
