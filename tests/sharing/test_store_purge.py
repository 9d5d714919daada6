"""Review of issue 15, F2: dead shares are purged, lookups never walk them, and no caller waits
for the SQLite store past ``sharing.timeout_seconds`` (a slow lookup never holds a tag write)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
from pytest_aiohttp import AiohttpClient

from gateway.common.config import Secret
from gateway.common.revocation import is_share, tag_of
from gateway.rules.access import ANONYMOUS, Principal
from gateway.service import appkeys
from gateway.service.app import create_app
from gateway.sharing import purge as purge_module
from gateway.sharing.backends import Backend, SqliteBackend, Tx
from gateway.sharing.purge import DELETED_KEPT_SECONDS
from gateway.sharing.revocation_settings import RevocationSettings
from gateway.sharing.settings import SharingSettings
from gateway.sharing.store import ShareStore, StoreUnavailable, open_store
from gateway.signing.encoding import cf_b64decode
from tests.gateway.conftest import bearer
from tests.sharing.support import sharing_settings

ALICE = Principal("alice", (), "idp")
BOB = Principal("bob", ("friends",), "idp")
NOW = 1_700_000_000


async def _churn(store: ShareStore, times: int) -> None:
    """What /tmp/attack15/t4.py did a million times: share with anyone, delete, again."""
    for n in range(times):
        made = await store.create(ALICE, "path", f"users/alice/{n}.jpg", "anyone", "", NOW, None)
        await store.delete(ALICE, made.id, NOW)


async def _plans(tmp_path: Path, work: object) -> list[str]:
    """The query plans of every statement the store's reading connection ran for ``work``."""
    store = open_store(SharingSettings(enabled=True, sqlite_file=tmp_path / "s.sqlite3"))
    await store.start()
    await _churn(store, 50)
    await store.create(ALICE, "prefix", "users/alice/pub/", "anyone", "", NOW, None)
    backend = store.backend
    assert isinstance(backend, SqliteBackend)
    seen: list[str] = []
    await backend._reader.call(lambda c: c.set_trace_callback(seen.append))
    assert callable(work)
    await work(store)
    await store.close()
    plans = []
    with sqlite3.connect(tmp_path / "s.sqlite3") as db:
        for sql in seen:
            if sql.startswith("SELECT"):
                plans.append(" | ".join(row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}")))
    assert plans
    return plans


async def test_grant_lookups_use_the_live_target_index(tmp_path: Path) -> None:
    """Before: MULTI-INDEX OR over shares_by_grantee, walking every anyone share ever made."""
    plans = await _plans(
        tmp_path, lambda s: s.for_targets(BOB, ["users/", "users/alice/", "users/alice/pub/"], NOW)
    )
    for plan in plans:
        steps = [step for step in plan.split(" | ") if "shares" in step]
        # Every step searches a live index; none walks all shares of a kind (the anyone ones):
        # by target, or by one named grantee.
        assert steps and all(
            "USING INDEX shares_live_by_" in step
            and ("shares_live_by_target" in step or "grantee_kind=? AND grantee=?" in step)
            for step in steps
        ), plan
        assert "shares_live_by_target (target=? AND grantee_kind=?)" in plan, plan


@pytest.mark.parametrize("who", ["received", "owned"])
async def test_listings_use_live_indexes(tmp_path: Path, who: str) -> None:
    if who == "received":
        plans = await _plans(tmp_path, lambda s: s.received(BOB, NOW, 10, None))
        index = "shares_live_by_grantee"
    else:
        plans = await _plans(tmp_path, lambda s: s.owned(ALICE, NOW, 10, None))
        index = "shares_live_by_owner"
    assert all(index in plan and "SCAN shares" not in plan for plan in plans), plans


async def test_dead_shares_and_their_tags_are_purged(store: ShareStore) -> None:
    expired = await store.create(ALICE, "path", "users/alice/e.jpg", "user", "bob", NOW, NOW + 10)
    deleted = await store.create(ALICE, "path", "users/alice/d.jpg", "anyone", "", NOW, None)
    live = await store.create(
        ALICE, "path", "users/alice/l.jpg", "anyone", "", NOW, NOW + 2 * DELETED_KEPT_SECONDS
    )
    tag = await store.tag("idp\0bob", f"share:{expired.id}", True, NOW)
    await store.tag("idp\0bob", f"share:{live.id}", True, NOW)
    await store.delete(ALICE, deleted.id, NOW)
    assert await store.purge(NOW + 10) == 1  # the expired one; the deleted one is kept a day
    assert await store.get(expired.id) is None and await store.get(deleted.id) is not None
    assert await store.purge(NOW + DELETED_KEPT_SECONDS) == 1
    assert await store.get(deleted.id) is None and await store.get(live.id) is not None
    rows = await store._rows("SELECT source FROM grant_tags")
    assert rows == [(f"share:{live.id}",)]
    # Numbers are never reused: the same pair tagged again gets a new, higher number.
    again = await store.tag("idp\0bob", f"share:{expired.id}", True, NOW)
    assert again > tag and again != await store.tag("idp\0bob", f"share:{live.id}", True, NOW)


async def test_the_purge_runs_by_itself_and_in_batches(
    store_settings: SharingSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(purge_module, "PURGE_SECONDS", 0.05)
    monkeypatch.setattr(purge_module, "PURGE_BATCH", 3)
    store = open_store(store_settings)
    await store.start()
    try:
        now = int(time.time())
        made = [
            await store.create(ALICE, "path", f"users/alice/{n}.jpg", "anyone", "", now - 5, now - 1)
            for n in range(7)
        ]
        async with asyncio.timeout(10):
            while await store._rows("SELECT id FROM shares"):
                await asyncio.sleep(0.05)
        assert all([await store.get(share.id) is None for share in made])
    finally:
        await store.close()


@pytest.fixture
async def slow_store(tmp_path: Path) -> ShareStore:
    store = open_store(SharingSettings(enabled=True, sqlite_file=tmp_path / "s.sqlite3", timeout_seconds=0.3))
    await store.start()
    return store


async def test_a_slow_lookup_never_holds_a_tag_write(slow_store: ShareStore) -> None:
    """Before: one lock and one thread per process, so a grant-tag write queued behind it."""
    try:
        async with slow_store.backend.transaction(write=False):
            async with asyncio.timeout(1):  # would wait for the read above to end
                tag = await slow_store.tag("idp\0bob", "rule:users/", False, NOW)
        assert tag == await slow_store.tag("idp\0bob", "rule:users/", False, NOW)
    finally:
        await slow_store.close()


async def test_waiting_for_the_store_is_bounded(slow_store: ShareStore) -> None:
    """Before: a caller queued behind a long transaction for as long as it lasted."""
    try:
        async with slow_store.backend.transaction():
            started = time.monotonic()
            async with asyncio.timeout(2):  # (before: waited as long as the writer held on)
                with pytest.raises(StoreUnavailable):
                    await slow_store.tag("idp\0bob", "rule:users/", False, NOW)
            assert time.monotonic() - started < 1.5
            # Reads go on beside the writer (WAL): share lookups answer meanwhile.
            async with asyncio.timeout(1):
                assert await slow_store.for_targets(ANONYMOUS, ["users/"], NOW) == []
    finally:
        await slow_store.close()


class _Recording:
    """The PostgreSQL backend, recording each statement with its parameters (for EXPLAIN)."""

    def __init__(self, backend: Backend) -> None:
        self.backend, self.dialect, self.seen = backend, backend.dialect, []  # type: ignore[var-annotated]

    @contextlib.asynccontextmanager
    async def transaction(self, write: bool = True) -> AsyncIterator[Tx]:
        async with self.backend.transaction(write) as tx:
            outer = self

            class Recorded:
                async def execute(self, sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
                    outer.seen.append((sql, tuple(params)))
                    return await tx.execute(sql, params)

            yield Recorded()

    async def close(self) -> None:
        await self.backend.close()


async def test_postgres_plans_use_the_live_indexes(pg_dsn: str) -> None:
    """EXPLAIN on PostgreSQL (sequential scans off: a planner prefers them on a tiny table)."""
    real = open_store(SharingSettings(enabled=True, dsn=Secret(pg_dsn))).backend
    recording = _Recording(real)
    store = ShareStore(recording)
    await store.start()
    try:
        await _churn(store, 20)
        for n in range(200):  # many live public shares, and statistics that say so
            await store.create(ALICE, "path", f"users/alice/pub/{n}.jpg", "anyone", "", NOW, None)
        async with real.transaction() as tx:
            await tx.execute("ANALYZE shares")
        recording.seen.clear()
        await store.for_targets(BOB, ["users/", "users/alice/"], NOW)
        await store.received(BOB, NOW, 10, None)
        await store.owned(ALICE, NOW, 10, None)
        plans = []
        async with real.transaction() as tx:
            await tx.execute("SET LOCAL enable_seqscan = off")
            for sql, params in recording.seen:
                rows = await tx.execute(f"EXPLAIN {sql}", params)
                plans.append("\n".join(str(row[0]) for row in rows))
    finally:
        await store.close()
    assert len(plans) == 3
    for plan in plans:
        indexes = re.findall(r"(?:Index|Index Only) Scan (?:Backward )?(?:using|on) (\w+)", plan)
        assert indexes and all(name.startswith("shares_live_by_") for name in indexes), plan
        assert "Seq Scan" not in plan, plan
    assert "shares_live_by_target" in plans[0], plans[0]


async def test_a_tag_made_as_its_share_was_deleted_is_purged(store: ShareStore) -> None:
    """A replica that tags a grant just after the delete refuses the grant (shared.py); its tag
    row would otherwise stay until the share's row is purged a day later."""
    gone = await store.create(ALICE, "path", "users/alice/g.jpg", "user", "bob", NOW, None)
    live = await store.create(ALICE, "path", "users/alice/l.jpg", "user", "bob", NOW, None)
    await store.delete(ALICE, gone.id, NOW)
    await store.tag("idp\0bob", f"share:{gone.id}", True, NOW)
    await store.tag("idp\0bob", f"share:{live.id}", True, NOW)
    await store.tag("idp\0bob", "rule:users/bob/", False, NOW)
    assert await store.purge(NOW + 61) == 0  # no share is due yet
    rows = await store._rows("SELECT source FROM grant_tags ORDER BY source")
    assert rows == [("rule:users/bob/",), (f"share:{live.id}",)]


async def test_a_rule_grant_is_tagged_while_a_share_lookup_is_slow(
    aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path
) -> None:
    """Over HTTP, revocation on: a share lookup holding the store (t5.py: lookups over a million
    dead rows) neither delays a signed-in user's rule grant nor leaves it untagged."""
    settings = sharing_settings(tmp_path, keyring_dir)
    revocation = RevocationSettings(enabled=True)
    app = create_app(dataclasses.replace(settings, revocation=revocation))
    client = await aiohttp_client(app)
    async with app[appkeys.SHARES].backend.transaction(write=False):  # a lookup under way
        async with asyncio.timeout(1.5):  # (before: waited for the lookup, then came untagged)
            response = await client.get("/v1/signed-url?path=users/alice/p.jpg", headers=bearer("alice"))
        assert response.status == 200
        policy = json.loads(cf_b64decode((await response.json())["url"].split("Policy=")[1].split("&")[0]))
    tag = tag_of(policy["Statement"][0]["Condition"]["DateGreaterThan"]["AWS:EpochTime"])
    assert tag is not None and not is_share(tag)
