"""The audit trail (`review_audit`): append-only, retained on stack removal, ids and codes only.

Keys: the subject (`submission_id`, its historical name: a submission id, or `<kind>#<id>` for
staff, users, comments and articles) and `<iso time>#<ulid>`, so a subject's lines read in order
and a line's key is always new (a put conditioned on its absence: nothing is ever overwritten).
The sparse GSI `by_month` (hash: the month in the stage's zone, range: the line's key) lists a
month's lines newest first for the console's audit page: one Query per page.

Lines written before the trail had one shape (decisions with `reviewer_id`, `decision` and
`decided_at`, and no month) read as decisions; `python -m infra.ops audit backfill` gives them
their month so the page lists them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pynamodb.attributes import ListAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from shared.domain.audit import DECIDED, AuditEvent, month_of
from shared.domain.ids import new_id
from shared.domain.outcomes import Outcome
from shared.store.base import Transaction, attempt, table


class AuditByMonth(GlobalSecondaryIndex["AuditItem"]):
    class Meta:
        index_name = "by_month"
        projection = AllProjection()

    month = UnicodeAttribute(hash_key=True)
    entry = UnicodeAttribute(range_key=True)


@table("review_audit")
class AuditItem(Model):
    class Meta:
        table_name = "review_audit"

    subject = UnicodeAttribute(hash_key=True, attr_name="submission_id")
    entry = UnicodeAttribute(range_key=True)  # "<iso time>#<ulid>"
    month = UnicodeAttribute(null=True)  # "2026-11" (the stage's zone): the by_month index
    action = UnicodeAttribute(null=True)
    actor = UnicodeAttribute(null=True)
    at = UTCDateTimeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    outcome = UnicodeAttribute(null=True)
    role = UnicodeAttribute(null=True)
    revision = NumberAttribute(null=True)
    redo = ListAttribute(of=UnicodeAttribute, null=True)
    staff_id = UnicodeAttribute(null=True)  # a staff line's member (its subject names it too)
    # The first shape of a decision's line.
    reviewer_id = UnicodeAttribute(null=True)
    decision = UnicodeAttribute(null=True)
    decided_at = UTCDateTimeAttribute(null=True)

    by_month = AuditByMonth()


def to_item(event: AuditEvent) -> AuditItem:
    return AuditItem(
        event.subject,
        f"{event.at.isoformat()}#{new_id()}",
        month=month_of(event.at),
        action=event.action,
        actor=event.actor,
        at=event.at,
        reason=event.reason,
        outcome=event.outcome,
        role=event.role,
        revision=event.revision,
        redo=[*event.redo] or None,
        staff_id=event.subject.removeprefix("staff#") if event.subject.startswith("staff#") else None,
    )


def to_event(item: AuditItem) -> AuditEvent:
    """A stored line as an event, whichever shape it was written in."""
    at = item.at or item.decided_at or datetime.fromtimestamp(0, UTC)
    return AuditEvent(
        action=item.action or DECIDED,
        actor=item.actor or item.reviewer_id or "-",
        subject=str(item.subject),
        at=at,
        reason=item.reason,
        outcome=item.outcome or item.decision,
        role=item.role,
        revision=None if item.revision is None else int(item.revision),
        redo=tuple(str(kind) for kind in item.redo or ()),
    )


def enlist(tx: Transaction, event: AuditEvent) -> None:
    """Append the line with the write it records ("audit": its key is new, so this holds)."""
    tx.put("audit", to_item(event), AuditItem.subject.does_not_exist())


class AuditTrail:
    def append(self, event: AuditEvent) -> Outcome:
        """A line on its own (an action that writes nothing else, such as opening credentials)."""
        item = to_item(event)
        return attempt(lambda: item.save(condition=AuditItem.subject.does_not_exist()), "audit")

    def month(
        self, month: str, limit: int, after: tuple[str, str] | None
    ) -> tuple[list[AuditEvent], tuple[str, str] | None]:
        """A month's lines, newest first, after the line `after` (its key and subject), and the
        line to go on from when there are more."""
        kwargs: dict[str, Any] = {"scan_index_forward": False, "limit": limit + 1}
        if after is not None:
            entry, subject = after
            kwargs["last_evaluated_key"] = {
                "month": {"S": month},
                "entry": {"S": entry},
                "submission_id": {"S": subject},
            }
        items = list(AuditItem.by_month.query(month, **kwargs))
        shown = items[:limit]
        more = (str(shown[-1].entry), str(shown[-1].subject)) if len(items) > limit else None
        return [to_event(item) for item in shown], more

    def of_subject(self, subject: str) -> list[AuditEvent]:
        return [to_event(item) for item in AuditItem.query(subject)]
