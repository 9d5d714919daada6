"""The gateway's side of revocation: a tag for each grant, revoking, and the mirrors of the list.

A grant's tag names its principal and source (docs/design.md, "Revocation").  Tags are looked up
in the store once and then kept in memory; a kept tag that the revocation list (read every
``poll_seconds``) names is dropped and looked up again, so a replica stops handing out a tag
another replica revoked within one poll.  While the list is stale (no read for five polls), kept
tags are not used at all: every grant's tag is looked up in the store, which has forgotten
revoked pairs.  The KeyValueStore mirror (CloudFront) is synced in the
background and at once after each revocation; revocations whose grants have all expired are
dropped from the store, and so from the mirror.

A store outage fails closed for share grants (no tag: the caller gets 503) and leaves rule grants
working untagged, as the rules alone decide them: such a grant cannot be revoked before it
expires (window and grace), which the design accepts for the outage's length.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from cachetools import LRUCache

from gateway.common.revocation import RevocationWatcher, Revoked, Tag
from gateway.sharing.revocation_kvs import KvsMirror
from gateway.sharing.revocation_settings import RevocationSettings
from gateway.sharing.store import ShareStore

log = logging.getLogger(__name__)
TAGS_KEPT = 100_000
EXPIRE_SECONDS = 60.0


class StoreUnavailable(Exception):
    """The revocation store could not give a share grant its tag: refuse the grant."""


def principal_key(issuer: str, sub: str | None) -> str:
    """One string per principal (the NUL keeps issuer and sub apart); guests share ``""``."""
    return "" if sub is None else f"{issuer}\0{sub}"


class Revocations:
    def __init__(
        self,
        settings: RevocationSettings,
        store: ShareStore,
        longest_grant: int,
        kvs: KvsMirror | None = None,
        *,
        owns_store: bool = True,  # False: the app's share store, which the app starts and closes
    ) -> None:
        self.settings, self.store, self.longest_grant, self.kvs = settings, store, longest_grant, kvs
        self._owns_store = owns_store
        # A stale list only costs a lookup here (a kept share tag is looked up again).
        self.watcher = RevocationWatcher(
            self._read, settings.poll_seconds, max_stale=settings.poll_seconds * 5
        )
        self._tags: LRUCache[tuple[str, str], Tag] = LRUCache(TAGS_KEPT)
        self._kick = asyncio.Event()
        self.synced: Any = None  # the last KeyValueStore sync's result (tests, logs)
        self.on_sync_failure: Callable[[], object] = lambda: None  # the app counts failures

    async def _read(self, floor: int = 0) -> Revoked:
        return await self.store.revoked(max(int(time.time()), floor))  # until > both: incremental

    def kept(self, principal: str, source: str) -> bool:
        """Whether :meth:`tag` would answer from memory (no store lookup, no new tag row)."""
        kept = self._tags.get((principal, source))
        return kept is not None and not self.watcher.stale and self.watcher.verdict(kept, time.time()) == "ok"

    async def tag(self, principal: str, source: str, share: bool) -> Tag | None:
        """The grant's tag; None for a rule grant while the store is down (it is then untagged).
        Raises :class:`StoreUnavailable` for a share grant the store cannot tag."""
        # A kept tag is trusted only while the list is fresh: a replica that cannot read it would
        # otherwise hand out a tag another replica revoked for as long as the outage lasts, and its
        # grants would work again once the revocation row is dropped.  Stale: ask the store.
        if self.kept(principal, source):
            return self._tags[(principal, source)]
        try:
            tag = await self.store.tag(principal, source, share, int(time.time()))
        except Exception as exc:  # any store failure
            log.warning("no grant tag from the revocation store (%s: %s)", type(exc).__name__, exc)
            if share:
                raise StoreUnavailable(str(exc)) from exc
            return None
        self._tags[(principal, source)] = tag
        return tag

    async def revoke(self, *, principal: str | None = None, source: str | None = None) -> tuple[Revoked, int]:
        """Revoke a principal's tags or a source's (a share's), until their grants have expired."""
        until = int(time.time()) + self.longest_grant
        revoked = await self.store.revoke(until, principal=principal, source=source)
        for key in [k for k in self._tags if k[0] == principal or k[1] == source]:
            self._tags.pop(key, None)
        await self.watcher.refresh()
        self._kick.set()
        return revoked, until

    def _sync(self, loop: asyncio.AbstractEventLoop) -> None:
        """In a worker thread: the KeyValueStore calls block; the list is read on the loop."""

        def read() -> Revoked:
            reading = asyncio.run_coroutine_threadsafe(self.store.revoked(int(time.time())), loop)
            return reading.result(timeout=30)

        assert self.kvs is not None
        self.synced = self.kvs.sync(read)

    async def _mirror(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.kvs_sync_seconds):
                    await self._kick.wait()
            self._kick.clear()
            try:
                await asyncio.to_thread(self._sync, asyncio.get_running_loop())
            except Exception as exc:  # keep trying: the next sync corrects whatever this one missed
                self.on_sync_failure()
                log.error("revocations not mirrored to the KeyValueStore (%s: %s)", type(exc).__name__, exc)

    async def _expire(self) -> None:
        while True:
            await asyncio.sleep(EXPIRE_SECONDS)
            try:
                if await self.store.expire(int(time.time())):
                    self._kick.set()
            except Exception as exc:
                log.warning("expired revocations not dropped (%s: %s)", type(exc).__name__, exc)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        await self.store.start()  # a store down now is tried again on use; the list is then stale
        tasks: list[asyncio.Task[None]] = [asyncio.create_task(self._expire())]
        if self.kvs is not None:
            self._kick.set()  # a first sync at start-up
            tasks.append(asyncio.create_task(self._mirror()))
        try:
            async with self.watcher.watching():
                yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if self._owns_store:
                await self.store.close()


def kvs_mirror(settings: RevocationSettings, client: Callable[[], Any]) -> KvsMirror | None:
    return KvsMirror(client(), settings.kvs_arn) if settings.kvs_arn else None
