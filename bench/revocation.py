"""What revocable grants cost (docs/design.md, "Revocation"), in one process, per grant:

- ``grant_hit_revocation_off``: a cached grant, shared by every caller (the usual case);
- ``grant_hit_revocation_on``: the caller's tag kept in memory, then that caller's cached grant;
- ``grant_new_principal_<store>``: a principal's first grant of a window: the tag made in the
  store (one transaction) and a new signature, on SQLite and on PostgreSQL;
- ``grant_new_principal_revocation_off``: what a first grant costs without revocation (one
  signature, once per source and window for everyone);
- ``grant_via_share_<store>``: a cached grant the rules refuse and a share opens (docs/design.md,
  "Sharing"): the store's lookup of the path's ancestors among a thousand other shares, then the
  cached grant.  A grant the rules allow never asks the store, so it costs the same with sharing on
  as ``grant_hit_revocation_off``.

The off/on ratio for a cached grant, and the first grant's cost against a bare signature, say
what revocation costs: one signature per principal per source per window instead of one per source.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from gateway.common.config import Secret
from gateway.keys.keyring import load_keyring
from gateway.rules.access import Principal
from gateway.service.grants import Granter
from gateway.service.metrics import Metrics
from gateway.service.settings import SigningSettings
from gateway.sharing.revocation import Revocations
from gateway.sharing.revocation_settings import RevocationSettings
from gateway.sharing.settings import SharingSettings
from gateway.sharing.store import ShareStore, open_store

NOW = 1_800_000_000.0


async def _per_second(action: Callable[[], Awaitable[object]], seconds: float) -> float:
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        for _ in range(10):
            await action()
        count += 10
    return count / elapsed


async def _with_store(store: ShareStore, keys: Path, seconds: float) -> dict[str, float]:
    keyring = load_keyring(keys)
    granter = Granter(SigningSettings(keys_dir=keys), lambda: keyring, Metrics())
    revocations = Revocations(RevocationSettings(enabled=True), store, 4200)
    out: dict[str, float] = {}
    alice, bob = Principal("alice", (), "iss"), Principal("bob", (), "iss")
    for n in range(1000):  # other users' shares, so the lookup is not of an empty table
        await store.create(Principal(f"u{n}", (), "iss"), "prefix", f"users/u{n}/a/", "user", "bob", 0, None)
    await store.create(alice, "prefix", "users/alice/album/", "user", "bob", 0, None)
    album = "users/alice/album/"
    granter.for_prefix(album, NOW)

    async def via_share() -> None:
        shares = await store.for_targets(bob, ["users/", "users/alice/", album], int(NOW))
        assert shares, "the share opens the album"
        granter.for_prefix(shares[0].target, NOW)

    out[f"grant_via_share_{store.dialect}"] = await _per_second(via_share, seconds)
    async with revocations.running():
        await revocations.tag("iss\0kept", "rule:tiles/", False)

        async def kept() -> None:
            tag = await revocations.tag("iss\0kept", "rule:tiles/", False)
            granter.for_prefix("tiles/", NOW, tag=tag)

        out["grant_hit_revocation_on"] = await _per_second(kept, seconds)
        numbers = itertools.count()

        async def new_principal() -> None:
            who = f"iss\0u{next(numbers)}"
            granter.for_prefix("tiles/", NOW, tag=await revocations.tag(who, "rule:tiles/", False))

        out[f"grant_new_principal_{store.dialect}"] = await _per_second(new_principal, seconds)
    return out


async def _measure(work: Path, keys: Path, dsn: str | None, seconds: float) -> dict[str, float]:
    keyring = load_keyring(keys)
    granter = Granter(SigningSettings(keys_dir=keys), lambda: keyring, Metrics())
    granter.for_prefix("tiles/", NOW)

    async def shared() -> None:
        granter.for_prefix("tiles/", NOW)

    prefixes = itertools.count()

    async def new_source() -> None:
        granter.for_prefix(f"tiles/{next(prefixes)}/", NOW)

    out = {
        "grant_hit_revocation_off": await _per_second(shared, seconds),
        "grant_new_principal_revocation_off": await _per_second(new_source, seconds),
    }
    out.update(
        await _with_store(open_store(SharingSettings(sqlite_file=work / "bench.sqlite3")), keys, seconds)
    )
    if dsn:
        out.update(await _with_store(open_store(SharingSettings(dsn=Secret(dsn))), keys, seconds))
    return out


def revocation_costs(results: dict[str, Any], work: Path, keys: Path, seconds: float = 2.0) -> None:
    """Add the figures to ``results["references"]`` (per second) and their ratios."""
    dsn: str | None = None
    try:
        from tests.pgserver import pg_bin, postgres_server
    except ImportError:  # an installed package without the tests: SQLite only
        pg_bin = None  # type: ignore[assignment]
    if pg_bin is not None and pg_bin() is not None:
        with postgres_server() as server:
            dsn = server.create_database()
            figures = asyncio.run(_measure(work, keys, dsn, seconds))
    else:
        figures = asyncio.run(_measure(work, keys, None, seconds))
    for name, value in figures.items():
        results["references"][f"{name}_per_s"] = value
        print(f"  {name:40s} {value:>10.1f} /s", flush=True)
    for dialect in ("sqlite", "postgres"):
        if f"grant_via_share_{dialect}" in figures:
            results["ratios"][f"share_grant_{dialect}_vs_rule_grant"] = (
                figures[f"grant_via_share_{dialect}"] / figures["grant_hit_revocation_off"]
            )
    results["ratios"]["revocation_hit_on_vs_off"] = (
        figures["grant_hit_revocation_on"] / figures["grant_hit_revocation_off"]
    )
