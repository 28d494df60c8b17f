"""`python -m infra.ops account reapply-deletions`: after a restore, delete again the accounts that
were deleted since the restore point.

A point-in-time restore brings back every item as it stood, the accounts deleted after that point
included. The deletion log (table `deletions`, never restored itself) names each deletion of the
last 36 days by a digest of the account's id only; this command scans the restored users table
(an ops tool), and runs the account deletion again, the same code path as `DELETE /v1/me`, for
every user whose digest is logged. Consent keys that name no restored user (the key table, whose
backups reach back fewer days, is left live by an older restore) are deleted too. It is idempotent:
run it after every restore, before the stage takes traffic again. `--log-prefix` reads the log
from another stage prefix than the tables it cleans (when the tables were restored under a new
prefix).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from shared import wiring
from shared.domain.users import deletion_digest

USAGE = "usage: python -m infra.ops account reapply-deletions [--log-prefix PREFIX]"


@dataclass(frozen=True)
class Reapplied:
    logged: int  # deletions in the log
    users: int  # users in the (restored) users table
    deleted: int  # of them, accounts the log says were deleted: deleted again
    orphan_keys: int  # consent keys of no restored user, deleted


def reapply(log_prefix: str | None = None) -> Reapplied:
    from shared.store.deletions import DeletionLog

    app = wiring.services()
    logged = DeletionLog().digests(None if log_prefix is None else f"{log_prefix}deletions")
    users = list(app.users.user_ids())
    again = [user_id for user_id in users if deletion_digest(user_id) in logged]
    for user_id in again:
        app.account.delete(user_id)
    orphans = app.consent_keys.user_ids() - set(users)
    for user_id in orphans:
        app.consent_keys.delete(user_id)
    return Reapplied(len(logged), len(users), len(again), len(orphans))


def main(argv: list[str]) -> int:
    if not argv or argv[0] != "reapply-deletions" or len(argv) not in (1, 3):
        print(USAGE, file=sys.stderr)
        return 2
    log_prefix = None
    if len(argv) == 3:
        if argv[1] != "--log-prefix":
            print(USAGE, file=sys.stderr)
            return 2
        log_prefix = argv[2]
    done = reapply(log_prefix)
    print(
        f"{done.logged} deletions logged, {done.users} users, {done.deleted} deleted again, "
        f"{done.orphan_keys} consent keys of no user deleted"
    )
    return 0
