"""A gateway over real HTTP (aiohttp test server), real SeaweedFS, the committed test keys."""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from aiohttp import web
from aiohttp.test_utils import TestClient

from devstack.seaweed import SeaweedFS
from devstack.stack import RULES as DEMO_RULES
from gateway.service.app import create_app
from gateway.service.auth import dev_token
from gateway.service.settings import (
    AuthSettings,
    S3Settings,
    Secret,
    ServerSettings,
    Settings,
    SigningSettings,
)

DEV_SECRET = "test-secret-for-development-only-0123456789"
CDN = "https://cdn.test"
# The demo rules (public/, tiles/, users/{sub}/), plus a group rule and a stricter nested one.
RULES = (
    DEMO_RULES.replace("max_upload_bytes = 10485760", "max_upload_bytes = 1024")
    + """
[[rules]]
prefix = "shared/{group}/"
read = "authenticated"

[[rules]]
prefix = "public/staff/"
read = "authenticated"
"""
)


def make_settings(
    tmp_path: Path, keyring_dir: Path, seaweed: SeaweedFS | None, bucket: str, **signing: Any
) -> Settings:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    s3 = S3Settings(
        bucket=bucket,
        endpoint_url=seaweed.endpoint if seaweed else "http://127.0.0.1:9",
        access_key_id=Secret(seaweed.access_key if seaweed else "AKIAUNUSED"),
        secret_access_key=Secret(seaweed.secret_key if seaweed else "unused"),
    )
    return Settings(
        environment="development",
        rules_file=rules,
        server=ServerSettings(
            rate_limit_per_second=1000,
            rate_limit_burst=1000,
            guest_rate_limit_per_second=1000,
            guest_rate_limit_burst=1000,
            signatures_per_second=10_000,
            signature_burst=10_000,
            auth_failures_per_second=1000,
            auth_failure_burst=1000,
        ),
        signing=dataclasses.replace(SigningSettings(keys_dir=keyring_dir, cdn_base_url=CDN), **signing),
        s3=s3,
        auth=AuthSettings(dev_secret=Secret(DEV_SECRET)),
    )


def token(sub: str, groups: list[str] | None = None, **kw: Any) -> str:
    return dev_token(AuthSettings(dev_secret=Secret(DEV_SECRET)), sub, groups or [], **kw)


def bearer(sub: str, groups: list[str] | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(sub, groups)}"}


ClientFactory = Callable[..., Awaitable[TestClient[web.Request, web.Application]]]


@pytest.fixture
def settings(tmp_path: Path, keyring_dir: Path, seaweed: SeaweedFS, bucket: str) -> Settings:
    return make_settings(tmp_path, keyring_dir, seaweed, bucket)


@pytest.fixture
async def client(
    aiohttp_client: ClientFactory, settings: Settings
) -> TestClient[web.Request, web.Application]:
    return await aiohttp_client(create_app(settings))


def write_config(tmp_path: Path, keyring_dir: Path) -> Path:
    """A gateway.toml for a real ``cdn-gateway serve`` process (S3 unreachable: presigning is local)."""
    (tmp_path / "rules.toml").write_text(RULES)
    path = tmp_path / "gateway.toml"
    path.write_text(
        f'environment = "development"\nrules_file = "rules.toml"\n'
        f"[server]\nrate_limit_per_second = 100000\nrate_limit_burst = 100000\n"
        f"guest_rate_limit_per_second = 100000\nguest_rate_limit_burst = 100000\n"
        f"signatures_per_second = 100000\nsignature_burst = 100000\n"
        f"auth_failures_per_second = 100000\nauth_failure_burst = 100000\n"
        f'[signing]\nkeys_dir = "{keyring_dir}"\ncdn_base_url = "{CDN}"\n'
        f'[s3]\nbucket = "b"\nendpoint_url = "http://127.0.0.1:9"\naccess_key_id = "AKIAX"\n'
        f'secret_access_key = "x"\n[auth]\ndev_secret = "{DEV_SECRET}"\n'
    )
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers(base: str) -> bool:
    try:
        return requests.get(f"{base}/healthz", timeout=1).status_code == 200
    except requests.ConnectionError:
        return False


@contextlib.contextmanager
def gateway_process(config: Path, *args: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``cdn-gateway serve`` as its own process; yields its base URL once it answers."""
    port = free_port()
    log_path = config.parent / f"serve-{port}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gateway", "serve", "--config", str(config), "--port", str(port), *args],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 40
        while not answers(base):
            assert time.monotonic() < deadline and proc.poll() is None, log_path.read_text()
            time.sleep(0.1)
        yield base, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=20)
