"""The application factory: ``create_app(settings)`` wires state, routes and resources."""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import aiohttp
import aiohttp_cors
from aiohttp import web
from aiohttp.typedefs import Middleware

from gateway.common.netutil import TrustedProxies
from gateway.credentials.vendor import CredentialVendor
from gateway.keys.heartbeat import Heartbeat
from gateway.keys.keyring import Keyring
from gateway.keys.s3store import S3KeyringStore, store_client
from gateway.keys.store import KeyringSource
from gateway.keys.watch import KeyringHolder
from gateway.rules.load import load_rules
from gateway.service import appkeys
from gateway.service.auth import Authenticator
from gateway.service.grants import Granter
from gateway.service.handlers import cookies, credentials, meta, revocations, shares, uploads, urls
from gateway.service.metrics import Metrics
from gateway.service.middlewares import Handler, errors_and_metrics, origin_guard
from gateway.service.ratelimit import RateLimiter
from gateway.service.s3client import S3Access
from gateway.service.s3grants import S3Grants
from gateway.service.settings import Settings
from gateway.sharing.store import open_store
from gateway.signing.s3 import S3Location

if TYPE_CHECKING:
    from gateway.sharing.revocation import Revocations

log = logging.getLogger(__name__)
HEARTBEAT = web.AppKey("heartbeat", Heartbeat)
# aiohttp_cors refuses a preflight with a sentence in the 403's text; the reason, in a few words.
_PREFLIGHT_REASONS = (
    ("origin header is not", "no Origin"),
    ("'Access-Control-Request-Method' header", "no Access-Control-Request-Method"),
    ("request method", "method not allowed"),
    ("origin '", "origin not allowed"),
    ("no origins are allowed", "origin not allowed"),
    ("headers are not allowed", "header not allowed"),
)


def _routes(app: web.Application) -> None:
    r = app.router
    r.add_post("/v1/cookies", cookies.issue_cookies)
    r.add_delete("/v1/cookies", cookies.clear_cookies)
    r.add_post("/v1/signed-urls", urls.batch)
    r.add_get("/v1/signed-url", urls.single, allow_head=False)
    r.add_get("/v1/r/{path:.+}", urls.redirect, allow_head=False)
    r.add_post("/v1/uploads", uploads.upload)
    r.add_post("/v1/deletes", uploads.delete)
    r.add_post("/v1/credentials", credentials.vend)
    r.add_post("/v1/revocations", revocations.revoke)
    r.add_post("/v1/shares", shares.create)
    r.add_get("/v1/shares", shares.listing, allow_head=False)
    r.add_delete("/v1/shares/{id}", shares.delete)
    r.add_get("/v1/keys", meta.keys, allow_head=False)
    r.add_get("/healthz", meta.healthz)
    r.add_get("/readyz", meta.readyz)
    r.add_get("/metrics", meta.metrics, allow_head=False)
    r.add_get("/openapi.json", meta.openapi, allow_head=False)


@web.middleware
async def _log_refused_preflight(request: web.Request, handler: Handler) -> web.StreamResponse:
    """One line per refused CORS preflight: the origin and why, so that a misconfigured app is
    found from the gateway's log.  A preflight carries no credentials; no other header is logged."""
    try:
        return await handler(request)
    except web.HTTPForbidden as exc:
        if request.method == "OPTIONS" and (exc.text or "").startswith("CORS preflight request failed"):
            text = exc.text or ""
            reason = next((short for needle, short in _PREFLIGHT_REASONS if needle in text), "refused")
            asked = request.headers.get("Access-Control-Request-Method", "")
            if reason == "method not allowed":
                reason += f" ({asked[:20]!r} on {request.path[:100]!r})"
            elif reason == "header not allowed":
                reason += f" ({text.rpartition(':')[2].strip()[:200].lower()!r})"
            origin = request.headers.get("Origin", "")[:200]
            log.info("CORS preflight refused: origin %r, %s", origin, reason)
        raise


def _cors(app: web.Application, settings: Settings) -> None:
    """Only configured origins, each exact; credentials are never paired with a wildcard."""
    if not settings.cors.origins:
        return
    app.middlewares.append(_log_refused_preflight)
    options = aiohttp_cors.ResourceOptions(  # type: ignore[no-untyped-call]
        allow_credentials=True,
        expose_headers=("X-Request-Id",),
        allow_headers=("Authorization", "Content-Type"),
        max_age=600,
    )
    cors = aiohttp_cors.setup(app, defaults=dict.fromkeys(settings.cors.origins, options))
    for route in list(app.router.routes()):
        if route.resource is not None and route.resource.canonical.startswith("/v1/"):
            cors.add(route)


def _keyring_source(settings: Settings) -> tuple[KeyringSource, S3KeyringStore | None]:
    """The directory ``signing.keys_dir``, or the store every replica polls (``keys.store``)."""
    if not settings.keys.store:
        from gateway.keys.store import DirectoryStore

        return DirectoryStore(settings.signing.keys_dir), None
    s3 = settings.s3
    client = store_client(
        s3.region, s3.endpoint_url, s3.addressing_style, s3.access_key_id, s3.secret_access_key
    )
    store = S3KeyringStore(client, settings.keys.store)
    return store, store


async def _resources(app: web.Application) -> AsyncIterator[None]:
    settings = app[appkeys.SETTINGS]
    interval = settings.signing.reload_interval_seconds
    async with aiohttp.ClientSession() as http:
        await app[appkeys.AUTH].startup(http)
        async with contextlib.AsyncExitStack() as running:
            await running.enter_async_context(app[appkeys.KEYRING].watching(interval))
            if (heartbeat := app.get(HEARTBEAT)) is not None:  # replicas report the key they sign with
                await running.enter_async_context(heartbeat.running(interval))
            if (store := app.get(appkeys.SHARES)) is not None:
                await store.start()  # migrations; a store that is down is retried on use
                running.push_async_callback(store.close)
            if (revoking := app.get(revocations.REVOCATIONS)) is not None:
                _watch_revocations(app[appkeys.METRICS], revoking)
                await running.enter_async_context(revoking.running())
            yield


