"""Hold the current keyring and pick up changes on disk without a restart.

The watcher polls ``keyring.json``'s identity (inode, size, mtime); rotation writes it by atomic
rename, so a change is always a whole new file.  A keyring that fails to load keeps the last
good one in service, logs one line, and is reported by ``/readyz``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from gateway.keys.keyring import KEYRING_FILE, Keyring, KeyringError, load_keyring

log = logging.getLogger(__name__)


def _identity(directory: Path) -> tuple[int, int, int] | None:
    try:
        info = os.stat(directory / KEYRING_FILE)
    except OSError:
        return None
    return (info.st_ino, info.st_size, info.st_mtime_ns)


class KeyringHolder:
    def __init__(
        self, directory: Path, *, private: bool = True, on_change: Callable[[Keyring], None] | None = None
    ) -> None:
        self.directory = directory
        self.private = private
        self._identity = _identity(directory)
        self.current = load_keyring(directory, private=private)  # start-up fails loudly here
        self.error: str | None = None
        self._on_change = on_change

    def check(self) -> bool:
        """Reload if the file changed; True when a new keyring was installed."""
        identity = _identity(self.directory)
        if identity == self._identity:
            return False
        self._identity = identity
        try:
            keyring = load_keyring(self.directory, private=self.private)
        except KeyringError as exc:
            self.error = str(exc)
            log.error("keyring reload failed, keeping the last good keyring: %s", exc)
            return False
        self.current, self.error = keyring, None
        log.info("keyring reloaded: active key %s", keyring.active_id)
        if self._on_change is not None:
            self._on_change(keyring)
        return True

    async def watch(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            self.check()

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
