"""One typed settings object: TOML file, then ``GATEWAY_<SECTION>_<NAME>`` environment overrides.

Loaded once at start-up and validated as a whole: every problem is reported together, and a
setting that could widen access (no keys, wildcard CORS with credentials, HS256 outside
development) stops start-up instead of falling back to something open.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from gateway.common.config import NO_SECRET, Secret, SettingsError, build, positive, read_toml
from gateway.credentials.settings import CredentialsSettings
from gateway.keys.settings import KeysSettings

__all__ = ["CredentialsSettings", "KeysSettings", "Secret", "Settings", "SettingsError", "load_settings"]


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    max_body_bytes: int = 64 * 1024
    # Every budget below is kept in each process's memory: with N replicas or `--workers N`, a
    # caller gets up to N times each figure.  Size them per process (budget / N).
    # Requests per second per principal (client IP for anonymous callers), and the burst above it.
    rate_limit_per_second: float = 50.0
    rate_limit_burst: int = 100
    # Anonymous callers (guests) are limited per client IP, more tightly.
    guest_rate_limit_per_second: float = 10.0
    guest_rate_limit_burst: int = 40
    # New CloudFront signatures (grant-cache misses) per principal (guests: per client IP): the
    # work a request costs, where a batch of never-seen paths is ~100 signatures.  Cached grants
    # cost nothing.  The burst lets a gallery's full batch through at once.
    signatures_per_second: float = 20.0
    signature_burst: int = 200
    # Failed authentications per client IP; past them an unknown token gets 429 unverified.
    auth_failures_per_second: float = 2.0
    auth_failure_burst: int = 30
    trusted_proxies: tuple[str, ...] = ()
    # A connection must deliver a complete request head this soon after it opens, and an idle
    # keep-alive connection is closed after it: slow and idle sockets cannot pile up (case 52).
    header_timeout_seconds: float = 10.0
    # The body must follow the head within this (408 otherwise): a stalled or trickling body
    # cannot hold a connection (the head alone is bounded by header_timeout_seconds).
    body_timeout_seconds: float = 10.0


@dataclass(frozen=True)
class SigningSettings:
    keys_dir: Path = Path("keys")
    cdn_base_url: str = "https://cdn.example.com"
    hash_algorithm: Literal["sha1", "sha256"] = "sha256"
    window_seconds: int = 3600
    grace_seconds: int = 600
    # DateGreaterThan is back-dated this far before the window start (0 leaves it out).
    not_before_skew_seconds: int = 60
    guest_window_seconds: int = 300  # guests get shorter grants than signed-in users
    default_url_policy: Literal["canned", "custom"] = "canned"
    max_batch: int = 100
    cache_size: int = 100_000
    reload_interval_seconds: float = 2.0


@dataclass(frozen=True)
class CookieSettings:
    domain: str = ""  # host-only by default: the narrowest scope (security case 32)
    path: str = ""  # empty: each grant's own prefix, e.g. Path=/tiles/
    secure: bool = True
    http_only: bool = True
    same_site: Literal["Strict", "Lax", "None"] = "Lax"


@dataclass(frozen=True)
class S3Settings:
    bucket: str = "media"
    region: str = "us-east-1"
    endpoint_url: str = ""
    addressing_style: Literal["path", "virtual"] = "path"
    access_key_id: Secret = NO_SECRET
    secret_access_key: Secret = NO_SECRET
    upload_ttl_seconds: int = 900
    delete_ttl_seconds: int = 300


@dataclass(frozen=True)
class AuthSettings:
    jwks_file: str = ""
    jwks_url: str = ""
    jwks_cache_seconds: int = 300
    issuer: str = ""
    audience: str = ""
    algorithms: tuple[str, ...] = ("RS256", "ES256")
    leeway_seconds: int = 30
    dev_secret: Secret = NO_SECRET  # HS256, development only
    groups_claim: str = "groups"


@dataclass(frozen=True)
class CorsSettings:
    origins: tuple[str, ...] = ()


@dataclass(frozen=True)
class DemoSettings:
    enabled: bool = False  # the demo pages and their sign-in endpoint: development only
    vendor_dir: Path = Path("node_modules")  # where `npm ci` put Leaflet


@dataclass(frozen=True)
class Settings:
    environment: Literal["production", "development"] = "production"
    rules_file: Path = Path("rules.toml")
    server: ServerSettings = field(default_factory=ServerSettings)
    signing: SigningSettings = field(default_factory=SigningSettings)
    cookies: CookieSettings = field(default_factory=CookieSettings)
    s3: S3Settings = field(default_factory=S3Settings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    cors: CorsSettings = field(default_factory=CorsSettings)
    demo: DemoSettings = field(default_factory=DemoSettings)
    keys: KeysSettings = field(default_factory=KeysSettings)
    credentials: CredentialsSettings = field(default_factory=CredentialsSettings)

    @property
    def development(self) -> bool:
        return self.environment == "development"


def _validate(s: Settings, base_dir: Path, problems: list[str]) -> None:
    if not 0 < s.server.port < 65536:
        problems.append("server.port must be 1-65535")
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
    elif base.scheme != "https" and not s.development:
        problems.append("signing.cdn_base_url must be https:// outside development")
    if s.cookies.same_site == "None" and not s.cookies.secure:
        problems.append("cookies.same_site = None requires cookies.secure = true")
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
    if s.demo.enabled and not (s.development and s.auth.dev_secret):
        problems.append("demo.enabled needs environment = development and auth.dev_secret")
    for origin in s.cors.origins:
        parts = urlsplit(origin)
        if origin == "*" or parts.scheme not in ("http", "https") or not parts.hostname or parts.path:
            problems.append(f"cors.origins entry {origin!r} must be an exact scheme://host[:port]")
    for label, path in (("signing.keys_dir", s.signing.keys_dir), ("rules_file", s.rules_file)):
        if not (base_dir / path).exists():
            problems.append(f"{label} {path} does not exist")
    if s.auth.jwks_file and not (base_dir / s.auth.jwks_file).exists():
        problems.append(f"auth.jwks_file {s.auth.jwks_file} does not exist")


def _resolve(s: Settings, base_dir: Path) -> Settings:
    """Make file paths absolute against the settings file's directory."""
    auth = dataclasses.replace(s.auth, jwks_file=str(base_dir / s.auth.jwks_file) if s.auth.jwks_file else "")
    signing = dataclasses.replace(s.signing, keys_dir=base_dir / s.signing.keys_dir)
    demo = dataclasses.replace(s.demo, vendor_dir=base_dir / s.demo.vendor_dir)
    return dataclasses.replace(s, rules_file=base_dir / s.rules_file, signing=signing, auth=auth, demo=demo)


def load_settings(path: Path | None, env: Mapping[str, str] | None = None) -> Settings:
    """Read ``path`` (optional) and the environment; raise :class:`SettingsError` with every problem."""
    env = os.environ if env is None else env
    raw = read_toml(path) if path is not None else {}
    problems: list[str] = []
    settings = build(Settings, raw, env, "GATEWAY_", problems)
    base_dir = path.parent if path is not None else Path.cwd()
    _validate(settings, base_dir, problems)
    if problems:
        raise SettingsError(problems)
    return _resolve(settings, base_dir)
