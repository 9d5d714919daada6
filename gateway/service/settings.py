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

from gateway.common.config import NO_SECRET, Secret, SettingsError, build, read_toml
from gateway.credentials.settings import CredentialsSettings
from gateway.keys.settings import KeysSettings
from gateway.service.validate import validate
from gateway.sharing.revocation_settings import RevocationSettings
from gateway.sharing.settings import SharingSettings

__all__ = ["CredentialsSettings", "KeysSettings", "Secret", "Settings", "SettingsError", "load_settings"]


@dataclass(frozen=True)
class ServerSettings:
    """Where the gateway listens, how long it waits for a request, and what each caller may spend.

    Every budget is kept in each process's memory: with N replicas or ``--workers N`` a caller gets
    up to N times each figure, so set each to the total you want divided by N.

    Attributes:
        host: Address to listen on (``--host`` overrides it).
        port: TCP port to listen on (``--port`` overrides it).
        max_body_bytes: Largest request body; a bigger one gets 413 before it is parsed.
        rate_limit_per_second: Requests per second per signed-in user; past the burst, 429 with
            ``Retry-After``.
        rate_limit_burst: Requests a signed-in user may make at once above that rate.
        guest_rate_limit_per_second: Requests per second per client address for callers without a
            token (an IPv6 client counts per /64).
        guest_rate_limit_burst: Requests a guest address may make at once above that rate.
        signatures_per_second: New signatures (grant-cache misses) per user, or per client address
            for guests; past the burst, 429.  Cached grants cost nothing and always answer.
        signature_burst: New signatures a caller may need at once (a gallery's batch of new paths).
        auth_failures_per_second: Failed sign-ins per client address; past the burst, a bad token
            gets 429 instead of 401 (every token is still checked, so valid users keep working).
        auth_failure_burst: Failed sign-ins allowed at once above that rate.
        trusted_proxies: Addresses or CIDRs of the load balancers in front of the gateway: only their
            ``X-Forwarded-For`` is read (right to left) for the client address.
        header_timeout_seconds: A connection must deliver a complete request head this soon after
            it opens, and an idle keep-alive connection is closed after it.
        body_timeout_seconds: The body must arrive this soon after the head; else 408 and the
            connection closes.
        origin_secret_header: The header the CDN adds to every request it sends to the gateway
            (CloudFront origin custom header) carrying ``origin_secret``.
        origin_secret: Empty: off.  Else every request must carry ``origin_secret_header`` with
            exactly this value (32 characters or more), or gets 403, except ``/healthz`` and
            ``/readyz`` (the load balancer's checks); only such requests have their client address
            read from ``CloudFront-Viewer-Address``.  Never printed.
        origin_secret_previous: A second accepted value while the secret is being replaced (set the
            new one here and in the CDN, then drop the old); empty: none.  Never printed.
        metrics_port: 0: ``/metrics`` only on ``port`` (behind ``origin_secret`` when it is set).
            Else also served alone on this port of ``host``, for a scraper inside the network; keep
            the load balancer off it.
    """

    host: str = "127.0.0.1"
    port: int = 8080
    max_body_bytes: int = 64 * 1024
    rate_limit_per_second: float = 50.0
    rate_limit_burst: int = 100
    guest_rate_limit_per_second: float = 10.0
    guest_rate_limit_burst: int = 40
    signatures_per_second: float = 20.0
    signature_burst: int = 200
    auth_failures_per_second: float = 2.0
    auth_failure_burst: int = 30
    trusted_proxies: tuple[str, ...] = ()
    header_timeout_seconds: float = 10.0
    body_timeout_seconds: float = 10.0
    origin_secret_header: str = "X-Origin-Verify"  # noqa: S105 (a header name, not a secret)
    origin_secret: Secret = NO_SECRET
    origin_secret_previous: Secret = NO_SECRET
    metrics_port: int = 0


