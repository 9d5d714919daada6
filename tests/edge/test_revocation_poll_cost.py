"""Polling a revocation list of 250,000 rows (the KeyValueStore's capacity, reachable by a flood):
after the first, full read, each poll reads only the rows expiring near or after the latest one
seen, so it costs a few rows, not the whole list; a new revocation is still seen at the next poll,
and a periodic full read drops what expired."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from gateway.common.revocation import FULL_EVERY, RevocationWatcher, Revoked
from gateway.sharing.revocation_reader import revocation_reader

ROWS = 250_000


def _store(path: Path, until: int) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE revocations (tag BIGINT PRIMARY KEY, until BIGINT NOT NULL)")
        # As a flood writes them: each revocation expires a little after the one before.
        db.executemany(
            "INSERT INTO revocations VALUES (?, ?)", ((2 * i + 2, until + i // 100) for i in range(ROWS))
        )


async def test_a_poll_reads_only_new_rows_of_a_large_list(tmp_path: Path) -> None:
    path = tmp_path / "shares.sqlite3"
    start = int(time.time()) + 4200
    _store(path, start)
    reader = revocation_reader(str(path))
    sizes: list[int] = []

    async def read(floor: int = 0) -> Revoked:
        found = await reader(floor)
        sizes.append(len(found))
        return found

    watcher = RevocationWatcher(read, interval=1.0, max_stale=10.0)
    await watcher.refresh()
    assert sizes == [ROWS] and len(watcher) == ROWS
    began = time.perf_counter()
    await watcher.refresh()
    poll = time.perf_counter() - began
    assert sizes[1] < ROWS // 50, sizes  # the last half-minute of `until` only
    assert poll < 0.1, poll  # a full read of 250,000 rows takes several times this
    newest = start + ROWS // 100 + 5
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO revocations VALUES (?, ?)", (999_998, newest))
    await watcher.refresh()
    assert watcher.verdict(999_998, time.time()) == "revoked" and watcher.verdict(2, time.time()) == "revoked"
    while len(sizes) % FULL_EVERY:  # the periodic full read sees everything again
        await watcher.refresh()
    await watcher.refresh()
    assert sizes[-1] == ROWS + 1 and watcher.full_reads == 2
