"""An edge in front of a real SeaweedFS bucket, trusting the committed RSA test key."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient
from yarl import URL

from devstack.seaweed import SeaweedFS
from gateway.edge.app import create_edge_app
from gateway.edge.settings import Behavior, EdgeCache, EdgeDistribution, EdgeOrigin, EdgeSettings
from gateway.service.settings import Secret
from gateway.signing.cloudfront import SignedPolicy, sign_policy
from gateway.signing.crypto import HashAlgorithm, KeySigner
from gateway.signing.policy import Policy
from tests.conftest import load_vector_key
from tests.gateway.conftest import free_port

SIGNER = KeySigner("K2TESTRSA00001", load_vector_key("test-rsa-2048.pem"))
BEHAVIORS = (Behavior("/public/*", signed=False), Behavior("/query/*", forward_query=True), Behavior("*"))
OBJECTS = {
    "tiles/1/0/0.png": (b"tile-100", "image/png"),
    "users/alice/a.txt": (b"alice's file", "text/plain"),
    "users/bob/secret.txt": (b"bob's secret", "text/plain"),
    "users/alice/..%2Fbob/secret.txt": (b"literal key", "text/plain"),
    "public/logo.png": (b"logo", "image/png"),
    "query/q.txt": (b"q", "text/plain"),
    "big/blob.bin": (b"0123456789" * 300_000, "application/octet-stream"),
    "page.html": (b"<script>alert(1)</script>", "text/html"),
}


def edge_settings(seaweed: SeaweedFS, bucket: str, keys: Path, **origin: Any) -> EdgeSettings:
    base = EdgeOrigin(
        endpoint_url=seaweed.endpoint,
        bucket=bucket,
        access_key_id=Secret(seaweed.access_key),
        secret_access_key=Secret(seaweed.secret_key),
        read_timeout_seconds=2,
    )
    return EdgeSettings(
        keys_dir=keys,
        distribution=EdgeDistribution(("http://127.0.0.1",)),  # start_edge adds the port it listens on
        origin=dataclasses.replace(base, **origin),
        cache=EdgeCache(max_bytes=8 * 1024 * 1024, max_object_bytes=1024 * 1024),
        behaviors=BEHAVIORS,
        reload_interval_seconds=0.2,
    )


@pytest.fixture
def filled_bucket(seaweed: SeaweedFS, bucket: str) -> str:
    client = seaweed.client()
    for key, (body, content_type) in OBJECTS.items():
        client.put_object(
            Bucket=bucket, Key=key, Body=body, ContentType=content_type, CacheControl="max-age=300"
        )
    return bucket


async def start_edge(aiohttp_client: AiohttpClient, settings: EdgeSettings, *more_urls: str) -> TestClient[Any, Any]:
    """Serve ``settings`` on a port chosen first, so that the distribution URL names it."""
    port = free_port()
    distribution = EdgeDistribution((f"http://127.0.0.1:{port}", *more_urls))
    app = create_edge_app(dataclasses.replace(settings, distribution=distribution))
    client: TestClient[Any, Any] = await aiohttp_client(app, server_kwargs={"port": port})
    return client


@pytest.fixture
async def edge(
    aiohttp_client: AiohttpClient, seaweed: SeaweedFS, filled_bucket: str, keyring_dir: Path
) -> TestClient[Any, Any]:
    return await start_edge(aiohttp_client, edge_settings(seaweed, filled_bucket, keyring_dir))


def base_url(client: TestClient[Any, Any]) -> str:
    return str(client.make_url("")).rstrip("/")


def sign(
    resource: str,
    *,
    canned: bool = False,
    expires: int | None = None,
    signer: KeySigner = SIGNER,
    hash_algorithm: HashAlgorithm = HashAlgorithm.SHA1,
) -> SignedPolicy:
    expires = expires or int(time.time()) + 600
    policy = Policy.make_canned(resource, expires) if canned else Policy.make_custom(resource, expires)
    return sign_policy(policy, signer, hash_algorithm)


async def get(client: TestClient[Any, Any], path_and_query: str, **kwargs: Any) -> ClientResponse:
    """GET exactly this raw path and query (no client-side normalisation)."""
    return await client.session.get(URL(base_url(client) + path_and_query, encoded=True), **kwargs)


def cookie_header(signed: SignedPolicy) -> dict[str, str]:
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in signed.cookies().items())}
