"""A soak of the whole stack: several minutes of mixed traffic with a key rotation in the middle.
Zero 5xx, zero failed tile reads, every uploaded object intact (checksums), memory flat.
``SOAK_SECONDS`` sets the length (default 180)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import sys
import time
from collections import Counter
from pathlib import Path

import aiohttp

from tests.stackutil import running_stack

SECONDS = float(os.environ.get("SOAK_SECONDS", "180"))


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def test_soak(tmp_path: Path) -> None:
    with running_stack(tmp_path / "stack", window=30, grace=10) as stack:
        edge, config = stack.config.edge_url, str(stack.config.local / "gateway.toml")
        pids = {"gateway": stack.processes[0].pid, "edge": stack.processes[1].pid}
        results: Counter[str] = Counter()
        uploaded: dict[str, str] = {}
        memory: dict[str, list[int]] = {name: [] for name in pids}
        stop = asyncio.Event()
        rng = random.Random(7)
        jar = aiohttp.DummyCookieJar()
        async with aiohttp.ClientSession(cookie_jar=jar, timeout=aiohttp.ClientTimeout(total=20)) as http:
            async with http.post(f"{edge}/demo/token", json={"sub": "soak"}) as response:
                auth = {"Authorization": f"Bearer {(await response.json())['token']}"}

            def record(kind: str, status: int) -> None:
                results[f"{kind} {status}"] += 1

            async def grant(prefix: str) -> tuple[dict[str, str], float]:
                """Cookies for ``prefix`` and when to renew them (refresh_after, as the demo page)."""
                async with http.post(f"{edge}/v1/cookies", json={"prefix": prefix}, headers=auth) as response:
                    record("cookies", response.status)
                    cookies = {k: v.value for k, v in response.cookies.items()}
                    refresh_after = float((await response.json())["refresh_after"])
                return {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}, refresh_after

            async def tiles() -> None:
                cookie, refresh_after = await grant("tiles/")
                while not stop.is_set():
                    if time.time() >= refresh_after + rng.random():  # renew in the next window, jittered
                        cookie, refresh_after = await grant("tiles/")
                    z = rng.randrange(0, 6)
                    x, y = rng.randrange(2**z), rng.randrange(2**z)
                    async with http.get(f"{edge}/tiles/{z}/{x}/{y}.png", headers=cookie) as response:
                        body = await response.read()
                        ok = body.startswith(b"\x89PNG")
                        record("tile" if ok else f"tile-bad {body[:120]!r}", response.status)

            async def batches() -> None:
                while not stop.is_set():
                    paths = [f"tiles/5/{rng.randrange(32)}/{rng.randrange(32)}.png" for _ in range(20)]
                    async with http.post(
                        f"{edge}/v1/signed-urls", json={"paths": paths}, headers=auth
                    ) as response:
                        ok = response.status == 200 and all(
                            "url" in r for r in (await response.json())["results"]
                        )
                        record("batch", response.status if ok else 0)
                    await asyncio.sleep(0.05)

            async def redirects() -> None:
                while not stop.is_set():
                    async with http.get(f"{edge}/v1/r/public/logo.png", allow_redirects=False) as response:
                        record("redirect", response.status)
                        location = response.headers.get("Location", "")
                    async with http.get(location) as response:
                        record("redirected-read", response.status)
                    await asyncio.sleep(0.1)

            async def uploads() -> None:
                n = 0
                while not stop.is_set():
                    body = rng.randbytes(rng.randrange(1, 200_000))
                    path = f"users/soak/{n:05d}.png"
                    spec = {"path": path, "content_type": "image/png", "content_length": len(body)}
                    async with http.post(f"{edge}/v1/uploads", json=spec, headers=auth) as response:
                        record("upload-presign", response.status)
                        answer = await response.json()
                    async with http.put(answer["url"], data=body, headers=answer["headers"]) as response:
                        record("s3-put", response.status)
                    uploaded[path] = hashlib.sha256(body).hexdigest()
                    n += 1
                    await asyncio.sleep(0.2)

            async def sample_memory() -> None:
                while not stop.is_set():
                    for name, pid in pids.items():
                        memory[name].append(_rss_kib(pid))
                    await asyncio.sleep(5)

            async def rotate_midway() -> None:
                await asyncio.sleep(SECONDS / 2)
                process = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "gateway", "keys", "rotate", "--config", config, "--wait", "5"
                )
                record("rotation", 200 if await process.wait() == 0 else 0)

            workers = [
                asyncio.create_task(w)
                for w in [
                    tiles(),
                    tiles(),
                    tiles(),
                    batches(),
                    redirects(),
                    uploads(),
                    sample_memory(),
                    rotate_midway(),
                ]
            ]
            await asyncio.sleep(SECONDS)
            stop.set()
            await asyncio.gather(*workers)

            # Every object uploaded is there, byte for byte, read back through the edge.
            cookie, _ = await grant("users/soak/")
            for path, digest in uploaded.items():
                async with http.get(f"{edge}/{path}", headers=cookie) as response:
                    body = await response.read()
                    record("readback", response.status if hashlib.sha256(body).hexdigest() == digest else 0)

        bad = {k: v for k, v in results.items() if not k.endswith((" 200", " 302"))}
        assert bad == {}, results
        assert results["tile 200"] > 200 and results["rotation 200"] == 1 and len(uploaded) > 10
        for name, samples in memory.items():
            third = max(1, len(samples) // 3)
            early, late = sum(samples[third : 2 * third]) / third, sum(samples[-third:]) / third
            assert late <= early * 1.25 + 8 * 1024, (name, samples)  # flat: no growth with traffic
