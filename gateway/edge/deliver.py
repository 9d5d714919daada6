"""Sending bytes to a viewer: with a deadline on every write, and never a second answer.

Once a response's headers are out, the only honest way to report a failure (the origin stalled,
the viewer stopped reading) is to cut the connection: the viewer sees a truncated transfer, never
an error page appended to the body of a 200, and the request is logged as aborted.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from gateway.common.httplog import REQUEST_ID
from gateway.edge.accesslog import REQUEST_ID_HEADER, RESULT
from gateway.edge.cache import Entry
from gateway.edge.ranges import ByteRange, Unsatisfiable, if_range_holds, none_match, parse_range

CHUNK = 64 * 1024
# asyncio's default high-water mark: below it a transport never pauses its writer.
_NEVER_WAITS = 64 * 1024
# Uploaded content is served from the CDN host: never let it run script there (security case 36).
CONTENT_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox",
}


class ViewerStalled(Exception):
    """The viewer accepted no bytes within the viewer timeout."""


async def send(
    request: web.BaseRequest, response: web.StreamResponse, data: bytes | memoryview, timeout: float
) -> None:
    """Write ``data``; a viewer that will not take it within ``timeout`` is :class:`ViewerStalled`."""
    transport = request.transport
    if transport is not None and transport.get_write_buffer_size() + len(data) <= _NEVER_WAITS:
        await response.write(data)  # under the high-water mark a write cannot wait for the viewer
        return
    try:
        async with asyncio.timeout(timeout):
            await response.write(data)
    except TimeoutError:
        raise ViewerStalled from None


async def start(request: web.BaseRequest, response: web.StreamResponse) -> None:
    """Send the headers of a streamed answer, named by its request id."""
    response.headers[REQUEST_ID_HEADER] = request[REQUEST_ID]
    await response.prepare(request)


def abort(request: web.BaseRequest, why: str) -> None:
    """Cut the connection mid-response, so that no further byte (not even a chunk end) is sent."""
    request[RESULT] = f"Aborted: {why}"
    if request.transport is not None:
        request.transport.abort()


def _headers(entry: Entry, age: int) -> dict[str, str]:
    headers = dict(entry.headers)
    headers.update(CONTENT_HEADERS)
    headers["X-Cache"], headers["Age"] = "Hit from cloudfront", str(age)
    return headers


async def from_cache(request: web.Request, entry: Entry, timeout: float) -> web.StreamResponse:
    """The cached object, or the one range of it asked for, or 304: never touches the origin."""
    headers = _headers(entry, entry.age())
    request[RESULT] = "Hit"
    viewer = request.headers
    if_none_match = viewer.get("If-None-Match")
    if if_none_match is not None and none_match(if_none_match, entry.etag):
        return web.Response(status=304, headers=headers)
    body, status = entry.body, 200
    wanted = viewer.get("Range")
    if_range = viewer.get("If-Range")
    if wanted is not None and (if_range is None or if_range_holds(if_range, entry.etag, entry.last_modified)):
        try:
            part: ByteRange | None = parse_range(wanted, len(entry.body))
        except Unsatisfiable:
            headers["Content-Range"] = f"bytes */{len(entry.body)}"
            return web.Response(status=416, headers=headers)
        if part is not None:
            body, status = entry.body[part.start : part.end + 1], 206
            headers["Content-Range"] = part.content_range(len(entry.body))
    transport = request.transport
    if transport is not None and transport.get_write_buffer_size() + len(body) <= _NEVER_WAITS:
        return web.Response(status=status, headers=headers, body=body)  # written without waiting
    response = web.StreamResponse(status=status, headers=headers)
    response.content_length = len(body)
    await start(request, response)
    if request.method != "HEAD":
        view = memoryview(body)
        try:
            for offset in range(0, len(body), CHUNK):
                await send(request, response, view[offset : offset + CHUNK], timeout)
        except (ViewerStalled, ConnectionError) as exc:
            abort(request, "viewer stalled" if isinstance(exc, ViewerStalled) else "viewer went away")
            return response
    return response
