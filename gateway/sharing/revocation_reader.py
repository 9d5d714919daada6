"""What an edge polls: the revocation list of the share store, read only.

No gateway-service module is imported (the edge stands alone: tests/edge/test_standalone.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from gateway.common.revocation import Revoked
from gateway.sharing.revocation_store import read_revoked


def revocation_reader(store: str) -> Callable[[], Awaitable[Revoked]]:
    """A reader for ``store``: a SQLite file path (opened read-only on every poll, so a file
    replaced or created later is found); a missing or unreadable file is an error, which the
    watcher turns into a stale list."""
    if "://" in store:
        raise ValueError("revocation.store: only a SQLite file path is supported by this edge")

    async def read() -> Revoked:
        return await asyncio.to_thread(read_revoked, store, int(time.time()))

    return read
