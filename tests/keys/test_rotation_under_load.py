"""A rotation while clients hammer the gateway and read tiles through the edge: zero failed
requests, old cookies verify until retired, new grants carry the new key, then 403 after retire."""

from __future__ import annotations

import asyncio
import sys
import time
from collections import Counter
from pathlib import Path
from typing import TypedDict

import aiohttp

from gateway.keys.keyring import load_keyring
from tests.stackutil import running_stack


class _Latest(TypedDict):
    key: str
    cookies: dict[str, str]


async def _cli(*args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await process.communicate()
    assert process.returncode == 0, out.decode()
    return out.decode()


def _cookie_header(values: dict[str, str]) -> dict[str, str]:
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in values.items())}


async def _grant(session: aiohttp.ClientSession, edge: str, token: str) -> tuple[int, str, dict[str, str]]:
    async with session.post(
        f"{edge}/v1/cookies", json={"prefix": "tiles/"}, headers={"Authorization": f"Bearer {token}"}
    ) as response:
        if response.status != 200:
            return response.status, "", {}
        body = await response.json()
        return 200, body["key_id"], {k: v.value for k, v in response.cookies.items()}


async def _tile(session: aiohttp.ClientSession, edge: str, cookies: dict[str, str], n: int) -> int:
    z, x, y = 3, n % 8, (n // 8) % 8
    async with session.get(f"{edge}/tiles/{z}/{x}/{y}.png", headers=_cookie_header(cookies)) as response:
        await response.read()
        return response.status


async def test_rotation_under_load(tmp_path: Path) -> None:
    with running_stack(tmp_path / "stack") as stack:
        edge = stack.config.edge_url
        config = str(stack.config.local / "gateway.toml")
        # A cookie-less session: each request carries exactly the cookies the test chose.
        async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
            async with session.post(f"{edge}/demo/token", json={"sub": "loadtest"}) as response:
                token = (await response.json())["token"]
            status, old_key, old_cookies = await _grant(session, edge, token)
            assert status == 200
            results: Counter[str] = Counter()
            latest: _Latest = {"key": old_key, "cookies": old_cookies}
            stop = asyncio.Event()

            async def worker(index: int) -> None:
                n = index
                while not stop.is_set():
                    status, key, cookies = await _grant(session, edge, token)
                    results[f"grant {status}"] += 1
                    if status == 200:
                        latest["key"], latest["cookies"] = key, cookies
                        results[f"tile-new {await _tile(session, edge, cookies, n)}"] += 1
                    results[f"tile-old {await _tile(session, edge, old_cookies, n)}"] += 1
                    n += 7

            workers = [asyncio.create_task(worker(i)) for i in range(6)]
            await asyncio.sleep(2)
            started = time.monotonic()
            await _cli("keys", "rotate", "--config", config, "--wait", "5")
            rotation_seconds = time.monotonic() - started
            await asyncio.sleep(5)  # keep the load on after the switch
            stop.set()
            await asyncio.gather(*workers)
            failures = {k: v for k, v in results.items() if not k.endswith(" 200")}
            assert failures == {}, results
            assert results["grant 200"] > 50 and rotation_seconds >= 5
            new_key = load_keyring(stack.config.local / "keys").active.key_pair_id
            assert new_key != old_key and latest["key"] == new_key  # new grants carry the new key
            assert await _tile(session, edge, old_cookies, 1) == 200  # the old key still verifies

            await _cli("keys", "retire", "--config", config, "--max-grant-seconds", "0")
            deadline = time.monotonic() + 10
            while await _tile(session, edge, old_cookies, 1) == 200:
                assert time.monotonic() < deadline, "the edge kept trusting a retired key"
                await asyncio.sleep(0.2)
            async with session.get(
                f"{edge}/tiles/0/0/0.png", headers=_cookie_header(old_cookies)
            ) as response:
                assert response.status == 403 and "<Code>InvalidKey</Code>" in await response.text()
            assert await _tile(session, edge, latest["cookies"], 1) == 200
