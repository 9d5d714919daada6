"""Run SeaweedFS ``weed mini`` on loopback as the local S3 (tests and ``make run``).

Always with credentials: without them SeaweedFS turns S3 auth off and accepts any presigned URL.
Bound to 127.0.0.1, every port chosen or given explicitly, the gRPC ones too: weed would otherwise
move a busy one to another port without a word.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from deploy.seaweedfs.weedtools import free_ports, wait_until, weed_binary

GRPC_OFFSET = 10000  # weed opens each server's gRPC port this far above its HTTP port
SERVERS = ("s3", "master", "volume", "filer", "admin")  # what weed mini runs here (admin without UI)


def _in_use(port: int) -> bool:
    """Whether something listens there (SO_REUSEADDR, as servers bind: TIME_WAIT is no obstacle)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


@dataclass
class SeaweedFS:
    data_dir: Path
    access_key: str
    secret_key: str
    s3_port: int = 0
    region: str = "us-east-1"
    process: subprocess.Popen[bytes] | None = None
    # The master, volume, filer and admin HTTP ports; empty: free ones.  ``make run`` gives them,
    # so that the ports it opens are the ones the README lists.
    server_ports: tuple[int, ...] = ()
    ports: dict[str, int] = field(default_factory=dict)  # every port weed listens on, once started

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    def client(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=Config(
                s3={"addressing_style": "path"},
                retries={"max_attempts": 1},
                connect_timeout=2,
                read_timeout=10,
            ),
        )

    def start(self, timeout: float = 60) -> None:
        picked = free_ports(5)
        self.s3_port = self.s3_port or picked[0]
        http = dict(zip(SERVERS, (self.s3_port, *(self.server_ports or picked[1:])), strict=True))
        self.ports = {**http, **{f"{name} gRPC": port + GRPC_OFFSET for name, port in http.items()}}
        busy = [f"{port} ({name})" for name, port in self.ports.items() if _in_use(port)]
        if busy:
            raise RuntimeError(f"SeaweedFS needs port {', '.join(busy)} on 127.0.0.1, which is in use")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, AWS_ACCESS_KEY_ID=self.access_key, AWS_SECRET_ACCESS_KEY=self.secret_key)
        log = open(self.data_dir / "weed.log", "ab")
        self.process = subprocess.Popen(
            [
                weed_binary(),
                f"-logdir={self.data_dir}",
                "mini",
                f"-dir={self.data_dir}",
                "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1",
                *(f"-{name}.port={port}" for name, port in http.items()),
                *(f"-{name}.port.grpc={port + GRPC_OFFSET}" for name, port in http.items()),
                "-webdav=false",
                "-admin.ui=false",
                "-s3.port.iceberg=0",
                "-s3.port.lance=0",
            ],
            cwd=self.data_dir,  # nothing SeaweedFS writes lands in the caller's directory
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        log.close()
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float) -> None:
        """Ready means an authenticated ListBuckets succeeds."""
        alive = lambda: self.process is None or self.process.poll() is None  # noqa: E731
        try:
            wait_until(self.client().list_buckets, timeout, alive)
        except Exception as exc:
            self.stop()
            raise RuntimeError(f"SeaweedFS did not start; see {self.data_dir}/weed.log") from exc

    def stop(self, timeout: float = 15) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
