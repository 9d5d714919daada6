"""Custom-origin behaviours (e.g. ``/v1/*`` to the gateway): a plain streaming reverse proxy,
uncached, as a CloudFront behaviour with the CachingDisabled policy and all viewer headers."""

from __future__ import annotations

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from gateway.edge.responses import BAD_GATEWAY, GATEWAY_TIMEOUT, origin_failure

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


async def proxy(
    request: web.Request,
    origin: str,
    session: aiohttp.ClientSession,
    viewer: str,
    timeout: aiohttp.ClientTimeout,
) -> web.StreamResponse:
    headers = CIMultiDict((k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP)
    headers["X-Forwarded-For"] = viewer
    headers["X-Forwarded-Host"] = request.host
    headers["X-Forwarded-Proto"] = request.scheme
    target = URL(origin.rstrip("/") + request.raw_path, encoded=True)
    body = request.content if request.body_exists else None
    try:
        async with session.request(
            request.method,
            target,
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
            await response.prepare(request)
            async for chunk in upstream.content.iter_chunked(65536):
                await response.write(chunk)
            await response.write_eof()
            return response
    except (TimeoutError, aiohttp.ServerTimeoutError):
        return origin_failure(504, GATEWAY_TIMEOUT)
    except aiohttp.ClientConnectionError:
        return origin_failure(502, BAD_GATEWAY)
