"""Typed application state: every shared object is declared once here."""

from __future__ import annotations

from aiohttp import web

from gateway.auth import Authenticator
from gateway.credentials.vendor import CredentialVendor
from gateway.grants import Granter
from gateway.keyring_watch import KeyringHolder
from gateway.metrics import Metrics
from gateway.ratelimit import RateLimiter
from gateway.rules import Rules
from gateway.s3client import S3Presigner
from gateway.settings import Settings

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
S3 = web.AppKey("s3", S3Presigner)
READINESS = web.AppKey("readiness", dict)
VENDOR = web.AppKey("vendor", CredentialVendor)
