"""Edge settings: TOML with ``EDGE_<SECTION>_<NAME>`` overrides, and the cache behaviours.

``distribution.urls`` are the ``scheme://host[:port]`` the viewers use, as a CloudFront
distribution's domain names: a request is served only when its Host names one of them, and every
signature is checked against that URL, never against whatever Host a viewer sends.
Behaviours are matched in order by path pattern, like a CloudFront distribution's; the last
one should be ``*`` (the default behaviour).  Each is signed (trusted keys from the keyring) or
public, and served from the private bucket (``origin = "s3"``) or proxied to a custom origin URL.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from gateway.common.config import NO_SECRET, Secret, SettingsError, build, positive, read_toml
from gateway.edge.revocation import EdgeRevocation as EdgeRevocation
from gateway.edge.viewer import distribution_origin
from gateway.keys.settings import parse_store_url


@dataclass(frozen=True)
class Behavior:
    """One cache behaviour; the first whose path pattern matches a request decides how it is served.

    Attributes:
        path_pattern: Required: a ``*``/``?`` glob matched against the decoded, normalised path (a
            leading ``/`` is optional, as in CloudFront); the last behaviour must be ``*``.
        signed: Require a valid CloudFront signature, checked against the keyring's published
            keys; ``false``: public.
        origin: ``s3`` (the private bucket, cached) or a custom origin's base URL
            (``http(s)://host[:port]``), proxied uncached with the viewer's headers and body.
        forward_query: Send the viewer's query string (without the signing parameters) to the
            bucket and key the cache on it; CloudFront forwards none unless told to.
        cache: Keep the bucket's answers in the edge's cache.
    """

    path_pattern: str
    signed: bool = True
    origin: str = "s3"  # "s3" or a custom origin base URL such as http://127.0.0.1:8080
    forward_query: bool = False  # CloudFront forwards no viewer query string unless told to
    cache: bool = True


@dataclass(frozen=True)
class EdgeServer:
    """Where the edge listens, which peers it believes, and how long it waits for viewers.

    Attributes:
        host: Address to listen on (``--host`` overrides it).
        port: TCP port to listen on (``--port`` overrides it).
        trusted_proxies: Addresses or CIDRs of the proxies in front of the edge: only their
            ``X-Forwarded-For`` (the viewer address ``IpAddress`` policies see) and
            ``X-Forwarded-Proto`` (the viewer's scheme) are believed.
        header_timeout_seconds: A complete request head must arrive this soon, and an idle
            keep-alive connection is closed after it.
        viewer_timeout_seconds: A viewer that accepts no bytes for this long is cut off and its
            origin connection released.
        certfile: Serve HTTPS itself: the PEM certificate chain, with ``keyfile``
            (``--certfile`` overrides it).
        keyfile: The certificate's PEM private key (``--keyfile`` overrides it).
    """

    host: str = "127.0.0.1"
    port: int = 8081
    # Peers (addresses or CIDRs) whose X-Forwarded-For and X-Forwarded-Proto are believed.
    trusted_proxies: tuple[str, ...] = ()
    header_timeout_seconds: float = 10.0  # slow or idle connections are closed (security case 52)
    # A viewer that accepts no bytes for this long is cut off, and its origin connection released.
    viewer_timeout_seconds: float = 10.0
    certfile: str = ""  # serve HTTPS itself (PEM certificate chain and key)
    keyfile: str = ""


@dataclass(frozen=True)
class EdgeOrigin:
    """The private bucket, read with SigV4 as CloudFront's origin access control reads it.

    Attributes:
        endpoint_url: The S3 (or S3-compatible) endpoint, addressed path-style.
        bucket: The bucket objects are served from.
        region: The bucket's region (SigV4 signs it).
        access_key_id: Required: the key origin requests are signed with.
        secret_access_key: Required: its secret; never printed.
        connect_timeout_seconds: Bound on opening a connection to the bucket.
        read_timeout_seconds: Longest silence while reading an answer from the bucket; past it,
            504 (or the cached copy), or a cut transfer once the answer has started.
        max_connections: Connections to each origin host at most (the origin pool).
        queue_timeout_seconds: How long a cache miss may wait for a pooled connection.
    """

    endpoint_url: str = "http://127.0.0.1:9000"
    bucket: str = "demo"
    region: str = "us-east-1"
    access_key_id: Secret = NO_SECRET
    secret_access_key: Secret = NO_SECRET
    connect_timeout_seconds: float = 2.0
    read_timeout_seconds: float = 10.0
    max_connections: int = 100  # the origin connection pool
    # How long a cache miss may wait for a free pooled connection: longer than the viewer timeout,
    # so that viewers who stall are cut off before anyone queued behind them gives up.
    queue_timeout_seconds: float = 15.0


@dataclass(frozen=True)
class EdgeCache:
    """The in-memory object cache (only complete 200 answers to GET from the bucket).

    Attributes:
        max_bytes: Total size of the cached bodies.
        max_object_bytes: Largest object cached; larger ones stream through uncached.
        default_ttl_seconds: How long an object stays fresh when the bucket sends no ``max-age``
            or ``s-maxage``; ``no-store``, ``no-cache`` and ``private`` answers are never cached.
            A stale object is kept a day longer to answer while the bucket fails.
    """

    max_bytes: int = 64 * 1024 * 1024
    max_object_bytes: int = 2 * 1024 * 1024  # larger objects stream through uncached
    default_ttl_seconds: int = 86400  # CloudFront's default TTL


@dataclass(frozen=True)
class EdgeDistribution:
    """The distribution's domain names: which requests this edge serves at all.

    Attributes:
        urls: Required: each ``scheme://host[:port]`` viewers use, alternate names too.  A request
            whose Host names none gets 403; every signature is checked against the one it names.
    """

    urls: tuple[str, ...] = ()  # required: e.g. ("https://cdn.example.com",)


DEBUG_IN_PRODUCTION = 'debug.explain tells viewers why they are refused: it needs environment = "development"'


@dataclass(frozen=True)
class EdgeDebug:
    """Development aids; refused at start-up unless ``environment = "development"``.

    Attributes:
        explain: A 403 answer carries ``X-Edge-Explain``, one line saying which check refused the
            request and why (the access-log line gets it as ``explain``), as ``cdn-gateway
            explain`` would tell it.  It names keys, times and policy details: never in production.
    """

    explain: bool = False


@dataclass(frozen=True)
class EdgeSettings:
    """``edge.toml``: everything ``cdn-gateway edge`` reads, checked as a whole at start-up.

    Attributes:
        keys_dir: The keyring directory; the edge reads only public keys and trusts every
            published key that is not retired.
        keys_store: Empty: the keyring is ``keys_dir``.  ``s3://bucket/prefix/``: read
            ``keyring.json`` there instead (the gateways' ``keys.store``), through the origin's
            endpoint and credentials, which need ``s3:GetObject`` on that one object only.
        reload_interval_seconds: How often ``keyring.json`` is checked for a change.
    """

    keys_dir: Path = Path("keys")
    keys_store: str = ""
    reload_interval_seconds: float = 2.0
    distribution: EdgeDistribution = field(default_factory=EdgeDistribution)
    server: EdgeServer = field(default_factory=EdgeServer)
    origin: EdgeOrigin = field(default_factory=EdgeOrigin)
    cache: EdgeCache = field(default_factory=EdgeCache)
    behaviors: tuple[Behavior, ...] = (Behavior("*"),)
    environment: Literal["production", "development"] = field(
        default="production",
        metadata={"doc": "``production`` or ``development``; only development allows ``[debug]`` aids."},
    )
    debug: EdgeDebug = field(default_factory=EdgeDebug)
    revocation: EdgeRevocation = field(default_factory=EdgeRevocation)

    @property
    def development(self) -> bool:
        return self.environment == "development"


def _behaviors(raw: Any, problems: list[str]) -> tuple[Behavior, ...]:
    if raw is None:
        return EdgeSettings.behaviors
    if not isinstance(raw, list) or not raw:
        problems.append("[[behaviors]] must be a non-empty list of tables")
        return ()
    out = []
    for index, table in enumerate(raw):
        if not isinstance(table, dict):
            problems.append(f"behaviors[{index}] must be a table")
            continue
        behavior = build(Behavior, table, {}, "", problems, f"behaviors[{index}].")
        origin = urlsplit(behavior.origin)
        if behavior.origin != "s3" and (origin.scheme not in ("http", "https") or not origin.hostname):
            problems.append(f"behaviors[{index}].origin must be 's3' or an http(s) URL")
        if not behavior.path_pattern:
            problems.append(f"behaviors[{index}].path_pattern is required")
        out.append(behavior)
    if out and out[-1].path_pattern != "*":
        problems.append("the last behavior must be the default, path_pattern = '*'")
    return tuple(out)


def _check_distribution(urls: tuple[str, ...], problems: list[str]) -> None:
    if not urls:
        problems.append(
            "distribution.urls is required: the scheme://host[:port] viewers use "
            "(the URL every signature is checked against)"
        )
    for url in urls:
        try:
            distribution_origin(url)
        except ValueError as exc:
            problems.append(f"distribution.urls entry {url!r}: {exc}")


def load_edge_settings(path: Path | None, env: Mapping[str, str] | None = None) -> EdgeSettings:
    env = os.environ if env is None else env
    raw = read_toml(path) if path is not None else {}
    problems: list[str] = []
    settings = build(EdgeSettings, raw, env, "EDGE_", problems, skip=("behaviors",))
    settings = dataclasses.replace(settings, behaviors=_behaviors(raw.get("behaviors"), problems))
    positive(
        problems,
        **{
            "cache.max_bytes": settings.cache.max_bytes,
            "cache.max_object_bytes": settings.cache.max_object_bytes,
            "origin.read_timeout_seconds": settings.origin.read_timeout_seconds,
            "origin.connect_timeout_seconds": settings.origin.connect_timeout_seconds,
            "origin.max_connections": settings.origin.max_connections,
            "origin.queue_timeout_seconds": settings.origin.queue_timeout_seconds,
            "server.viewer_timeout_seconds": settings.server.viewer_timeout_seconds,
            "revocation.poll_seconds": settings.revocation.poll_seconds,
            "revocation.max_stale_seconds": settings.revocation.max_stale_seconds,
        },
    )
    _check_distribution(settings.distribution.urls, problems)
    if settings.debug.explain and not settings.development:
        problems.append(DEBUG_IN_PRODUCTION)
    for entry in settings.server.trusted_proxies:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            problems.append(f"server.trusted_proxies entry {entry!r} is not an IP address or CIDR")
    if bool(settings.server.certfile) != bool(settings.server.keyfile):
        problems.append("server.certfile and server.keyfile go together")
    if not settings.origin.access_key_id or not settings.origin.secret_access_key:
        problems.append(
            "origin.access_key_id and origin.secret_access_key are required (origin access control)"
        )
    base = path.parent if path is not None else Path.cwd()
    keys_dir = base / settings.keys_dir
    if settings.keys_store:
        try:
            parse_store_url(settings.keys_store)
        except ValueError as exc:
            problems.append(f"keys_store {exc}")
    elif not keys_dir.is_dir():
        problems.append(f"keys_dir {settings.keys_dir} does not exist")
    tls = {
        name: str(base / value)
        for name in ("certfile", "keyfile")
        if (value := getattr(settings.server, name))
    }
    for name, file in tls.items():
        if not Path(file).is_file():
            problems.append(f"server.{name} {file} does not exist")
    store = settings.revocation.store
    if "://" in store and not store.startswith(("postgresql://", "postgres://")):
        problems.append("revocation.store must be the share store's SQLite file or a postgresql:// DSN")
    if problems:
        raise SettingsError(problems)
    server = dataclasses.replace(settings.server, **tls)
    revocation = settings.revocation
    if revocation.store and "://" not in revocation.store:  # a SQLite file, beside the settings
        revocation = dataclasses.replace(revocation, store=Secret(base / revocation.store))
    result: EdgeSettings = dataclasses.replace(
        settings, keys_dir=keys_dir, server=server, revocation=revocation
    )
    return result
