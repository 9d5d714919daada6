"""S3 presigned requests for the gateway's bucket, shaped like CloudFront grants (``grants.py``).

The handler decides what the rules allow; this object holds everything else a presigned request
needs (credentials, bucket, addressing, lifetimes, metrics) and maps a presigning failure to one
answer, so every upload and delete handler stays a short script.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from gateway.service.errors import Unavailable
from gateway.service.metrics import Metrics
from gateway.service.s3client import S3Access
from gateway.service.settings import S3Settings
from gateway.signing.s3 import (
    PresignedPost,
    PresignedRequest,
    PresignError,
    presign_delete,
    presign_post,
    presign_put,
)


@contextlib.contextmanager
def _available() -> Iterator[None]:
    try:
        yield
    except PresignError as exc:
        raise Unavailable(
            "S3 credentials cannot presign right now", internal=str(exc), retry_after=30
        ) from None


class S3Grants:
    def __init__(self, access: S3Access, settings: S3Settings, metrics: Metrics) -> None:
        self.access = access
        self._settings = settings
        self._presigns = metrics.presigns

    def put(
        self, key: str, now: int, content_type: str, length: int, checksum: str | None
    ) -> PresignedRequest:
        """A PUT of exactly this type, length (and checksum), refusing to overwrite (If-None-Match)."""
        with _available():
            signed = presign_put(
                self.access.credentials(),
                self.access.location,
                self._settings.bucket,
                key,
                now=now,
                expires=now + self._settings.upload_ttl_seconds,
                content_type=content_type,
                content_length=length,
                checksum_sha256=checksum,
            )
        self._presigns.labels("PUT").inc()
        return signed

    def post(self, key: str, now: int, content_type: str, length: int, checksum: str | None) -> PresignedPost:
        """A browser form for this key and type, 1 to ``length`` bytes (exactly it when pinned)."""
        with _available():
            form = presign_post(
                self.access.credentials(),
                self.access.location,
                self._settings.bucket,
                now=now,
                expires=now + self._settings.upload_ttl_seconds,
                content_type=content_type,
                max_size=length,
                min_size=1 if checksum is None else length,  # pinned bytes have one size
                key=key,
                checksum_sha256=checksum,
            )
        self._presigns.labels("POST").inc()
        return form

    def delete(self, key: str, now: int) -> PresignedRequest:
        with _available():
            signed = presign_delete(
                self.access.credentials(),
                self.access.location,
                self._settings.bucket,
                key,
                now=now,
                expires=now + self._settings.delete_ttl_seconds,
            )
        self._presigns.labels("DELETE").inc()
        return signed
