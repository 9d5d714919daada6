"""Start the whole local stack (exactly what ``make run`` starts) on free ports for a test."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from deploy.seaweedfs.weedtools import free_ports
from devstack.stack import Stack, StackConfig

ROOT = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def running_stack(local: Path, window: int = 3600, grace: int = 600) -> Iterator[Stack]:
    gateway_port, edge_port, s3_port = free_ports(3)
    config = StackConfig(
        root=ROOT,
        local=local,
        gateway_port=gateway_port,
        edge_port=edge_port,
        s3_port=s3_port,
        window_seconds=window,
        grace_seconds=grace,
    )
    previous = os.environ.get("KEYS_DIR")
    os.environ["KEYS_DIR"] = str(local / "keys")
    stack = Stack(config)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
        if previous is None:
            os.environ.pop("KEYS_DIR", None)
        else:
            os.environ["KEYS_DIR"] = previous
