"""The grant tags and revocations of docs/design.md ("Revocation"), over the ``grant_tags`` and
``revocations`` tables; :class:`~gateway.sharing.store.ShareStore` adds the shares.

The ``principal`` and ``source`` of grant tags are stored with NUL and backslash escaped
(PostgreSQL's text cannot hold NUL).  Tag numbers come from a key that only grows, so a number is
never reused, even once its row is deleted (revoked, or purged with its share).
"""

# ruff: noqa: S608 - every string put into a query here is a fixed constant; values are bound.

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from gateway.common.revocation import Revoked, Tag, make_tag
from gateway.sharing.backends import Backend, Tx
from gateway.sharing.migrate import migrate

log = logging.getLogger(__name__)


class TagStore:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self._migrated = False
        self._migrating = asyncio.Lock()

    @property
    def dialect(self) -> str:
        return self.backend.dialect

    async def _ready(self) -> None:
        if self._migrated:
            return
        async with self._migrating:
            if not self._migrated:
                applied = await migrate(self.backend)
                if applied:
                    log.info("share store migrated (%s): %s", self.dialect, ", ".join(applied))
                self._migrated = True

    async def _rows(
        self, sql: str, params: Sequence[object] = (), write: bool = False
    ) -> list[tuple[object, ...]]:
        await self._ready()
        async with self.backend.transaction(write) as tx:
            return await tx.execute(sql, params)

    async def tag(self, principal: str, source: str, share: bool, now: int) -> Tag:
        """The (principal, source) pair's tag, made on first use and stable until revoked."""
        principal, source = _escape(principal), _escape(source)
        await self._ready()
        async with self.backend.transaction() as tx:
            await tx.execute(
                "INSERT INTO grant_tags (principal, source, share, created) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (principal, source) DO NOTHING",
                (principal, source, int(share), now),
            )
            ((number, shared),) = await tx.execute(
                "SELECT number, share FROM grant_tags WHERE principal = ? AND source = ?", (principal, source)
            )
        return make_tag(int(number), bool(shared))

    async def revoke(self, until: int, *, principal: str | None = None, source: str | None = None) -> Revoked:
        """Revoke every tag of ``principal``, or of ``source`` (every grantee of a share), until
        ``until``, and forget those pairs (the next grant gets a new tag).  Returns what was revoked."""
        if (principal is None) == (source is None):
            raise ValueError("revoke one principal or one source")
        column, value = ("principal", principal) if principal is not None else ("source", source)
        value = _escape(value or "")
        await self._ready()
        async with self.backend.transaction() as tx:
            rows = await tx.execute(
                f"DELETE FROM grant_tags WHERE {column} = ? RETURNING number, share",
                (value,),
            )
            revoked = {make_tag(int(number), bool(share)): until for number, share in rows}
            await _upsert_revocations(tx, self.dialect, revoked)
        return revoked

    async def revoked(self, now: int) -> Revoked:
        """Every tag revoked at ``now``, with the moment its grants have all expired."""
        rows = await self._rows("SELECT tag, until FROM revocations WHERE until > ?", (now,))
        return {int(tag): int(until) for tag, until in rows}  # type: ignore[call-overload]

    async def expire(self, now: int) -> list[Tag]:
        """Drop revocations whose grants have all expired; their tags."""
        rows = await self._rows("DELETE FROM revocations WHERE until <= ? RETURNING tag", (now,), write=True)
        return sorted(int(tag) for (tag,) in rows)  # type: ignore[call-overload]


async def _upsert_revocations(tx: Tx, dialect: str, revoked: Revoked) -> None:
    later = "max" if dialect == "sqlite" else "GREATEST"  # SQLite's max() of two is GREATEST
    for tag, until in revoked.items():
        await tx.execute(
            "INSERT INTO revocations (tag, until) VALUES (?, ?)"
            f" ON CONFLICT (tag) DO UPDATE SET until = {later}(revocations.until, excluded.until)",
            (tag, until),
        )


def _escape(text: str) -> str:
    """Reversible, and NUL-free for PostgreSQL's text."""
    return text.replace("\\", "\\\\").replace("\0", "\\0")
