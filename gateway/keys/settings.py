"""The ``[keys]`` settings: where the keyring is kept, where public keys are published, and how a
rotation paces and proves itself."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

_DIST_ID = re.compile(r"\A[A-Z0-9]{1,128}\Z")
# S3 bucket naming rules (lower case, digits, dots, hyphens; 3-63), and a prefix of plain segments.
_BUCKET = re.compile(r"\A[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\Z")
_SEGMENT = re.compile(r"\A[A-Za-z0-9_.=+-]{1,200}\Z")
STORE_FORM = "s3://bucket/prefix/"


def parse_store_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` -> (``bucket``, ``some/prefix/``); ValueError says what is wrong."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or parts.query or parts.fragment or not _BUCKET.match(parts.netloc):
        raise ValueError(f"{url!r} is not {STORE_FORM} (an S3 bucket name, then a prefix)")
    segments = [s for s in parts.path.split("/") if s]
    if any(not _SEGMENT.match(s) or s in (".", "..") for s in segments) or "//" in parts.path:
        raise ValueError(f"{url!r}: the prefix must be plain /-separated names (no '..', no '//')")
    return parts.netloc, "".join(f"{s}/" for s in segments)


@dataclass(frozen=True)
class KeysSettings:
    """Where the keyring is kept and public keys are published, and how a rotation paces and
    proves itself.

    Attributes:
        publisher: ``cloudfront`` (each key becomes a CloudFront public key in ``key_group_id``)
            or ``local`` (only cdn-gateway edges reading the keyring trust it; CloudFront is never
            called).  Required by the key commands in production; unset in development: local.
        key_group_id: The CloudFront key group the distribution's behaviours trust (required with
            ``publisher = "cloudfront"``).
        distribution_id: The distribution whose edges verify grants: a rotation also waits until
            ``GetDistribution`` reports it ``Deployed`` (at most 35 minutes).
        algorithm: Type of new keys: ``rsa`` (2048 bits) or ``ecdsa`` (P-256).  Unset: a rotation
            keeps the current key's type, and a new keyring is RSA-2048.
        propagation_seconds: Wait, 0-3600 s, between publishing a key and signing with it.  Unset:
            the publisher's safe wait (300 s for CloudFront, 5 s locally); an explicit shorter wait
            is honoured with a warning.
        max_keys_in_group: Live keys (pending, active, trusted) at most, 1-100, for every publisher;
            CloudFront's default quota is 5 public keys per key group.
        store: Empty: the keyring is the directory ``signing.keys_dir``.  ``s3://bucket/prefix/``:
            the keyring is kept there (``keyring.json`` and one ``<id>.pem`` per key), read by
            every gateway (and edge) through the ``[s3]`` endpoint and credentials, written only
            by the key commands; rotations reach every replica without a redeploy.
        store_kms_key_id: With ``store``: the KMS key (id, ARN or alias) every object is written
            with (``aws:kms``); empty: the bucket's default encryption applies.
        probe_url: A URL through the distribution of a small object under a signed behaviour.
            Before switching, a rotation GETs it unsigned (must be refused) and signed with the new
            key (must answer 200), and refuses to switch otherwise; the key stays pending.
        heartbeat_seconds: With ``store``: how often each gateway records, under
            ``replicas/`` in the store, the key it signs with; ``keys retire`` refuses while a
            replica that reported in the last three periods still signs with a key to retire.
    """

    publisher: Literal["local", "cloudfront"] | None = None
    key_group_id: str = ""
    distribution_id: str = ""
    algorithm: Literal["rsa", "ecdsa"] | None = None
    propagation_seconds: float | None = None
    max_keys_in_group: int = 5
    store: str = ""
    store_kms_key_id: str = ""
    probe_url: str = ""
    heartbeat_seconds: float = 30.0

    @property
    def cloudfront(self) -> bool:
        return self.publisher == "cloudfront"

    def check(self, problems: list[str]) -> None:
        if self.cloudfront and not self.key_group_id:
            problems.append("keys.key_group_id is required with keys.publisher = cloudfront")
        wait, distribution = self.propagation_seconds, self.distribution_id
        if (wait is not None and not 0 <= wait <= 3600) or not 1 <= self.max_keys_in_group <= 100:
            problems.append("keys.propagation_seconds must be 0-3600 and keys.max_keys_in_group 1-100")
        if distribution and (not self.cloudfront or not _DIST_ID.match(distribution)):
            problems.append(
                "keys.distribution_id must be a CloudFront distribution id (publisher = cloudfront)"
            )
        if self.store:
            try:
                parse_store_url(self.store)
            except ValueError as exc:
                problems.append(f"keys.store {exc}")
        if self.store_kms_key_id and not self.store:
            problems.append("keys.store_kms_key_id needs keys.store")
        probe = urlsplit(self.probe_url)
        if self.probe_url and (probe.scheme not in ("http", "https") or not probe.hostname or probe.query):
            problems.append("keys.probe_url must be http(s)://host/path of an object, without a query")
        if not 1 <= self.heartbeat_seconds <= 3600:
            problems.append("keys.heartbeat_seconds must be 1-3600")

    def command_problems(self, development: bool) -> list[str]:
        """What the key commands (rotate, retire, revoke, adopt) refuse beyond :meth:`check`."""
        problems = []
        if self.publisher is None and not development:
            problems.append(
                'keys.publisher must be set in production: "cloudfront" (CloudFront trusts the '
                'key group keys.key_group_id) or "local" (only cdn-gateway edges verify)'
            )
        if self.probe_url.startswith("http://") and not development:
            problems.append("keys.probe_url must be https:// outside development")
        return problems
