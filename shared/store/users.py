"""Users, their WeChat identity link, and their sessions.

Access patterns (all by key):
- login: GetItem identity by openid hash, then one UpdateItem on the user (or one transaction
  creating both for a first login);
- every authenticated request: one consistent GetItem of the user, which holds the sessions map
  and the gate state, so token check + next_step cost a single read;
- logout: one conditional UpdateItem removing the session.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from shared.store.base import connection_for, table


@table("users")
class UserRecord(Model):
    class Meta:
        table_name = "users"

    user_id = UnicodeAttribute(hash_key=True)
    openid = UnicodeAttribute()  # personal data: used only to message the user
    created_at = UTCDateTimeAttribute()
    # {session_id: {"h": sha256 of the token secret, "exp": epoch seconds}}
    sessions = MapAttribute[str, Any](default=dict)
    # Gate state, read with the session on every request.
    agreement_version = UnicodeAttribute(null=True)
    agreement_decision = UnicodeAttribute(null=True)  # agree | refuse | withdraw
    informed_version = UnicodeAttribute(null=True)
    informed_decision = UnicodeAttribute(null=True)  # agree | skip | withdraw
    verification_status = UnicodeAttribute(null=True)  # pending | approved | rejected
    verification_reason = UnicodeAttribute(null=True)
    verification_submission = UnicodeAttribute(null=True)
    verification_revision = NumberAttribute(null=True)  # issue 4: how many submissions so far
    questions_answered = BooleanAttribute(null=True)
    consent_seq = NumberAttribute(null=True)
    # Consent (issue 3): records are keyed by this random pseudonym, not the user id, and their
    # personal fields are sealed with this per-user key; deleting the user shreds both links.
    consent_subject = UnicodeAttribute(null=True)
    consent_key = BinaryAttribute(null=True, legacy_encoding=False)
    # Articles and comments (issue 5): the public author display (王医生, department), derived from
    # the approved submission named by author_source, so posting a comment needs no extra read.
    author_name = UnicodeAttribute(null=True)
    author_department = UnicodeAttribute(null=True)
    author_source = UnicodeAttribute(null=True)
    author_style = UnicodeAttribute(null=True)  # surname (default) | title: the user's choice
    author_hide_department = BooleanAttribute(null=True)


@table("identities")
class IdentityRecord(Model):
    """Links a WeChat openid (hashed, so the table lists none) to the user it logs in as."""

    class Meta:
        table_name = "identities"

    openid_hash = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


def openid_hash(appid: str, openid: str) -> str:
    return hashlib.sha256(f"{appid}:{openid}".encode()).hexdigest()


class UserRepository:
    """Reads and writes users, identities and sessions."""

    def find_user_id(self, openid_key: str) -> str | None:
        try:
            return str(IdentityRecord.get(openid_key).user_id)
        except DoesNotExist:
            return None

    def create(
        self,
        user_id: str,
        openid_key: str,
        openid: str,
        session_id: str,
        session: dict[str, Any],
        now: datetime,
    ) -> UserRecord | None:
        """Create the user and its identity link at once; None when another login won the race."""
        user = UserRecord(user_id, openid=openid, created_at=now, sessions={session_id: session})
        identity = IdentityRecord(openid_key, user_id=user_id, created_at=now)
        try:
            with TransactWrite(connection=connection_for(UserRecord)) as tx:
                tx.save(identity, condition=IdentityRecord.openid_hash.does_not_exist())
                tx.save(user, condition=UserRecord.user_id.does_not_exist())
        except TransactWriteError as exc:
            if exc.cause_response_code == "TransactionCanceledException":
                return None
            raise
        return user

    def add_session(self, user_id: str, session_id: str, session: dict[str, Any]) -> UserRecord | None:
        """Store a session on an existing user; returns the user as it now stands, or None if gone."""
        user = UserRecord(user_id)
        try:
            user.update(
                actions=[UserRecord.sessions[session_id].set(session)],
                condition=UserRecord.user_id.exists(),
            )
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return None
            raise
        return user

    def remove_sessions(self, user_id: str, session_ids: list[str]) -> None:
        if not session_ids:
            return
        user = UserRecord(user_id)
        try:
            user.update(
                actions=[UserRecord.sessions[sid].remove() for sid in session_ids],
                condition=UserRecord.user_id.exists(),
            )
        except UpdateError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise

    def revoke_session(self, user_id: str, session_id: str, secret_hash: str) -> bool:
        """Remove a session only if the caller holds its secret; False when it does not exist."""
        user = UserRecord(user_id)
        try:
            user.update(
                actions=[UserRecord.sessions[session_id].remove()],
                condition=UserRecord.sessions[session_id]["h"] == secret_hash,
            )
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def get(self, user_id: str) -> UserRecord | None:
        try:
            return UserRecord.get(user_id, consistent_read=True)
        except DoesNotExist:
            return None


def utcnow() -> datetime:
    return datetime.now(UTC)


def sessions_of(user: UserRecord) -> dict[str, dict[str, Any]]:
    """The user's sessions as plain dicts, whatever form pynamodb handed back."""
    raw = user.sessions
    if raw is None:
        return {}
    plain = raw.as_dict() if isinstance(raw, MapAttribute) else dict(raw)
    return {str(k): dict(v) for k, v in plain.items() if isinstance(v, dict)}
