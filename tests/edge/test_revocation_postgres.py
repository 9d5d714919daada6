"""An edge reading the revocation list from the gateways' PostgreSQL share store (several hosts):
a revoked grant is refused within seconds, another grantee's is not, and a database that stops
answering turns the list stale (share grants refused) until it answers again."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_aiohttp import AiohttpClient

from devstack.seaweed import SeaweedFS
from gateway.common.config import Secret
from gateway.edge.revocation import EdgeRevocation
from gateway.sharing.settings import SharingSettings
from gateway.sharing.store import open_store
from tests.edge.conftest import cookie_header, edge_settings, get, start_edge
from tests.edge.test_revocation_edge import PATH, _check, _grant, _ok, _until
from tests.pgserver import PostgresServer, pg_bin, postgres_server


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    assert pg_bin() is not None, "PostgreSQL server binaries are absent: run make install"
    with postgres_server() as server:
        yield server


async def test_an_edge_on_postgresql_refuses_a_revoked_grant_and_fails_closed_when_it_is_down(
    aiohttp_client: AiohttpClient,
    seaweed: SeaweedFS,
    filled_bucket: str,
    keyring_dir: Path,
    postgres: PostgresServer,
) -> None:
    dsn = postgres.create_database()
    store = open_store(SharingSettings(dsn=Secret(dsn)))
    await store.start()
    try:
        now = int(time.time())
        bob = await store.tag("iss\0bob", "share:p1", True, now)
        carol = await store.tag("iss\0carol", "share:p1", True, now)
        rule = await store.tag("iss\0carol", "rule:tiles/", False, now)
        settings = dataclasses.replace(
            edge_settings(seaweed, filled_bucket, keyring_dir),
            revocation=EdgeRevocation(store=Secret(dsn), poll_seconds=0.2, max_stale_seconds=1.0),
        )
        edge = await start_edge(aiohttp_client, settings)
        bob_cookie, carol_cookie = cookie_header(_grant(edge, bob)), cookie_header(_grant(edge, carol))
        rule_cookie = cookie_header(_grant(edge, rule))
        assert (await get(edge, PATH, headers=bob_cookie)).status == 200
        await store.revoke(now + 600, principal="iss\0bob")
        await _until(lambda: _check(get(edge, PATH, headers=bob_cookie)))
        assert (await get(edge, PATH, headers=carol_cookie)).status == 200

        postgres.ctl("stop")  # the store stops answering
        try:
            await _until(lambda: _check(get(edge, PATH, headers=carol_cookie)), seconds=10)
            assert (await get(edge, PATH, headers=rule_cookie)).status == 200  # rule grants go on
        finally:
            postgres.ctl("start")
        await _until(lambda: _ok(get(edge, PATH, headers=carol_cookie)), seconds=15)
        assert await _check(get(edge, PATH, headers=bob_cookie))  # still revoked after the outage
    finally:
        await store.close()
