"""What reaches the viewer when the origin or the viewer misbehaves mid-transfer: a truncated
transfer (never an error page inside a 200), cached ranges served at once, and stalled viewers that
cannot hold the origin pool."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from devstack.seaweed import SeaweedFS
from gateway.edge.settings import EdgeSettings
from tests.edge.conftest import cookie_header, edge_settings, get, sign, start_edge
from tests.edge.rawhttp import request_bytes, send_raw
from tests.faults import FaultProxy

Client = TestClient[Any, Any]
MID = os.urandom(900_000)  # under the test cache's 1 MiB object limit


@pytest.fixture
async def proxy(seaweed: SeaweedFS) -> AsyncIterator[FaultProxy]:
    parts = urlsplit(seaweed.endpoint)
    fault = FaultProxy(parts.hostname or "127.0.0.1", parts.port or 80)
    await fault.start()
    yield fault
    await fault.stop()


def _through(seaweed: SeaweedFS, bucket: str, keys: Path, proxy: FaultProxy, **server: Any) -> EdgeSettings:
    settings = edge_settings(seaweed, bucket, keys, endpoint_url=proxy.url, read_timeout_seconds=1.0)
    return dataclasses.replace(settings, server=dataclasses.replace(settings.server, **server))


def _cookies(edge: Client) -> dict[str, str]:
    return cookie_header(sign(f"http://127.0.0.1:{edge.server.port}/*"))


async def test_an_origin_failing_mid_transfer_truncates_never_appends(
    aiohttp_client: AiohttpClient, seaweed: SeaweedFS, filled_bucket: str, keyring_dir: Path, proxy: FaultProxy
) -> None:
    seaweed.client().put_object(Bucket=filled_bucket, Key="mid/obj.bin", Body=MID, CacheControl="max-age=300")
    edge = await start_edge(aiohttp_client, _through(seaweed, filled_bucket, keyring_dir, proxy))
    proxy.stall_after = 300_000
    await proxy.set_mode("stall")
    port = edge.server.port
    assert port is not None
    started = time.monotonic()
    answer = await send_raw(port, request_bytes("/mid/obj.bin", f"127.0.0.1:{port}", headers=_cookies(edge)))
    assert answer.status == 200 and int(answer.headers["content-length"]) == len(MID)
    assert len(answer.body) < len(MID) and MID.startswith(answer.body)  # cut short, nothing foreign
    assert b"could not be satisfied" not in answer.body and time.monotonic() - started < 8
    # What the viewer never received whole is not in the cache either.
    await proxy.set_mode("pass")
    again = await get(edge, "/mid/obj.bin", headers=_cookies(edge))
    assert again.headers["X-Cache"] == "Miss from cloudfront" and await again.read() == MID
    hit = await get(edge, "/mid/obj.bin", headers=_cookies(edge))
    assert hit.headers["X-Cache"] == "Hit from cloudfront" and await hit.read() == MID


async def test_ranges_of_cached_objects_come_from_the_cache_at_once(
    aiohttp_client: AiohttpClient, seaweed: SeaweedFS, filled_bucket: str, keyring_dir: Path, proxy: FaultProxy
) -> None:
    edge = await start_edge(aiohttp_client, _through(seaweed, filled_bucket, keyring_dir, proxy))
    cookies = _cookies(edge)
    full = await get(edge, "/tiles/1/0/0.png", headers=cookies)
    assert await full.read() == b"tile-100"
    etag = full.headers["ETag"]
    await proxy.set_mode("hang")  # an origin outage: the cache must answer alone
    for wanted, status, body, content_range in [
        ("bytes=0-3", 206, b"tile", "bytes 0-3/8"),
        ("bytes=5-", 206, b"100", "bytes 5-7/8"),
        ("bytes=-3", 206, b"100", "bytes 5-7/8"),
        ("bytes=4-100", 206, b"-100", "bytes 4-7/8"),
        ("bytes=8-", 416, b"", "bytes */8"),
        ("bytes=0-1,4-5", 200, b"tile-100", None),  # several ranges: the whole object
        ("bytes=3-1", 200, b"tile-100", None),  # invalid: ignored
        ("items=0-1", 200, b"tile-100", None),
    ]:
        started = time.monotonic()
        response = await get(edge, "/tiles/1/0/0.png", headers={**cookies, "Range": wanted})
        assert response.status == status and await response.read() == body, wanted
        assert response.headers.get("Content-Range") == content_range, wanted
        assert response.headers["X-Cache"] == "Hit from cloudfront" and time.monotonic() - started < 0.9
    stale_validator = {**cookies, "Range": "bytes=0-3", "If-Range": '"not-the-etag"'}
    assert await (await get(edge, "/tiles/1/0/0.png", headers=stale_validator)).read() == b"tile-100"
    current = {**cookies, "Range": "bytes=0-3", "If-Range": etag}
    assert await (await get(edge, "/tiles/1/0/0.png", headers=current)).read() == b"tile"


async def test_ranges_of_stale_objects_during_an_outage(
    aiohttp_client: AiohttpClient, seaweed: SeaweedFS, filled_bucket: str, keyring_dir: Path, proxy: FaultProxy
) -> None:
    seaweed.client().put_object(
        Bucket=filled_bucket, Key="brief/obj.txt", Body=b"0123456789", CacheControl="max-age=1"
    )
    edge = await start_edge(aiohttp_client, _through(seaweed, filled_bucket, keyring_dir, proxy))
    cookies = _cookies(edge)
    assert await (await get(edge, "/brief/obj.txt", headers=cookies)).read() == b"0123456789"
    await asyncio.sleep(1.2)  # no longer fresh: the origin is asked first
    await proxy.set_mode("refuse")
    response = await get(edge, "/brief/obj.txt", headers={**cookies, "Range": "bytes=2-4"})
    assert response.status == 206 and await response.read() == b"234"


async def test_stalled_viewers_cannot_hold_the_origin_pool(
    aiohttp_client: AiohttpClient, seaweed: SeaweedFS, filled_bucket: str, keyring_dir: Path
) -> None:
    huge = os.urandom(24 * 1024 * 1024)  # more than loopback socket buffers can swallow
    seaweed.client().put_object(Bucket=filled_bucket, Key="big/huge.bin", Body=huge)
    settings = edge_settings(seaweed, filled_bucket, keyring_dir, max_connections=2, queue_timeout_seconds=8)
    settings = dataclasses.replace(
        settings, server=dataclasses.replace(settings.server, viewer_timeout_seconds=1)
    )
    edge = await start_edge(aiohttp_client, settings)
    port = edge.server.port
    assert port is not None
    request = request_bytes("/big/huge.bin", f"127.0.0.1:{port}", headers=_cookies(edge))
    stalled = []
    for _ in range(4):  # twice the pool: none of them ever reads
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", port))
        sock.sendall(request)
        stalled.append(sock)
    await asyncio.sleep(0.5)
    started = time.monotonic()
    response = await get(edge, "/users/alice/a.txt", headers=_cookies(edge))  # a miss: needs the pool
    assert response.status == 200 and await response.read() == b"alice's file"
    assert time.monotonic() - started < 6
    # Each stalled viewer was cut off: its socket ends, having received only part of the object.
    for sock in stalled:
        sock.settimeout(10)
        received = 0
        try:
            while chunk := await asyncio.to_thread(sock.recv, 1 << 20):
                received += len(chunk)
        except OSError:
            pass  # a reset is a cut too
        sock.close()
        assert received < len(huge)
