"""The revocation list mirrored into a CloudFront KeyValueStore, which the viewer-request function
``deploy/cloudfront/revocation.js`` reads at every edge location (docs/design.md, "Revocation").

Each sync makes the store equal to the list: a key per revoked tag (its decimal), valued with the
epoch second it stays revoked until; tags no longer revoked (their grants have expired) are
deleted, so the store holds only what can still matter (its quota is 5 MB; a key here is at most
9 bytes and a value 10, far below the 512-byte and 1 KB limits: "Quotas", CloudFront Developer
Guide).  Writes go through UpdateKeys with the store's ETag (If-Match), as the KeyValueStore API
requires; when another replica wrote in between (ConflictException) the sync starts again from
a fresh read.  Several replicas syncing the same list converge on the same content.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gateway.common.revocation import Revoked

log = logging.getLogger(__name__)
BATCH = 50  # keys per UpdateKeys request, to stay well inside its request quota
STORE_BYTES = 5 * 1024 * 1024  # a KeyValueStore's size quota ("Quotas", CloudFront Developer Guide)
ATTEMPTS = 4


@dataclass(frozen=True)
class SyncResult:
    put: int
    deleted: int
    etag: str


class KvsMirror:
    """Mirror of the revocation list in one KeyValueStore (``client``: a boto3
    ``cloudfront-keyvaluestore`` client, which signs with SigV4A and so needs awscrt)."""

    def __init__(self, client: Any, arn: str, max_bytes: int = STORE_BYTES) -> None:
        self._client, self.arn, self.max_bytes = client, arn, max_bytes
        # The store's content as of an ETag: while the ETag is unchanged no one else wrote, and the
        # store is not listed again (ListKeys pages hold 50 keys: a full store is thousands of calls).
        self._known: tuple[str, dict[str, str]] | None = None

    def _current(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for page in self._client.get_paginator("list_keys").paginate(KvsARN=self.arn):
            found.update({item["Key"]: item["Value"] for item in page.get("Items", [])})
        return found

    def _sync_once(self, read: Callable[[], Revoked]) -> SyncResult:
        etag: str = self._client.describe_key_value_store(KvsARN=self.arn)["ETag"]
        # The list is read after the ETag: a revocation committed later reaches the store through
        # the replica that made it, whose write then makes ours conflict; never the reverse.
        revoked = read()
        current = dict(self._known[1]) if self._known and self._known[0] == etag else self._current()
        self._known = (etag, current)
        wanted = {str(tag): str(until) for tag, until in revoked.items()}
        size = sum(len(key) + len(value) for key, value in wanted.items())
        if size > self.max_bytes * 0.8:  # the writes past the quota fail: say so while there is time
            log.error(
                "the revocation list (%d bytes) is at %d%% of the KeyValueStore's %d bytes: revoke fewer "
                "users, or shorten signing.window_seconds so that revocations expire sooner",
                size,
                100 * size // self.max_bytes,
                self.max_bytes,
            )
        # Deletes first (they make room), then the newest revocations first (the latest `until`):
        # a store at its quota then refuses the oldest, and what it does hold matters most.
        deletes = [{"Key": key} for key in sorted(current) if key not in wanted]
        newest = sorted(wanted.items(), key=lambda item: (-int(item[1]), item[0]))
        puts = [{"Key": key, "Value": value} for key, value in newest if current.get(key) != value]
        writes: list[tuple[list[dict[str, str]], list[dict[str, str]]]] = [
            ([], deletes[start : start + BATCH]) for start in range(0, len(deletes), BATCH)
        ] + [(puts[start : start + BATCH], []) for start in range(0, len(puts), BATCH)]
        for batch_puts, batch_deletes in writes:
            answer = self._client.update_keys(
                KvsARN=self.arn, IfMatch=etag, Puts=batch_puts, Deletes=batch_deletes
            )
            etag = answer["ETag"]
            # Known after every batch: a sync that fails part-way (a full store) leaves the next one
            # the store's content as of this ETag, so it does not list thousands of pages again.
            current.update({put["Key"]: put["Value"] for put in batch_puts})
            for delete in batch_deletes:
                current.pop(delete["Key"], None)
            self._known = (etag, current)
        self._known = (etag, current)
        return SyncResult(len(puts), len(deletes), etag)

    @property
    def entries(self) -> int:
        """Keys in the store as of the last write or listing (0 before the first sync)."""
        return len(self._known[1]) if self._known else 0

    def sync(self, read: Callable[[], Revoked]) -> SyncResult:
        """Make the store hold exactly what ``read`` returns (blocking: run it in a thread)."""
        conflict = self._client.exceptions.ConflictException
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return self._sync_once(read)
            except conflict:
                if attempt == ATTEMPTS:
                    raise
                log.info("KeyValueStore changed during a sync (another replica): reading it again")
        raise AssertionError("unreachable")


def kvs_client(endpoint_url: str = "", access_key_id: str = "", secret_access_key: str = "") -> Any:
    """A ``cloudfront-keyvaluestore`` client: the default credential chain unless keys are given;
    ``endpoint_url`` only for tests (the API is global, reached by the store's ARN)."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "cloudfront-keyvaluestore",
        region_name="us-east-1",
        endpoint_url=endpoint_url or None,
        aws_access_key_id=access_key_id or None,
        aws_secret_access_key=secret_access_key or None,
        config=Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=10),
    )