def _watch_revocations(metrics: Metrics, revoking: Revocations) -> None:
    """A KeyValueStore that cannot be written (full, refused) is counted and alarmed on, never silent."""
    revoking.on_sync_failure = metrics.revocation_kvs_sync_failures.inc
    metrics.revocation_list_entries.set_function(lambda: float(len(revoking.watcher)))
    mirror = revoking.kvs
    if mirror is not None:
        metrics.revocation_kvs_entries.set_function(lambda: float(mirror.entries))


async def _metrics_listener(app: web.Application) -> AsyncIterator[None]:
    """``/metrics`` alone on ``server.metrics_port``, for a scraper inside the network: the public
    port refuses it without the origin secret, which a scraper does not have."""
    server = app[appkeys.SETTINGS].server
    alone = web.Application()
    alone[appkeys.METRICS] = app[appkeys.METRICS]
    alone.router.add_get("/metrics", meta.metrics, allow_head=False)
    runner = web.AppRunner(alone, access_log=None)
    await runner.setup()
    # Each `--workers` process binds the port too, as it does the main one.
    reuse = hasattr(socket, "SO_REUSEPORT")
    await web.TCPSite(runner, server.host, server.metrics_port, reuse_port=reuse).start()
    try:
        yield
    finally:
        await runner.cleanup()


def _active_age(holder: KeyringHolder) -> float:
    active = holder.current.active
    return max(0.0, time.time() - (active.activated if active.activated is not None else active.created))


def _middlewares(settings: Settings) -> list[Middleware]:
    server = settings.server
    secrets = tuple(s for s in (server.origin_secret, server.origin_secret_previous) if s)
    guard = [origin_guard(server.origin_secret_header, secrets)] if secrets else []
    return [errors_and_metrics, *guard]


def create_app(settings: Settings, *, s3: S3Access | None = None) -> web.Application:
    """Build the gateway.  Keyring and rules load here, so a bad file fails before serving."""
    app = web.Application(middlewares=_middlewares(settings), client_max_size=settings.server.max_body_bytes)
    metrics = Metrics()
    app[appkeys.SETTINGS] = settings
    app[appkeys.METRICS] = metrics
    app[appkeys.RULES] = load_rules(settings.rules_file)

    def on_change(keyring: Keyring) -> None:
        metrics.keyring_reloads.inc()

    source, store = _keyring_source(settings)
    holder = KeyringHolder(source, on_change=on_change)
    holder.current.require_signer()
    app[appkeys.KEYRING] = holder
    metrics.keyring_stale.set_function(lambda: float(holder.error is not None))
    metrics.active_key_age.set_function(lambda: _active_age(holder))
    if store is not None:
        app[HEARTBEAT] = Heartbeat(store, holder, settings.keys.heartbeat_seconds)
    app[appkeys.GRANTER] = Granter(settings.signing, lambda: holder.current, metrics)
    server = settings.server  # each limiter is this process's alone (see ratelimit.py)
    app[appkeys.LIMITER] = RateLimiter(server.rate_limit_per_second, server.rate_limit_burst)
    app[appkeys.GUEST_LIMITER] = RateLimiter(
        server.guest_rate_limit_per_second, server.guest_rate_limit_burst
    )
    app[appkeys.SIGNATURES] = RateLimiter(server.signatures_per_second, server.signature_burst)
    app[appkeys.AUTH_FAILURES] = RateLimiter(server.auth_failures_per_second, server.auth_failure_burst)
    app[appkeys.READINESS] = appkeys.Readiness()
    app[appkeys.TRUSTED_PROXIES] = TrustedProxies(settings.server.trusted_proxies)
    app[appkeys.AUTH] = Authenticator(settings.auth, settings.development)
    if s3 is None:
        location = S3Location(
            settings.s3.region, settings.s3.endpoint_url or None, settings.s3.addressing_style
        )
        s3 = S3Access(location, settings.s3.access_key_id or None, settings.s3.secret_access_key or None)
    app[appkeys.S3_GRANTS] = S3Grants(s3, settings.s3, metrics)
    if settings.credentials.mode != "off":
        app[appkeys.VENDOR] = CredentialVendor(
            settings.credentials,
            settings.s3.bucket,
            settings.s3.access_key_id or None,
            settings.s3.secret_access_key or None,
        )
    if settings.sharing.enabled:
        app[appkeys.SHARES] = open_store(settings.sharing)
    if settings.revocation.enabled:  # its tags and list live in the share store, which edges read
        from gateway.sharing.revocation import Revocations, kvs_mirror
        from gateway.sharing.revocation_kvs import kvs_client

        longest = settings.signing.window_seconds + settings.signing.grace_seconds
        mirror = kvs_mirror(settings.revocation, kvs_client)
        shared = app.get(appkeys.SHARES)
        tags = shared or open_store(settings.sharing)
        app[revocations.REVOCATIONS] = Revocations(
            settings.revocation, tags, longest, mirror, owns_store=shared is None
        )
    app.cleanup_ctx.append(_resources)
    if settings.server.metrics_port:
        app.cleanup_ctx.append(_metrics_listener)
    _routes(app)
    if settings.demo.enabled:
        from gateway.service.demo import add_demo_routes

        add_demo_routes(app, settings.demo.vendor_dir)
    _cors(app, settings)
    return app
