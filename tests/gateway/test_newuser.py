"""What a new user integrating the gateway hits (issue 13), over real HTTP: the ``groups`` claim
as a string, 401 reasons that say which of issuer or audience failed, refused CORS preflights
that say why, and the HTTP side of cookie scoping."""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from pytest_aiohttp import AiohttpClient

from gateway.service.app import create_app
from gateway.service.settings import AuthSettings, CorsSettings
from tests.gateway.conftest import DEV_SECRET, make_settings

RSA_KEY = rsa.generate_private_key(65537, 2048)
ISSUER, AUDIENCE = "https://idp.test/", "cdn-gateway"


def _hs256(**claims: Any) -> dict[str, str]:
    body = {"sub": "carol", "exp": int(time.time()) + 300, **claims}
    return {"Authorization": f"Bearer {jwt.encode(body, DEV_SECRET, algorithm='HS256')}"}


async def _dev_client(aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path, **changes: Any) -> Any:
    settings = dataclasses.replace(make_settings(tmp_path, keyring_dir, None, "b"), **changes)
    return await aiohttp_client(create_app(settings))


async def test_a_string_groups_claim_is_one_group(
    aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path
) -> None:
    client = await _dev_client(aiohttp_client, tmp_path, keyring_dir)
    as_string = await client.post(
        "/v1/cookies", json={"prefix": "shared/design/"}, headers=_hs256(groups="design")
    )
    assert as_string.status == 200, await as_string.text()
    assert (await as_string.json())["prefix"] == "shared/design/"
    # Only that one group: a string is never split, nor a prefix of it matched.
    for prefix in ["shared/des/", "shared/other/"]:
        other = await client.post("/v1/cookies", json={"prefix": prefix}, headers=_hs256(groups="design"))
        assert other.status == 403, prefix
    joined = await client.post("/v1/cookies", json={"prefix": "shared/a/"}, headers=_hs256(groups="a b"))
    assert joined.status == 403  # "a b" is one group name, not two


@pytest.mark.parametrize(
    ("groups", "kind"),
    [({"design": True}, "dict"), (7, "int"), (["design", 3], "list holding int"), (True, "bool")],
)
async def test_other_groups_types_are_no_groups_and_one_log_line(
    aiohttp_client: AiohttpClient,
    tmp_path: Path,
    keyring_dir: Path,
    caplog: pytest.LogCaptureFixture,
    groups: Any,
    kind: str,
) -> None:
    client = await _dev_client(aiohttp_client, tmp_path, keyring_dir)
    caplog.set_level(logging.INFO)
    response = await client.post(
        "/v1/cookies", json={"prefix": "shared/design/"}, headers=_hs256(groups=groups)
    )
    assert response.status == 403 and response.content_type == "application/problem+json"
    lines = [r.getMessage() for r in caplog.records if "token claim" in r.getMessage()]
    assert lines == [f"token claim 'groups' is a {kind}, not a string or a list of strings: no groups"]
    assert "design" not in lines[0]  # the type, never the value
    signed_in = await client.post("/v1/cookies", json={"prefix": "tiles/"}, headers=_hs256(groups=groups))
    assert signed_in.status == 200  # the caller is still signed in, only without groups


@pytest.fixture
async def idp_client(aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path) -> Any:
    jwk = dict(json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(RSA_KEY.public_key())), kid="k1")
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [jwk]}))
    settings = make_settings(tmp_path, keyring_dir, None, "b")
    auth = AuthSettings(jwks_file=str(jwks), issuer=ISSUER, audience=AUDIENCE)
    return await aiohttp_client(
        create_app(dataclasses.replace(settings, environment="production", auth=auth))
    )


