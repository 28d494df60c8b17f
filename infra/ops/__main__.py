"""Dispatch `python -m infra.ops <area> ...` to `infra.ops.<area>.main`."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import infra.ops


def areas() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(infra.ops.__path__) if not m.name.startswith("_"))


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in areas():
        print(f"usage: python -m infra.ops <{'|'.join(areas())}> <command> [args]", file=sys.stderr)
        return 2
    module = importlib.import_module(f"infra.ops.{argv[0]}")
    return int(module.main(argv[1:]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
