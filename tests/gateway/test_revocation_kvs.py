"""The KeyValueStore mirror against the API's rules (a stub at the network boundary): it makes the
store equal to the revocation list in batches, writes only with the current ETag, starts again when
another replica wrote first, and lists the store only when someone else changed it."""

from __future__ import annotations

import pytest

from gateway.sharing.revocation_kvs import BATCH, KvsMirror
from tests.gateway.kvs_stub import ARN, kvs_stub, stub_client


def test_the_mirror_follows_the_list_in_batches_and_deletes_what_expired() -> None:
    with kvs_stub() as (proxy, state):
        mirror = KvsMirror(stub_client(proxy), ARN)
        revoked = {tag: 2_000_000_000 + tag for tag in range(2, 2 + 2 * BATCH + 7)}
        result = mirror.sync(lambda: revoked)
        assert result.put == len(revoked) and result.deleted == 0
        assert state.items == {str(tag): str(until) for tag, until in revoked.items()}
        assert all(len(body["Puts"]) + len(body["Deletes"]) <= 2 * BATCH for _, body in state.writes)
        assert len(state.writes) == 3  # 50 + 50 + 7 puts
        # The grants of the first ten have expired: they leave the list, and the store.
        remaining = dict(list(revoked.items())[10:])
        assert mirror.sync(lambda: remaining).deleted == 10
        assert state.items == {str(tag): str(until) for tag, until in remaining.items()}
        # A fresh replica (nothing known) lists the store, page by page, and finds it in order.
        lists = state.lists
        assert KvsMirror(stub_client(proxy), ARN).sync(lambda: remaining).put == 0
        assert state.lists > lists


def test_no_write_and_no_listing_while_nothing_changed() -> None:
    with kvs_stub() as (proxy, state):
        mirror = KvsMirror(stub_client(proxy), ARN)
        mirror.sync(lambda: {4: 100})
        writes, lists = len(state.writes), state.lists
        assert mirror.sync(lambda: {4: 100}).put == 0
        assert len(state.writes) == writes and state.lists == lists  # the ETag said: unchanged
        state.other_replica_writes("6", "200")  # another replica: the ETag moves, we list again
        assert mirror.sync(lambda: {4: 100}).deleted == 1 and state.lists == lists + 1
        assert state.items == {"4": "100"}


def test_a_write_that_lost_the_etag_race_starts_again() -> None:
    with kvs_stub() as (proxy, state):
        mirror = KvsMirror(stub_client(proxy), ARN)
        state.conflicts = 2  # two replicas write just before us, one after the other
        result = mirror.sync(lambda: {8: 300})
        assert result.put == 1 and state.items == {"8": "300"}  # the stray key of the others is gone
        assert all(state.signed_v4a)


def test_a_list_near_the_store_quota_is_reported(caplog: pytest.LogCaptureFixture) -> None:
    with kvs_stub() as (proxy, state):
        mirror = KvsMirror(stub_client(proxy), ARN, max_bytes=100)
        mirror.sync(lambda: {2: 1_900_000_000})  # 11 bytes: quiet
        assert not [r for r in caplog.records if r.levelname == "ERROR"]
        mirror.sync(lambda: {tag: 1_900_000_000 for tag in range(2, 20, 2)})  # 9 entries, 104 bytes
        assert any("KeyValueStore" in r.getMessage() for r in caplog.records if r.levelname == "ERROR")
        assert len(state.items) == 9  # still written: the service refuses what does not fit


def test_a_full_store_keeps_the_newest_revocations_and_is_not_listed_again() -> None:
    """Past the store's quota a sync fails part-way: what it wrote is known (the next sync lists
    nothing), the newest revocations went in first, and once old ones expire the rest follow."""
    with kvs_stub() as (proxy, state):
        mirror = KvsMirror(stub_client(proxy), ARN)
        old = {tag: 1_900_000_000 + tag for tag in range(2, 2 + BATCH)}
        mirror.sync(lambda: old)
        newer = {tag: 2_000_000_000 + tag for tag in range(1000, 1000 + 3 * BATCH)}
        state.max_bytes = sum(len(str(t)) + len(str(u)) for t, u in newer.items()) + 100  # not both
        with pytest.raises(stub_client(proxy).exceptions.ServiceQuotaExceededException):
            mirror.sync(lambda: old | newer)
        newest = sorted(newer, reverse=True)[:BATCH]
        assert {str(tag) for tag in newest} <= set(state.items)  # the newest batch got in
        assert mirror.entries == len(state.items)
        lists = state.lists
        with pytest.raises(stub_client(proxy).exceptions.ServiceQuotaExceededException):
            mirror.sync(lambda: old | newer)
        assert state.lists == lists  # known from the writes: no listing of the whole store
        # The old revocations expire: their keys are deleted first, making room for the rest.
        mirror.sync(lambda: newer)
        assert state.items == {str(tag): str(until) for tag, until in newer.items()}
        assert state.lists == lists
