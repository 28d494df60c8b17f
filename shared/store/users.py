"""Users, their WeChat identity link, and their sessions: every write of the user item is here.

Access patterns (all by key):
- login: GetItem identity by openid hash, then one UpdateItem on the user (or one transaction
  creating both for a first login);
- every authenticated request: one consistent GetItem of the user, which holds the sessions map
  and the gate state, so token check + next_step cost a single read;
- logout: one conditional UpdateItem removing the session.

Other repositories' transactions move the user's gate fields (consent, verification, answers,
author display) through the `enlist_*` methods, so that the user item's attributes are written
from this module alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model

from shared.domain.audit import AuditEvent
from shared.domain.consent import AGREEMENT, ConsentChange, ConsentKey
from shared.domain.outcomes import Outcome, Written
from shared.domain.users import AuthorCache, Session, User
from shared.store import audit as audit_store
from shared.store.base import Transaction, attempt, get_item, table


@table("users")
class UserItem(Model):
    class Meta:
        table_name = "users"
        # Its stream (the changed items' keys, nothing personal) keeps the console's funnel counts.
        stream_view_type = "KEYS_ONLY"

    user_id = UnicodeAttribute(hash_key=True)
    openid = UnicodeAttribute()  # personal data: used only to message the user
    created_at = UTCDateTimeAttribute()
    # {session_id: {"h": sha256 of the token secret, "exp": epoch seconds, "iat": epoch ms}}
    sessions = MapAttribute[str, Any](default=dict)
    agreement_version = UnicodeAttribute(null=True)
    agreement_decision = UnicodeAttribute(null=True)
    informed_version = UnicodeAttribute(null=True)
    informed_decision = UnicodeAttribute(null=True)
    verification_status = UnicodeAttribute(null=True)
    verification_reason = UnicodeAttribute(null=True)
    verification_submission = UnicodeAttribute(null=True)
    verification_revision = NumberAttribute(null=True)
    verification_update = UnicodeAttribute(null=True)
    verification_update_status = UnicodeAttribute(null=True)
    questions_answered = BooleanAttribute(null=True)
    consent_seq = NumberAttribute(null=True)
    # before the consent keys' own table (shared/store/consent.py): read as a fallback, moved by
    # `python -m infra.ops consent migrate-keys`, never written
    consent_subject = UnicodeAttribute(null=True)
    consent_key = BinaryAttribute(null=True, legacy_encoding=False)
    author_name = UnicodeAttribute(null=True)
    author_department = UnicodeAttribute(null=True)
    author_source = UnicodeAttribute(null=True)
    author_style = UnicodeAttribute(null=True)
    author_hide_department = BooleanAttribute(null=True)
    wrote_at = UTCDateTimeAttribute(null=True)  # their last comment write: they read around caches
    muted_until = NumberAttribute(null=True)  # epoch seconds: commenting suspended until then


@table("identities")
class IdentityItem(Model):
    """Links a WeChat openid (hashed, so the table lists none) to the user it logs in as."""

    class Meta:
        table_name = "identities"

    openid_hash = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


def _session(raw: Any) -> Session | None:
    if not isinstance(raw, dict):
        return None
    return Session(str(raw.get("h", "")), int(raw.get("exp", 0)), int(raw.get("iat", 0)))


def _stored_session(session: Session) -> dict[str, Any]:
    return {"h": session.secret_hash, "exp": session.expires_at, "iat": session.issued_at_ms}


def to_user(item: UserItem) -> User:
    raw = item.sessions
    plain = raw.as_dict() if isinstance(raw, MapAttribute) else dict(raw or {})
    sessions = {str(sid): s for sid, value in plain.items() if (s := _session(value)) is not None}
    return User(
        user_id=str(item.user_id),
        openid=str(item.openid),
        created_at=item.created_at,
        sessions=sessions,
        agreement_version=item.agreement_version,
        agreement_decision=item.agreement_decision,
        informed_version=item.informed_version,
        informed_decision=item.informed_decision,
        verification_status=item.verification_status,
        verification_reason=item.verification_reason,
        verification_submission=item.verification_submission,
        verification_revision=int(item.verification_revision or 0),
        verification_update=item.verification_update,
        verification_update_status=item.verification_update_status,
        questions_answered=bool(item.questions_answered),
        consent_seq=None if item.consent_seq is None else int(item.consent_seq),
        consent_subject=item.consent_subject,
        consent_key=bytes(item.consent_key) if item.consent_key else None,
        author_name=item.author_name,
        author_department=item.author_department,
        author_source=item.author_source,
        author_style=item.author_style,
        author_hide_department=bool(item.author_hide_department),
        wrote_at=item.wrote_at,
        muted_until=None if item.muted_until is None else int(item.muted_until),
    )


def _author_actions(display: AuthorCache) -> list[Action]:
    return [
        UserItem.author_name.set(display.name),
        UserItem.author_department.set(display.department)
        if display.department
        else UserItem.author_department.remove(),
        UserItem.author_source.set(display.source),
    ]


class UserRepository:
    """Reads and writes users, identities and sessions."""

    def find_user_id(self, openid_key: str, *, consistent: bool = False) -> str | None:
        identity = get_item(IdentityItem, openid_key, consistent=consistent)
        return None if identity is None else str(identity.user_id)

    def get(self, user_id: str) -> User | None:
        item = get_item(UserItem, user_id)
        return None if item is None else to_user(item)

    def create(self, user: User, openid_key: str) -> Outcome:
        """The user and its identity link at once; `Refused` when another login made them first."""
        item = UserItem(
            user.user_id,
            openid=user.openid,
            created_at=user.created_at,
            sessions={sid: _stored_session(s) for sid, s in user.sessions.items()},
        )
        tx = Transaction(UserItem)
        tx.put(
            "identity",
            IdentityItem(openid_key, user_id=user.user_id, created_at=user.created_at),
            condition=IdentityItem.openid_hash.does_not_exist(),
        )
        tx.put("user", item, condition=UserItem.user_id.does_not_exist())
        return tx.commit()

    def add_session(self, user_id: str, session_id: str, session: Session) -> User | None:
        """Store a session on an existing user: the user as they now stand, None if gone."""
        item = UserItem(user_id)
        outcome = attempt(
            lambda: item.update(
                actions=[UserItem.sessions[session_id].set(_stored_session(session))],
                condition=UserItem.user_id.exists(),
            )
        )
        return to_user(item) if isinstance(outcome, Written) else None

    def remove_sessions(self, user_id: str, session_ids: list[str]) -> None:
        if session_ids:
            attempt(
                lambda: UserItem(user_id).update(
                    actions=[UserItem.sessions[sid].remove() for sid in session_ids],
                    condition=UserItem.user_id.exists(),
                )
            )

    def revoke_session(self, user_id: str, session_id: str, secret_hash: str) -> Outcome:
        """Remove a session if the caller holds its secret; `Refused` ("session") otherwise."""
        return attempt(
            lambda: UserItem(user_id).update(
                actions=[UserItem.sessions[session_id].remove()],
                condition=UserItem.sessions[session_id]["h"] == secret_hash,
            ),
            "session",
        )

    def choose_author(self, user_id: str, style: str, hide_department: bool, display: AuthorCache) -> Outcome:
        return attempt(
            lambda: UserItem(user_id).update(
                actions=[
                    UserItem.author_style.set(style),
                    UserItem.author_hide_department.set(hide_department),
                    *_author_actions(display),
                ],
                condition=UserItem.user_id.exists(),
            ),
            "user",
        )

    def delete(self, user_id: str, openid_key: str) -> None:
        """The identity link and the user item (with the sessions and the consent key)."""
        IdentityItem(openid_key).delete()
        UserItem(user_id).delete()

    def legacy_consent_keys(self) -> Iterator[tuple[str, ConsentKey]]:
        """Users whose consent key is still on their item (a Scan: the migration's, an ops tool)."""
        found = UserItem.scan(
            UserItem.consent_key.exists(), attributes_to_get=["user_id", "consent_subject", "consent_key"]
        )
        for item in found:
            if item.consent_subject and item.consent_key:
                yield str(item.user_id), ConsentKey(str(item.consent_subject), bytes(item.consent_key))

    def user_ids(self) -> Iterator[str]:
        """Every user id (a Scan: ops tools only)."""
        for item in UserItem.scan(attributes_to_get=["user_id"]):
            yield str(item.user_id)

    # ---- the user's part of other repositories' transactions ----
    def enlist_forget_consent_key(self, tx: Transaction, user_id: str, subject: str) -> None:
        """Remove the consent key kept on the user item, if it is still that one ("user")."""
        tx.update(
            "user",
            UserItem(user_id),
            [UserItem.consent_subject.remove(), UserItem.consent_key.remove()],
            UserItem.consent_subject == subject,
        )

    def enlist_consent(
        self, tx: Transaction, user_id: str, seen_seq: int | None, change: ConsentChange
    ) -> None:
        """Move the consent fields, if `consent_seq` is still what the caller read ("user")."""
        condition: Condition = UserItem.user_id.exists() & (
            UserItem.consent_seq.does_not_exist() if seen_seq is None else UserItem.consent_seq == seen_seq
        )
        actions: list[Action] = [UserItem.consent_seq.set(change.seq)]
        if change.document == AGREEMENT:
            actions += [
                UserItem.agreement_version.set(change.version),
                UserItem.agreement_decision.set(change.decision),
            ]
        else:
            actions += [
                UserItem.informed_version.set(change.version),
                UserItem.informed_decision.set(change.decision),
            ]
        if change.clears_answers:
            actions.append(UserItem.questions_answered.remove())
        tx.update("user", UserItem(user_id), actions, condition)

    def enlist_answered(self, tx: Transaction, user_id: str, informed_version: str) -> None:
        """Mark the questions answered, if the user still holds that informed consent ("user")."""
        tx.update(
            "user",
            UserItem(user_id),
            [UserItem.questions_answered.set(True)],
            (UserItem.informed_decision == "agree") & (UserItem.informed_version == informed_version),
        )

    def enlist_submission(
        self,
        tx: Transaction,
        user_id: str,
        submission_id: str,
        revision: int,
        prior: str | None,
        *,
        is_update: bool = False,
    ) -> None:
        """Pending on a new submission, if the user still names `prior` and may submit ("user").

        An update (`is_update`: the user is approved) is pending beside the approved submission,
        which stays the one in force; any other submission becomes the one in force, pending.
        """
        names_prior = (
            UserItem.verification_submission.does_not_exist()
            if prior is None
            else UserItem.verification_submission == prior
        )
        actions: list[Action] = [UserItem.verification_revision.set(revision)]
        if is_update:
            may_submit: Condition = (UserItem.verification_status == "approved") & (
                UserItem.verification_update_status.does_not_exist()
                | (UserItem.verification_update_status != "pending")
            )
            actions += [
                UserItem.verification_update.set(submission_id),
                UserItem.verification_update_status.set("pending"),
            ]
        else:
            may_submit = UserItem.verification_status.does_not_exist() | UserItem.verification_status.is_in(
                "rejected", "withdrawn", "revoked"
            )
            actions += [
                UserItem.verification_status.set("pending"),
                UserItem.verification_reason.remove(),
                UserItem.verification_submission.set(submission_id),
                UserItem.verification_update.remove(),
                UserItem.verification_update_status.remove(),
            ]
        tx.update("user", UserItem(user_id), actions, UserItem.user_id.exists() & names_prior & may_submit)

    def enlist_decision(
        self,
        tx: Transaction,
        user_id: str,
        submission_id: str,
        status: str,
        reason: str | None,
        *,
        is_update: bool = False,
    ) -> None:
        """The decision's status (and reason), if the user still names that submission ("user").

        On an update: an approval makes it the submission in force (comments posted from then on
        show its details), a rejection is recorded beside the approval, which stands.
        """
        if not is_update:
            actions: list[Action] = [UserItem.verification_status.set(status)]
            if reason is not None:
                actions.append(UserItem.verification_reason.set(reason))
            tx.update("user", UserItem(user_id), actions, UserItem.verification_submission == submission_id)
            return
        if status == "approved":
            actions = [
                UserItem.verification_status.set("approved"),
                UserItem.verification_reason.remove(),
                UserItem.verification_submission.set(submission_id),
                UserItem.verification_update.remove(),
                UserItem.verification_update_status.remove(),
            ]
        else:
            actions = [UserItem.verification_update_status.set(status)]
        tx.update("user", UserItem(user_id), actions, UserItem.verification_update == submission_id)

    def enlist_withdrawal(
        self, tx: Transaction, user_id: str, submission_id: str, *, is_update: bool
    ) -> None:
        """Withdrawn, if that submission (or update) is still the user's pending one ("user")."""
        if is_update:
            tx.update(
                "user",
                UserItem(user_id),
                [UserItem.verification_update_status.set("withdrawn")],
                (UserItem.verification_update == submission_id)
                & (UserItem.verification_update_status == "pending"),
            )
        else:
            tx.update(
                "user",
                UserItem(user_id),
                [UserItem.verification_status.set("withdrawn")],
                (UserItem.verification_submission == submission_id)
                & (UserItem.verification_status == "pending"),
            )

    def enlist_revocation(
        self,
        tx: Transaction,
        user_id: str,
        submission_id: str,
        reason: str | None,
        *,
        pending_update: str | None,
    ) -> None:
        """Revoked, if the user's approval is still that submission and their update is still as
        the caller saw it: the pending one named (withdrawn with the approval), or none ("user")."""
        actions: list[Action] = [UserItem.verification_status.set("revoked")]
        if reason is not None:
            actions.append(UserItem.verification_reason.set(reason))
        condition = (UserItem.verification_submission == submission_id) & (
            UserItem.verification_status == "approved"
        )
        if pending_update is not None:
            actions.append(UserItem.verification_update_status.set("withdrawn"))
            condition &= (UserItem.verification_update == pending_update) & (
                UserItem.verification_update_status == "pending"
            )
        else:
            condition &= UserItem.verification_update_status.does_not_exist() | (
                UserItem.verification_update_status != "pending"
            )
        tx.update("user", UserItem(user_id), actions, condition)

    def set_mute(self, user_id: str, until: int | None, audit: AuditEvent) -> Outcome:
        """Mute until `until` (epoch seconds), or unmute (None), with the audit line, at once.
        `Refused` ("user"): no such user."""
        tx = Transaction(UserItem)
        action = UserItem.muted_until.set(until) if until is not None else UserItem.muted_until.remove()
        tx.update("user", UserItem(user_id), [action], UserItem.user_id.exists())
        audit_store.enlist(tx, audit)
        return tx.commit()

    def enlist_wrote(
        self, tx: Transaction, user_id: str, now: datetime, display: AuthorCache | None = None
    ) -> None:
        """Mark that the user has just written a comment (and remember their author display when
        given) on the user item ("author"): for a while they read around the readers' caches."""
        actions = [UserItem.wrote_at.set(now), *(_author_actions(display) if display else [])]
        tx.update("author", UserItem(user_id), actions, UserItem.user_id.exists())
