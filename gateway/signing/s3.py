"""S3 SigV4 presigned requests and POST forms, with the signing time passed in.

botocore does the canonicalisation and HMAC work; we only pin its clock, so that a presigned URL
is a pure function of its inputs (known-answer testable, and stable within a window).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote

from botocore.auth import SIGV4_TIMESTAMP, S3SigV4QueryAuth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials

MAX_PRESIGN_SECONDS = 7 * 24 * 3600  # SigV4's hard limit (X-Amz-Expires <= 604800)
# Refuse to hand out a URL that dies with the credentials a moment after we sign it.
CREDENTIAL_MARGIN_SECONDS = 60
BUCKET_OWNER_ACL = "bucket-owner-full-control"  # the canned ACL a POST form pins (see presign_post)


class PresignError(ValueError):
    """A presigned request that must not be made (bad key, prefix or lifetime)."""


@dataclass(frozen=True, repr=False)
class AwsCredentials:
    access_key: str
    secret_key: str
    token: str | None = None
    expires_at: float | None = None  # temporary credentials die at this time

    def __repr__(self) -> str:
        return f"AwsCredentials(access_key={self.access_key[:4]}..., temporary={self.token is not None})"


@dataclass(frozen=True)
class S3Location:
    """Where a bucket answers: AWS (virtual-hosted) or an S3-compatible endpoint (path style)."""

    region: str = "us-east-1"
    endpoint_url: str | None = None
    addressing_style: Literal["path", "virtual"] = "path"

    def bucket_url(self, bucket: str) -> str:
        if self.endpoint_url is None:
            return f"https://{bucket}.s3.{self.region}.amazonaws.com"
        base = self.endpoint_url.rstrip("/")
        if self.addressing_style == "virtual":
            scheme, _, host = base.partition("://")
            return f"{scheme}://{bucket}.{host}"
        return f"{base}/{bucket}"

    def object_url(self, bucket: str, key: str) -> str:
        # S3 does not normalise paths: each byte of the key is encoded once, "/" kept.
        return f"{self.bucket_url(bucket)}/{quote(key, safe='/~')}"


@dataclass(frozen=True)
class PresignedRequest:
    method: str
    url: str
    headers: dict[str, str]
    expires: int


@dataclass(frozen=True)
class PresignedPost:
    url: str
    fields: dict[str, str]
    expires: int
    conditions: list[Any] = field(default_factory=list)


def effective_expiry(now: int, expires: int, credentials: AwsCredentials) -> int:
    """``expires`` capped at 7 days and at the credentials' own expiry (minus a margin)."""
    limit = now + MAX_PRESIGN_SECONDS
    if credentials.expires_at is not None:
        limit = min(limit, int(credentials.expires_at) - CREDENTIAL_MARGIN_SECONDS)
    effective = min(expires, limit)
    if effective <= now:
        raise PresignError("the signing credentials expire too soon to presign anything")
    return effective


class _PinnedQueryAuth(S3SigV4QueryAuth):  # type: ignore[misc]
    """botocore's S3 query signer with the signing time given instead of read from the clock."""

    def __init__(self, credentials: ReadOnlyCredentials, region: str, expires: int, at: dt.datetime):
        super().__init__(credentials, "s3", region, expires=expires)
        self._at = at

    def add_auth(self, request: AWSRequest) -> None:
        request.context["timestamp"] = self._at.strftime(SIGV4_TIMESTAMP)
        self._modify_request_before_signing(request)
        canonical = self.canonical_request(request)
        signature = self.signature(self.string_to_sign(request, canonical), request)
        self._inject_signature_to_request(request, signature)


def _utc(epoch: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).replace(tzinfo=None)


def _frozen(credentials: AwsCredentials) -> ReadOnlyCredentials:
    return ReadOnlyCredentials(credentials.access_key, credentials.secret_key, credentials.token)


def check_key(key: str) -> None:
    if not key or len(key.encode("utf-8")) > 1024:
        raise PresignError("an object key is 1 to 1024 bytes of UTF-8")


def presign_request(
    credentials: AwsCredentials,
    location: S3Location,
    method: str,
    bucket: str,
    key: str,
    *,
    now: int,
    expires: int,
    headers: Mapping[str, str] | None = None,
    query: Mapping[str, str] | None = None,
) -> PresignedRequest:
    """Presign one object request; ``headers`` are signed and must be sent exactly."""
    check_key(key)
    expires = effective_expiry(now, expires, credentials)
    request = AWSRequest(
        method=method,
        url=location.object_url(bucket, key),
        headers=dict(headers or {}),
        params=dict(query or {}),
    )
    _PinnedQueryAuth(_frozen(credentials), location.region, expires - now, _utc(now)).add_auth(request)
    return PresignedRequest(method, request.url, dict(headers or {}), expires)


