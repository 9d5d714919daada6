"""Each gateway process records, in the shared store, which key it signs with: ``keys retire``
reads these reports and refuses while a live replica still signs with a key to retire.

A report is written when the keyring changes and every ``keys.heartbeat_seconds``; it is the
replica's own view (its ``keyring.json`` digest and active key), so a replica whose reloads fail
keeps reporting the old key and holds retirement back.  Writing needs ``s3:PutObject`` on
``<prefix>/replicas/*`` only; a failure is logged once and never affects serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import socket
import time
from collections.abc import AsyncIterator

from gateway.keys.gates import report_body
from gateway.keys.s3store import S3KeyringStore
from gateway.keys.store import StoreError
from gateway.keys.watch import KeyringHolder

log = logging.getLogger(__name__)


def replica_name() -> str:
    """The host (a pod's name) and process, as object-name-safe characters."""
    host = re.sub(r"[^A-Za-z0-9._-]", "-", socket.gethostname())[:80] or "host"
    return f"{host}-{os.getpid()}"


class Heartbeat:
    def __init__(self, store: S3KeyringStore, holder: KeyringHolder, every: float, name: str = "") -> None:
        self.store, self.holder, self.every = store, holder, every
        self.name = name or replica_name()
        self._reported: str | None = None  # the keyring version last reported
        self._at = 0.0
        self._error: str | None = None

    def beat(self) -> bool:
        """Report if the keyring changed or the period is over; True when a report was written."""
        keyring = self.holder.current
        if keyring.version == self._reported and time.monotonic() - self._at < self.every:
            return False
        active = keyring.active
        body = report_body(self.name, active.id, active.key_pair_id or "", keyring.version)
        try:
            self.store.put_report(self.name, body)
        except StoreError as error:
            if str(error) != self._error:
                log.error("replica report failed (keys retire cannot see this replica): %s", error)
            self._error = str(error)
            return False
        self._reported, self._at, self._error = keyring.version, time.monotonic(), None
        return True

    async def _run(self, tick: float) -> None:
        while True:
            await asyncio.to_thread(self.beat)
            await asyncio.sleep(tick)

    @contextlib.asynccontextmanager
    async def running(self, tick: float) -> AsyncIterator[None]:
        """Report while the app runs, checking every ``tick`` (the keyring's reload interval)."""
        task = asyncio.create_task(self._run(min(tick, self.every)))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            with contextlib.suppress(StoreError):  # a replica that stops leaves no report behind
                await asyncio.to_thread(self.store.delete_report, self.name)
