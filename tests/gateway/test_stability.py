"""Stable windows (docs/design.md, "Stable windows"): identical grants within a window, in one
process and across two; new grants in the next window; refresh_after before expiry."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import aiohttp
from pytest_aiohttp import AiohttpClient

from gateway.service.app import create_app
from gateway.service.settings import Settings
from tests.gateway.conftest import bearer, gateway_process, make_settings, write_config


async def _grant(client: Any) -> tuple[dict[str, str], str, dict[str, Any]]:
    cookie = await client.post("/v1/cookies", json={"prefix": "tiles/"}, headers=bearer("alice"))
    values = {name: morsel.value for name, morsel in cookie.cookies.items()}
    urls = await client.post(
        "/v1/signed-urls", json={"paths": ["users/alice/a.png"]}, headers=bearer("alice")
    )
    return values, (await urls.json())["results"][0]["url"], await cookie.json()


async def _wait_for_window_start(window: int, margin: float = 0.3) -> None:
    await asyncio.sleep(window - (time.time() % window) + margin)


async def test_same_window_same_bytes_next_window_new(
    aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path
) -> None:
    settings = make_settings(
        tmp_path, keyring_dir, None, "b", window_seconds=2, grace_seconds=1, not_before_skew_seconds=0
    )
    one = await aiohttp_client(create_app(settings))
    two = await aiohttp_client(create_app(settings))  # a second instance, no shared state
    await _wait_for_window_start(2)
    first = await _grant(one)
    assert await _grant(one) == first
    assert await _grant(two) == first
    body = first[2]
    assert body["refresh_after"] < body["expires"] and body["expires"] - body["refresh_after"] == 1
    await _wait_for_window_start(2)
    later = await _grant(one)
    assert later[0] != first[0] and later[1] != first[1]
    assert later[2]["expires"] == body["expires"] + 2


async def test_cache_hits_after_first_grant(aiohttp_client: AiohttpClient, settings: Settings) -> None:
    app = create_app(settings)
    client = await aiohttp_client(app)
    from gateway.service import appkeys

    for _ in range(5):
        await client.post("/v1/cookies", json={"prefix": "tiles/"}, headers=bearer("alice"))
        await client.post("/v1/cookies", json={"prefix": "tiles/"}, headers=bearer("bob"))
    metrics = app[appkeys.METRICS]
    assert metrics.cache.labels("miss")._value.get() == 1  # one signature serves everyone in the window
    assert metrics.cache.labels("hit")._value.get() == 9


async def test_two_gateway_processes_agree(tmp_path: Path, keyring_dir: Path) -> None:
    config = write_config(tmp_path, keyring_dir)
    with gateway_process(config) as (one, _), gateway_process(config) as (two, _):
        async with aiohttp.ClientSession() as session:
            results = []
            for base in (one, two):
                async with session.post(
                    f"{base}/v1/cookies", json={"prefix": "tiles/"}, headers=bearer("alice")
                ) as response:
                    results.append(
                        (
                            response.status,
                            {k: v.value for k, v in response.cookies.items()},
                            json.dumps(await response.json(), sort_keys=True),
                        )
                    )
    assert results[0][0] == 200 and results[0] == results[1]
