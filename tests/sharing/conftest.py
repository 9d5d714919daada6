"""The share store on both databases: SQLite in a temporary directory, a real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from gateway.sharing.settings import SharingSettings
from gateway.sharing.store import ShareStore, open_store
from tests.pgserver import PostgresServer, pg_bin, postgres_server


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    if pg_bin() is None:
        pytest.skip(
            "PostgreSQL server binaries are absent (/usr/lib/postgresql/*/bin/initdb): run make install"
        )
    with postgres_server() as server:
        yield server


@pytest.fixture
def pg_dsn(postgres: PostgresServer) -> str:
    return postgres.create_database()


@pytest.fixture(params=["sqlite", "postgres"])
def store_settings(request: pytest.FixtureRequest, tmp_path: Path) -> SharingSettings:
    if request.param == "postgres":
        return SharingSettings(enabled=True, dsn=request.getfixturevalue("pg_dsn"))
    return SharingSettings(enabled=True, sqlite_file=tmp_path / "shares.sqlite3")


@pytest.fixture
async def store(store_settings: SharingSettings) -> AsyncIterator[ShareStore]:
    store = open_store(store_settings)
    await store.start()
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture(params=["sqlite", "postgres"])
def backend_dsn(request: pytest.FixtureRequest) -> str:
    """Empty: SQLite; else a fresh PostgreSQL database."""
    return str(request.getfixturevalue("pg_dsn")) if request.param == "postgres" else ""
