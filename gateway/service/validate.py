"""The gateway's settings judged as a whole: every problem found is reported, none fixed up.

A setting that could widen access (no keys, wildcard CORS with credentials, HS256 or insecure
cookies outside development) stops start-up instead of falling back to something open.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from gateway.common.config import positive
from gateway.service.checks import cookie_domain_problem, missing_path
from gateway.sharing.revocation_settings import revocation_problems

if TYPE_CHECKING:
    from gateway.service.settings import Settings

# An HTTP field name (RFC 9110 5.1: a token).
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
# Names CloudFront will not add as an origin custom header, or that it sets itself (CloudFront
# Developer Guide, "Add custom headers to origin requests": custom headers that CloudFront can't add).
_RESERVED_PREFIXES = ("cloudfront-", "x-amz-", "x-edge-")
_RESERVED = frozenset(
    "host authorization cache-control connection content-length cookie upgrade via "
    "x-forwarded-for x-forwarded-proto x-real-ip x-cache".split()
)


def validate(s: Settings, base_dir: Path, problems: list[str]) -> None:
    """Append every problem with ``s`` (paths resolved against ``base_dir``) to ``problems``."""
    if not 0 < s.server.port < 65536:
        problems.append("server.port must be 1-65535")
    for entry in s.server.trusted_proxies:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            problems.append(f"server.trusted_proxies entry {entry!r} is not an IP address or CIDR")
    _origin_problems(s, problems)
    revocation_problems(s.revocation, problems)
    positive(
        problems,
        **{
            "server.max_body_bytes": s.server.max_body_bytes,
            "server.header_timeout_seconds": s.server.header_timeout_seconds,
            "server.rate_limit_per_second": s.server.rate_limit_per_second,
            "server.rate_limit_burst": s.server.rate_limit_burst,
            "server.guest_rate_limit_per_second": s.server.guest_rate_limit_per_second,
            "server.guest_rate_limit_burst": s.server.guest_rate_limit_burst,
            "server.signatures_per_second": s.server.signatures_per_second,
            "server.signature_burst": s.server.signature_burst,
            "server.auth_failures_per_second": s.server.auth_failures_per_second,
            "server.auth_failure_burst": s.server.auth_failure_burst,
            "server.body_timeout_seconds": s.server.body_timeout_seconds,
            "signing.guest_window_seconds": s.signing.guest_window_seconds,
            "signing.window_seconds": s.signing.window_seconds,
            "signing.max_batch": s.signing.max_batch,
            "signing.cache_size": s.signing.cache_size,
            "s3.upload_ttl_seconds": s.s3.upload_ttl_seconds,
            "s3.delete_ttl_seconds": s.s3.delete_ttl_seconds,
        },
    )
    if s.signing.grace_seconds < 0 or s.signing.not_before_skew_seconds < 0:
        problems.append("signing.grace_seconds and signing.not_before_skew_seconds must be >= 0")
    base = urlsplit(s.signing.cdn_base_url)
    if base.scheme not in ("http", "https") or not base.hostname or base.path not in ("", "/") or base.query:
        problems.append("signing.cdn_base_url must be scheme://host[:port] with no path")
    else:
        if base.scheme != "https" and not s.development:
            problems.append("signing.cdn_base_url must be https:// outside development")
        # A Domain browsers refuse drops every cookie silently: refuse it here instead.
        if s.cookies.domain and (problem := cookie_domain_problem(s.cookies.domain, base.hostname)):
            problems.append(problem)
    if s.cookies.same_site == "None" and not s.cookies.secure:
        problems.append("cookies.same_site = None requires cookies.secure = true")
    if not s.cookies.secure and not s.development:
        problems.append("cookies.secure = false is allowed only with environment = development")
    if s.cookies.path and not s.cookies.path.startswith("/"):
        problems.append("cookies.path must start with /")
    if not s.s3.bucket:
        problems.append("s3.bucket is required")
    if bool(s.s3.access_key_id) != bool(s.s3.secret_access_key):
        problems.append("s3.access_key_id and s3.secret_access_key go together")
    sources = [bool(s.auth.jwks_file), bool(s.auth.jwks_url), bool(s.auth.dev_secret)]
    if s.auth.dev_secret and not s.development:
        problems.append("auth.dev_secret (HS256) is allowed only with environment = development")
    if s.development and s.auth.dev_secret and len(s.auth.dev_secret) < 32:
        problems.append("auth.dev_secret must be at least 32 characters")
    if not any(sources):
        problems.append("auth needs jwks_file, jwks_url or (development) dev_secret")
    if s.auth.jwks_url and not s.auth.jwks_url.startswith("https://") and not s.development:
        problems.append("auth.jwks_url must be https:// outside development")
    bad_algs = set(s.auth.algorithms) - {"RS256", "ES256"}
    if bad_algs:
        problems.append(f"auth.algorithms may only hold RS256 and ES256, not {', '.join(sorted(bad_algs))}")
    s.keys.check(problems)
    s.credentials.check(problems)
    s.sharing.check(problems, base_dir)
    if s.demo.enabled and not (s.development and s.auth.dev_secret):
        problems.append("demo.enabled needs environment = development and auth.dev_secret")
    for origin in s.cors.origins:
        parts = urlsplit(origin)
        if origin == "*" or parts.scheme not in ("http", "https") or not parts.hostname or parts.path:
            problems.append(f"cors.origins entry {origin!r} must be an exact scheme://host[:port]")
    # Each names the value as written, the path it resolved to and what to do about it.
    missing = [
        None  # with keys.store the keyring is read from the store, not from keys_dir
        if s.keys.store
        else missing_path(
            "signing.keys_dir", s.signing.keys_dir, base_dir, "cdn-gateway keys init --keys {path}"
        ),
        missing_path("rules_file", s.rules_file, base_dir, "write the access [[rules]] there (README)"),
    ]
    if s.auth.jwks_file:
        hint = "save the identity provider's JWKS document there, or set auth.jwks_url"
        missing.append(missing_path("auth.jwks_file", s.auth.jwks_file, base_dir, hint))
    problems.extend(problem for problem in missing if problem)


def _origin_problems(s: Settings, problems: list[str]) -> None:
    """The origin secret must be unguessable and travel in a header the CDN can add."""
    server = s.server
    name = server.origin_secret_header
    if not _TOKEN.fullmatch(name):
        problems.append(f"server.origin_secret_header {name!r} is not an HTTP header name")
    elif name.lower().startswith(_RESERVED_PREFIXES) or name.lower() in _RESERVED:
        problems.append(f"server.origin_secret_header {name!r} is a header CloudFront sets or will not add")
    for setting, secret in (
        ("origin_secret", server.origin_secret),
        ("origin_secret_previous", server.origin_secret_previous),
    ):
        if secret and (len(secret) < 32 or not (secret.isascii() and secret.isprintable()) or " " in secret):
            problems.append(f"server.{setting} must be 32 or more printable ASCII characters, no spaces")
    if server.origin_secret_previous and not server.origin_secret:
        problems.append("server.origin_secret_previous needs server.origin_secret")
    if server.metrics_port and not 0 < server.metrics_port < 65536:
        problems.append("server.metrics_port must be 0 (off) or 1-65535")
    elif server.metrics_port and server.metrics_port == server.port:
        problems.append("server.metrics_port must differ from server.port")
