"""The share store itself, on SQLite and on a real PostgreSQL: one schema, one behaviour."""

from __future__ import annotations

import asyncio

import pytest

from gateway.common.revocation import is_share
from gateway.rules.access import ANONYMOUS, Principal
from gateway.sharing.migrate import migrations
from gateway.sharing.model import ID_PATTERN, decode_cursor
from gateway.sharing.settings import SharingSettings
from gateway.sharing.store import ShareLimit, ShareStore, open_store

NOW = 1_900_000_000
ALICE = Principal("alice", (), "idp")
BOB = Principal("bob", ("climbers",), "idp")
CAROL = Principal("carol", (), "idp")
BOB_ELSEWHERE = Principal("bob", ("climbers",), "other-idp")


async def test_migrations_apply_once_even_when_replicas_start_together(
    store_settings: SharingSettings,
) -> None:
    stores = [open_store(store_settings) for _ in range(4)]
    try:
        await asyncio.gather(*(s.start() for s in stores))
        async with stores[0].backend.transaction() as tx:
            rows = await tx.execute("SELECT version, name FROM schema_version ORDER BY version")
        assert [(int(v), n) for v, n in rows] == [(m.version, m.name) for m in migrations()]
        assert rows[0][1] == "0001_shares.sql"
    finally:
        for s in stores:
            await s.close()


async def test_shares_are_found_by_their_grantee_only(store: ShareStore) -> None:
    user = await store.create(ALICE, "prefix", "users/alice/album7/", "user", "bob", NOW, None)
    group = await store.create(ALICE, "path", "users/alice/p.jpg", "group", "climbers", NOW, NOW + 60)
    anyone = await store.create(ALICE, "path", "users/alice/pub.jpg", "anyone", "", NOW, None)
    assert ID_PATTERN.match(user.id) and len({user.id, group.id, anyone.id}) == 3
    targets = ["users/", "users/alice/", "users/alice/album7/", "users/alice/p.jpg", "users/alice/pub.jpg"]
    assert {s.id for s in await store.for_targets(BOB, targets, NOW)} == {user.id, group.id, anyone.id}
    assert [s.id for s in await store.for_targets(CAROL, targets, NOW)] == [anyone.id]
    assert [s.id for s in await store.for_targets(ANONYMOUS, targets, NOW)] == [anyone.id]
    # Same name and group under another identity provider: a different person.
    assert [s.id for s in await store.for_targets(BOB_ELSEWHERE, targets, NOW)] == [anyone.id]
    # Expired and exact-target only.
    assert [s.id for s in await store.for_targets(BOB, ["users/alice/p.jpg"], NOW + 60)] == []
    assert await store.for_targets(BOB, ["users/alice/album7/x.jpg"], NOW) == []
    received = await store.received(BOB, NOW, 10, None)
    assert {s.id for s in received.shares} == {user.id, group.id, anyone.id} and received.next_cursor is None
    assert [s.id for s in (await store.received(ALICE, NOW, 10, None)).shares] == []  # not her own
    assert (await store.get(user.id)) == user


async def test_only_the_owner_deletes_and_a_deleted_share_gives_nothing(store: ShareStore) -> None:
    share = await store.create(ALICE, "prefix", "users/alice/a/", "user", "bob", NOW, None)
    assert await store.delete(BOB, share.id, NOW) is None
    assert await store.delete(Principal("alice", (), "other-idp"), share.id, NOW) is None
    assert await store.delete(ALICE, "x" * 22, NOW) is None
    deleted = await store.delete(ALICE, share.id, NOW + 1)
    assert deleted is not None and deleted.revoked_at == NOW + 1
    assert await store.delete(ALICE, share.id, NOW + 2) is None  # once
    assert await store.for_targets(BOB, ["users/alice/a/"], NOW + 1) == []
    assert (await store.owned(ALICE, NOW + 1, 10, None)).shares == []


async def test_pages_follow_the_cursor_without_gaps_or_repeats(store: ShareStore) -> None:
    made = [
        await store.create(ALICE, "path", f"users/alice/{i}.jpg", "user", "bob", NOW + i // 3, None)
        for i in range(7)
    ]
    await store.create(CAROL, "path", "users/carol/x.jpg", "user", "bob", NOW, None)
    seen, cursor = [], None
    for _ in range(5):
        page = await store.owned(ALICE, NOW + 10, 3, decode_cursor(cursor) if cursor else None)
        seen += page.shares
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sorted(s.id for s in seen) == sorted(s.id for s in made) and len(seen) == 7


async def test_an_owner_may_hold_only_so_many_live_shares(store_settings: SharingSettings) -> None:
    store = open_store(store_settings)
    store.max_shares_per_owner = 2
    try:
        await store.start()
        first = await store.create(ALICE, "path", "users/alice/1", "anyone", "", NOW, NOW + 5)
        await store.create(ALICE, "path", "users/alice/2", "anyone", "", NOW, None)
        with pytest.raises(ShareLimit):
            await store.create(ALICE, "path", "users/alice/3", "anyone", "", NOW, None)
        await store.create(BOB, "path", "users/bob/1", "anyone", "", NOW, None)  # per owner
        assert first.expires is not None
        await store.create(ALICE, "path", "users/alice/3", "anyone", "", first.expires, None)  # one expired
    finally:
        await store.close()


async def test_grant_tags_are_stable_until_revoked_and_revocations_expire(store: ShareStore) -> None:
    bob = await store.tag("idp\0bob", "share:abc", True, NOW)
    assert is_share(bob) and await store.tag("idp\0bob", "share:abc", True, NOW + 5) == bob
    carol = await store.tag("idp\0carol", "share:abc", True, NOW)
    rule = await store.tag("idp\0bob", "rule:users/{sub}/", False, NOW)
    assert len({bob, carol, rule}) == 3 and not is_share(rule)
    assert await store.revoke(NOW + 100, source="share:abc") == {bob: NOW + 100, carol: NOW + 100}
    assert await store.revoked(NOW) == {bob: NOW + 100, carol: NOW + 100}
    again = await store.tag("idp\0bob", "share:abc", True, NOW + 1)
    assert again not in (bob, carol)  # a new tag
    assert await store.revoke(NOW + 50, principal="idp\0bob") != {}
    revoked = await store.revoked(NOW)
    assert revoked[bob] == NOW + 100 and revoked[rule] == NOW + 50  # a revocation never shortens
    assert await store.expire(NOW + 60) == sorted([rule, again])
    assert set(await store.revoked(NOW + 60)) == {bob, carol}
