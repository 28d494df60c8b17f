"""`python -m infra.ops reviewers ...`: kept as a thin alias of `staff` for existing runbooks.

    reviewers add --name N [--email E] [--webhook URL] [--webhook-secret-param P]
        = staff add ... --role reviewer
    reviewers list            = staff list --role reviewer
    reviewers deactivate ID   = staff deactivate ID

Reviewers are staff members with the role `reviewer` (infra/ops/staff.py); this alias says so on
stderr each time and does nothing else of its own.
"""

from __future__ import annotations

import sys

from infra.ops import staff


def main(argv: list[str]) -> int:
    print(
        "note: reviewers are staff now; this is `python -m infra.ops staff ... --role reviewer`",
        file=sys.stderr,
    )
    if argv[:1] == ["add"]:
        return staff.main([*argv, "--role", "reviewer"])
    if argv[:1] == ["list"]:
        return staff.main(["list", "--role", "reviewer", *argv[1:]])
    if argv[:1] == ["deactivate"]:
        return staff.main(argv)
    print("usage: python -m infra.ops reviewers <add|list|deactivate> [args]", file=sys.stderr)
    return 2
