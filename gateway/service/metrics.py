"""Prometheus instruments, one registry per app (so tests and workers never collide)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "gateway_requests", "HTTP requests", ["route", "method", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "gateway_request_seconds",
            "Request latency",
            ["route"],
            registry=self.registry,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5),
        )
        self.signatures = Counter(
            "gateway_signatures", "CloudFront signatures made", ["algorithm"], registry=self.registry
        )
        self.presigns = Counter(
            "gateway_s3_presigns", "S3 presigned requests and forms", ["method"], registry=self.registry
        )
        self.cache = Counter("gateway_grant_cache", "Grant cache lookups", ["result"], registry=self.registry)
        self.auth_failures = Counter(
            "gateway_auth_failures", "Rejected bearer tokens", ["reason"], registry=self.registry
        )
        self.keyring_reloads = Counter(
            "gateway_keyring_reloads", "Keyring reloads installed", registry=self.registry
        )
        # Read at each scrape (set_function in create_app); the CloudFormation alarms watch both.
        self.keyring_stale = Gauge(
            "gateway_keyring_stale", "1 while the last keyring reload failed", registry=self.registry
        )
        self.active_key_age = Gauge(
            "gateway_active_key_age_seconds",
            "Seconds since the signing key became active",
            registry=self.registry,
        )
        # Revocation (docs/design.md, "Revocation"): a KeyValueStore the gateway cannot write (full,
        # or refused) leaves CloudFront blind to new revocations; the CloudFormation alarm watches it.
        self.revocation_kvs_sync_failures = Counter(
            "gateway_revocation_kvs_sync_failures",
            "KeyValueStore syncs of the revocation list that failed",
            registry=self.registry,
        )
        self.revocation_kvs_entries = Gauge(
            "gateway_revocation_kvs_entries", "Revoked tags in the KeyValueStore", registry=self.registry
        )
        self.revocation_list_entries = Gauge(
            "gateway_revocation_list_entries", "Revoked tags in the revocation list", registry=self.registry
        )
