"""Review of issue 15, F4: numbers a client controls never overflow the share store into a 500
(SQLite's INTEGER and PostgreSQL's BIGINT are 64-bit), on both databases, over real HTTP."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import time
from pathlib import Path

import pytest
from pytest_aiohttp import AiohttpClient

from gateway.rules.access import Principal
from gateway.service.app import create_app
from gateway.sharing.model import BadCursor, decode_cursor, new_id
from gateway.sharing.settings import LONGEST_EXPIRES_IN, SharingSettings
from gateway.sharing.store import ShareLimit, ShareStore, StoreRejected, open_store
from tests.gateway.conftest import bearer
from tests.sharing.support import Client, share, sharing_settings

ALBUM = "users/alice/album7/"
ALICE = Principal("alice", (), "idp")


@pytest.fixture
async def client(
    aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path, backend_dsn: str
) -> Client:
    return await aiohttp_client(create_app(sharing_settings(tmp_path, keyring_dir, backend_dsn)))


def _cursor(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize("seconds", [2**63 - 1, 2**63, 10**30, LONGEST_EXPIRES_IN + 1])
async def test_expires_in_past_ten_years_is_422_never_an_overflow(client: Client, seconds: int) -> None:
    body = {"prefix": ALBUM, "with": {"user": "bob"}, "expires_in": seconds}
    answer = await share(client, "alice", body, status=422)
    assert answer["detail"] == f"expires_in may be at most {LONGEST_EXPIRES_IN} seconds here"
    made = await share(client, "alice", {**body, "expires_in": LONGEST_EXPIRES_IN})
    assert made["expires"] == made["created"] + LONGEST_EXPIRES_IN


@pytest.mark.parametrize("created", [10**30, 2**63, 2**63 - 1, -(2**63) - 1, -1])
async def test_a_forged_cursor_out_of_range_is_422_never_a_500(client: Client, created: int) -> None:
    await share(client, "bob", {"prefix": "users/bob/", "with": {"anyone": True}})
    cursor = _cursor([created, "A" * 22])
    for query in (f"cursor={cursor}", f"with=me&cursor={cursor}"):
        response = await client.get(f"/v1/shares?{query}", headers=bearer("alice"))
        assert response.status == 422, (query, await response.text())
        assert response.content_type == "application/problem+json"
        assert (await response.json())["detail"] == "cursor is not one this gateway gave"


def test_cursors_decode_only_times_the_store_can_hold() -> None:
    assert decode_cursor(_cursor([2**62, "A" * 22])) == (2**62, "A" * 22)
    for created in (2**62 + 1, -1):
        with pytest.raises(BadCursor):
            decode_cursor(_cursor([created, "A" * 22]))


async def test_a_value_the_database_refuses_is_store_rejected(store: ShareStore) -> None:
    """Whatever slips past the handlers' checks: the database's refusal is one typed error (a
    422 in /v1/shares, 503 elsewhere), not OverflowError or psycopg's DataError (a 500)."""
    now = int(time.time())
    with pytest.raises(StoreRejected):
        await store.create(ALICE, "prefix", ALBUM, "user", "bob", now, 2**63)
    if store.dialect == "sqlite":  # PostgreSQL compares a bigint with a larger numeric fine
        with pytest.raises(StoreRejected):
            await store.owned(ALICE, now, 10, (2**63, new_id()))
    assert (await store.owned(ALICE, now, 10, None)).shares == []  # the store still answers


def test_the_setting_cannot_reach_past_ten_years(tmp_path: Path) -> None:
    problems: list[str] = []
    SharingSettings(max_expires_in_seconds=LONGEST_EXPIRES_IN + 1).check(problems, tmp_path)
    assert problems == [f"sharing.max_expires_in_seconds must be 0 (ten years) to {LONGEST_EXPIRES_IN}"]


async def test_concurrent_creates_never_pass_the_owner_limit(store_settings: SharingSettings) -> None:
    """Review of issue 15: the limit was count-then-insert, racy on PostgreSQL (READ COMMITTED);
    thirty creates at once through a pool of ten connections leave exactly the limit."""
    store = open_store(dataclasses.replace(store_settings, max_shares_per_owner=3))
    await store.start()
    try:
        now = int(time.time())
        made = await asyncio.gather(
            *(store.create(ALICE, "path", f"{ALBUM}{n}.jpg", "user", "bob", now, None) for n in range(30)),
            return_exceptions=True,
        )
        assert [type(m) for m in made if isinstance(m, BaseException)] == [ShareLimit] * 27
        assert len((await store.owned(ALICE, now, 100, None)).shares) == 3
    finally:
        await store.close()


async def test_share_creation_is_rate_limited_per_owner(
    aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path
) -> None:
    """Review of issue 15, F2: create-then-delete churn (t4.py, ~170 loops a second) is bounded
    per owner; deleting does not give the budget back, and others are not charged."""
    settings = sharing_settings(tmp_path, keyring_dir, creates_per_minute=3)
    client = await aiohttp_client(create_app(settings))
    for n in range(3):
        made = await share(client, "alice", {"path": f"{ALBUM}{n}.jpg", "with": {"anyone": True}})
        response = await client.delete(f"/v1/shares/{made['id']}", headers=bearer("alice"))
        assert response.status == 204
    response = await client.post(
        "/v1/shares", json={"path": f"{ALBUM}x.jpg", "with": {"anyone": True}}, headers=bearer("alice")
    )
    assert response.status == 429 and response.content_type == "application/problem+json"
    assert int(response.headers["Retry-After"]) >= 1
    assert (await response.json())["detail"] == "you may create at most 3 shares a minute: retry later"
    await share(client, "bob", {"path": "users/bob/x.jpg", "with": {"anyone": True}})
