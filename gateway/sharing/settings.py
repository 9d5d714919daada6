"""The ``[sharing]`` settings: the share store (SQLite by default, PostgreSQL at scale)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from gateway.common.config import NO_SECRET, Secret

DSN_SCHEMES = ("postgresql://", "postgres://")
# The longest ``expires_in`` any share may ask for, whatever the setting: ten years keeps every
# expiry far inside a 64-bit integer column, so no request can overflow the store.
LONGEST_EXPIRES_IN = 10 * 365 * 86400


@dataclass(frozen=True)
class SharingSettings:
    """Shares between users (``/v1/shares``) and the store that keeps them (docs/design.md, "Sharing").

    Attributes:
        enabled: Serve ``/v1/shares`` and honour shares in grants.  Off: ``/v1/shares`` is 404 and
            only the rules decide.  A rule must also say ``shareable = true`` for its prefixes to
            be shared at all.
        dsn: Empty: a SQLite file (``sqlite_file``), for one host.  Else a PostgreSQL connection
            URI (``postgresql://user@host:5432/db``) that every replica shares; never printed.
        sqlite_file: The SQLite store, relative to the settings file's directory; created with
            its directory on first start.  Gateways and local edges on one host may share it.
        pool_size: Most PostgreSQL connections each process opens.
        timeout_seconds: Bound on waiting for the store (a connection, a lock, a query); past it
            the store counts as down: share-based access gets 503, rule-based access is unaffected.
        max_shares_per_owner: Most live shares one user may hold; one more is 422.
        creates_per_minute: Most shares one user may create in a minute, per gateway process (a
            token bucket: this many at once, then one every 60/n seconds); past it 429 with
            ``Retry-After``.  Bounds create-then-delete churn, which the live-share limit does
            not, and so the dead rows and grant tags one account can make.
        max_expires_in_seconds: Longest ``expires_in`` a share may ask for; 0: ten years (315360000
            seconds, also the most it may be set to).  A share asked without ``expires_in`` lasts
            until it is deleted.
        page_size: Shares per page of ``GET /v1/shares`` when ``limit`` is not given (at most 100).
    """

    enabled: bool = False
    dsn: Secret = NO_SECRET
    sqlite_file: Path = Path("shares.sqlite3")
    pool_size: int = 10
    timeout_seconds: float = 2.0
    max_shares_per_owner: int = 1000
    creates_per_minute: int = 60
    max_expires_in_seconds: int = 0
    page_size: int = 50

    @property
    def postgres(self) -> bool:
        return bool(self.dsn)

    def check(self, problems: list[str], base_dir: Path) -> None:
        if self.enabled and not self.dsn and (problem := _unwritable(base_dir / self.sqlite_file)):
            problems.append(f"sharing.sqlite_file {problem}: make it writable, or set sharing.dsn")
        if self.dsn and not self.dsn.startswith(DSN_SCHEMES):
            problems.append("sharing.dsn must be a postgresql:// connection URI (or empty for SQLite)")
        if not 1 <= self.pool_size <= 100:
            problems.append("sharing.pool_size must be 1-100")
        if self.timeout_seconds <= 0:
            problems.append("sharing.timeout_seconds must be positive")
        if self.max_shares_per_owner <= 0:
            problems.append("sharing.max_shares_per_owner must be positive")
        if not 1 <= self.creates_per_minute <= 60_000:
            problems.append("sharing.creates_per_minute must be 1-60000")
        if not 0 <= self.max_expires_in_seconds <= LONGEST_EXPIRES_IN:
            problems.append(f"sharing.max_expires_in_seconds must be 0 (ten years) to {LONGEST_EXPIRES_IN}")
        if not 1 <= self.page_size <= 100:
            problems.append("sharing.page_size must be 1-100")


def _unwritable(path: Path) -> str | None:
    """Why the store file cannot be made or written (checked once at start-up, so that a
    read-only directory is one line now rather than every share refused later)."""
    if path.exists():
        return (
            None
            if path.is_file() and os.access(path, os.R_OK | os.W_OK)
            else f"{path} is not a writable file"
        )
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        return f"{path} cannot be created ({parent} is not a writable directory)"
    return None
