"""Hold the current keyring and pick up changes without a restart.

The watcher polls the store's identity (a directory: ``keyring.json``'s inode, size and mtime,
and the kubelet's ``..data`` version; S3: the ``ETag``), in a thread so that a slow store never
stalls requests.  A keyring that fails to load keeps the last good one in service, logs one line
per new problem, is tried again at the next poll, and is reported by ``/readyz``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Hashable
from pathlib import Path

from gateway.keys.model import Keyring, KeyringError
from gateway.keys.store import DirectoryStore, KeyringSource

log = logging.getLogger(__name__)


class KeyringHolder:
    def __init__(
        self,
        source: Path | KeyringSource,
        *,
        private: bool = True,
        on_change: Callable[[Keyring], None] | None = None,
    ) -> None:
        self.source: KeyringSource = DirectoryStore(source) if isinstance(source, Path) else source
        self.private = private
        self._identity: Hashable = self.source.identity()
        self.current = self.source.load(private=private)  # start-up fails loudly here
        self.error: str | None = None
        self._on_change = on_change

    def _failed(self, error: KeyringError) -> None:
        if str(error) != self.error:  # once per new problem, not once per poll
            log.error("keyring reload failed, keeping the last good keyring: %s", error)
        self.error = str(error)

    def check(self) -> bool:
        """Reload if the keyring changed; True when a new keyring was installed."""
        try:
            identity = self.source.identity()
            if identity == self._identity and self.error is None:
                return False
            keyring = self.source.load(private=self.private)
        except KeyringError as error:
            self._failed(error)  # the identity is not recorded: the next poll tries again
            return False
        self._identity = identity
        if self.error is not None:
            log.info("keyring reload succeeded again")
        self.error = None
        if keyring.version == self.current.version:
            return False  # the same document rewritten (or the kubelet's atomic swap of it)
        self.current = keyring
        log.info("keyring reloaded: active key %s (keyring %s)", keyring.active_id, keyring.version)
        if self._on_change is not None:
            self._on_change(keyring)
        return True

    async def watch(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            await asyncio.to_thread(self.check)

    @contextlib.asynccontextmanager
    async def watching(self, interval: float) -> AsyncIterator[None]:
        """Poll for changes for as long as the app runs (use in ``cleanup_ctx``)."""
        task = asyncio.create_task(self.watch(interval))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
