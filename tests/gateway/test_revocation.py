"""Revocation over real HTTP: the gateway tags grants, an operator revokes a user, and the local
edge (and the CloudFront Function over the KeyValueStore the gateway keeps) refuse that user's
cookies and signed URLs within seconds while another user's grants for the same prefix keep
working and stay byte-stable."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sqlite3
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from devstack.seaweed import SeaweedFS
from gateway.common.revocation import tag_of
from gateway.edge.app import create_edge_app
from gateway.edge.revocation import EdgeRevocation
from gateway.edge.settings import EdgeDistribution
from gateway.service.app import create_app
from gateway.service.handlers.revocations import REVOCATIONS
from gateway.service.settings import AuthSettings, Secret
from gateway.sharing.revocation import Revocations
from gateway.sharing.revocation_kvs import KvsMirror
from gateway.sharing.revocation_settings import RevocationSettings
from gateway.sharing.settings import SharingSettings
from gateway.sharing.store import open_store
from gateway.signing.encoding import cf_b64decode
from tests.edge.conftest import edge_settings
from tests.edge.test_revocation_function import _event_request, run_function
from tests.gateway.conftest import DEV_SECRET, bearer, free_port, make_settings
from tests.gateway.kvs_stub import ARN, KvsState, kvs_stub, stub_client

TILE = "tiles/1/0/0.png"
DEADLINE = 5.0
Client = TestClient[Any, Any]


@dataclasses.dataclass
class Stack:
    gateway: Client
    edge: Client
    kvs: KvsState


async def _stack(
    aiohttp_client: AiohttpClient,
    tmp_path: Path,
    keyring_dir: Path,
    seaweed: SeaweedFS,
    bucket: str,
    proxy: str,
) -> Stack:
    port = free_port()
    cdn = f"http://127.0.0.1:{port}"
    settings = make_settings(tmp_path, keyring_dir, seaweed, bucket, cdn_base_url=cdn)
    revocation = RevocationSettings(enabled=True, poll_seconds=0.2)
    shares = tmp_path / "shares.sqlite3"  # the share store, which holds the tags and revocations
    settings = dataclasses.replace(
        settings,
        revocation=dataclasses.replace(revocation, kvs_arn=ARN, kvs_sync_seconds=0.5),
        sharing=SharingSettings(sqlite_file=shares),
        auth=AuthSettings(dev_secret=Secret(DEV_SECRET), operator_groups=("ops",)),
    )
    app = create_app(settings)
    longest = settings.signing.window_seconds + settings.signing.grace_seconds
    # The same object create_app makes, with a client that reaches the KeyValueStore stub.
    mirror = KvsMirror(stub_client(proxy), ARN)
    app[REVOCATIONS] = Revocations(settings.revocation, open_store(settings.sharing), longest, mirror)
    gateway = await aiohttp_client(app)
    edge_config = dataclasses.replace(
        edge_settings(seaweed, bucket, keyring_dir),
        distribution=EdgeDistribution((cdn,)),
        revocation=EdgeRevocation(store=Secret(shares), poll_seconds=0.2),
    )
    edge = await aiohttp_client(create_edge_app(edge_config), server_kwargs={"port": port})
    return Stack(gateway, edge, KvsState())


async def _cookies(gateway: Client, who: str) -> dict[str, str]:
    response = await gateway.post("/v1/cookies", json={"prefix": "tiles/"}, headers=bearer(who))
    assert response.status == 200, await response.text()
    return {name: morsel.value for name, morsel in response.cookies.items()}


async def _url(gateway: Client, who: str) -> str:
    response = await gateway.get("/v1/signed-url", params={"path": TILE}, headers=bearer(who))
    assert response.status == 200
    url: str = (await response.json())["url"]
    return url


async def _fetch(edge: Client, *, cookies: dict[str, str] | None = None, url: str | None = None) -> int:
    if url is not None:
        parts = urlsplit(url)
        response = await edge.get(f"{parts.path}?{parts.query}")
    else:
        header = "; ".join(f"{k}={v}" for k, v in (cookies or {}).items())
        response = await edge.get(f"/{TILE}", headers={"Cookie": header})
    await response.read()
    return response.status


async def _within(check: Callable[[], Awaitable[bool]], seconds: float = DEADLINE) -> float:
    started = time.monotonic()
    while not await check():
        assert time.monotonic() - started < seconds, "not within the deadline"
        await asyncio.sleep(0.05)
    return time.monotonic() - started


@pytest.fixture
async def stack(
    aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path, seaweed: SeaweedFS, bucket: str
) -> Any:
    seaweed.client().put_object(Bucket=bucket, Key=TILE, Body=b"tile", ContentType="image/png")
    with kvs_stub() as (proxy, state):
        built = await _stack(aiohttp_client, tmp_path, keyring_dir, seaweed, bucket, proxy)
        built.kvs = state
        yield built


async def test_revoking_a_user_stops_his_grants_at_the_edge_and_nobody_elses(
    stack: Stack, tmp_path: Path
) -> None:
    gateway, edge = stack.gateway, stack.edge
    bob, carol = await _cookies(gateway, "bob"), await _cookies(gateway, "carol")
    assert bob != carol  # one tag per principal: never the same bytes
    assert await _cookies(gateway, "bob") == bob and await _cookies(gateway, "carol") == carol  # stable
    bob_url, carol_url = await _url(gateway, "bob"), await _url(gateway, "carol")
    assert "Policy=" in bob_url and "Expires=" not in bob_url  # a revocable URL is custom
    for grant in ({"cookies": bob}, {"cookies": carol}, {"url": bob_url}, {"url": carol_url}):
        assert await _fetch(edge, **grant) == 200

    assert (await gateway.post("/v1/revocations", json={"sub": "bob"})).status == 401
    assert (await gateway.post("/v1/revocations", json={"sub": "bob"}, headers=bearer("carol"))).status == 403
    response = await gateway.post("/v1/revocations", json={"sub": "bob"}, headers=bearer("olga", ["ops"]))
    assert response.status == 200
    answer = await response.json()
    assert answer["sub"] == "bob" and answer["revoked"] == 1 and answer["until"] > time.time() + 3600

    async def bob_refused() -> bool:
        return await _fetch(edge, cookies=bob) == 403

    assert await _within(bob_refused) < DEADLINE
    assert await _fetch(edge, url=bob_url) == 403
    assert await _fetch(edge, cookies=carol) == 200 and await _fetch(edge, url=carol_url) == 200
    assert await _cookies(gateway, "carol") == carol  # untouched and still byte-stable
    fresh = await _cookies(gateway, "bob")  # revoking ends what he held, not his sign-in
    assert fresh != bob and await _fetch(edge, cookies=fresh) == 200


async def test_the_keyvaluestore_follows_and_the_function_refuses_the_same(
    stack: Stack, tmp_path: Path
) -> None:
    gateway = stack.gateway
    bob, carol = await _cookies(gateway, "bob"), await _cookies(gateway, "carol")
    response = await gateway.post("/v1/revocations", json={"sub": "bob"}, headers=bearer("olga", ["ops"]))
    until = (await response.json())["until"]

    async def mirrored() -> bool:
        return list(stack.kvs.items.values()) == [str(until)]

    await _within(mirrored)
    assert all(stack.kvs.signed_v4a)  # the API's signature (SigV4A, through awscrt)
    events = [
        {
            "request": _event_request("", list(jar.items())),
            "store": dict(stack.kvs.items),
            "now": int(time.time()),
        }
        for jar in (bob, carol)
    ]
    assert run_function(events, tmp_path / "node") == [403, "allow"]


async def test_revocations_are_404_when_off_and_validate_their_body(
    aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(tmp_path, keyring_dir, None, "b")
    off = await aiohttp_client(create_app(settings))
    ops = bearer("olga", ["ops"])
    assert (await off.post("/v1/revocations", json={"sub": "bob"}, headers=ops)).status == 404
    on = dataclasses.replace(
        settings,
        revocation=RevocationSettings(enabled=True),
        sharing=SharingSettings(sqlite_file=tmp_path / "shares.sqlite3"),
        auth=AuthSettings(dev_secret=Secret(DEV_SECRET), operator_groups=("ops",)),
    )
    client = await aiohttp_client(create_app(on))
    for body, status in [({}, 400), ({"sub": 7}, 400), ({"sub": ""}, 422), ({"sub": "a\nb"}, 422)]:
        response = await client.post("/v1/revocations", json=body, headers=ops)
        assert response.status == status and response.content_type == "application/problem+json", body
    response = await client.post("/v1/revocations", json={"sub": "nobody"}, headers=ops)
    assert response.status == 200 and (await response.json())["revoked"] == 0
    audit = [r.getMessage() for r in caplog.records if r.name == "gateway.service.handlers.revocations"]
    assert audit == [
        "grants revoked: operator 'olga' (issuer '') revoked 0 tag(s) of 'nobody' (issuer '') until "
        + str((await response.json())["until"])
    ]


async def test_a_store_that_is_down_leaves_rule_grants_working_untagged(
    aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path
) -> None:
    """The documented trade-off: rule grants do not wait for the share store (they are made
    untagged while it is down, so they cannot be revoked before they expire), and once it answers
    again they are tagged."""
    broken = tmp_path / "not-a-database"
    broken.mkdir()  # SQLite cannot open a directory: every call fails
    settings = dataclasses.replace(
        make_settings(tmp_path, keyring_dir, None, "b"),
        revocation=RevocationSettings(enabled=True, poll_seconds=0.2),
        sharing=SharingSettings(sqlite_file=broken),
    )
    client = await aiohttp_client(create_app(settings))

    async def lower_bound() -> int | None:
        cookies = await _cookies(client, "bob")
        policy = json.loads(cf_b64decode(cookies["CloudFront-Policy"]))
        return tag_of(policy["Statement"][0]["Condition"]["DateGreaterThan"]["AWS:EpochTime"])

    assert await lower_bound() is None  # served, untagged
    response = await client.post("/v1/revocations", json={"sub": "bob"}, headers=bearer("olga", ["ops"]))
    assert response.status == 403  # no operators configured here
    broken.rmdir()  # the store comes back (a file can be made there now)
    assert await lower_bound() is not None


async def test_a_keyvaluestore_that_refuses_writes_is_counted_not_silent(stack: Stack) -> None:
    """A full store (402 ServiceQuotaExceeded): every failed sync is counted in /metrics, which the
    CloudFormation alarm RevocationMirrorFailing watches, and the entry gauges say how full it is."""
    gateway = stack.gateway
    await _cookies(gateway, "bob")
    stack.kvs.max_bytes = 5  # nothing more fits
    response = await gateway.post("/v1/revocations", json={"sub": "bob"}, headers=bearer("olga", ["ops"]))
    assert response.status == 200

    def sample(text: str, name: str) -> float:
        lines = [line for line in text.splitlines() if line.startswith(name + " ")]
        return float(lines[0].split()[1]) if lines else 0.0

    async def counted() -> bool:
        text = await (await gateway.get("/metrics")).text()
        return sample(text, "gateway_revocation_kvs_sync_failures_total") >= 1

    await _within(counted)
    text = await (await gateway.get("/metrics")).text()
    assert sample(text, "gateway_revocation_list_entries") == 1
    assert sample(text, "gateway_revocation_kvs_entries") == 0 and stack.kvs.items == {}


async def test_a_caller_past_the_signature_budget_makes_no_new_tags(
    aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path
) -> None:
    """A new grant tag (a store row, and once revoked a KeyValueStore entry) is charged to the
    caller's signature budget before it is made: past the budget the caller gets 429 and the store
    no new row, so a create-grant-delete loop cannot outrun the budget."""
    base = make_settings(tmp_path, keyring_dir, None, "b")
    store = tmp_path / "shares.sqlite3"
    settings = dataclasses.replace(
        base,
        server=dataclasses.replace(base.server, signatures_per_second=0.01, signature_burst=2),
        revocation=RevocationSettings(enabled=True, poll_seconds=0.2),
        sharing=SharingSettings(sqlite_file=store),
    )
    client = await aiohttp_client(create_app(settings))
    await _cookies(client, "alice")  # a tag and a signature: the budget is spent
    again = await client.post("/v1/cookies", json={"prefix": "tiles/"}, headers=bearer("alice"))
    assert again.status == 200  # kept tag, cached grant: free
    response = await client.post("/v1/cookies", json={"prefix": "users/alice/"}, headers=bearer("alice"))
    assert response.status == 429 and response.content_type == "application/problem+json"
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT source FROM grant_tags").fetchall() == [("rule:tiles/",)]
