"""Typed application state: every shared object is declared once here."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from gateway.common.netutil import TrustedProxies
from gateway.credentials.vendor import CredentialVendor
from gateway.keys.watch import KeyringHolder
from gateway.rules.access import Rules
from gateway.service.auth import Authenticator
from gateway.service.grants import Granter
from gateway.service.metrics import Metrics
from gateway.service.ratelimit import RateLimiter
from gateway.service.s3grants import S3Grants
from gateway.service.settings import Settings
from gateway.sharing.store import ShareStore


@dataclass
class Readiness:
    """The last S3 reachability check, reused for a few seconds so /readyz stays cheap."""

    s3: str = "unknown"
    checked: float = -1e9  # monotonic


SETTINGS = web.AppKey("settings", Settings)
RULES = web.AppKey("rules", Rules)
KEYRING = web.AppKey("keyring", KeyringHolder)
GRANTER = web.AppKey("granter", Granter)
METRICS = web.AppKey("metrics", Metrics)
AUTH = web.AppKey("auth", Authenticator)
LIMITER = web.AppKey("limiter", RateLimiter)
GUEST_LIMITER = web.AppKey("guest_limiter", RateLimiter)
SIGNATURES = web.AppKey("signatures", RateLimiter)  # new signatures per caller, not requests
AUTH_FAILURES = web.AppKey("auth_failures", RateLimiter)  # failed authentications per client IP
S3_GRANTS = web.AppKey("s3_grants", S3Grants)
TRUSTED_PROXIES = web.AppKey("trusted_proxies", TrustedProxies)
READINESS = web.AppKey("readiness", Readiness)
VENDOR = web.AppKey("vendor", CredentialVendor)
SHARES = web.AppKey("shares", ShareStore)  # with sharing.enabled only
