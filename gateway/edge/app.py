"""``create_edge_app(settings)``: distribution -> behaviour -> verification -> cache -> origin.

The order is CloudFront's: the Host selects a configured distribution URL, the normalised path
selects a behaviour, and a signed behaviour verifies against that distribution URL and the raw
path *before* anything is looked up, so a cached object is never served to a request that does not
carry a valid signature for it (security case 39).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web
from aiohttp.typedefs import Handler

from gateway.common.config import SettingsError
from gateway.common.httplog import REQUEST_ID, new_request_id
from gateway.common.netutil import TrustedProxies, viewer_ip
from gateway.common.revocation import RevocationWatcher
from gateway.edge.accesslog import EXPLAIN, REQUEST_ID_HEADER
from gateway.edge.cache import ObjectCache
from gateway.edge.objects import ObjectServer
from gateway.edge.origin import S3Origin
from gateway.edge.proxy import proxy
from gateway.edge.responses import denied, refused
from gateway.edge.revocation import judge
from gateway.edge.settings import DEBUG_IN_PRODUCTION, Behavior, EdgeSettings
from gateway.edge.viewer import (
    Refusal,
    ViewerTarget,
    distribution_origin,
    object_key,
    origin_query,
    read_target,
    viewer_scheme,
)
from gateway.keys.s3store import S3KeyringStore, store_client
from gateway.keys.watch import KeyringHolder
from gateway.signing.describe import printable
from gateway.signing.explain import keyring_notes, tell
from gateway.signing.trace import Trace
from gateway.signing.verify import ErrorCode, ViewerRequest, verify_request
from gateway.signing.wildcard import glob_match


@dataclass(frozen=True)
class Resources:
    """What exists only while the app runs (one client session, its pool, the origin)."""

    session: aiohttp.ClientSession
    objects: ObjectServer
    proxy_timeout: aiohttp.ClientTimeout


@dataclass(frozen=True)
class Distribution:
    served: frozenset[tuple[str, str]]  # (scheme, canonical authority)
    trusted: TrustedProxies
    tls: bool  # this edge terminates TLS itself: every viewer came over https


# The methods a CloudFront cache behaviour can allow at all; anything else never reaches an origin.
CLOUDFRONT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"})
EDGE_SETTINGS = web.AppKey("edge_settings", EdgeSettings)
KEYS = web.AppKey("edge_keys", KeyringHolder)
CACHE = web.AppKey("edge_cache", ObjectCache)
DISTRIBUTION = web.AppKey("edge_distribution", Distribution)
RESOURCES = web.AppKey("edge_resources", Resources)
REVOCATIONS = web.AppKey("edge_revocations", RevocationWatcher)
EXPLAIN_HEADER = "X-Edge-Explain"


class Behaviors:
    """A distribution's cache behaviours in order; the first whose path pattern matches wins.

    Patterns are ``*``/``?`` globs with an implicit leading ``/`` (CloudFront treats ``images/*``
    and ``/images/*`` alike).  The usual ``/prefix/*`` and ``*`` are matched as a prefix test;
    any other pattern by the linear-time glob matcher.
    """

    def __init__(self, behaviors: tuple[Behavior, ...]) -> None:
        self._matchers = tuple((self._matcher(b.path_pattern), b) for b in behaviors)
        self._default = behaviors[-1]

    @staticmethod
    def _matcher(pattern: str) -> Callable[[str], bool]:
        pattern = pattern if pattern.startswith(("/", "*")) else "/" + pattern
        head = pattern[:-1]
        if pattern.endswith("*") and "*" not in head and "?" not in head:
            return lambda path: path.startswith(head)
        return lambda path: glob_match(pattern, path)

    def match(self, path: str) -> Behavior:
        for matches, behavior in self._matchers:
            if matches(path):
                return behavior
        return self._default


BEHAVIORS = web.AppKey("edge_behaviors", Behaviors)


def parse_cookies(headers: list[str]) -> tuple[tuple[str, str], ...]:
    """Every cookie pair of every ``Cookie`` line in order, names and values trimmed (RFC 6265
    section 5.2), duplicates kept (the verifier decides what they mean).  HTTP/2 clients may send
    one line per cookie (RFC 9113 section 8.2.3)."""
    pairs = []
    for header in headers:
        for part in header.split(";"):
            name, sep, value = part.partition("=")
            if sep and name.strip():
                pairs.append((name.strip(), value.strip()))
    return tuple(pairs)


def _target(request: web.Request) -> tuple[ViewerTarget, str]:
    distribution = request.app[DISTRIBUTION]
    remote = request.remote
    trusted = remote in distribution.trusted
    headers = request.headers
    scheme = viewer_scheme(
        distribution.tls, trusted, headers.getall("X-Forwarded-Proto", ()) if trusted else ()
    )
    # request.host would invent one (the local name) for HTTP/1.0 without Host: read the header.
    target = read_target(request.raw_path, headers.get("Host"), scheme, distribution.served)
    if not trusted:
        return target, remote or ""
    # Several lines of one field are one list (RFC 9110 5.3): a proxy may add its own line.
    forwarded_for = ",".join(headers.getall("X-Forwarded-For", ()))
    return target, viewer_ip(remote, forwarded_for, distribution.trusted)


async def handle(request: web.Request) -> web.StreamResponse:
    request[REQUEST_ID] = new_request_id()
    response = await _serve(request)
    if not response.prepared:  # streamed answers were named by deliver.start
        response.headers[REQUEST_ID_HEADER] = request[REQUEST_ID]
    return response


def _explained(request: web.Request, answer: web.Response, why: str) -> web.Response:
    """Development only (``[debug] explain``): say why, in a header and in the access log."""
    why = printable(why)  # one line of printable ASCII whatever the request held
    answer.headers[EXPLAIN_HEADER] = request[EXPLAIN] = why
    return answer


async def _serve(request: web.Request) -> web.StreamResponse:
    app, settings = request.app, request.app[EDGE_SETTINGS]
    explaining = settings.debug.explain
    try:
        target, viewer = _target(request)
    except Refusal as refusal:
        answer = refused(refusal.status, refusal.reason)
        return _explained(request, answer, f"refused: {refusal.reason}") if explaining else answer
    if request.method not in CLOUDFRONT_METHODS:
        answer = refused(403, "This distribution is not configured to allow this HTTP request method")
        return _explained(request, answer, "refused: not a CloudFront method") if explaining else answer
    behavior = app[BEHAVIORS].match(target.path)
    if behavior.signed:
        trace = Trace() if explaining else None
        signed = ViewerRequest(
            target.scheme,
            target.host,
            target.raw_path,
            target.raw_query,
            parse_cookies(request.headers.getall("Cookie", [])),
            viewer,
        )
        keyring, now = app[KEYS].current, int(time.time())
        verdict = verify_request(signed, keyring.public_keys, now, trace)
        if verdict.error is not None:
            if trace is None:
                return denied(verdict.error)
            told = tell(trace, verdict, signed, keyring.public_keys, now, keyring_notes(keyring.entries))
            return _explained(
                request, denied(verdict.error), f"{told.summary} (behaviour {behavior.path_pattern})"
            )
        if (revocations := app.get(REVOCATIONS)) is not None:
            refused_tag, tag = judge(signed, revocations, now)
            if refused_tag != "ok":
                answer = denied(ErrorCode.ACCESS_DENIED)
                why = "revoked" if refused_tag == "revoked" else "a share's, and the revocation list is stale"
                return (
                    _explained(request, answer, f"AccessDenied: grant tag {tag} is {why}")
                    if explaining
                    else answer
                )
    resources = app[RESOURCES]
    if behavior.origin != "s3":
        return await proxy(
            request,
            target,
            behavior.origin,
            resources.session,
            viewer,
            resources.proxy_timeout,
            settings.server.viewer_timeout_seconds,
        )
    if request.method not in ("GET", "HEAD"):
        return web.Response(status=405, headers={"Allow": "GET, HEAD", "Server": "CloudFront"})
    key = object_key(target.raw_path)
    if key is None:
        answer = denied(ErrorCode.ACCESS_DENIED)
        why = "AccessDenied: the path names no object key (an empty, '.' or '..' segment, or a backslash)"
        return _explained(request, answer, why) if explaining else answer
    query = origin_query(target.raw_query) if behavior.forward_query else ""
    return await resources.objects.serve(request, key, query, behavior)


async def _resources(app: web.Application) -> AsyncIterator[None]:
    settings = app[EDGE_SETTINGS]
    # Per origin host: a custom origin (the gateway) never waits behind stalled S3 transfers.
    connector = aiohttp.TCPConnector(limit=0, limit_per_host=settings.origin.max_connections)
    async with aiohttp.ClientSession(connector=connector) as session:
        app[RESOURCES] = Resources(
            session,
            ObjectServer(settings, app[CACHE], S3Origin(settings.origin, session)),
            aiohttp.ClientTimeout(
                total=None,
                connect=settings.origin.queue_timeout_seconds,
                sock_connect=settings.origin.connect_timeout_seconds,
                sock_read=30,
            ),
        )
        async with contextlib.AsyncExitStack() as running:
            await running.enter_async_context(app[KEYS].watching(settings.reload_interval_seconds))
            if (revocations := app.get(REVOCATIONS)) is not None:
                await running.enter_async_context(revocations.watching())
            yield


@web.middleware
async def _every_target(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Targets aiohttp's router cannot place (``*``, ``host:port``) get the edge's own answer."""
    if request.match_info.http_exception is not None:
        return await handle(request)
    return await handler(request)


def _keyring_source(settings: EdgeSettings) -> Path | S3KeyringStore:
    """``keys_dir``, or the gateways' shared store read through the origin's S3 service."""
    if not settings.keys_store:
        return settings.keys_dir
    origin = settings.origin
    client = store_client(
        origin.region, origin.endpoint_url, "path", origin.access_key_id, origin.secret_access_key
    )
    return S3KeyringStore(client, settings.keys_store)


def create_edge_app(settings: EdgeSettings) -> web.Application:
    if settings.debug.explain and not settings.development:  # settings built without the loader
        raise SettingsError([DEBUG_IN_PRODUCTION])
    # Request bodies go to custom origins as the viewer sent them, Content-Encoding and all, as
    # CloudFront forwards them: never decoded here and passed on still labelled as encoded.
    app = web.Application(
        client_max_size=16 * 1024 * 1024,
        middlewares=[_every_target],
        handler_args={"auto_decompress": False},
    )
    app[EDGE_SETTINGS] = settings
    app[KEYS] = KeyringHolder(_keyring_source(settings), private=False)  # never needs private keys
    app[CACHE] = ObjectCache(settings.cache.max_bytes, settings.cache.max_object_bytes)
    app[BEHAVIORS] = Behaviors(settings.behaviors)
    app[DISTRIBUTION] = Distribution(
        frozenset(distribution_origin(url) for url in settings.distribution.urls),
        TrustedProxies(settings.server.trusted_proxies),
        bool(settings.server.certfile),
    )
    if settings.revocation.store:
        from gateway.sharing.revocation_reader import revocation_reader  # the store's driver, only if used

        revocation = settings.revocation
        app[REVOCATIONS] = RevocationWatcher(
            revocation_reader(revocation.store), revocation.poll_seconds, revocation.max_stale_seconds
        )
    app.cleanup_ctx.append(_resources)
    app.router.add_route("*", "/{tail:.*}", handle)
    return app
