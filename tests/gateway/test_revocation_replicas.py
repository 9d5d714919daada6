"""Two gateway replicas on one real PostgreSQL: a user revoked through one stops getting his old
(revoked) tag from the other within a poll, while another user's grants stay byte-stable on both."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from gateway.common.config import Secret
from gateway.common.revocation import tag_of
from gateway.service.app import create_app
from gateway.service.settings import AuthSettings
from gateway.sharing.revocation_settings import RevocationSettings
from gateway.sharing.settings import SharingSettings
from gateway.signing.encoding import cf_b64decode
from tests.gateway.conftest import DEV_SECRET, bearer, make_settings
from tests.pgserver import PostgresServer, pg_bin, postgres_server

Client = TestClient[Any, Any]


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    assert pg_bin() is not None, "PostgreSQL server binaries are absent: run make install"
    with postgres_server() as server:
        yield server


async def _tag(client: Client, who: str) -> tuple[int | None, str]:
    response = await client.post("/v1/cookies", json={"prefix": "tiles/"}, headers=bearer(who))
    assert response.status == 200
    policy_text = response.cookies["CloudFront-Policy"].value
    policy = json.loads(cf_b64decode(policy_text))
    return tag_of(policy["Statement"][0]["Condition"]["DateGreaterThan"]["AWS:EpochTime"]), policy_text


async def test_a_revocation_through_one_replica_reaches_the_other_within_a_poll(
    aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path, postgres: PostgresServer
) -> None:
    dsn = postgres.create_database()
    settings = dataclasses.replace(
        make_settings(tmp_path, keyring_dir, None, "b"),
        revocation=RevocationSettings(enabled=True, poll_seconds=0.2),
        sharing=SharingSettings(dsn=Secret(dsn)),
        auth=AuthSettings(dev_secret=Secret(DEV_SECRET), operator_groups=("ops",)),
    )
    first, second = await aiohttp_client(create_app(settings)), await aiohttp_client(create_app(settings))
    bob, bob_bytes = await _tag(second, "bob")
    carol, carol_bytes = await _tag(first, "carol")
    assert bob is not None and carol is not None and bob != carol
    assert await _tag(first, "bob") == (bob, bob_bytes)  # one tag per principal, on every replica
    assert await _tag(second, "carol") == (carol, carol_bytes)

    response = await first.post("/v1/revocations", json={"sub": "bob"}, headers=bearer("olga", ["ops"]))
    assert response.status == 200 and (await response.json())["revoked"] == 1
    started = time.monotonic()
    while (await _tag(second, "bob"))[0] == bob:  # the other replica kept bob's tag in memory
        assert time.monotonic() - started < 5, "the other replica still hands out the revoked tag"
        await asyncio.sleep(0.05)
    fresh = (await _tag(second, "bob"))[0]
    assert fresh is not None and fresh != bob and (await _tag(first, "bob"))[0] == fresh
    assert await _tag(second, "carol") == (carol, carol_bytes)  # untouched, byte-stable
    assert await _tag(first, "carol") == (carol, carol_bytes)
