"""``create_edge_app(settings)``: behaviours -> verification -> cache -> origin.

Verification always comes first: a cached object is never served to a request that does not
carry a valid signature for it (security case 39).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from urllib.parse import unquote

import aiohttp
from aiohttp import web

from gateway.edge.cache import CacheKey, Entry, ObjectCache, ttl_from
from gateway.edge.origin import KEPT_RESPONSE_HEADERS, S3Origin
from gateway.edge.proxy import proxy
from gateway.edge.responses import BAD_GATEWAY, GATEWAY_TIMEOUT, denied, origin_failure
from gateway.edge.settings import Behavior, EdgeSettings
from gateway.keyring_watch import KeyringHolder
from gateway.netutil import viewer_ip
from gateway.signing.cloudfront import SIGNING_PARAMS
from gateway.signing.verify import ErrorCode, ViewerRequest, verify_request
from gateway.signing.wildcard import glob_match

EDGE_SETTINGS = web.AppKey("edge_settings", EdgeSettings)
KEYS = web.AppKey("edge_keys", KeyringHolder)
CACHE = web.AppKey("edge_cache", ObjectCache)
STATE = web.AppKey("edge_state", dict)
# Uploaded content is served from the CDN host: never let it run script there (security case 36).
CONTENT_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox",
}


def match_behavior(behaviors: tuple[Behavior, ...], path: str) -> Behavior:
    for behavior in behaviors:
        pattern = (
            behavior.path_pattern
            if behavior.path_pattern.startswith(("/", "*"))
            else "/" + behavior.path_pattern
        )
        if glob_match(pattern, path):
            return behavior
    return behaviors[-1]


def parse_cookies(header: str) -> tuple[tuple[str, str], ...]:
    """Every cookie pair in order, duplicates kept (the verifier refuses duplicated signing cookies)."""
    pairs = []
    for part in header.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name:
            pairs.append((name, value))
    return tuple(pairs)


def object_key(raw_path: str) -> str | None:
    """Decode the path once; refuse what a normalising hop could send elsewhere (security case 13)."""
    try:
        key = unquote(raw_path.lstrip("/"), errors="strict")
    except UnicodeDecodeError:
        return None
    segments = key.split("/")
    if (
        not key
        or "\\" in key
        or any(s in ("", ".", "..") for s in segments[:-1])
        or segments[-1] in (".", "..")
    ):
        return None
    return key


def split_query(raw_query: str) -> str:
    """The viewer query without CloudFront's signing parameters, original order kept."""
    kept = []
    for part in raw_query.split("&"):
        name = unquote(part.partition("=")[0])
        if part and name not in SIGNING_PARAMS:
            kept.append(part)
    return "&".join(kept)


def _from_cache(request: web.Request, entry: Entry) -> web.Response:
    headers = dict(entry.headers)
    headers.update(CONTENT_HEADERS, **{"X-Cache": "Hit from cloudfront", "Age": str(entry.age())})
    if entry.etag and request.headers.get("If-None-Match") in (entry.etag, "*"):
        headers.pop("Content-Length", None)
        return web.Response(status=304, headers=headers)
    headers.pop("Content-Length", None)  # set from the body; aiohttp sends no body for HEAD
    return web.Response(status=200, body=entry.body, headers=headers)


