"""Grant tags and the revocation list, shared by the gateway and the edge (docs/design.md, "Revocation").

A revocable grant carries its tag in the one signed place CloudFront leaves free: its custom
policy's ``DateGreaterThan`` is ``TAG_EPOCH + tag``, a lower bound long past that widens nothing
(``DateLessThan`` still bounds the grant).  A tag names one (principal, grant source) pair, so
revoking it never touches another principal's grants.  The lowest bit says what the source is: 1
for a share, 0 for a rule; an edge whose list is stale refuses share tags (fail closed) and lets
rule tags through, as the gateway does for rule-based access while the share store is down.

Pure but for :class:`RevocationWatcher`, which polls a reader it is given: no store, AWS or
service module is imported here, so the edge can use it and still stand alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Literal

log = logging.getLogger(__name__)

TAG_EPOCH = 978_307_200  # 2001-01-01T00:00:00Z: every tagged DateGreaterThan lies after it
# Tags stay below 2**29: a tagged DateGreaterThan is then before 2018, far below any window start
# the gateway signs (a clock-skew allowance a minute before now), so the two never meet.
MAX_TAG = 2**29 - 1
SHARE_BIT = 1

Tag = int
Revoked = Mapping[Tag, int]  # tag -> epoch second until which it stays revoked


def make_tag(number: int, share: bool) -> Tag:
    """The tag of the store's ``number``-th (principal, source) pair (``number`` >= 1)."""
    tag = number * 2 + (SHARE_BIT if share else 0)
    if number < 1 or tag > MAX_TAG:
        raise ValueError(f"grant tag number {number} is out of range")
    return tag


def is_share(tag: Tag) -> bool:
    return bool(tag & SHARE_BIT)


def not_before(tag: Tag) -> int:
    """The ``DateGreaterThan`` that carries ``tag``."""
    if not 2 <= tag <= MAX_TAG:
        raise ValueError(f"grant tag {tag} is out of range")
    return TAG_EPOCH + tag


def tag_of(date_greater_than: object) -> Tag | None:
    """The tag a policy's ``DateGreaterThan`` carries, or None for an untagged grant."""
    if isinstance(date_greater_than, bool) or not isinstance(date_greater_than, int):
        return None
    tag = date_greater_than - TAG_EPOCH
    return tag if 2 <= tag <= MAX_TAG else None


Verdict = Literal["ok", "revoked", "unknown"]
# A reader returns every revocation whose ``until`` is after both now and ``floor`` (0: all).
Reader = Callable[[int], Awaitable[Revoked]]
# Polls read only rows whose ``until`` is near or past the latest seen: a new revocation's ``until``
# is its revoking time plus the longest grant, so it comes after every earlier one but for clock
# skew between replicas and a commit's delay, both far under SLACK_SECONDS.  A full read every
# FULL_EVERY polls drops expired entries and repairs anything an incremental read could miss.
SLACK_SECONDS = 30
FULL_EVERY = 60


class RevocationWatcher:
    """The revocation list kept in memory, refreshed from ``read`` every ``interval`` seconds.

    ``read`` returns the tags revoked now, each with the moment its grants have all expired (only
    those expiring after its ``floor``: most polls read a few rows, not the whole list, which may
    hold hundreds of thousands).  A failed read keeps the last list; once no read has succeeded for
    ``max_stale`` seconds (or none ever has) the list is unknown, and :meth:`verdict` says so for
    share tags, which callers refuse.
    """

    def __init__(
        self,
        read: Reader,
        interval: float = 1.0,
        max_stale: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read, self.interval, self.max_stale, self._clock = read, interval, max_stale, clock
        self._revoked: dict[Tag, int] = {}
        self._fresh_at: float | None = None
        self.error: str | None = None
        self._latest = 0  # the latest ``until`` read
        self._polls = 0
        self.full_reads = 0

    @property
    def stale(self) -> bool:
        return self._fresh_at is None or self._clock() - self._fresh_at > self.max_stale

    def __len__(self) -> int:
        return len(self._revoked)

    async def refresh(self) -> None:
        full = self._polls % FULL_EVERY == 0 or self.stale
        try:
            revoked = await self._read(0 if full else self._latest - SLACK_SECONDS)
        except Exception as exc:  # any store failure: keep the last list, say so once per change
            reason = f"{type(exc).__name__}: {exc}"
            if reason != self.error:
                log.warning("revocation list not refreshed (the last one stays in force): %s", reason)
            self.error = reason
            return
        if full:
            self._revoked = dict(revoked)
            self.full_reads += 1
        else:
            self._revoked.update(revoked)
        self._latest = max(self._latest, max(revoked.values(), default=0))
        self._polls += 1
        self._fresh_at, self.error = self._clock(), None

    def verdict(self, tag: Tag | None, now: float) -> Verdict:
        if tag is None:
            return "ok"
        until = self._revoked.get(tag)
        if until is not None and now < until:
            return "revoked"
        if is_share(tag) and self.stale:
            return "unknown"
        return "ok"

    @contextlib.asynccontextmanager
    async def watching(self) -> AsyncIterator[None]:
        """Read once (start-up), then keep reading in the background until the context ends."""
        await self.refresh()
        task = asyncio.create_task(self._loop())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.refresh()
