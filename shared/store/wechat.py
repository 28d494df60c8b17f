"""The WeChat access token, shared by every function through one DynamoDB item per app.

Access patterns (all by key, on the item of the app id):
- read: one consistent GetItem, only when a container has no token in memory or it nears expiry;
- take the refresh lease: one conditional UpdateItem (the version read is unchanged and no live
  lease is held), so of many containers refreshing at once exactly one calls WeChat;
- publish the new token: one conditional UpdateItem (still holding the lease), bumping the version.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.models import Model

from shared.adapters.wechat import CachedToken
from shared.store.base import table


@table("wechat_tokens")
class AccessTokenRecord(Model):
    """The app's current access token (a secret: the table is encrypted, the item never logged)."""

    class Meta:
        table_name = "wechat_tokens"

    appid = UnicodeAttribute(hash_key=True)
    access_token = UnicodeAttribute(null=True)
    expires_at = NumberAttribute(null=True)  # epoch seconds
    version = NumberAttribute(default=0)  # bumped by every publish
    lease_owner = UnicodeAttribute(null=True)
    lease_until = NumberAttribute(null=True)  # epoch seconds


class AccessTokenRepository:
    def read(self, appid: str) -> CachedToken | None:
        try:
            item = AccessTokenRecord.get(appid, consistent_read=True)
        except DoesNotExist:
            return None
        return CachedToken(
            token=item.access_token,
            expires_at=float(item.expires_at or 0),
            version=int(item.version or 0),
            lease_until=float(item.lease_until or 0),
        )

    def acquire(self, appid: str, seen: CachedToken | None, owner: str, until: float, now: float) -> bool:
        """Take the refresh lease if nobody refreshed since `seen` and no other lease is live."""
        unchanged = (
            AccessTokenRecord.appid.does_not_exist()
            if seen is None
            else (AccessTokenRecord.version == seen.version)
        )
        free = AccessTokenRecord.lease_until.does_not_exist() | (AccessTokenRecord.lease_until < now)
        try:
            AccessTokenRecord(appid).update(
                actions=[
                    AccessTokenRecord.lease_owner.set(owner),
                    AccessTokenRecord.lease_until.set(until),
                ],
                condition=unchanged & free,
            )
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def publish(self, appid: str, owner: str, token: str, expires_at: float) -> bool:
        """Store the new token and free the lease; False when the lease was lost meanwhile."""
        try:
            AccessTokenRecord(appid).update(
                actions=[
                    AccessTokenRecord.access_token.set(token),
                    AccessTokenRecord.expires_at.set(expires_at),
                    AccessTokenRecord.version.add(1),
                    AccessTokenRecord.lease_owner.remove(),
                    AccessTokenRecord.lease_until.remove(),
                ],
                condition=AccessTokenRecord.lease_owner == owner,
            )
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True
