"""Helpers for the tests that vend credentials through the gateway and use them on a real S3:
SeaweedFS's STS (devstack/seaweed.py), which enforces role policy AND session policy."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
from aiohttp import web
from aiohttp.test_utils import TestClient
from botocore.config import Config
from botocore.exceptions import ClientError

from devstack.seaweed import ROLE_ARN, SeaweedFS
from gateway.service.app import create_app
from gateway.service.settings import CredentialsSettings, Secret
from tests.gateway.conftest import bearer, make_settings

# Own prefix writable through credentials; a read-only and a refused prefix nested in readable ones.
RULES = """
[[rules]]
prefix = "users/{sub}/"
read = "authenticated"
write = "authenticated"
delete = "authenticated"
content_types = ["text/plain"]
credentials_write = true

[[rules]]
prefix = "users/{sub}/locked/"
read = "authenticated"

[[rules]]
prefix = "tiles/"
read = "authenticated"

[[rules]]
prefix = "tiles/secret/"
"""
SEED = (
    "users/alice/a.txt",
    "users/alice/locked/l.txt",
    "users/bob/b.txt",
    "users/ALICE/upper.txt",  # another user whose sub differs from alice's only in case
    "root.txt",
    "tiles/t.txt",
    "tiles/secret/s.txt",
)

Client = TestClient[web.Request, web.Application]


def seed(seaweed: SeaweedFS, bucket: str) -> None:
    admin = seaweed.client()
    for key in SEED:
        admin.put_object(Bucket=bucket, Key=key, Body=key.encode())


async def gateway(
    aiohttp_client: Callable[..., Any],
    tmp_path: Path,
    keyring_dir: Path,
    seaweed: SeaweedFS,
    bucket: str,
    identity: tuple[str, str] | None = None,
    **credentials: Any,
) -> Client:
    """The gateway over real HTTP, vending from the SeaweedFS STS (AssumeRole unless told), as
    the gateway's S3 identity or as ``identity`` (access key, secret key)."""
    settings = make_settings(tmp_path, keyring_dir, seaweed, bucket)
    settings.rules_file.write_text(RULES)
    if identity is not None:
        key, secret = identity
        s3 = dataclasses.replace(settings.s3, access_key_id=Secret(key), secret_access_key=Secret(secret))
        settings = dataclasses.replace(settings, s3=s3)
    config = CredentialsSettings(
        **{"mode": "assume_role", "role_arn": ROLE_ARN, "endpoint_url": seaweed.endpoint, **credentials}
    )
    client: Client = await aiohttp_client(create_app(dataclasses.replace(settings, credentials=config)))
    return client


async def vend(client: Client, sub: str, duration: int = 900) -> dict[str, Any]:
    response = await client.post("/v1/credentials", json={"duration_seconds": duration}, headers=bearer(sub))
    body: dict[str, Any] = await response.json()
    assert response.status == 200, body
    return body


def s3_with(body: dict[str, Any], **override: str) -> Any:
    """An ordinary boto3 client, as a device builds it from the gateway's answer."""
    values = {
        "aws_access_key_id": body["access_key_id"],
        "aws_secret_access_key": body["secret_access_key"],
        "aws_session_token": body["session_token"],
        **override,
    }
    return boto3.client(
        "s3",
        endpoint_url=body["endpoint_url"],
        region_name=body["region"],
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, read_timeout=10),
        **values,
    )


def permitted(call: Callable[[], Any]) -> bool:
    """True when S3 answers the call; False on a refusal, which must be a 403 (never a 5xx)."""
    try:
        call()
    except ClientError as exc:
        status = exc.response["ResponseMetadata"]["HTTPStatusCode"]
        assert status == 403, exc.response
        return False
    return True


def attempts(s3: Any, bucket: str, prefix: str, key: str) -> dict[str, Callable[[], Any]]:
    """get (an existing object), put (a new one), delete (the existing one), list (the prefix)."""
    return {
        "get": lambda: s3.get_object(Bucket=bucket, Key=key)["Body"].read(),
        "put": lambda: s3.put_object(Bucket=bucket, Key=f"{prefix}new.txt", Body=b"new"),
        "delete": lambda: s3.delete_object(Bucket=bucket, Key=key),
        "list": lambda: s3.list_objects_v2(Bucket=bucket, Prefix=prefix),
    }
