"""Issue 12 item 6: rate limits count work (signatures), not requests; and one caller's flood of
grant-cache misses cannot evict everyone else's cached grants."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path
from typing import Any

from pytest_aiohttp import AiohttpClient

from gateway.service import appkeys
from gateway.service.app import create_app
from gateway.service.faircache import FairCache
from tests.gateway.conftest import bearer, make_settings


def _app(tmp_path: Path, keyring_dir: Path, *, burst: int, cache_size: int = 100_000) -> Any:
    settings = make_settings(tmp_path, keyring_dir, None, "b", cache_size=cache_size)
    server = dataclasses.replace(settings.server, signatures_per_second=0.01, signature_burst=burst)
    return create_app(dataclasses.replace(settings, server=server))


def _counter(app: Any, name: str, label: str) -> float:
    metrics = app[appkeys.METRICS]
    return float(getattr(metrics, name).labels(label)._value.get())


async def test_a_batch_of_new_paths_is_429_once_the_signature_budget_is_spent(
    aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path
) -> None:
    app = _app(tmp_path, keyring_dir, burst=10)
    client = await aiohttp_client(app)
    bob = await client.post("/v1/signed-urls", json={"paths": ["public/shared.png"]}, headers=bearer("bob"))
    assert bob.status == 200

    paths = [f"users/alice/{i}.png" for i in range(40)]
    flood = await client.post("/v1/signed-urls", json={"paths": paths}, headers=bearer("alice"))
    assert flood.status == 429 and flood.content_type == "application/problem+json"
    assert int(flood.headers["Retry-After"]) >= 1
    assert (await flood.json())["status"] == 429
    # Ten signatures were made (her burst) and no more: the work, not the request, was limited.
    assert _counter(app, "signatures", "rsa-2048") == 1 + 10

    # What was signed is cached and costs nothing: those paths, and bob's grant, still answer.
    again = await client.post("/v1/signed-urls", json={"paths": paths[:10]}, headers=bearer("alice"))
    assert again.status == 200 and all("url" in r for r in (await again.json())["results"])
    shared = await client.get("/v1/signed-url", params={"path": "public/shared.png"}, headers=bearer("alice"))
    assert shared.status == 200
    # A new grant of any kind is refused to her...
    cookie = await client.post("/v1/cookies", json={"prefix": "users/alice/"}, headers=bearer("alice"))
    assert cookie.status == 429 and "Set-Cookie" not in cookie.headers
    single = await client.get(
        "/v1/signed-url", params={"path": "users/alice/new.png"}, headers=bearer("alice")
    )
    assert single.status == 429 and int(single.headers["Retry-After"]) >= 1
    # ...while other users keep their own budget.
    carol = await client.post("/v1/signed-urls", json={"paths": paths[:5]}, headers=bearer("carol"))
    assert carol.status == 200
    assert _counter(app, "signatures", "rsa-2048") == 1 + 10


async def test_one_users_flood_of_misses_leaves_others_cached_grants(
    aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path
) -> None:
    app = _app(tmp_path, keyring_dir, burst=10_000, cache_size=20)
    client = await aiohttp_client(app)
    bob = bearer("bob")
    first = await client.post("/v1/cookies", json={"prefix": "users/bob/"}, headers=bob)
    first_url = await client.get("/v1/signed-url", params={"path": "users/bob/a.png"}, headers=bob)
    assert first.status == first_url.status == 200

    for batch in range(5):  # 500 never-seen paths from one user, 25 times the cache
        paths = [f"users/mallory/{batch}-{i}.png" for i in range(100)]
        flood = await client.post("/v1/signed-urls", json={"paths": paths}, headers=bearer("mallory"))
        assert flood.status == 200
    assert len(app[appkeys.GRANTER].cache) == 20

    hits, misses = _counter(app, "cache", "hit"), _counter(app, "cache", "miss")
    second = await client.post("/v1/cookies", json={"prefix": "users/bob/"}, headers=bob)
    second_url = await client.get("/v1/signed-url", params={"path": "users/bob/a.png"}, headers=bob)
    assert second.cookies["CloudFront-Signature"].value == first.cookies["CloudFront-Signature"].value
    assert (await second_url.json())["url"] == (await first_url.json())["url"]
    assert _counter(app, "cache", "hit") == hits + 2 and _counter(app, "cache", "miss") == misses
    assert app[appkeys.GRANTER].cache.entries_of("user\0\0bob") == 2  # still his: mallory paid


def test_fair_cache_evicts_from_the_fullest_owner_and_keeps_its_ttl() -> None:
    now = [1000.0]
    cache = FairCache(maxsize=6, ttl=100, timer=lambda: now[0])

    def key(name: str) -> tuple[str, bool, int, int, str]:
        return (name, True, 0, 0, "K")

    cache.put(key("a1"), "A1", "alice")
    cache.put(key("b1"), "B1", "bob")
    for i in range(10):
        cache.put(key(f"m{i}"), f"M{i}", "mallory")
    assert len(cache) == 6 and cache.get(key("a1")) == "A1" and cache.get(key("b1")) == "B1"
    assert [cache.get(key(f"m{i}")) for i in range(6, 10)] == ["M6", "M7", "M8", "M9"]
    assert cache.get(key("m5")) is None  # mallory's oldest went first
    # Reading an entry never changes whose it is.
    assert cache.entries_of("mallory") == 4 and cache.entries_of("bob") == 1
    # Within one owner, the least recently used goes: m6 was just read, m7 is the oldest unread.
    cache.get(key("m6"))
    cache.put(key("b2"), "B2", "bob")
    assert cache.get(key("m7")) is None and cache.get(key("m6")) == "M6"
    now[0] += 100  # the TTL (window + grace in the gateway) still applies
    assert cache.get(key("a1")) is None and len(cache) == 5
    cache.put(key("c1"), "C1", "carol")
    assert len(cache) == 1 and cache.entries_of("mallory") == 0


def test_fair_cache_invariants_under_random_use() -> None:
    rng = random.Random(12)
    now = [0.0]
    cache = FairCache(maxsize=50, ttl=30, timer=lambda: now[0])
    owners = ["flood"] * 8 + [f"user{i}" for i in range(12)]
    for step in range(20_000):
        now[0] += rng.random() * 0.01
        key = (f"r{rng.randrange(400)}", False, 0, 0, "K")
        if rng.random() < 0.5:
            cache.put(key, f"s{step}", rng.choice(owners))
        else:
            cache.get(key)
        counts = {name: owner.count for name, owner in cache._owners.items()}
        assert sum(counts.values()) == len(cache) <= 50
        assert cache._most == max(counts.values(), default=0)
        assert all(owner in cache._by_count[owner.count] for owner in cache._owners.values())
