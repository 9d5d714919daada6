"""POST /v1/credentials against STS served by moto over real HTTP: the exact session policy,
clamping, tags, caching, and 503 when STS is down or hangs (security cases 30, 54)."""

from __future__ import annotations

import dataclasses
import time
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from moto.sts.models import sts_backends
from pytest_aiohttp import AiohttpClient

from gateway.service import appkeys
from gateway.service.app import create_app
from gateway.service.settings import CredentialsSettings, Secret
from tests.faults import FaultProxy, Mode
from tests.gateway.conftest import RULES, bearer, make_settings

ROLE = "arn:aws:iam::210987654321:role/media-uploader"  # another account: cross-account assume


def _assumed() -> list[Any]:
    return list(sts_backends["210987654321"]["aws"].assumed_roles)


# The standard rules, with credentials allowed to write the caller's own prefix.
WRITABLE = RULES.replace(
    'content_types = ["image/png", "image/jpeg", "image/webp"]\n',
    'content_types = ["image/png", "image/jpeg", "image/webp"]\ncredentials_write = true\n',
)


async def _client(
    aiohttp_client: AiohttpClient,
    tmp_path: Path,
    keyring_dir: Path,
    rules: str = WRITABLE,
    **credentials: Any,
) -> Any:
    settings = make_settings(tmp_path, keyring_dir, None, "media")
    settings.rules_file.write_text(rules)
    config = CredentialsSettings(
        **{
            "mode": "assume_role",
            "role_arn": ROLE,
            "region": "us-east-1",
            "timeout_seconds": 1.0,
            **credentials,
        }
    )
    app = create_app(dataclasses.replace(settings, credentials=config))
    return app, await aiohttp_client(app)


async def test_vends_scoped_credentials(
    aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path, moto_endpoint: str
) -> None:
    app, client = await _client(
        aiohttp_client, tmp_path, keyring_dir, endpoint_url=moto_endpoint, external_id=Secret("partner-42")
    )
    sent: list[dict[str, list[str]]] = []
    vendor = app[appkeys.VENDOR]

    def observe(request: Any, **_: Any) -> None:  # what goes on the wire to STS
        body = request.body.decode() if isinstance(request.body, bytes) else str(request.body)
        sent.append(urllib.parse.parse_qs(body))

    vendor._client.meta.events.register("before-send.sts.AssumeRole", observe)
    response = await client.post("/v1/credentials", json={"duration_seconds": 1800}, headers=bearer("alice"))
    body = await response.json()
    assert response.status == 200, body
    assert body["access_key_id"] and body["secret_access_key"] and body["session_token"]
    assert body["bucket"] == "media" and body["prefixes"]["write"] == ["users/alice/"]
    assert response.headers["Cache-Control"] == "no-store"
    role = _assumed()[-1]
    assert role.role_arn == ROLE and role.external_id == "partner-42"
    assert role.session_name.startswith("gw-alice-")
    assert '"arn:aws:s3:::media/users/alice/*"' in role.policy and "users/bob" not in role.policy
    assert sent[-1]["DurationSeconds"] == ["1800"]
    assert sent[-1]["Tags.member.1.Key"] == ["sub"] and sent[-1]["Tags.member.1.Value"] == ["alice"]
    expiration = time.mktime(time.strptime(body["expiration"], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
    assert 1700 <= expiration - time.time() <= 1900

    # Cached: asking again within the window costs no STS call and gives the same credentials.
    count = len(_assumed())
    again = await (
        await client.post("/v1/credentials", json={"duration_seconds": 1800}, headers=bearer("alice"))
    ).json()
    assert again["access_key_id"] == body["access_key_id"] and len(_assumed()) == count
    # Another user, or a longer lifetime than the cached set still has, is a new call.
    await client.post("/v1/credentials", json={"duration_seconds": 1800}, headers=bearer("bob"))
    await client.post("/v1/credentials", json={"duration_seconds": 3600}, headers=bearer("alice"))
    assert len(_assumed()) == count + 2

    for requested, expected in [(60, "900"), (100_000, "3600"), (2000, "1800")]:  # clamped, rounded down
        await client.post("/v1/credentials", json={"duration_seconds": requested}, headers=bearer("carol"))
        assert sent[-1]["DurationSeconds"] == [expected]


async def test_no_put_object_unless_the_rule_opts_in(
    aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path, moto_endpoint: str
) -> None:
    """The gateway may presign uploads to users/{sub}/, but IAM cannot hold its content types and
    size limit: without credentials_write the vended credentials cannot write at all."""
    _, client = await _client(aiohttp_client, tmp_path, keyring_dir, RULES, endpoint_url=moto_endpoint)
    response = await client.post("/v1/credentials", json={}, headers=bearer("dora"))
    body = await response.json()
    assert response.status == 200, body
    assert "write" not in body["prefixes"] and body["prefixes"]["delete"] == ["users/dora/"]
    role = _assumed()[-1]
    assert role.session_name.startswith("gw-dora-")
    assert "s3:GetObject" in role.policy and "s3:PutObject" not in role.policy


async def test_refusals(
    aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path, moto_endpoint: str
) -> None:
    _, client = await _client(aiohttp_client, tmp_path, keyring_dir, endpoint_url=moto_endpoint)
    assert (await client.post("/v1/credentials", json={})).status == 401  # never for guests
    assert (
        await client.post("/v1/credentials", json={"duration_seconds": "x"}, headers=bearer("a"))
    ).status == 400
    assert (
        await client.post("/v1/credentials", json={"duration_seconds": -5}, headers=bearer("a"))
    ).status == 422
    settings = make_settings(tmp_path, keyring_dir, None, "media")
    off = await aiohttp_client(create_app(settings))
    assert (await off.post("/v1/credentials", json={}, headers=bearer("a"))).status == 404


async def test_federation_token_mode(
    aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path, moto_endpoint: str
) -> None:
    _, client = await _client(
        aiohttp_client,
        tmp_path,
        keyring_dir,
        endpoint_url=moto_endpoint,
        mode="federation_token",
        role_arn="",
    )
    response = await client.post("/v1/credentials", json={}, headers=bearer("alice"))
    assert response.status == 200 and (await response.json())["session_token"]


@pytest.mark.parametrize("mode", ["refuse", "hang"])
async def test_sts_down_or_slow_gives_503(
    aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path, moto_endpoint: str, mode: Mode
) -> None:
    parts = urllib.parse.urlsplit(moto_endpoint)
    proxy = FaultProxy(parts.hostname or "127.0.0.1", parts.port or 80)
    await proxy.start()
    try:
        await proxy.set_mode(mode)
        _, client = await _client(aiohttp_client, tmp_path, keyring_dir, endpoint_url=proxy.url)
        started = time.monotonic()
        response = await client.post("/v1/credentials", json={}, headers=bearer("alice"))
        assert response.status == 503 and int(response.headers["Retry-After"]) > 0
        assert time.monotonic() - started < 8
        body = await response.json()
        assert "AccessKey" not in str(body) and "policy" not in str(body).lower()
        # Presigning and cookies do not depend on STS.
        assert (
            await client.post("/v1/cookies", json={"prefix": "tiles/"}, headers=bearer("alice"))
        ).status == 200
    finally:
        await proxy.stop()
