"""Run SeaweedFS ``weed mini`` on loopback as the local S3 (tests and ``make run``).

Always with credentials: without them SeaweedFS turns S3 auth off and accepts any presigned URL.
Bound to 127.0.0.1, every port chosen or given explicitly.
"""

from __future__ import annotations

import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from deploy.seaweedfs.weedtools import free_ports, wait_until, weed_binary


@dataclass
class SeaweedFS:
    data_dir: Path
    access_key: str
    secret_key: str
    s3_port: int = 0
    region: str = "us-east-1"
    process: subprocess.Popen[bytes] | None = None

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
        s3_port, master, volume, filer, admin = free_ports(5)
        self.s3_port = self.s3_port or s3_port
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
                f"-s3.port={self.s3_port}",
                f"-master.port={master}",
                f"-volume.port={volume}",
                f"-filer.port={filer}",
                f"-admin.port={admin}",
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

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
