"""Origin faults (never a hang, cached objects still served), keyring changes picked up live,
retired keys refused, and custom-origin behaviours proxied."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpClient, AiohttpServer

from devstack.seaweed import SeaweedFS
from gateway.edge.settings import Behavior
from gateway.keys.keyring import KeyState
from gateway.signing.crypto import KeyAlgorithm
from tests.edge.conftest import BEHAVIORS, base_url, cookie_header, edge_settings, get, sign, start_edge
from tests.faults import FaultProxy


@pytest.fixture
async def proxy(seaweed: SeaweedFS) -> AsyncIterator[FaultProxy]:
    parts = urlsplit(seaweed.endpoint)
    fault = FaultProxy(parts.hostname or "127.0.0.1", parts.port or 80)
    await fault.start()
    yield fault
    await fault.stop()


async def test_origin_down_or_slow(
    aiohttp_client: AiohttpClient, seaweed: SeaweedFS, filled_bucket: str, keyring_dir: Path, proxy: FaultProxy
) -> None:
    settings = edge_settings(
        seaweed, filled_bucket, keyring_dir, endpoint_url=proxy.url, read_timeout_seconds=1.0
    )
    edge = await start_edge(aiohttp_client, settings)
    cookies = cookie_header(sign(f"{base_url(edge)}/tiles/*"))
    assert (await get(edge, "/tiles/1/0/0.png", headers=cookies)).status == 200  # now cached
    await proxy.set_mode("refuse")
    down = await get(
        edge, "/users/alice/a.txt", headers=cookie_header(sign(f"{base_url(edge)}/users/alice/*"))
    )
    assert down.status == 502 and "could not be satisfied" in await down.text()
    cached = await get(edge, "/tiles/1/0/0.png", headers=cookies)
    assert cached.status == 200 and await cached.read() == b"tile-100"
    await proxy.set_mode("hang")
    started = time.monotonic()
    slow = await get(
        edge, "/users/alice/a.txt", headers=cookie_header(sign(f"{base_url(edge)}/users/alice/*"))
    )
    assert slow.status == 504 and time.monotonic() - started < 5
    await proxy.set_mode("pass")  # the origin recovers: so does the edge
    back = await get(
        edge, "/users/alice/a.txt", headers=cookie_header(sign(f"{base_url(edge)}/users/alice/*"))
    )
    assert back.status == 200


def _edit_keyring(directory: Path, **changes: Any) -> None:
    path = directory / "keyring.json"
    doc = json.loads(path.read_text())
    doc["keys"][0].update(changes)
    tmp = directory / "keyring.json.tmp"
    tmp.write_text(json.dumps(doc))
    tmp.replace(path)


async def test_retired_key_refused_and_reload_is_live(
    aiohttp_client: AiohttpClient, seaweed: SeaweedFS, filled_bucket: str, tmp_path: Path
) -> None:
    import shutil

    from gateway.keys.keyring import KeyEntry, Keyring, write_keyring
    from gateway.signing.crypto import KeySigner, public_pem
    from tests.conftest import VECTORS, load_vector_key

    keys = tmp_path / "edge-keys"
    keys.mkdir()
    old = KeySigner("K2OLD", load_vector_key("test-ecdsa-p256.pem"))
    new = load_vector_key("test-rsa-2048.pem")
    shutil.copy(VECTORS / "test-rsa-2048.pem", keys / "KNEW.pem")
    entries = (
        KeyEntry("KNEW", KeyAlgorithm.RSA_2048, KeyState.ACTIVE, 1, public_pem(new), "K2NEW"),
        KeyEntry("KOLD", KeyAlgorithm.ECDSA_P256, KeyState.TRUSTED, 0, public_pem(old.key), "K2OLD"),
    )
    write_keyring(Keyring(keys, "KNEW", entries, None))
    edge = await start_edge(aiohttp_client, edge_settings(seaweed, filled_bucket, keys))
    old_cookies = cookie_header(sign(f"{base_url(edge)}/tiles/*", signer=old))
    assert (await get(edge, "/tiles/1/0/0.png", headers=old_cookies)).status == 200  # still trusted
    doc = json.loads((keys / "keyring.json").read_text())
    doc["keys"][1]["state"] = "retired"
    (keys / "next.json").write_text(json.dumps(doc))
    (keys / "next.json").replace(keys / "keyring.json")
    deadline = time.monotonic() + 5
    while (await get(edge, "/tiles/1/0/0.png", headers=old_cookies)).status == 200:
        assert time.monotonic() < deadline, "the edge did not pick up the retired key"
        await asyncio.sleep(0.1)
    response = await get(edge, "/tiles/1/0/0.png", headers=old_cookies)
    assert response.status == 403 and "<Code>InvalidKey</Code>" in await response.text()
    (keys / "keyring.json").write_text("{corrupt")  # a bad reload keeps the last good keyring
    await asyncio.sleep(0.5)
    new_cookies = cookie_header(sign(f"{base_url(edge)}/tiles/*", signer=KeySigner("K2NEW", new)))
    assert (await get(edge, "/tiles/1/0/0.png", headers=new_cookies)).status == 200


async def test_custom_origin_behavior_proxies(
    aiohttp_client: AiohttpClient, aiohttp_server: AiohttpServer, seaweed: SeaweedFS, filled_bucket: str, keyring_dir: Path
) -> None:
    seen: list[dict[str, str]] = []

    async def echo(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        response = web.json_response({"path": request.raw_path, "body": await request.text()}, status=201)
        response.set_cookie("a", "1", path="/tiles/")
        response.set_cookie("b", "2", path="/users/")
        return response

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", echo)
    upstream = await aiohttp_server(app)
    import dataclasses

    settings = edge_settings(seaweed, filled_bucket, keyring_dir)
    behaviors = (Behavior("/v1/*", signed=False, origin=str(upstream.make_url("")).rstrip("/")), *BEHAVIORS)
    edge = await start_edge(aiohttp_client, dataclasses.replace(settings, behaviors=behaviors))
    response = await edge.post(
        "/v1/cookies?x=1",
        data=b'{"prefix":"tiles/"}',
        headers={"Authorization": "Bearer t", "Content-Type": "application/json"},
    )
    assert response.status == 201
    assert await response.json() == {"path": "/v1/cookies?x=1", "body": '{"prefix":"tiles/"}'}
    assert len(response.headers.getall("Set-Cookie")) == 2
    assert seen[0]["Authorization"] == "Bearer t" and seen[0]["X-Forwarded-For"] == "127.0.0.1"
