"""Objects from the private bucket: the cache first, then the origin, streamed to the viewer.

Only a complete, successful, cacheable body enters the cache.  A failure before the response
starts is answered with 502/504 (or with a stale copy: stale-if-error); a failure after it has
started cuts the connection (see ``deliver``).
"""

from __future__ import annotations

import aiohttp
from aiohttp import web

from gateway.edge.accesslog import RESULT
from gateway.edge.cache import CacheKey, ObjectCache, ttl_from
from gateway.edge.deliver import CHUNK, CONTENT_HEADERS, ViewerStalled, abort, from_cache, send, start
from gateway.edge.origin import KEPT_RESPONSE_HEADERS, S3Origin
from gateway.edge.responses import BAD_GATEWAY, GATEWAY_TIMEOUT, origin_failure
from gateway.edge.settings import Behavior, EdgeSettings

# Everything an origin fetch can fail with: connection, protocol, truncated body, timeouts.
# Per answer, not per object: the length is the body's (or the range's), the rest is ours.
_NOT_STORED = frozenset({"Content-Length", "X-Cache", *CONTENT_HEADERS})
ORIGIN_ERRORS = (aiohttp.ClientError, TimeoutError, ConnectionError)


class ViewerGone(Exception):
    """The viewer closed the connection while we were sending."""


async def _send(request: web.Request, response: web.StreamResponse, data: bytes, timeout: float) -> None:
    try:
        await send(request, response, data, timeout)
    except ConnectionError:
        raise ViewerGone from None


class ObjectServer:
    def __init__(self, settings: EdgeSettings, cache: ObjectCache, origin: S3Origin) -> None:
        self._cache = cache
        self._origin = origin
        self._default_ttl = settings.cache.default_ttl_seconds
        self._viewer_timeout = settings.server.viewer_timeout_seconds

    async def serve(
        self, request: web.Request, key: str, query: str, behavior: Behavior
    ) -> web.StreamResponse:
        cache_key: CacheKey = (key, query)
        entry = self._cache.get(cache_key) if behavior.cache else None
        if entry is not None and entry.fresh():
            return await from_cache(request, entry, self._viewer_timeout)
        response: web.StreamResponse | None = None
        try:
            async with self._origin.request(request.method, key, query, request.headers) as upstream:
                headers = {n: upstream.headers[n] for n in KEPT_RESPONSE_HEADERS if n in upstream.headers}
                headers.update(CONTENT_HEADERS, **{"X-Cache": "Miss from cloudfront"})
                response = web.StreamResponse(status=upstream.status, headers=headers)
                length = int(upstream.headers.get("Content-Length", "-1") or -1)
                ttl = ttl_from(upstream.headers.get("Cache-Control", ""), self._default_ttl)
                keep = (
                    behavior.cache
                    and request.method == "GET"
                    and upstream.status == 200
                    and bool(ttl)
                    and 0 <= length <= self._cache.max_object_bytes
                )
                request[RESULT] = "Miss"
                await start(request, response)
                chunks: list[bytes] = []
                async for chunk in upstream.content.iter_chunked(CHUNK):
                    await _send(request, response, chunk, self._viewer_timeout)  # large objects are streamed
                    if keep:
                        chunks.append(chunk)
                await response.write_eof()
        except (ViewerStalled, ViewerGone, *ORIGIN_ERRORS) as exc:
            if response is not None and response.prepared:
                # A half-read origin connection is closed on release, never pooled again.
                abort(request, _why(exc))
                return response
            if entry is not None and request.method in ("GET", "HEAD"):
                return await from_cache(request, entry, self._viewer_timeout)  # stale-if-error
            if isinstance(exc, TimeoutError):
                return origin_failure(504, GATEWAY_TIMEOUT)
            return origin_failure(502, BAD_GATEWAY)
        body = b"".join(chunks)
        if keep and ttl and len(body) == length:
            stored = tuple((k, v) for k, v in headers.items() if k not in _NOT_STORED)
            self._cache.put(cache_key, body, stored, ttl)
        return response


def _why(exc: BaseException) -> str:
    if isinstance(exc, ViewerStalled):
        return "viewer stalled"
    if isinstance(exc, ViewerGone):
        return "viewer went away"
    return f"origin failed mid-transfer ({type(exc).__name__})"
