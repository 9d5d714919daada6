"""POST /v1/credentials against a fake STS that misbehaves (tests/credentials/fakests.py): every
failure answers every waiting request (503, never a 500 or a hang), STS refusing the request is a
422 that does not invite retries, non-ASCII users get valid session names, a hanging STS leaves the
default thread pool and /readyz alone, and lifetimes share cached sets (issue 16)."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pytest_aiohttp import AiohttpClient, AiohttpServer

from gateway.service.app import create_app
from gateway.service.settings import CredentialsSettings
from tests.credentials.fakests import NAME, FakeSts
from tests.credentials.test_vending import ROLE, WRITABLE
from tests.gateway.conftest import bearer, make_settings


@pytest.fixture
async def sts(aiohttp_server: AiohttpServer) -> AsyncIterator[tuple[FakeSts, str]]:
    fake = FakeSts()
    server = await aiohttp_server(fake.app)
    yield fake, str(server.make_url("/"))
    fake.release.set()


async def _client(aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path, endpoint: str) -> Any:
    settings = make_settings(tmp_path, keyring_dir, None, "media")
    settings.rules_file.write_text(WRITABLE)
    config = CredentialsSettings(
        mode="assume_role", role_arn=ROLE, endpoint_url=endpoint, timeout_seconds=0.5
    )
    return await aiohttp_client(create_app(dataclasses.replace(settings, credentials=config)))


async def test_non_ascii_users_get_valid_distinct_session_names(
    aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path, sts: tuple[FakeSts, str]
) -> None:
    fake, endpoint = sts
    client = await _client(aiohttp_client, tmp_path, keyring_dir, endpoint)
    for sub in ["élodie", "elodie", "Müller", "李雷", "alİce"]:
        response = await client.post("/v1/credentials", json={}, headers=bearer(sub))
        assert response.status == 200, (sub, await response.text())
    names = [call["RoleSessionName"] for call in fake.calls]
    assert all(NAME.match(name) for name in names) and len(set(names)) == 5
    assert fake.calls[0]["Tags.member.1.Value"] == "élodie"  # tag values may hold Unicode letters


async def test_sts_refusing_the_request_is_422_not_retry(
    aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path, sts: tuple[FakeSts, str]
) -> None:
    fake, endpoint = sts
    fake.mode = "refuse"
    client = await _client(aiohttp_client, tmp_path, keyring_dir, endpoint)
    response = await client.post("/v1/credentials", json={}, headers=bearer("alice"))
    body = await response.json()
    assert response.status == 422 and "Retry-After" not in response.headers
    assert response.content_type == "application/problem+json"
    assert "InvalidParameterValue" not in str(body) and "validation" not in str(body)
    # STS answered, so it is up: refusals never trip the fail-fast breaker for other users.
    for sub in ["b1", "b2", "b3"]:
        await client.post("/v1/credentials", json={}, headers=bearer(sub))
    fake.mode = "ok"
    assert (await client.post("/v1/credentials", json={}, headers=bearer("carol"))).status == 200


@pytest.mark.parametrize("mode", ["missing", "baddate", "past", "soon"])
async def test_broken_answers_give_503_to_every_waiter(
    aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path, sts: tuple[FakeSts, str], mode: str
) -> None:
    fake, endpoint = sts
    fake.mode = mode
    client = await _client(aiohttp_client, tmp_path, keyring_dir, endpoint)

    async def one() -> tuple[int, str, dict[str, Any]]:
        response = await client.post(
            "/v1/credentials", json={"duration_seconds": 900}, headers=bearer("alice")
        )
        return response.status, response.headers.get("Retry-After", ""), await response.json()

    started = time.monotonic()
    answers = await asyncio.wait_for(asyncio.gather(*(one() for _ in range(4))), 10)
    assert time.monotonic() - started < 5
    for status, retry_after, body in answers:
        assert status == 503 and int(retry_after) > 0, body
        assert "secret" not in str(body) and "ASIAFAKE" not in str(body)
    assert len(fake.calls) == 1  # one STS call served all four


async def test_hanging_sts_leaves_the_default_pool_and_readyz_alone(
    aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path, sts: tuple[FakeSts, str]
) -> None:
    fake, endpoint = sts
    fake.mode = "hang"
    client = await _client(aiohttp_client, tmp_path, keyring_dir, endpoint)

    async def one(sub: str) -> tuple[int, str]:
        response = await client.post("/v1/credentials", json={}, headers=bearer(sub))
        return response.status, response.headers.get("Retry-After", "")

    vends = [asyncio.create_task(one(f"user{i}")) for i in range(12)]
    await asyncio.sleep(0.3)
    loop = asyncio.get_running_loop()
    for _ in range(3):  # the default executor still runs work at once while STS hangs
        assert await asyncio.wait_for(loop.run_in_executor(None, time.monotonic), 0.5)
    started = time.monotonic()
    ready = await client.get("/readyz")
    assert ready.status == 200 and time.monotonic() - started < 2
    assert "TimeoutError" not in (await ready.json())["checks"]["s3"]
    answers = await asyncio.wait_for(asyncio.gather(*vends), 10)
    assert all(status == 503 and int(retry_after) > 0 for status, retry_after in answers)
    # The in-flight cap: only 8 callers ever reached STS, the rest were refused without a call.
    assert len({call["RoleSessionName"] for call in fake.calls}) <= 8
    # After consecutive failures, vending fails fast without calling STS.
    before, started = len(fake.calls), time.monotonic()
    response = await client.post("/v1/credentials", json={}, headers=bearer("late"))
    assert response.status == 503 and int(response.headers["Retry-After"]) > 0
    assert time.monotonic() - started < 0.5 and len(fake.calls) == before


async def test_many_lifetimes_share_a_few_sts_calls(
    aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path, sts: tuple[FakeSts, str]
) -> None:
    fake, endpoint = sts
    client = await _client(aiohttp_client, tmp_path, keyring_dir, endpoint)
    for seconds in range(900, 3600, 90):  # 30 different lifetimes
        response = await client.post(
            "/v1/credentials", json={"duration_seconds": seconds}, headers=bearer("alice")
        )
        assert response.status == 200
    assert len(fake.calls) <= 3
    assert {call["DurationSeconds"] for call in fake.calls} <= {"900", "1800", "3600"}
