"""The share store: shares, grant tags and revocations, on SQLite or PostgreSQL.

The interface every other part uses (the gateway's handlers, the revocation code, the demo):

- :func:`open_store` builds a :class:`ShareStore` from :class:`SharingSettings`; ``await
  store.start()`` applies the migrations (a store down at start-up is retried on first use, so
  the gateway still serves rule-based access), ``await store.close()`` at shutdown.
- Shares: :meth:`~ShareStore.create`, :meth:`~ShareStore.owned` and :meth:`~ShareStore.received`
  (pages with an opaque cursor), :meth:`~ShareStore.delete` (the owner's only),
  :meth:`~ShareStore.get`, and for grant decisions :meth:`~ShareStore.for_targets` (the live shares
  that let a principal read any of some exact targets) and :meth:`~ShareStore.for_principal`.
- Revocation (gateway/sharing/revocation*.py builds on these): :meth:`~ShareStore.tag`,
  :meth:`~ShareStore.revoke`, :meth:`~ShareStore.revoked`, :meth:`~ShareStore.expire`, over the
  ``grant_tags`` and ``revocations`` tables of migration 0001 (gateway/sharing/tags.py).
- Dead shares are purged in the background from ``start`` to ``close``
  (gateway/sharing/purge.py); :meth:`~ShareStore.purge` runs one round.

PostgreSQL's text cannot hold NUL: a grantee or principal holding one matches no share, and the
``principal`` and ``source`` of grant tags are stored with NUL and backslash escaped.

Every method is one transaction and raises :class:`StoreUnavailable` when the database does not
answer within ``sharing.timeout_seconds``: callers refuse share-based access then (fail closed).
Times are epoch seconds passed in by the caller, so tests and replicas agree on "now".
"""

# ruff: noqa: S608 - every string put into a query here is a fixed constant; values are bound.

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from pathlib import Path

from gateway.rules.access import ANONYMOUS, Principal
from gateway.service.ratelimit import RateLimiter
from gateway.sharing import purge as purging
from gateway.sharing.backends import (
    Backend,
    PostgresBackend,
    SqliteBackend,
    StoreRejected,
    StoreUnavailable,
)
from gateway.sharing.model import (
    COLUMNS,
    LIVE,
    GranteeKind,
    Page,
    Share,
    TargetKind,
    encode_cursor,
    from_row,
    grantee_clauses,
    new_id,
    owner_lock,
)
from gateway.sharing.purge import purge_dead
from gateway.sharing.settings import SharingSettings
from gateway.sharing.tags import TagStore

__all__ = ["Page", "Share", "ShareLimit", "ShareStore", "StoreRejected", "StoreUnavailable", "open_store"]
log = logging.getLogger(__name__)


class ShareLimit(Exception):
    """The owner already holds ``sharing.max_shares_per_owner`` live shares."""


def open_store(settings: SharingSettings, base_dir: Path | None = None) -> ShareStore:
    """The store ``settings`` name: PostgreSQL when ``dsn`` is set, else the SQLite file
    (``sqlite_file``, resolved against ``base_dir`` when it is relative)."""
    backend: Backend
    if settings.dsn:
        backend = PostgresBackend(settings.dsn, settings.pool_size, settings.timeout_seconds)
    else:
        path = settings.sqlite_file
        if base_dir is not None and not path.is_absolute():
            path = base_dir / path
        backend = SqliteBackend(path, settings.timeout_seconds)
    store = ShareStore(backend, settings.max_shares_per_owner)
    store.creates = RateLimiter(settings.creates_per_minute / 60, settings.creates_per_minute)
    return store