def presign_put(
    credentials: AwsCredentials,
    location: S3Location,
    bucket: str,
    key: str,
    *,
    now: int,
    expires: int,
    content_type: str,
    content_length: int,
    if_none_match: bool = True,
    checksum_sha256: str | None = None,
) -> PresignedRequest:
    """A PUT whose type and exact size are signed; ``If-None-Match: *`` makes a replay fail.

    ``checksum_sha256`` (base64) also signs the bytes: S3 refuses others with ``BadDigest``.
    """
    headers = {"Content-Type": content_type, "Content-Length": str(content_length)}
    if if_none_match:
        headers["If-None-Match"] = "*"
    if checksum_sha256 is not None:
        headers["x-amz-checksum-sha256"] = checksum_sha256
    return presign_request(
        credentials, location, "PUT", bucket, key, now=now, expires=expires, headers=headers
    )


def presign_get(
    credentials: AwsCredentials,
    location: S3Location,
    bucket: str,
    key: str,
    *,
    now: int,
    expires: int,
    content_disposition: str | None = None,
) -> PresignedRequest:
    query = {"response-content-disposition": content_disposition} if content_disposition else None
    return presign_request(credentials, location, "GET", bucket, key, now=now, expires=expires, query=query)


def presign_delete(
    credentials: AwsCredentials,
    location: S3Location,
    bucket: str,
    key: str,
    *,
    now: int,
    expires: int,
) -> PresignedRequest:
    return presign_request(credentials, location, "DELETE", bucket, key, now=now, expires=expires)


def presign_post(
    credentials: AwsCredentials,
    location: S3Location,
    bucket: str,
    *,
    now: int,
    expires: int,
    content_type: str,
    max_size: int,
    min_size: int = 1,
    key: str | None = None,
    prefix: str | None = None,
    checksum_sha256: str | None = None,
) -> PresignedPost:
    """A browser POST form for one exact ``key``, or any key under ``prefix`` (ending in "/").

    S3 has no conditional write for POST (conditional writes cover PutObject and
    CompleteMultipartUpload), so a form can be posted again until it expires.  ``checksum_sha256``
    (base64) pins the bytes instead: the policy requires the ``x-amz-checksum-sha256`` field, and
    S3 checks the upload against it (``BadDigest``), so a replay can only write the same bytes.
    """
    if (key is None) == (prefix is None):
        raise PresignError("give exactly one of key and prefix")
    if prefix is not None and (not prefix.endswith("/") or prefix == "/"):
        raise PresignError("a key prefix must be non-empty and end with '/'")
    if not 0 <= min_size <= max_size:
        raise PresignError("size range must satisfy 0 <= min <= max")
    check_key(key or prefix or "")
    expires = effective_expiry(now, expires, credentials)
    auth = SigV4Auth(_frozen(credentials), "s3", location.region)
    request = AWSRequest(method="POST", url=location.bucket_url(bucket))
    request.context["timestamp"] = _utc(now).strftime(SIGV4_TIMESTAMP)
    scope = auth.scope(request)
    key_field = key if key is not None else f"{prefix}${{filename}}"
    key_condition: Any = {"key": key} if key is not None else ["starts-with", "$key", prefix]
    # acl is pinned, so an "acl=public-read" field fails the policy everywhere, to the one canned ACL
    # a bucket with ACLs disabled (Object Ownership "bucket owner enforced", as deploy/cloudformation
    # makes it) accepts: any other is refused with AccessControlListNotSupported (S3 User Guide,
    # "Troubleshooting" under Object Ownership).  With ACLs enabled it leaves the object the
    # bucket owner's alone, as "private" would for a same-account writer.
    fields = {
        "key": key_field,
        "acl": BUCKET_OWNER_ACL,
        "Content-Type": content_type,
        "x-amz-algorithm": "AWS4-HMAC-SHA256",
        "x-amz-credential": scope,
        "x-amz-date": request.context["timestamp"],
    }
    conditions: list[Any] = [
        {"bucket": bucket},
        key_condition,
        {"acl": BUCKET_OWNER_ACL},
        {"Content-Type": content_type},
        ["content-length-range", min_size, max_size],
        {"x-amz-algorithm": "AWS4-HMAC-SHA256"},
        {"x-amz-credential": scope},
        {"x-amz-date": request.context["timestamp"]},
    ]
    if checksum_sha256 is not None:
        pinned = {"x-amz-checksum-algorithm": "SHA256", "x-amz-checksum-sha256": checksum_sha256}
        fields.update(pinned)
        conditions.extend({name: value} for name, value in pinned.items())
    if credentials.token is not None:
        fields["x-amz-security-token"] = credentials.token
        conditions.append({"x-amz-security-token": credentials.token})
    document = {"expiration": _utc(expires).strftime("%Y-%m-%dT%H:%M:%SZ"), "conditions": conditions}
    fields["policy"] = base64.b64encode(json.dumps(document).encode("utf-8")).decode("ascii")
    fields["x-amz-signature"] = auth.signature(fields["policy"], request)
    return PresignedPost(location.bucket_url(bucket) + "/", fields, expires, conditions)
