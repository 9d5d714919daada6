"""A gateway over real HTTP (aiohttp test server), real SeaweedFS, the committed test keys."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from gateway.app import create_app
from gateway.auth import dev_token
from gateway.devstack.seaweed import SeaweedFS
from gateway.settings import (
    AuthSettings,
    S3Settings,
    Secret,
    ServerSettings,
    Settings,
    SigningSettings,
)

DEV_SECRET = "test-secret-for-development-only-0123456789"
CDN = "https://cdn.test"
RULES = """
[[rules]]
prefix = "public/"
read = "anyone"

[[rules]]
prefix = "tiles/"
read = "authenticated"

[[rules]]
prefix = "users/{sub}/"
read = "authenticated"
write = "authenticated"
delete = "authenticated"
max_upload_bytes = 1024
content_types = ["image/png", "image/jpeg", "image/webp"]

[[rules]]
prefix = "shared/{group}/"
read = "authenticated"

[[rules]]
prefix = "public/staff/"
read = "authenticated"
"""


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
        server=ServerSettings(rate_limit_per_second=1000, rate_limit_burst=1000),
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