class ShareStore(TagStore):
    def __init__(self, backend: Backend, max_shares_per_owner: int = 1000) -> None:
        super().__init__(backend)
        self.max_shares_per_owner = max_shares_per_owner
        # Share creations per owner, per process (handlers/shares.py charges it): kept here, as
        # the store is what each app holds one of, with its settings.
        self.creates = RateLimiter(1.0, 60)
        self._purging: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Apply the migrations (a store that does not answer is logged and tried again on use),
        and purge dead shares every :data:`PURGE_SECONDS` until :meth:`close`."""
        try:
            await self._ready()
        except StoreUnavailable as exc:
            log.warning("share store unavailable at start-up (shares refused until it answers): %s", exc)
        if self._purging is None:
            self._purging = asyncio.create_task(self._purge_forever())

    async def close(self) -> None:
        if self._purging is not None:
            self._purging.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._purging
            self._purging = None
        await self.backend.close()

    async def _purge_forever(self) -> None:
        while True:
            await asyncio.sleep(purging.PURGE_SECONDS)
            try:
                await self.purge(int(time.time()))
            except StoreUnavailable as exc:  # the next round tries again
                log.warning("dead shares not purged: %s", exc)

    # Shares ---------------------------------------------------------------------------------

    async def create(
        self,
        owner: Principal,
        target_kind: TargetKind,
        target: str,
        grantee_kind: GranteeKind,
        grantee: str,
        now: int,
        expires: int | None,
    ) -> Share:
        """A new share (a fresh random id); :class:`ShareLimit` past the owner's limit."""
        if owner.sub is None:
            raise ValueError("guests own nothing to share")
        share = Share(
            new_id(), owner.issuer, owner.sub, target_kind, target, grantee_kind, grantee, now, expires
        )
        await self._ready()
        async with self.backend.transaction() as tx:
            if self.dialect == "postgres":  # SQLite's BEGIN IMMEDIATE already serialises writers
                # Count-then-insert must be atomic per owner, else concurrent creates each see
                # room and together pass the limit: this lock lasts until the transaction ends.
                await tx.execute("SELECT pg_advisory_xact_lock(?)", (owner_lock(owner),))
            ((count,),) = await tx.execute(
                f"SELECT count(*) FROM shares WHERE issuer = ? AND owner = ? AND {LIVE}",
                (owner.issuer, owner.sub, now),
            )
            if int(count) >= self.max_shares_per_owner:
                raise ShareLimit(f"{count} live shares")
            await tx.execute(
                f"INSERT INTO shares ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    share.id,
                    share.issuer,
                    share.owner,
                    target_kind,
                    target,
                    grantee_kind,
                    grantee,
                    now,
                    expires,
                    None,
                ),
            )
        return share

    async def get(self, share_id: str) -> Share | None:
        rows = await self._rows(f"SELECT {COLUMNS} FROM shares WHERE id = ?", (share_id,))
        return from_row(rows[0]) if rows else None

    async def delete(self, owner: Principal, share_id: str, now: int) -> Share | None:
        """Revoke the owner's live share ``share_id``; None when there is none of theirs (someone
        else's, expired, already deleted or never made: callers answer all alike)."""
        if _nul(owner, share_id):
            return None
        await self._ready()
        async with self.backend.transaction() as tx:
            rows = await tx.execute(
                f"UPDATE shares SET revoked_at = ? WHERE id = ? AND issuer = ? AND owner = ? AND {LIVE}"
                f" RETURNING {COLUMNS}",
                (now, share_id, owner.issuer, owner.sub or "", now),
            )
        return from_row(rows[0]) if rows else None

    async def owned(self, owner: Principal, now: int, limit: int, after: tuple[int, str] | None) -> Page:
        """The owner's live shares, oldest first."""
        if _nul(owner):
            return Page([], None)
        where = f"issuer = ? AND owner = ? AND {LIVE}"
        return await self._page([(where, [owner.issuer, owner.sub or "", now])], limit, after)

    async def received(
        self, principal: Principal, now: int, limit: int, after: tuple[int, str] | None
    ) -> Page:
        """Live shares others made for ``principal``: by name, by one of its groups, or for anyone."""
        if _nul(principal):
            principal = ANONYMOUS  # such a name is never a grantee's or an owner's
        mine = [principal.issuer, principal.sub or ""]
        branches = [
            (f"{clause} AND {LIVE} AND NOT (issuer = ? AND owner = ?)", [*values, now, *mine])
            for clause, values in grantee_clauses(principal)
        ]
        return await self._page(branches, limit, after)

    async def _page(
        self, branches: list[tuple[str, list[object]]], limit: int, after: tuple[int, str] | None
    ) -> Page:
        """One page over the union of ``branches`` (WHERE clauses): each branch reads its own
        live index in order and stops at the page's end, so no planner walks every live row."""
        selects, params = [], []
        for n, (where, values) in enumerate(branches):
            if after is not None:
                where += " AND (created > ? OR (created = ? AND id > ?))"
                values = [*values, after[0], after[0], after[1]]
            selects.append(
                f"SELECT * FROM (SELECT {COLUMNS} FROM shares WHERE {where}"
                f" ORDER BY created, id LIMIT ?) AS branch{n}"
            )
            params += [*values, limit + 1]
        rows = await self._rows(
            " UNION ALL ".join(selects) + " ORDER BY created, id LIMIT ?", (*params, limit + 1)
        )
        shares = [from_row(row) for row in rows[:limit]]
        return Page(shares, encode_cursor(shares[-1]) if len(rows) > limit else None)

    async def for_targets(self, principal: Principal, targets: Sequence[str], now: int) -> list[Share]:
        """Live shares letting ``principal`` read one of ``targets`` (exact prefixes or keys: pass
        a key's ancestors to find the prefix shares holding it), oldest first."""
        targets = [target for target in targets if "\0" not in target]
        if not targets:
            return []
        # One branch per kind of grantee, each led by the targets: the live-target index then
        # finds the few rows of those targets, rather than the grantee index walking every
        # share made for anyone (a planner facing an OR of grantee kinds picks the latter).
        marks = ", ".join("?" * len(targets))
        branches, params = [], []
        for clause, values in grantee_clauses(principal):
            branches.append(f"SELECT {COLUMNS} FROM shares WHERE target IN ({marks}) AND {clause} AND {LIVE}")
            params += [*targets, *values, now]
        rows = await self._rows(" UNION ALL ".join(branches) + " ORDER BY created, id", params)
        return [from_row(row) for row in rows]

    async def purge(self, now: int) -> int:
        """Delete dead shares and their grant tags (gateway/sharing/purge.py); how many shares."""
        await self._ready()
        return await purge_dead(self.backend, now)

    async def for_principal(self, principal: Principal, now: int, limit: int) -> list[Share]:
        """Up to ``limit`` live shares ``principal`` may read through (temporary credentials)."""
        return (await self.received(principal, now, limit, None)).shares


def _nul(principal: Principal, *more: str) -> bool:
    return any("\0" in text for text in (principal.sub or "", principal.issuer, *more))
