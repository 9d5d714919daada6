"""The share store's revocation tables: grant tags and revoked tags (docs/design.md, "Revocation").

``grant_tags`` gives each (principal, source) pair a number the store never reuses (SQLite's
AUTOINCREMENT), from which :func:`~gateway.common.revocation.make_tag` makes the tag; a source is
the rule prefix a grant came from (``rule:users/{sub}/``) or a share (``share:<id>``).
``revocations`` holds each revoked tag until every grant that carried it has expired.  Revoking
moves a pair's tag to ``revocations`` and forgets the pair, so the next grant for it gets a new
tag: what was handed out stops working, and nothing issued later is caught by an old revocation.

SQLite (stdlib, in a worker thread, WAL so that edges read while gateways write).  Gateways and
edges on one host share the file; several hosts need the PostgreSQL store of the share store.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from gateway.common.revocation import Revoked, Tag, make_tag

T = TypeVar("T")
SCHEMA = """
CREATE TABLE IF NOT EXISTS grant_tags (
    number INTEGER PRIMARY KEY AUTOINCREMENT,
    principal TEXT NOT NULL,
    source TEXT NOT NULL,
    share INTEGER NOT NULL,
    created INTEGER NOT NULL,
    UNIQUE (principal, source)
);
CREATE INDEX IF NOT EXISTS grant_tags_by_source ON grant_tags (source);
CREATE TABLE IF NOT EXISTS revocations (
    tag INTEGER PRIMARY KEY,
    until INTEGER NOT NULL
);
"""
BUSY_SECONDS = 5.0


def _connect(path: Path | str, read_only: bool = False) -> sqlite3.Connection:
    if read_only:  # an edge: never creates the file, never writes
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_SECONDS, isolation_level=None)
    connection = sqlite3.connect(path, timeout=BUSY_SECONDS, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    return connection


class SqliteRevocations:
    """Grant tags and revocations in one SQLite file; every call is one transaction."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = asyncio.Lock()  # one writer per process; SQLite serialises processes

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        def transaction() -> T:
            connection = _connect(self.path)
            try:
                connection.execute("BEGIN IMMEDIATE")
                try:
                    result = work(connection)
                except BaseException:
                    connection.execute("ROLLBACK")
                    raise
                connection.execute("COMMIT")
                return result
            finally:
                connection.close()

        async with self._lock:
            return await asyncio.to_thread(transaction)

    async def create(self) -> None:
        def create() -> None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = _connect(self.path)
            try:
                connection.executescript(SCHEMA)  # one script, idempotent: IF NOT EXISTS
            finally:
                connection.close()

        async with self._lock:
            await asyncio.to_thread(create)

    async def tag(self, principal: str, source: str, share: bool, now: int) -> Tag:
        """The pair's tag, made on first use."""

        def work(connection: sqlite3.Connection) -> Tag:
            connection.execute(
                "INSERT INTO grant_tags (principal, source, share, created) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (principal, source) DO NOTHING",
                (principal, source, int(share), now),
            )
            number, shared = connection.execute(
                "SELECT number, share FROM grant_tags WHERE principal = ? AND source = ?", (principal, source)
            ).fetchone()
            return make_tag(number, bool(shared))

        return await self._run(work)

    async def revoke(self, until: int, *, principal: str | None = None, source: str | None = None) -> Revoked:
        """Revoke every tag of ``principal``, or of ``source`` (a share: every grantee's), until
        ``until``; forget those pairs.  Returns what was revoked."""
        if (principal is None) == (source is None):
            raise ValueError("revoke one principal or one source")
        column, value = ("principal", principal) if principal is not None else ("source", source)

        def work(connection: sqlite3.Connection) -> Revoked:
            rows = connection.execute(
                f"SELECT number, share FROM grant_tags WHERE {column} = ?",  # noqa: S608 (a fixed name)
                (value,),
            ).fetchall()
            revoked = {make_tag(number, bool(share)): until for number, share in rows}
            connection.executemany(
                "INSERT INTO revocations (tag, until) VALUES (?, ?)"
                " ON CONFLICT (tag) DO UPDATE SET until = max(until, excluded.until)",
                list(revoked.items()),
            )
            connection.execute(f"DELETE FROM grant_tags WHERE {column} = ?", (value,))  # noqa: S608
            return revoked

        return await self._run(work)

    async def revoked(self, now: int) -> Revoked:
        return await asyncio.to_thread(read_revoked, self.path, now, False)

    async def expire(self, now: int) -> list[Tag]:
        """Drop revocations whose grants have all expired; returns their tags."""

        def work(connection: sqlite3.Connection) -> list[Tag]:
            rows = connection.execute("DELETE FROM revocations WHERE until <= ? RETURNING tag", (now,))
            return sorted(tag for (tag,) in rows.fetchall())

        return await self._run(work)


def read_revoked(path: Path | str, now: int, read_only: bool = True) -> Revoked:
    """Every tag revoked at ``now`` with its end (what edges poll)."""
    connection = _connect(path, read_only)
    try:
        rows = connection.execute("SELECT tag, until FROM revocations WHERE until > ?", (now,)).fetchall()
    finally:
        connection.close()
    return {int(tag): int(until) for tag, until in rows}