@dataclass(frozen=True)
class SigningSettings:
    """How CloudFront grants are signed: the distribution URL, the stable window, the grant cache.

    Attributes:
        keys_dir: The keyring directory (``keyring.json`` and one ``<id>.pem`` per key).
        cdn_base_url: ``scheme://host[:port]`` of the distribution as viewers type it (its alternate
            domain name): every signed resource starts with it.  ``https://`` outside development.
        hash_algorithm: ``sha256`` (announced with ``Hash-Algorithm`` / ``CloudFront-Hash-Algorithm``)
            or ``sha1``, what CloudFront assumes when nothing is announced.
        window_seconds: The stable window: grants made inside one window are byte-identical, and
            ``refresh_after`` is its end.
        grace_seconds: How long a grant stays valid after its window ends, so that a client asking
            again at ``refresh_after`` never sees a gap.
        not_before_skew_seconds: A custom policy's ``DateGreaterThan`` is the window start minus
            this (viewers' clocks differ); 0 leaves ``DateGreaterThan`` out.
        guest_window_seconds: The longest life (window and grace together) of a grant made for a
            caller without a token.
        default_url_policy: Policy of a signed URL when the request does not choose: ``canned``
            (one exact URL, the shortest) or ``custom``.
        max_batch: Most paths in one ``POST /v1/signed-urls``; more is 413.
        cache_size: Signatures the grant cache keeps (per process); when it is full, the caller
            holding the most entries loses one.
        reload_interval_seconds: How often ``keyring.json`` is checked for a change; a rotation
            takes effect within it, without a restart.
    """

    keys_dir: Path = Path("keys")
    cdn_base_url: str = "https://cdn.example.com"
    hash_algorithm: Literal["sha1", "sha256"] = "sha256"
    window_seconds: int = 3600
    grace_seconds: int = 600
    not_before_skew_seconds: int = 60
    guest_window_seconds: int = 300
    default_url_policy: Literal["canned", "custom"] = "canned"
    max_batch: int = 100
    cache_size: int = 100_000
    reload_interval_seconds: float = 2.0


@dataclass(frozen=True)
class CookieSettings:
    """Attributes of the ``CloudFront-*`` cookies that ``POST /v1/cookies`` sets.

    Attributes:
        domain: The ``Domain`` attribute.  Empty: host-only, the narrowest scope (the app calls the
            gateway through the distribution's own host); else the parent domain the app and the
            CDN share, which every host under it then receives.
        path: A fixed ``Path`` for every grant.  Empty: each grant's own prefix (``Path=/tiles/``),
            so that grants for several prefixes coexist.
        secure: Mark the cookies ``Secure`` (sent over HTTPS only).
        http_only: Mark the cookies ``HttpOnly`` (scripts cannot read them).
        same_site: ``Lax`` (tiles and images of the same site carry them), ``Strict``, or ``None``
            (cross-site embedding; needs ``secure``).
    """

    domain: str = ""  # host-only by default: the narrowest scope (threat model case 32)
    path: str = ""
    secure: bool = True
    http_only: bool = True
    same_site: Literal["Strict", "Lax", "None"] = "Lax"


