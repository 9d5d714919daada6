"""What an edge polls: the share store's revocation list, read only.

SQLite: the file is opened read-only on every poll (a file created or replaced later is found; a
missing one is an error).  PostgreSQL: one connection, made again after any failure.  Either way
a failure is an exception, which the watcher turns into a stale list (share grants refused).
No gateway-service module is imported (the edge stands alone: tests/edge/test_standalone.py).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from typing import Any

from gateway.common.revocation import Reader, Revoked

DSN_SCHEMES = ("postgresql://", "postgres://")
QUERY = "SELECT tag, until FROM revocations WHERE until > ?"
TIMEOUT_SECONDS = 5


def read_sqlite(path: str, now: int, floor: int = 0) -> Revoked:
    """The revocations expiring after both ``now`` and ``floor`` (an incremental poll)."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=TIMEOUT_SECONDS)
    try:
        rows = connection.execute(QUERY, (max(now, floor),)).fetchall()
    finally:
        connection.close()
    return {int(tag): int(until) for tag, until in rows}


class _Postgres:
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._connection: Any = None

    async def read(self, floor: int = 0) -> Revoked:
        import psycopg  # only an edge reading PostgreSQL needs the driver

        try:
            if self._connection is None or self._connection.closed:
                self._connection = await psycopg.AsyncConnection.connect(
                    self.dsn, autocommit=True, connect_timeout=TIMEOUT_SECONDS
                )
            async with asyncio.timeout(TIMEOUT_SECONDS):
                cursor = await self._connection.execute(
                    QUERY.replace("?", "%s"), (max(int(time.time()), floor),)
                )
                rows = await cursor.fetchall()
        except BaseException:
            if self._connection is not None:
                await self._connection.close()
            self._connection = None
            raise
        return {int(tag): int(until) for tag, until in rows}


def revocation_reader(store: str) -> Reader:
    """A reader for ``store``: the share store's SQLite file path, or its PostgreSQL DSN."""
    if store.startswith(DSN_SCHEMES):
        return _Postgres(store).read

    async def read(floor: int = 0) -> Revoked:
        return await asyncio.to_thread(read_sqlite, store, int(time.time()), floor)

    return read
