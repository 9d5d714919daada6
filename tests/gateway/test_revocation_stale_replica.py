"""A replica that cannot read the revocation list stops handing out the tags it kept: past the
list's staleness bound every grant's tag comes from the store, so a tag another replica revoked is
not signed again (its grants would otherwise work once the revocation row is dropped)."""

from __future__ import annotations

import time
from pathlib import Path

from gateway.common.revocation import RevocationWatcher
from gateway.sharing.revocation import Revocations, principal_key
from gateway.sharing.revocation_settings import RevocationSettings
from gateway.sharing.settings import SharingSettings
from gateway.sharing.store import open_store

ALICE = principal_key("https://idp.example", "alice")


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_stale_replica_does_not_hand_out_a_kept_tag_another_revoked(tmp_path: Path) -> None:
    sharing = SharingSettings(enabled=True, sqlite_file=tmp_path / "shares.sqlite3")
    settings = RevocationSettings(enabled=True, poll_seconds=1.0)
    first = Revocations(settings, open_store(sharing), longest_grant=4200)
    second = Revocations(settings, open_store(sharing), longest_grant=4200)
    clock = _Clock()
    second.watcher = RevocationWatcher(second._read, 1.0, max_stale=5.0, clock=clock)
    await first.store.start()
    await second.store.start()
    try:
        await second.watcher.refresh()
        kept = await second.tag(ALICE, "rule:tiles/", share=False)
        assert kept is not None
        assert await second.tag(ALICE, "rule:tiles/", share=False) == kept  # kept while fresh

        revoked, _ = await first.revoke(principal=ALICE)
        assert kept in revoked
        # The second replica's list read fails from now on (it never refreshes again): past the bound
        # it must not sign with the kept, revoked tag.
        clock.now += 6.0
        assert second.watcher.stale
        fresh = await second.tag(ALICE, "rule:tiles/", share=False)
        assert fresh is not None and fresh != kept
        assert fresh not in await first.store.revoked(int(time.time()))
    finally:
        await first.store.close()
        await second.store.close()
