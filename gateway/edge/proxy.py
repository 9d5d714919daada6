"""Custom-origin behaviours (e.g. ``/v1/*`` to the gateway): a plain streaming reverse proxy,
uncached, as a CloudFront behaviour with the CachingDisabled policy and all viewer headers.

The origin learns who the viewer is and which distribution URL was asked for from headers the
edge writes itself; the viewer's own forwarding headers are dropped, never passed on.
"""

from __future__ import annotations

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from gateway.edge.accesslog import RESULT
from gateway.edge.deliver import CHUNK, ViewerStalled, abort, send, start
from gateway.edge.responses import BAD_GATEWAY, GATEWAY_TIMEOUT, origin_failure
from gateway.edge.viewer import ViewerTarget, origin_query

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)
# Set by the edge from what it knows; a viewer's own values would be believed downstream.
_REWRITTEN = frozenset({"forwarded", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-real-ip"})


async def proxy(
    request: web.Request,
    target: ViewerTarget,
    origin: str,
    session: aiohttp.ClientSession,
    viewer: str,
    timeout: aiohttp.ClientTimeout,
    viewer_timeout: float,
) -> web.StreamResponse:
    headers = CIMultiDict(
        (k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP | _REWRITTEN
    )
    headers.update(
        {"X-Forwarded-For": viewer, "X-Forwarded-Host": target.host, "X-Forwarded-Proto": target.scheme}
    )
    query = origin_query(target.raw_query)
    url = URL(origin.rstrip("/") + target.raw_path + (f"?{query}" if query else ""), encoded=True)
    body = request.content if request.body_exists else None
    response: web.StreamResponse | None = None
    request[RESULT] = "Miss"
    try:
        async with session.request(
            request.method,
            url,
            headers=headers,
            data=body,
            allow_redirects=False,
            timeout=timeout,
            auto_decompress=False,
        ) as upstream:
            response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
            for name, value in upstream.headers.items():
                if name.lower() not in HOP_BY_HOP:
                    response.headers.add(name, value)
            if upstream.headers.get("Content-Length"):
                response.content_length = int(upstream.headers["Content-Length"])
            await start(request, response)
            async for chunk in upstream.content.iter_chunked(CHUNK):
                await send(request, response, chunk, viewer_timeout)
            await response.write_eof()
            return response
    except (ViewerStalled, aiohttp.ClientError, TimeoutError, ConnectionError) as exc:
        if response is not None and response.prepared:
            abort(request, "viewer stalled" if isinstance(exc, ViewerStalled) else type(exc).__name__)
            return response
        if isinstance(exc, TimeoutError):
            return origin_failure(504, GATEWAY_TIMEOUT)
        return origin_failure(502, BAD_GATEWAY)
