"""Purging dead shares, so that deleted and expired rows do not pile up (docs/design.md, "Sharing").

:class:`~gateway.sharing.store.ShareStore` runs :func:`purge_dead` every :data:`PURGE_SECONDS`
from its ``start`` to its ``close``, in batches of :data:`PURGE_BATCH` so that no purge holds the
write lock long.  An expired share goes at once: every grant made for it ended with it (a share's
grants never outlive it).  A deleted one is kept :data:`DELETED_KEPT_SECONDS` for the operator's
logs only: deleting it already revoked its tags, by number, and dropped its ``grant_tags`` rows,
so no revocation needs the share's row.  Tag numbers only grow (SQLite AUTOINCREMENT, a
PostgreSQL identity sequence), so dropping a tag's row never lets its number name another grant.
"""

# ruff: noqa: S608 - every string put into a query here is a fixed constant; values are bound.

from __future__ import annotations

from gateway.sharing.backends import Backend
from gateway.sharing.model import LIVE

PURGE_SECONDS = 60.0
PURGE_BATCH = 1000
DELETED_KEPT_SECONDS = 86400
ORPHAN_WINDOW = 600
_DEAD = "(expires IS NOT NULL AND expires <= ?) OR (revoked_at IS NOT NULL AND revoked_at <= ?)"


async def purge_dead(backend: Backend, now: int) -> int:
    """Delete the shares dead at ``now`` and their grant tags; how many shares went."""
    purged = 0
    while True:
        async with backend.transaction() as tx:
            rows = await tx.execute(
                f"SELECT id FROM shares WHERE {_DEAD} LIMIT ?", (now, now - DELETED_KEPT_SECONDS, PURGE_BATCH)
            )
            ids = [str(share_id) for (share_id,) in rows]
            if ids:
                marks = ", ".join("?" * len(ids))
                await tx.execute(f"DELETE FROM shares WHERE id IN ({marks})", ids)
                # The tags of shares never revoked (they expired): a revoked tag's row is gone.
                await tx.execute(
                    f"DELETE FROM grant_tags WHERE source IN ({marks})", [f"share:{i}" for i in ids]
                )
        purged += len(ids)
        if len(ids) < PURGE_BATCH:
            break
    await _orphan_tags(backend, now)
    return purged


async def _orphan_tags(backend: Backend, now: int) -> None:
    """Tags of a share that is gone or dead: a replica tagging a grant just as the share was
    deleted (it then refuses the grant, gateway/service/shared.py) leaves one behind.  Only tags
    made in the last :data:`ORPHAN_WINDOW` seconds are looked at (an index on ``created``), so a
    round never walks every tag while it holds the write lock; rounds overlap ten times over."""
    async with backend.transaction() as tx:
        await tx.execute(
            "DELETE FROM grant_tags WHERE share = 1 AND created > ? AND created <= ? AND NOT EXISTS ("
            # shares.id alone on its side, so that each tag finds its share by primary key.
            f" SELECT 1 FROM shares WHERE shares.id = substr(grant_tags.source, 7) AND {LIVE})",
            (now - ORPHAN_WINDOW, now - int(PURGE_SECONDS), now),
        )