@dataclass(frozen=True)
class S3Settings:
    """The private bucket, and the presigned S3 requests made for it.

    Attributes:
        bucket: The bucket that presigned uploads and deletes and temporary credentials name.
        region: The bucket's region (SigV4 signs it).
        endpoint_url: Empty: AWS S3 (virtual-hosted URLs); else an S3-compatible server's URL.
        addressing_style: With ``endpoint_url``: ``path`` (``endpoint/bucket/key``, what most
            S3-compatible servers expect) or ``virtual`` (``bucket.endpoint-host/key``).
        access_key_id: Empty: the default AWS credential chain (instance or task role,
            environment); else a fixed key, with ``secret_access_key``.
        secret_access_key: The fixed key's secret; never printed.
        upload_ttl_seconds: Lifetime of a presigned upload (PUT URL or POST form).
        delete_ttl_seconds: Lifetime of a presigned DELETE.
    """

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
    """Bearer tokens (JWT): where the identity provider's keys are, and what a token must hold.

    Attributes:
        jwks_file: A JWKS file with the identity provider's public keys; or ``jwks_url``.
        jwks_url: The identity provider's JWKS URL (``https://`` outside development).
        jwks_cache_seconds: How long a fetched JWKS is used before it is fetched again; a token
            naming an unknown ``kid`` refetches it at once (at most every 30 s).
        issuer: The ``iss`` every token must carry; empty: not checked.
        audience: The ``aud`` every token must carry; empty: not checked.
        algorithms: Token algorithms accepted, ``RS256`` and ``ES256`` (never taken from a token).
        leeway_seconds: Clock skew allowed when checking ``exp`` and ``nbf``.
        dev_secret: An HS256 secret (32 characters or more) for development tokens
            (``cdn-gateway dev-token``); refused outside development; never printed.
        groups_claim: The token claim that lists the caller's groups, which ``{group}`` rules expand
            to (for example ``cognito:groups``).
        operator_groups: Callers in any of these groups are operators: they may revoke another
            user's grants (``POST /v1/revocations``).  Empty: nobody may.
    """

    jwks_file: str = ""
    jwks_url: str = ""
    jwks_cache_seconds: int = 300
    issuer: str = ""
    audience: str = ""
    algorithms: tuple[str, ...] = ("RS256", "ES256")
    leeway_seconds: int = 30
    dev_secret: Secret = NO_SECRET
    groups_claim: str = "groups"
    operator_groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class CorsSettings:
    """Browser origins allowed to call ``/v1/*`` across origins.

    Attributes:
        origins: Exact ``scheme://host[:port]`` origins, allowed with credentials; never ``*``.
            Empty: no CORS (the app calls the gateway through the distribution's own host).
    """

    origins: tuple[str, ...] = ()


@dataclass(frozen=True)
class DemoSettings:
    """The demo pages that ``make run`` serves (development only).

    Attributes:
        enabled: Serve ``/demo/`` and its sign-in endpoint; needs ``environment = "development"``
            and ``auth.dev_secret``.
        vendor_dir: Where ``npm ci`` put Leaflet.
    """

    enabled: bool = False
    vendor_dir: Path = Path("node_modules")


@dataclass(frozen=True)
class Settings:
    """``gateway.toml``: everything ``cdn-gateway serve`` reads, checked as a whole at start-up.

    Attributes:
        environment: ``production``, or ``development``, which also allows an HS256
            ``auth.dev_secret``, ``http://`` CDN and JWKS URLs, and the demo pages.
        rules_file: The access rules (see "Rules file").
    """

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
    sharing: SharingSettings = field(default_factory=SharingSettings)
    revocation: RevocationSettings = field(default_factory=RevocationSettings)

    @property
    def development(self) -> bool:
        return self.environment == "development"


def _resolve(s: Settings, base_dir: Path) -> Settings:
    """Make file paths absolute against the settings file's directory."""
    auth = dataclasses.replace(s.auth, jwks_file=str(base_dir / s.auth.jwks_file) if s.auth.jwks_file else "")
    signing = dataclasses.replace(s.signing, keys_dir=base_dir / s.signing.keys_dir)
    demo = dataclasses.replace(s.demo, vendor_dir=base_dir / s.demo.vendor_dir)
    sharing = dataclasses.replace(s.sharing, sqlite_file=base_dir / s.sharing.sqlite_file)
    s = dataclasses.replace(s, sharing=sharing)
    return dataclasses.replace(s, rules_file=base_dir / s.rules_file, signing=signing, auth=auth, demo=demo)


def load_settings(path: Path | None, env: Mapping[str, str] | None = None) -> Settings:
    """Read ``path`` (optional) and the environment; raise :class:`SettingsError` with every problem."""
    env = os.environ if env is None else env
    raw = read_toml(path) if path is not None else {}
    problems: list[str] = []
    settings = build(Settings, raw, env, "GATEWAY_", problems)
    base_dir = path.parent if path is not None else Path.cwd()
    validate(settings, base_dir, problems)
    if problems:
        raise SettingsError(problems)
    return _resolve(settings, base_dir)
