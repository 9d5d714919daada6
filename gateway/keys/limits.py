"""The rules a key command judges by, kept pure: the cap on live keys, when a key may retire, what
the replicas' reports allow, and the table ``keys list`` prints."""

from __future__ import annotations

import datetime
import math

from gateway.keys.gates import Replicas
from gateway.keys.model import KeyEntry, Keyring, KeyState

LIVE = (KeyState.PENDING, KeyState.ACTIVE, KeyState.TRUSTED)
CLOCK_SKEW_SECONDS = 300


def longest_grant_seconds(window_seconds: int, grace_seconds: int) -> int:
    """How long after a key stops signing its last grant can still be presented."""
    return window_seconds + grace_seconds + CLOCK_SKEW_SECONDS


def cap_refusal(
    keyring: Keyring, leaving: str | None, max_keys: int, max_grant: int, now: float
) -> str | None:
    """Why a rotation would leave more live keys than allowed (and when that ends), or None."""
    live = [e for e in keyring.entries if e.state in LIVE and e.id != leaving]
    if len(live) < max_keys:
        return None
    head = (
        f"refusing to rotate: {len(live)} keys are live (pending, active, trusted) and "
        f"keys.max_keys_in_group is {max_keys}"
    )
    trusted = [e for e in live if e.state is KeyState.TRUSTED]
    if not trusted:
        return f"{head}; no trusted key to retire: raise keys.max_keys_in_group"
    oldest = min(trusted, key=lambda e: e.deactivated or 0)
    retire_at = (oldest.deactivated or 0) + max_grant
    wait = retire_at - now
    when = datetime.datetime.fromtimestamp(retire_at, datetime.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    then = (
        f"in {duration(wait)} ({when}): run 'make retire-keys' then"
        if wait > 0
        else "now: run 'make retire-keys'"
    )
    return f"{head}; the oldest trusted key {oldest.id} can retire {then}"


def replicas_refusal(keyring: Keyring, leaving: list[KeyEntry], seen: Replicas) -> tuple[str | None, str]:
    """(why retiring ``leaving`` must wait, or None; what the reports said)."""
    ids = {e.id for e in leaving} | {e.key_pair_id for e in leaving if e.key_pair_id}
    behind = [r for r in seen.live if r.key_id in ids or r.key_pair_id in ids]
    active = keyring.active.key_pair_id
    if behind:
        named = ", ".join(f"{r.name} ({r.key_pair_id}, {r.age_seconds:.0f}s ago)" for r in behind[:5])
        return (
            f"refusing to retire: {len(behind)} replica(s) still sign with a key to retire: {named}; "
            f"they have not loaded the current keyring (see their /readyz): run again once they "
            f"report {active}",
            "",
        )
    if seen.live:
        return None, f"{len(seen.live)} replica(s) report signing with {active}"
    return None, "no replica reports which key it signs with: retiring on the drain time alone"


def table(keyring: Keyring, now: float) -> list[dict[str, str]]:
    return [
        {
            "id": e.id,
            "key_pair_id": e.key_pair_id or "-",
            "algorithm": e.algorithm,
            "state": e.state,
            "age": age(now - e.created),
            "since": age(now - (e.deactivated or e.activated or e.created)) + " ago",
        }
        for e in keyring.entries
    ]


def age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def duration(seconds: float) -> str:
    minutes, secs = divmod(math.ceil(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"
