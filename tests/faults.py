"""A loopback TCP proxy whose behaviour a test can switch: pass, refuse, hang, or stall (answer
``stall_after`` bytes of the server's reply, then nothing more, with the connection left open).

It stands between a component and a real server (SeaweedFS, the gateway) to inject the network
faults of the threat model's cases 51-58 (origin down, slow, dropping connections) without faking
the server.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Literal

Mode = Literal["pass", "refuse", "hang", "stall"]


class FaultProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.mode: Mode = "pass"
        self.stall_after = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)

    async def set_mode(self, mode: Mode) -> None:
        """Switch behaviour; open connections are dropped so pooled clients see the change too."""
        self.mode = mode
        for task in list(self._tasks):
            task.cancel()
        await asyncio.sleep(0)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            if self.mode == "refuse":
                writer.transport.abort()
                return
            if self.mode == "hang":
                await asyncio.sleep(3600)
                return
            up_reader, up_writer = await asyncio.open_connection(*self.target)
            limit = self.stall_after if self.mode == "stall" else None
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer, limit))
        except (ConnectionError, OSError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    @staticmethod
    async def _pipe(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, limit: int | None = None
    ) -> None:
        sent = 0
        try:
            while data := await reader.read(65536):
                if limit is not None and sent + len(data) > limit:
                    writer.write(data[: limit - sent])
                    await writer.drain()
                    await asyncio.sleep(3600)  # the rest never comes; the connection stays open
                writer.write(data)
                sent += len(data)
                await writer.drain()
        finally:
            with contextlib.suppress(Exception):
                writer.close()