async def _from_origin(
    request: web.Request, key: str, query: str, behavior: Behavior, cache_key: CacheKey
) -> web.StreamResponse:
    app = request.app
    cache = app[CACHE]
    origin: S3Origin = app[STATE]["origin"]
    stale = cache.get(cache_key)
    try:
        async with origin.request(request.method, key, query, request.headers) as upstream:
            headers = {
                name: upstream.headers[name] for name in KEPT_RESPONSE_HEADERS if name in upstream.headers
            }
            headers.update(CONTENT_HEADERS, **{"X-Cache": "Miss from cloudfront"})
            response = web.StreamResponse(status=upstream.status, headers=headers)
            ttl = ttl_from(
                upstream.headers.get("Cache-Control", ""), app[EDGE_SETTINGS].cache.default_ttl_seconds
            )
            length = int(upstream.headers.get("Content-Length", "-1") or -1)
            keep = (
                behavior.cache
                and request.method == "GET"
                and upstream.status == 200
                and ttl is not None
                and "Range" not in request.headers
                and 0 <= length <= cache.max_object_bytes
            )
            await response.prepare(request)
            chunks: list[bytes] = []
            async for chunk in upstream.content.iter_chunked(65536):
                await response.write(chunk)  # streamed: large objects are never held in memory
                if keep:
                    chunks.append(chunk)
            await response.write_eof()
            if keep and ttl:
                cache.put(
                    cache_key,
                    b"".join(chunks),
                    tuple((k, v) for k, v in headers.items() if k not in CONTENT_HEADERS and k != "X-Cache"),
                    ttl,
                )
            return response
    except (TimeoutError, aiohttp.ClientConnectionError, aiohttp.ServerTimeoutError) as exc:
        if stale is not None and request.method in ("GET", "HEAD"):
            return _from_cache(request, stale)  # stale-if-error: the origin is down, the object is not
        timeout = isinstance(exc, aiohttp.ServerTimeoutError | asyncio.TimeoutError)
        return origin_failure(504, GATEWAY_TIMEOUT) if timeout else origin_failure(502, BAD_GATEWAY)


async def handle(request: web.Request) -> web.StreamResponse:
    app, settings = request.app, request.app[EDGE_SETTINGS]
    path = request.raw_path.split("?", 1)[0]
    raw_query = request.raw_path.split("?", 1)[1] if "?" in request.raw_path else ""
    behavior = match_behavior(settings.behaviors, path)
    viewer = viewer_ip(
        request.remote, request.headers.get("X-Forwarded-For", ""), settings.server.trusted_proxies
    )
    if behavior.signed:
        verdict = verify_request(
            ViewerRequest(
                request.scheme,
                request.host,
                path,
                raw_query,
                parse_cookies(request.headers.get("Cookie", "")),
                viewer,
            ),
            app[KEYS].current.public_keys,
            int(time.time()),
        )
        if verdict.error is not None:
            return denied(verdict.error)
    if behavior.origin != "s3":
        return await proxy(
            request, behavior.origin, app[STATE]["session"], viewer, app[STATE]["proxy_timeout"]
        )
    if request.method not in ("GET", "HEAD"):
        return web.Response(status=405, headers={"Allow": "GET, HEAD", "Server": "CloudFront"})
    key = object_key(path)
    if key is None:
        return denied(ErrorCode.ACCESS_DENIED)
    query = split_query(raw_query) if behavior.forward_query else ""
    cache_key: CacheKey = (key, query)
    if behavior.cache and "Range" not in request.headers:
        entry = app[CACHE].get(cache_key)
        if entry is not None and entry.fresh():
            return _from_cache(request, entry)
    return await _from_origin(request, key, query, behavior, cache_key)


async def _resources(app: web.Application) -> AsyncIterator[None]:
    settings = app[EDGE_SETTINGS]
    connector = aiohttp.TCPConnector(limit=200, limit_per_host=100)
    async with aiohttp.ClientSession(connector=connector) as session:
        app[STATE].update(
            session=session,
            origin=S3Origin(settings.origin, session),
            proxy_timeout=aiohttp.ClientTimeout(
                total=None, sock_connect=settings.origin.connect_timeout_seconds, sock_read=30
            ),
        )
        async with app[KEYS].watching(settings.reload_interval_seconds):
            yield


def create_edge_app(settings: EdgeSettings) -> web.Application:
    app = web.Application(client_max_size=16 * 1024 * 1024)
    app[EDGE_SETTINGS] = settings
    app[KEYS] = KeyringHolder(settings.keys_dir, private=False)  # verifies; never needs private keys
    app[CACHE] = ObjectCache(settings.cache.max_bytes, settings.cache.max_object_bytes)
    app[STATE] = {}
    app.cleanup_ctx.append(_resources)
    app.router.add_route("*", "/{tail:.*}", handle)
    return app
