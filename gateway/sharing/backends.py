"""The two databases behind the share store: one transaction API over SQLite and PostgreSQL.

Queries are written once, with ``?`` placeholders (PostgreSQL's driver gets ``%s``; no query
holds a literal ``?`` or ``%``).  Every failure of the database itself (unreachable, locked past
the timeout, disk full) becomes :class:`StoreUnavailable`, which callers turn into a 503 for
share-based access only; a value the database refuses (out of range) becomes its subclass
:class:`StoreRejected` (422 where a client gave the value), so no store error is ever a 500.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

import psycopg
import psycopg_pool

T = TypeVar("T")
Row = tuple[Any, ...]
Dialect = Literal["sqlite", "postgres"]
# Serialises concurrent start-ups of several replicas around the migrations (any fixed number).
MIGRATION_LOCK = 0x5348_4152_4553  # "SHARES"


class StoreUnavailable(Exception):
    """The share store did not answer (in time); the detail is for the log, not the client."""


class StoreRejected(StoreUnavailable):
    """The database refused a value (an integer past its 64-bit columns...): the request's fault
    when a handler passed it on unchecked, so handlers answer 422; elsewhere it fails closed as
    an unavailable store would."""


class Tx(Protocol):
    async def execute(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        """Run one statement; the rows it returns (none for most writes)."""
        ...


class Backend(Protocol):
    dialect: Dialect

    def transaction(self, write: bool = True) -> contextlib.AbstractAsyncContextManager[Tx]:
        """One transaction; a writing one holds SQLite's write lock from its start (BEGIN
        IMMEDIATE), which also serialises migrations (PostgreSQL: an advisory lock, migrate.py).
        A reading one takes no lock: WAL readers never wait for writers."""
        ...

    async def close(self) -> None: ...


class _SqliteTx:
    def __init__(self, lane: _Lane) -> None:
        self._lane = lane

    async def execute(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        return await self._lane.call(lambda c: c.execute(sql, tuple(params)).fetchall())


class _Lane:
    """One connection in one worker thread, one transaction at a time; waiting for a turn is
    bounded by the timeout (then :class:`StoreUnavailable`), so no caller queues without end."""

    def __init__(self, path: Path, timeout: float, name: str) -> None:
        self.path, self._timeout = path, timeout
        self._thread = ThreadPoolExecutor(1, thread_name_prefix=f"share-store-{name}")
        self._connection: sqlite3.Connection | None = None
        self.lock = asyncio.Lock()

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None)
            connection.execute("PRAGMA journal_mode=WAL")  # edges read while gateways write
            self._connection = connection
        return self._connection

    async def call(self, work: Callable[[sqlite3.Connection], T]) -> T:
        def run() -> T:
            try:
                return work(self._connect())
            except sqlite3.Error:
                if self._connection is not None and not self._connection.in_transaction:
                    self._connection.close()  # reopened on the next call (a replaced file)
                    self._connection = None
                raise

        try:
            return await asyncio.get_running_loop().run_in_executor(self._thread, run)
        except (OverflowError, ValueError) as exc:  # a value SQLite cannot bind (not sqlite3.Error)
            raise StoreRejected(f"SQLite {self.path}: {type(exc).__name__}: {exc}") from exc
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailable(f"SQLite {self.path}: {type(exc).__name__}: {exc}") from exc

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        try:
            async with asyncio.timeout(self._timeout):
                await self.lock.acquire()
        except TimeoutError:
            raise StoreUnavailable(
                f"SQLite {self.path}: waited {self._timeout}s for the store's connection"
            ) from None
        try:
            yield
        finally:
            self.lock.release()

    async def close(self) -> None:
        def close() -> None:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

        with contextlib.suppress(sqlite3.Error):
            await asyncio.get_running_loop().run_in_executor(self._thread, close)
        self._thread.shutdown(wait=False)


class SqliteBackend:
    """Two connections per process, each in its own worker thread: one for writing transactions
    (SQLite has a single writer anyway, and BEGIN IMMEDIATE makes processes sharing the file wait
    their turn, up to the timeout) and one for reading ones, which WAL lets run beside a writer.
    So a slow share lookup never holds a grant-tag write back, and a wait for either connection
    is bounded by ``sharing.timeout_seconds``."""

    dialect: Dialect = "sqlite"

    def __init__(self, path: Path, timeout: float) -> None:
        self.path = path
        self._writer = _Lane(path, timeout, "writer")
        self._reader = _Lane(path, timeout, "reader")

    @contextlib.asynccontextmanager
    async def transaction(self, write: bool = True) -> AsyncIterator[Tx]:
        lane = self._writer if write else self._reader
        begin = "BEGIN IMMEDIATE" if write else "BEGIN"
        async with lane.turn():
            await lane.call(lambda c: c.execute(begin))
            try:
                yield _SqliteTx(lane)
            except BaseException:
                with contextlib.suppress(StoreUnavailable):
                    await lane.call(_rollback)
                raise
            await lane.call(lambda c: c.execute("COMMIT"))

    async def close(self) -> None:
        await self._writer.close()
        await self._reader.close()


def _rollback(connection: sqlite3.Connection) -> None:
    if connection.in_transaction:
        connection.execute("ROLLBACK")


class _PostgresTx:
    def __init__(self, connection: psycopg.AsyncConnection[Row]) -> None:
        self._connection = connection

    async def execute(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        cursor = await self._connection.execute(sql.replace("?", "%s"), tuple(params))
        return await cursor.fetchall() if cursor.description is not None else []


class PostgresBackend:
    """A connection pool (psycopg 3); each transaction takes a pooled connection."""

    dialect: Dialect = "postgres"

    def __init__(self, dsn: str, pool_size: int, timeout: float) -> None:
        milliseconds = max(1, int(timeout * 1000))
        self._pool: psycopg_pool.AsyncConnectionPool[psycopg.AsyncConnection[Row]] = (
            psycopg_pool.AsyncConnectionPool(
                dsn,
                min_size=1,
                max_size=pool_size,
                open=False,
                timeout=timeout,
                check=psycopg_pool.AsyncConnectionPool.check_connection,  # after a server restart
                kwargs={
                    "autocommit": True,
                    "connect_timeout": max(1, int(timeout)),
                    "options": f"-c statement_timeout={milliseconds} -c lock_timeout={milliseconds}",
                },
            )
        )
        self._opened = False

    @contextlib.asynccontextmanager
    async def transaction(self, write: bool = True) -> AsyncIterator[Tx]:
        try:
            if not self._opened:
                self._opened = True
                await self._pool.open(wait=False)
            async with self._pool.connection() as connection, connection.transaction():
                yield _PostgresTx(connection)
        except (psycopg.DataError, OverflowError, ValueError) as exc:  # e.g. bigint out of range
            raise StoreRejected(f"PostgreSQL: {type(exc).__name__}: {exc}") from exc
        except (psycopg.Error, OSError) as exc:
            # PoolTimeout is an OperationalError: no connection within the timeout.
            raise StoreUnavailable(f"PostgreSQL: {type(exc).__name__}: {exc}") from exc

    async def close(self) -> None:
        if self._opened:
            await self._pool.close()
