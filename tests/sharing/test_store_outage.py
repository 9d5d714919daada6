"""A PostgreSQL server that stops under a running gateway: share-based reads get 503 (fail closed)
while rule-based ones go on, and everything works again once it is back, without a restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pytest_aiohttp import AiohttpClient

from gateway.service.app import create_app
from tests.pgserver import PostgresServer
from tests.sharing.support import share, sharing_settings, signed_url


async def test_the_gateway_rides_out_a_database_restart(
    aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path, postgres: PostgresServer
) -> None:
    dsn = postgres.create_database()
    client = await aiohttp_client(
        create_app(sharing_settings(tmp_path, keyring_dir, dsn, timeout_seconds=1.0))
    )
    await share(client, "alice", {"path": "users/alice/p.jpg", "with": {"user": "bob"}})
    assert await signed_url(client, "bob", "users/alice/p.jpg") == 200
    await asyncio.to_thread(postgres.ctl, "stop")
    try:
        assert await signed_url(client, "bob", "users/alice/p.jpg") == 503
        assert await signed_url(client, "bob", "users/bob/p.jpg") == 200  # the rules alone
    finally:
        await asyncio.to_thread(postgres.ctl, "start")
    for _ in range(50):  # the pool checks a connection before lending it and makes new ones
        if await signed_url(client, "bob", "users/alice/p.jpg") == 200:
            break
        await asyncio.sleep(0.2)
    assert await signed_url(client, "bob", "users/alice/p.jpg") == 200
    assert await signed_url(client, "carol", "users/alice/p.jpg") == 403