def _rs256(**claims: Any) -> str:
    body = {"sub": "alice", "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 300, **claims}
    body = {k: v for k, v in body.items() if v is not None}
    return jwt.encode(body, RSA_KEY, algorithm="RS256", headers={"kid": "k1"})


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        (
            {"iss": "https://other-idp.test/"},
            "issuer: expected 'https://idp.test/', the token's iss is 'https://other-idp.test/'",
        ),
        ({"aud": "photos-api"}, "audience: expected 'cdn-gateway', the token's aud is 'photos-api'"),
        ({"aud": ["a", "b"]}, "audience: expected 'cdn-gateway', the token's aud is ['a', 'b']"),
        ({"iss": None}, "issuer: expected 'https://idp.test/', the token's iss is None"),
        ({"aud": None}, "audience: expected 'cdn-gateway', the token's aud is None"),
    ],
)
async def test_401_log_says_which_of_issuer_or_audience_and_both_values(
    idp_client: Any, caplog: pytest.LogCaptureFixture, claims: dict[str, Any], expected: str
) -> None:
    caplog.set_level(logging.INFO)
    token = _rs256(**claims)
    response = await idp_client.post(
        "/v1/cookies", json={"prefix": "tiles/"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status == 401
    assert (await response.json(content_type=None))[
        "detail"
    ] == "invalid bearer token"  # the client learns no more
    refused = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(refused) == 1 and refused[0].endswith(expected), refused
    assert token not in caplog.text and token.split(".")[2] not in caplog.text
    metrics = await (await idp_client.get("/metrics")).text()
    assert f'gateway_auth_failures_total{{reason="{expected.split(":")[0]}"}} 1.0' in metrics


async def test_refused_preflights_log_origin_and_reason(
    aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = await _dev_client(
        aiohttp_client, tmp_path, keyring_dir, cors=CorsSettings(origins=("https://app.test",))
    )
    caplog.set_level(logging.INFO)
    secret = "Bearer do-not-log-me"
    cases = [
        (
            {"Origin": "https://evil.test", "Access-Control-Request-Method": "POST"},
            "origin 'https://evil.test', origin not allowed",
        ),
        (
            {"Origin": "https://app.test", "Access-Control-Request-Method": "PUT"},
            "origin 'https://app.test', method not allowed ('PUT' on '/v1/cookies')",
        ),
        (
            {
                "Origin": "https://app.test",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "x-debug",
            },
            "origin 'https://app.test', header not allowed ('x-debug')",
        ),
        ({"Origin": "https://app.test"}, "origin 'https://app.test', no Access-Control-Request-Method"),
    ]
    for headers, reason in cases:
        caplog.clear()
        response = await client.options(
            "/v1/cookies", headers={**headers, "Authorization": secret, "Cookie": "a=secret-cookie"}
        )
        assert response.status == 403 and "Access-Control-Allow-Origin" not in response.headers
        lines = [r.getMessage() for r in caplog.records if "CORS" in r.getMessage()]
        assert lines == [f"CORS preflight refused: {reason}"], lines
        assert "do-not-log-me" not in caplog.text and "secret-cookie" not in caplog.text
    caplog.clear()
    allowed = await client.options(
        "/v1/cookies",
        headers={
            "Origin": "https://app.test",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert allowed.status == 200 and not [r for r in caplog.records if "CORS" in r.getMessage()]


async def test_a_parent_cookie_domain_reaches_set_cookie(
    aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path
) -> None:
    """A domain that passes the start-up checks is the one browsers get (checked in
    tests/gateway/test_settings_rules.py and tests/integration/test_newuser_cli.py)."""
    settings = make_settings(tmp_path, keyring_dir, None, "b")
    settings = dataclasses.replace(
        settings,
        signing=dataclasses.replace(settings.signing, cdn_base_url="https://cdn.photoapp.test"),
        cookies=dataclasses.replace(settings.cookies, domain="photoapp.test"),
    )
    client = await aiohttp_client(create_app(settings))
    response = await client.post("/v1/cookies", json={"prefix": "tiles/"}, headers=_hs256())
    assert response.status == 200
    assert all("Domain=photoapp.test;" in line for line in response.headers.getall("Set-Cookie"))
