"""Security catalogue A: authentication (cases 1-7)."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient, AiohttpServer

from gateway.service.accesslog import ServiceAccessLogger
from gateway.service.app import create_app
from tests.gateway.conftest import bearer, make_settings, token
from tests.gateway.test_auth import (
    RSA_KEY,
    _b64,
    _hmac_token,
    _token,
    jwks_file,  # noqa: F401 - fixture
)
from tests.gateway.test_auth import client as jwks_client  # noqa: F401 - fixture


async def _status(client: Any, value: str) -> int:
    response = await client.post(
        "/v1/cookies", json={"prefix": "tiles/"}, headers={"Authorization": f"Bearer {value}"}
    )
    return int(response.status)


async def test_case_1_alg_none_and_algorithm_confusion(jwks_client: Any) -> None:  # noqa: F811
    # Attack: an unsigned token, and an HS256 token keyed with the IdP's public key.
    from cryptography.hazmat.primitives import serialization

    pem = RSA_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    der = RSA_KEY.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    claims = {"sub": "bob", "exp": int(time.time()) + 600}
    for forged in [
        _b64({"alg": "none", "typ": "JWT"}) + "." + _b64(claims) + ".",
        _hmac_token(pem, claims),
        _hmac_token(der, claims),
    ]:
        assert await _status(jwks_client, forged) == 401


async def test_case_2_exp_required_nbf_and_leeway(jwks_client: Any) -> None:  # noqa: F811
    now = int(time.time())
    assert await _status(jwks_client, _token(exp=None)) == 401  # no exp: refused, not "never expires"
    assert await _status(jwks_client, _token(exp=now - 60)) == 401
    assert await _status(jwks_client, _token(nbf=now + 600)) == 401
    assert await _status(jwks_client, _token(exp=now - 2)) == 200  # within the 5 s leeway


async def test_case_3_audience_and_issuer(jwks_client: Any) -> None:  # noqa: F811
    assert await _status(jwks_client, _token(aud="someone-else")) == 401
    assert await _status(jwks_client, _token(iss="https://evil.test/")) == 401
    assert await _status(jwks_client, _token(aud=None)) == 401


async def test_case_4_keys_are_never_taken_from_the_token(jwks_client: Any) -> None:  # noqa: F811
    headers: list[dict[str, object]] = [
        {"jku": "https://evil.test/k"},
        {"x5u": "https://evil.test/c"},
        {"x5c": ["MIIB"]},
        {"jwk": {"kty": "RSA", "n": "x", "e": "AQAB"}},
    ]
    for header in headers:
        assert await _status(jwks_client, _token(headers=header)) == 401
    assert await _status(jwks_client, _token(kid="../../etc/passwd")) == 401


async def test_case_5_sub_as_a_path_component(client: Any) -> None:
    # Attack: a sub that is a traversal, a wildcard, or a prefix of another user's id.
    for sub in ["../bob", "*", "bob/x", "alice/../bob"]:
        answer = await client.post(
            "/v1/signed-urls", json={"paths": ["users/bob/a.png"]}, headers=bearer(sub)
        )
        assert "url" not in (await answer.json())["results"][0]
    answer = await client.post(
        "/v1/signed-urls", json={"paths": ["users/alice2/a.png"]}, headers=bearer("alice")
    )
    assert "url" not in (await answer.json())["results"][0]  # prefixes end in "/": alice is not alice2


async def test_case_6_an_expired_or_revoked_token_gets_nothing_even_when_cached(client: Any) -> None:
    ok = await client.post("/v1/cookies", json={"prefix": "tiles/"}, headers=bearer("alice"))
    assert ok.status == 200  # the grant is now cached...
    expired = token("alice", ttl=-120)
    again = await client.post(
        "/v1/cookies", json={"prefix": "tiles/"}, headers={"Authorization": f"Bearer {expired}"}
    )
    assert again.status == 401  # ...but authentication runs first, on every request


async def test_case_7_tokens_only_in_the_header_and_never_logged(
    aiohttp_client: AiohttpClient,
    aiohttp_server: AiohttpServer,
    tmp_path: Path,
    keyring_dir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = await aiohttp_server(
        create_app(make_settings(tmp_path, keyring_dir, None, "b")), access_log_class=ServiceAccessLogger
    )
    client: TestClient[web.Request, None] = await aiohttp_client(server)
    caplog.set_level(logging.DEBUG)
    secret = token("alice")
    # A token in the query string is not a credential: the caller stays anonymous.
    response = await client.post(f"/v1/cookies?access_token={secret}", json={"prefix": "tiles/"})
    assert response.status == 401
    await client.post("/v1/cookies", json={"prefix": "tiles/"}, headers={"Authorization": f"Bearer {secret}"})
    await client.post(
        "/v1/cookies", json={"prefix": "tiles/"}, headers={"Authorization": f"Bearer {secret}x"}
    )
    assert secret not in caplog.text and "access_token" not in caplog.text
