"""The deletion log: which accounts were deleted, by a digest of their id only, so that a restore
from a backup older than a deletion can apply it again (`python -m infra.ops account
reapply-deletions`).

Access patterns: one PutItem when a deletion starts (before anything is erased, so a deletion that
fails half-way is logged too); a Scan by the ops command after a restore. Entries expire once no
backup can be older than them (`DELETION_LOG_DAYS`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pynamodb.attributes import TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.models import Model

from shared.store.base import table

# Point-in-time recovery reaches back at most 35 days; a day more for the restore itself.
DELETION_LOG_DAYS = 36


@table("deletions")
class DeletionItem(Model):
    class Meta:
        table_name = "deletions"

    digest = UnicodeAttribute(hash_key=True)  # users.deletion_digest(user id)
    deleted_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute()


class DeletionLog:
    def record(self, digest: str, at: datetime) -> None:
        DeletionItem(digest, deleted_at=at, expires_at=at + timedelta(days=DELETION_LOG_DAYS)).save()

    def digests(self, table_name: str | None = None) -> set[str]:
        """Every logged deletion (a Scan: the ops command after a restore), from this stage's log
        or from the table named (the live log, when the restored tables carry another prefix)."""
        bound = DeletionItem.Meta.table_name
        if table_name is not None:
            DeletionItem.Meta.table_name, DeletionItem._connection = table_name, None
        try:
            return {str(item.digest) for item in DeletionItem.scan(attributes_to_get=["digest"])}
        finally:
            DeletionItem.Meta.table_name, DeletionItem._connection = bound, None
