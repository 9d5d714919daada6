"""Bearer tokens (security cases 1-4): only configured algorithms and keys, exp required,
iss/aud checked, keys never taken from the token, unknown kids refresh the JWKS once."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pytest_aiohttp import AiohttpClient, AiohttpServer

from gateway.service.app import create_app
from gateway.service.settings import AuthSettings, Secret
from tests.gateway.conftest import make_settings

RSA_KEY = rsa.generate_private_key(65537, 2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
ISSUER, AUDIENCE = "https://idp.test/", "cdn-gateway"


def _jwk(key: Any, kid: str) -> dict[str, Any]:
    algorithm = (
        jwt.algorithms.RSAAlgorithm if isinstance(key, rsa.RSAPublicKey) else jwt.algorithms.ECAlgorithm
    )
    return dict(json.loads(algorithm.to_jwk(key)), kid=kid)


def _token(
    key: Any = RSA_KEY,
    alg: str = "RS256",
    kid: str = "rsa1",
    headers: dict[str, Any] | None = None,
    **claims: Any,
) -> str:
    body = {"sub": "alice", "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 300, **claims}
    body = {k: v for k, v in body.items() if v is not None}
    return jwt.encode(body, key, algorithm=alg, headers={"kid": kid, **(headers or {})})


def _b64(data: dict[str, Any] | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _hmac_token(secret: bytes, claims: dict[str, Any]) -> str:
    """Algorithm confusion by hand (PyJWT itself refuses to HMAC with a PEM)."""
    signing_input = _b64({"alg": "HS256", "typ": "JWT", "kid": "rsa1"}) + "." + _b64(claims)
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + _b64(mac)


@pytest.fixture
def jwks_file(tmp_path: Path) -> Path:
    path = tmp_path / "jwks.json"
    path.write_text(
        json.dumps(
            {
                "keys": [
                    _jwk(RSA_KEY.public_key(), "rsa1"),
                    _jwk(EC_KEY.public_key(), "ec1"),
                    {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"},
                ]
            }
        )
    )
    return path


@pytest.fixture
async def client(aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path, jwks_file: Path) -> Any:
    settings = make_settings(tmp_path, keyring_dir, None, "b")
    auth = AuthSettings(jwks_file=str(jwks_file), issuer=ISSUER, audience=AUDIENCE, leeway_seconds=5)
    settings = dataclasses.replace(
        settings,
        environment="production",
        auth=auth,
        signing=dataclasses.replace(settings.signing, cdn_base_url="https://cdn.test"),
    )
    return await aiohttp_client(create_app(settings))


async def _status(client: Any, token: str) -> int:
    response = await client.post(
        "/v1/cookies", json={"prefix": "tiles/"}, headers={"Authorization": f"Bearer {token}"}
    )
    return int(response.status)


async def test_valid_rs256_and_es256(client: Any) -> None:
    assert await _status(client, _token()) == 200
    assert await _status(client, _token(EC_KEY, "ES256", "ec1")) == 200


async def test_attacks_get_401(client: Any) -> None:
    public_pem = RSA_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    now = int(time.time())
    unsigned = _b64({"alg": "none", "typ": "JWT"}) + "." + _b64({"sub": "bob", "exp": now + 600}) + "."
    attacks = {
        "alg none": unsigned,
        "HS256 with the public key as secret": _hmac_token(
            public_pem, {"sub": "bob", "exp": now + 600, "iss": ISSUER, "aud": AUDIENCE}
        ),
        "HS256 against an oct JWK": jwt.encode(
            {"sub": "bob", "exp": now + 600}, "secret" * 6, algorithm="HS256", headers={"kid": "hmac"}
        ),
        "expired": _token(exp=now - 60),
        "no exp": _token(exp=None),
        "no sub": _token(sub=None),
        "wrong issuer": _token(iss="https://evil.test/"),
        "wrong audience": _token(aud="other"),
        "unknown kid": _token(kid="nope"),
        "kid of the other key type": _token(kid="ec1"),
        "jku header": _token(headers={"jku": "https://evil.test/jwks.json"}),
        "embedded jwk": _token(headers={"jwk": _jwk(RSA_KEY.public_key(), "x")}),
        "signed by another key": _token(rsa.generate_private_key(65537, 2048)),
        "future nbf": _token(nbf=now + 600),
        "garbage": "not.a.token",
    }
    for name, token in attacks.items():
        assert await _status(client, token) == 401, name
    for header in ["Bearer", "Basic YWxpY2U6cHc=", f"bearer  {_token()} extra", "Token abc"]:
        response = await client.post(
            "/v1/cookies", json={"prefix": "tiles/"}, headers={"Authorization": header}
        )
        assert response.status == 401, header


async def test_leeway_is_small(client: Any) -> None:
    assert await _status(client, _token(exp=int(time.time()) - 3)) == 200
    assert await _status(client, _token(exp=int(time.time()) - 30)) == 401


async def test_jwks_url_refreshes_on_unknown_kid(
    aiohttp_client: AiohttpClient, aiohttp_server: AiohttpServer, tmp_path: Path, keyring_dir: Path
) -> None:
    keys = [_jwk(RSA_KEY.public_key(), "rsa1")]
    fetches = []

    async def jwks(request: web.Request) -> web.Response:
        fetches.append(time.time())
        return web.json_response({"keys": keys})

    idp = web.Application()
    idp.router.add_get("/jwks.json", jwks)
    server = await aiohttp_server(idp)
    settings = make_settings(tmp_path, keyring_dir, None, "b")
    settings = dataclasses.replace(
        settings, auth=AuthSettings(jwks_url=str(server.make_url("/jwks.json")), dev_secret=Secret(""))
    )
    client = await aiohttp_client(create_app(settings))
    assert await _status(client, _token(iss=None, aud=None)) == 200
    keys.append(_jwk(EC_KEY.public_key(), "ec2"))  # the IdP rotates in a new key
    assert await _status(client, _token(EC_KEY, "ES256", "ec2", iss=None, aud=None)) == 200
    count = len(fetches)
    for _ in range(5):  # unknown kids do not hammer the IdP
        assert await _status(client, _token(kid="ghost", iss=None, aud=None)) == 401
    assert len(fetches) <= count + 1
