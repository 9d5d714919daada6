"""Gateways and edges as their own processes, sharing nothing but a keyring store in a real
SeaweedFS bucket (``keys.store``), the way replicas on several machines share it."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

from devstack.seaweed import SeaweedFS
from tests.gateway.conftest import DEV_SECRET, RULES, free_port, token

PROBE_KEY = "probe/probe.txt"  # the operator's small object under a signed behaviour
TILE = "tiles/1/0/0.png"
PUBLIC_KEY = "public/logo.png"  # under an unsigned behaviour: a probe there proves nothing


@dataclass
class Fleet:
    seaweed: SeaweedFS
    root: Path
    media: str  # the bucket the edges serve
    store: str  # s3://bucket/prefix/ holding the keyring
    edge_port: int

    @property
    def cdn(self) -> str:
        return f"http://127.0.0.1:{self.edge_port}"

    @property
    def probe_url(self) -> str:
        return f"{self.cdn}/{PROBE_KEY}"

    def gateway_config(self, name: str = "gateway.toml", **keys: str | float) -> Path:
        (self.root / "rules.toml").write_text(RULES)
        extra = "".join(f"{k} = {v!r}\n".replace("'", '"') for k, v in keys.items())
        path = self.root / name
        path.write_text(
            f'environment = "development"\nrules_file = "rules.toml"\n'
            f'[signing]\nkeys_dir = "unused"\ncdn_base_url = "{self.cdn}"\nreload_interval_seconds = 0.3\n'
            f'[s3]\nbucket = "{self.media}"\nendpoint_url = "{self.seaweed.endpoint}"\n'
            f'access_key_id = "{self.seaweed.access_key}"\nsecret_access_key = "{self.seaweed.secret_key}"\n'
            f'[auth]\ndev_secret = "{DEV_SECRET}"\n'
            f'[keys]\nstore = "{self.store}"\nprobe_url = "{self.probe_url}"\n{extra}'
        )
        return path

    def edge_config(self, port: int, keys: str) -> Path:
        """``keys``: ``keys_store = ...`` or ``keys_dir = ...``."""
        path = self.root / f"edge-{port}.toml"
        path.write_text(
            f'{keys}\nreload_interval_seconds = 0.3\n[distribution]\nurls = ["http://127.0.0.1:{port}"]\n'
            f'[server]\nport = {port}\n[origin]\nendpoint_url = "{self.seaweed.endpoint}"\n'
            f'bucket = "{self.media}"\naccess_key_id = "{self.seaweed.access_key}"\n'
            f'secret_access_key = "{self.seaweed.secret_key}"\nread_timeout_seconds = 2\n'
            '[[behaviors]]\npath_pattern = "/public/*"\nsigned = false\n[[behaviors]]\npath_pattern = "*"\n'
        )
        return path


def make_fleet(seaweed: SeaweedFS, root: Path) -> Fleet:
    client = seaweed.client()
    media, keys = "m-" + uuid.uuid4().hex[:12], "k-" + uuid.uuid4().hex[:12]
    client.create_bucket(Bucket=media)
    client.create_bucket(Bucket=keys)
    client.put_object(Bucket=media, Key=TILE, Body=b"tile-100", ContentType="image/png")
    client.put_object(Bucket=media, Key=PROBE_KEY, Body=b"ok", ContentType="text/plain")
    client.put_object(Bucket=media, Key=PUBLIC_KEY, Body=b"logo", ContentType="image/png")
    root.mkdir(parents=True, exist_ok=True)
    return Fleet(seaweed, root, media, f"s3://{keys}/prod/", free_port())


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def _up(url: str) -> bool:
    try:
        requests.get(url, timeout=1)
    except requests.ConnectionError:
        return False
    return True


@contextlib.contextmanager
def edge_process(config: Path, port: int) -> Iterator[str]:
    log_path = config.with_suffix(".log")
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gateway", "edge", "--config", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 40
        while not _up(base):
            assert time.monotonic() < deadline and proc.poll() is None, log_path.read_text()
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def signed_url(gateway: str, path: str = TILE) -> tuple[str, str]:
    """(a signed URL from ``gateway``, the Key-Pair-Id it names)."""
    answer = requests.get(
        f"{gateway}/v1/signed-url",
        params={"path": path},
        headers={"Authorization": f"Bearer {token('alice')}"},
        timeout=5,
    )
    assert answer.status_code == 200, answer.text
    url = str(answer.json()["url"])
    return url, url.rsplit("Key-Pair-Id=", 1)[1].split("&")[0]


def serving(gateway: str) -> str:
    answer = requests.get(f"{gateway}/v1/keys", timeout=5)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["serving"]["key_pair_id"])


def wait_for(check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
