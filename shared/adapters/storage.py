"""The private credentials bucket: presigned uploads, reads, sanitized copies, short-lived links.

Layout: `uploads/<user_id>/<kind>/<ulid>.<ext>` holds what the mini-program uploaded (expired by
a lifecycle rule after a day if never submitted; deleted once sanitized), and
`credentials/<user_id>/<submission_id>/<n>.jpg` the sanitized copies reviewers see (an image kept
from an earlier submission is copied there under the new submission's key). Everything
of a user lives under those two prefixes, which is what erasure deletes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared import errors
from shared.config import Config
from shared.log import logger

CONNECT_TIMEOUT_SECONDS = 2
READ_TIMEOUT_SECONDS = 10
MAX_ATTEMPTS = 3
DELETE_BATCH = 1000  # DeleteObjects takes at most this many keys


@dataclass(frozen=True)
class PresignedPost:
    url: str
    fields: dict[str, str]
    key: str
    expires_at: datetime


@dataclass(frozen=True)
class StoredObject:
    data: bytes
    content_type: str
    size: int


class CredentialStorage:
    def __init__(self, cfg: Config, client: Any = None) -> None:
        self._cfg = cfg
        self.bucket = cfg.bucket
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import botocore.session
            from botocore.config import Config as BotoConfig

            self._client = botocore.session.get_session().create_client(
                "s3",
                region_name=self._cfg.region,
                endpoint_url=self._cfg.endpoint_url,
                config=BotoConfig(
                    signature_version="s3v4",  # against a custom endpoint the default signs the old way
                    connect_timeout=CONNECT_TIMEOUT_SECONDS,
                    read_timeout=READ_TIMEOUT_SECONDS,
                    retries={"max_attempts": MAX_ATTEMPTS, "mode": "standard"},
                ),
            )
        return self._client

    def presigned_post(
        self, key: str, content_type: str, max_bytes: int, lifetime: timedelta, now: datetime
    ) -> PresignedPost:
        """A POST policy that S3 enforces: this exact key and type, 1..max_bytes, until expiry."""
        expires = int(lifetime.total_seconds())
        answer = self.client.generate_presigned_post(
            Bucket=self.bucket,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[
                {"bucket": self.bucket},
                ["eq", "$key", key],
                ["eq", "$Content-Type", content_type],
                ["content-length-range", 1, max_bytes],
            ],
            ExpiresIn=expires,
        )
        return PresignedPost(
            # An ICP-filed domain in front of the bucket, when the stage names one: the POST policy
            # signs the bucket and the fields, not the host, so the same form is valid there.
            url=f"{self._cfg.upload_base_url}/" if self._cfg.upload_base_url else str(answer["url"]),
            fields={str(k): str(v) for k, v in answer["fields"].items()},
            key=key,
            expires_at=now + lifetime,
        )

    def read(self, key: str, max_bytes: int) -> StoredObject:
        """The object's bytes, or 400 when missing, 413 when over `max_bytes` (never read then)."""
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=key)
        except self.client.exceptions.NoSuchKey as exc:
            raise errors.invalid("documents", "invalid", "document_missing") from exc
        body = answer["Body"]
        size = int(answer.get("ContentLength") or 0)
        try:
            if size > max_bytes:
                raise errors.PayloadTooLarge("image")
            data = body.read(max_bytes + 1)
        finally:
            body.close()
        if len(data) > max_bytes:
            raise errors.PayloadTooLarge("image")
        return StoredObject(data, str(answer.get("ContentType") or ""), len(data))

    def put_clean(self, key: str, data: bytes, content_type: str) -> None:
        self.client.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=data,
            ContentType=content_type,
            ServerSideEncryption="AES256",
            CacheControl="private, no-store",
        )

    def copy(self, source: str, target: str) -> None:
        """Copy an image within the bucket (CopyObject: S3 reads the source, nothing passes through
        the function). The copy starts untagged: the source's lifecycle tag is not the copy's."""
        try:
            self.client.copy_object(
                Bucket=self.bucket,
                Key=target,
                CopySource={"Bucket": self.bucket, "Key": source},
                TaggingDirective="REPLACE",
                ServerSideEncryption="AES256",
            )
        except self.client.exceptions.NoSuchKey as exc:
            raise errors.invalid("keep", "invalid", "keep_missing") from exc

    def delete(self, keys: list[str]) -> None:
        """Delete these keys (one call per thousand); missing keys are fine."""
        for start in range(0, len(keys), DELETE_BATCH):
            batch = keys[start : start + DELETE_BATCH]
            answer = self.client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True}
            )
            if answer.get("Errors"):
                logger.warning("some objects were not deleted", extra={"errors": len(answer["Errors"])})
                raise errors.UpstreamUnavailable("image_store")

    def keys_under(self, prefix: str) -> list[str]:
        """Every object key under `prefix` (one ListObjectsV2 per thousand)."""
        keys: list[str] = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            keys.extend(str(item["Key"]) for item in page.get("Contents", []))
        return keys

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under `prefix`; the count deleted."""
        keys = self.keys_under(prefix)
        self.delete(keys)
        return len(keys)

    def tag(self, key: str, tags: dict[str, str]) -> None:
        self.client.put_object_tagging(
            Bucket=self.bucket,
            Key=key,
            Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]},
        )

    def view_url(self, key: str, lifetime: timedelta) -> str:
        """A GET link that dies after `lifetime`, for the review page's images and the export's."""
        return str(
            self.client.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.bucket, "Key": key, "ResponseCacheControl": "private, no-store"},
                ExpiresIn=int(lifetime.total_seconds()),
            )
        )

    def origin(self) -> str:
        """The scheme://host images are served from (for a page's CSP); "'none'" when no link can
        be made (the page then shows no image, and works otherwise)."""
        from urllib.parse import urlsplit

        try:
            parts = urlsplit(self.view_url("x", timedelta(seconds=60)))
        except Exception:
            logger.warning("no image origin")
            return "'none'"
        return f"{parts.scheme}://{parts.netloc}"
