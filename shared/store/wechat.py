"""The WeChat access token, shared by every function through one DynamoDB item per app.

Access patterns (all by key, on the item of the app id):
- read: one consistent GetItem, only when a container has no token in memory or it nears expiry;
- take the refresh lease: one conditional UpdateItem (the version read is unchanged and no live
  lease is held), so of many containers refreshing at once exactly one calls WeChat;
- publish the new token: one conditional UpdateItem (still holding the lease), bumping the version.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from shared.adapters.wechat import CachedToken
from shared.domain.outcomes import Outcome
from shared.store.base import attempt, get_item, table


@table("wechat_tokens")
class AccessTokenItem(Model):
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
        item = get_item(AccessTokenItem, appid)
        if item is None:
            return None
        return CachedToken(
            token=item.access_token,
            expires_at=float(item.expires_at or 0),
            version=int(item.version or 0),
            lease_until=float(item.lease_until or 0),
        )

    def acquire(self, appid: str, seen: CachedToken | None, owner: str, until: float, now: float) -> Outcome:
        """Take the refresh lease if nobody refreshed since `seen` and no other lease is live
        (`Refused` "lease" otherwise)."""
        unchanged = (
            AccessTokenItem.appid.does_not_exist()
            if seen is None
            else (AccessTokenItem.version == seen.version)
        )
        free = AccessTokenItem.lease_until.does_not_exist() | (AccessTokenItem.lease_until < now)
        return attempt(
            lambda: AccessTokenItem(appid).update(
                actions=[AccessTokenItem.lease_owner.set(owner), AccessTokenItem.lease_until.set(until)],
                condition=unchanged & free,
            ),
            "lease",
        )

    def publish(self, appid: str, owner: str, token: str, expires_at: float) -> Outcome:
        """Store the new token and free the lease; `Refused` ("lease") when it was lost meanwhile."""
        return attempt(
            lambda: AccessTokenItem(appid).update(
                actions=[
                    AccessTokenItem.access_token.set(token),
                    AccessTokenItem.expires_at.set(expires_at),
                    AccessTokenItem.version.add(1),
                    AccessTokenItem.lease_owner.remove(),
                    AccessTokenItem.lease_until.remove(),
                ],
                condition=AccessTokenItem.lease_owner == owner,
            ),
            "lease",
        )
