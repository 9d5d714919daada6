"""Every endpoint over real HTTP, every rule kind, every error status."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient
from yarl import URL

from gateway.signing.encoding import cf_b64decode
from gateway.signing.verify import ViewerRequest, verify_request
from tests.conftest import load_vector_key
from tests.gateway.conftest import CDN, bearer

Client = TestClient[web.Request, web.Application]
TRUSTED = {"K2TESTRSA00001": load_vector_key("test-rsa-2048.pem").public_key()}


def cookie_values(response: Any) -> dict[str, str]:
    return {name: morsel.value for name, morsel in response.cookies.items()}


def verifies(url: str, cookies: dict[str, str] | None = None) -> bool:
    parts = urlsplit(url)
    request = ViewerRequest(
        parts.scheme, parts.netloc, parts.path, parts.query, tuple((cookies or {}).items()), "192.0.2.1"
    )
    import time

    return verify_request(request, TRUSTED, int(time.time())).ok


async def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status == status, await response.text()
    assert response.content_type == "application/problem+json"
    body: dict[str, Any] = await response.json(content_type=None)
    assert body["status"] == status and body["title"] and body["detail"]
    assert "Traceback" not in str(body)
    return body


async def test_cookies_for_each_rule_kind(client: Client) -> None:
    cases = [
        # "public/" holds "public/staff/" (authenticated only): a wildcard over "public/" would widen it.
        (None, "public/", 401),
        (None, "public/img/", 200),
        (None, "tiles/", 401),
        (None, "users/alice/", 401),
        ("alice", "public/", 200),
        ("alice", "tiles/", 200),
        ("alice", "users/alice/", 200),
        ("alice", "users/alice/photos/", 200),
        ("alice", "users/bob/", 403),
        ("alice", "users/", 403),
        ("alice", "shared/team/", 403),
        ("alice", "private/", 403),
    ]
    for sub, prefix, status in cases:
        headers = bearer(sub) if sub else {}
        response = await client.post("/v1/cookies", json={"prefix": prefix}, headers=headers)
        assert response.status == status, (sub, prefix, await response.text())
    member = await client.post(
        "/v1/cookies", json={"prefix": "shared/team/"}, headers=bearer("carol", ["team"])
    )
    assert member.status == 200 and (await member.json())["resource"] == f"{CDN}/shared/team/*"


async def test_cookie_response_shape_and_attributes(client: Client) -> None:
    response = await client.post("/v1/cookies", json={"prefix": "tiles/"}, headers=bearer("alice"))
    body = await response.json()
    assert set(body) == {"prefix", "resource", "expires", "refresh_after", "key_id"}
    assert body["prefix"] == "tiles/"
    assert body["resource"] == f"{CDN}/tiles/*" and body["key_id"] == "K2TESTRSA00001"
    assert body["refresh_after"] < body["expires"]
    assert response.headers["Cache-Control"] == "no-store"
    raw = response.headers.getall("Set-Cookie")
    assert len(raw) == 4  # SHA-256: Policy, Signature, Key-Pair-Id, Hash-Algorithm
    for header in raw:
        lowered = header.lower()
        assert "secure" in lowered and "httponly" in lowered and "samesite=lax" in lowered
        assert "domain=" not in lowered and "max-age" not in lowered and "expires=" not in lowered
        assert "path=/tiles/" in lowered  # scoped to the prefix, so other grants' cookies survive
        assert len(header) < 4096
    cookies = cookie_values(response)
    assert verifies(f"{CDN}/tiles/3/4/2.png", cookies)
    assert not verifies(f"{CDN}/users/alice/x.png", cookies)
    cleared = await client.delete("/v1/cookies", params={"prefix": "tiles/"})
    assert cleared.status == 204
    assert all(
        "max-age=0" in h.lower() and "path=/tiles/" in h.lower() for h in cleared.headers.getall("Set-Cookie")
    )
    assert (await client.delete("/v1/cookies", params={"prefix": "../"})).status == 422


async def test_signed_urls_batch_single_and_redirect(client: Client) -> None:
    paths = ["users/alice/a.png", "users/alice/my file ü.png", "users/bob/a.png", "tiles/1/2/3.png", "a//b"]
    response = await client.post("/v1/signed-urls", json={"paths": paths}, headers=bearer("alice"))
    body = await response.json()
    assert response.status == 200 and len(body["results"]) == 5
    ok = [r for r in body["results"] if "url" in r]
    assert [r["path"] for r in ok] == ["users/alice/a.png", "users/alice/my file ü.png", "tiles/1/2/3.png"]
    assert ok[1]["url"].startswith(f"{CDN}/users/alice/my%20file%20%C3%BC.png?Expires=")
    assert all(verifies(r["url"]) for r in ok)
    errors = {r["path"]: r["error"]["status"] for r in body["results"] if "error" in r}
    assert errors == {"users/bob/a.png": 403, "a//b": 422}
    custom = await client.post(
        "/v1/signed-urls", json={"paths": ["tiles/1.png"], "policy": "custom"}, headers=bearer("alice")
    )
    url = (await custom.json())["results"][0]["url"]
    assert "Policy=" in url and verifies(url)
    assert b"tiles/1.png" in cf_b64decode(url.split("Policy=")[1].split("&")[0])

    single = await client.get("/v1/signed-url", params={"path": "public/logo.png"})
    assert single.status == 200 and verifies((await single.json())["url"])
    redirect = await client.get("/v1/r/public/logo.png", allow_redirects=False)
    assert redirect.status == 302 and verifies(redirect.headers["Location"])
    assert redirect.headers["Location"].startswith(f"{CDN}/public/logo.png?")
    assert redirect.headers["Cache-Control"].startswith("private, max-age=")
    assert 0 < int(redirect.headers["Cache-Control"].split("=")[1]) <= 3600


async def test_keys_health_ready_metrics_openapi(client: Client) -> None:
    keys = await (await client.get("/v1/keys")).json()
    assert keys["active"] == "K2TESTRSA00001" and keys["keys"][0]["public_key"].startswith(
        "-----BEGIN PUBLIC"
    )
    assert "PRIVATE" not in str(keys)
    assert (await (await client.get("/healthz")).json()) == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status == 200 and (await ready.json())["checks"]["s3"] == "ok"
    await client.post("/v1/cookies", json={"prefix": "tiles/"}, headers=bearer("alice"))
    await client.post("/v1/cookies", json={"prefix": "tiles/"}, headers={"Authorization": "Bearer x"})
    text = await (await client.get("/metrics")).text()
    for needle in [
        'gateway_requests_total{method="POST",route="/v1/cookies",status="200"}',
        'gateway_signatures_total{algorithm="rsa-2048"}',
        "gateway_grant_cache_total{result=",
        'gateway_auth_failures_total{reason="malformed"}',
        "gateway_request_seconds_bucket",
    ]:
        assert needle in text, needle
    document = await (await client.get("/openapi.json")).json()
    assert document["openapi"] == "3.1.0" and "/v1/cookies" in document["paths"]


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("POST", "/v1/cookies", {"data": b"{not json", "headers": {"Content-Type": "application/json"}}, 400),
        ("POST", "/v1/cookies", {"json": ["tiles/"]}, 400),
        ("POST", "/v1/cookies", {"json": {"prefix": 5}}, 400),
        ("POST", "/v1/cookies", {"json": {}}, 400),
        (
            "POST",
            "/v1/cookies",
            {"data": b'{"prefix": NaN}', "headers": {"Content-Type": "application/json"}},
            400,
        ),
        (
            "POST",
            "/v1/cookies",
            {"data": b'{"prefix":"\xff"}', "headers": {"Content-Type": "application/json"}},
            400,
        ),
        (
            "POST",
            "/v1/cookies",
            {"json": {"prefix": "tiles/"}, "headers": {"Authorization": "Basic abc"}},
            401,
        ),
        ("POST", "/v1/cookies", {"json": {"prefix": "private/"}}, 401),
        ("POST", "/v1/cookies", {"json": {"prefix": "private/"}, "headers": bearer("alice")}, 403),
        ("GET", "/v1/nothing", {}, 404),
        ("PUT", "/v1/cookies", {}, 405),
        (
            "POST",
            "/v1/cookies",
            {"data": b"x" * 70_000, "headers": {"Content-Type": "application/json"}},
            413,
        ),
        ("POST", "/v1/signed-urls", {"json": {"paths": ["public/a"] * 101}}, 413),
        ("POST", "/v1/signed-urls", {"json": {"paths": ["public/a", 7]}}, 400),
        ("POST", "/v1/cookies", {"data": "prefix=tiles/", "headers": {"Content-Type": "text/plain"}}, 415),
        ("POST", "/v1/cookies", {"json": {"prefix": "tiles"}}, 422),
        ("POST", "/v1/signed-urls", {"json": {"paths": [], "policy": "wild"}}, 422),
        ("GET", "/v1/signed-url", {}, 422),
        ("GET", "/v1/signed-url?path=public/a&path=public/b", {}, 422),
        ("GET", "/v1/r/public/%2e%2e/users/bob/x", {}, 422),
    ],
)
async def test_error_statuses(
    client: Client, method: str, path: str, kwargs: dict[str, Any], status: int
) -> None:
    # encoded=True: send the path exactly as written (yarl would resolve "%2e%2e" first).
    url = URL(str(client.make_url("")).rstrip("/") + path, encoded=True)
    response = await client.session.request(method, url, allow_redirects=False, **kwargs)
    body = await problem(response, status)
    assert body["type"] == "about:blank" and body["request_id"] == response.headers["X-Request-Id"]
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_rate_limits_per_user_and_per_guest_ip(
    aiohttp_client: AiohttpClient, tmp_path: Any, keyring_dir: Any
) -> None:
    import dataclasses

    from gateway.service.app import create_app
    from tests.gateway.conftest import make_settings

    settings = make_settings(tmp_path, keyring_dir, None, "b")
    server = dataclasses.replace(
        settings.server,
        rate_limit_per_second=1,
        rate_limit_burst=5,
        guest_rate_limit_per_second=1,
        guest_rate_limit_burst=3,
    )
    client = await aiohttp_client(create_app(dataclasses.replace(settings, server=server)))

    async def statuses(headers: dict[str, str], n: int) -> list[int]:
        return [
            (await client.get("/v1/signed-url", params={"path": "public/a"}, headers=headers)).status
            for _ in range(n)
        ]

    assert await statuses({}, 5) == [200, 200, 200, 429, 429]  # guests: per client IP, tighter
    limited = await client.get("/v1/signed-url", params={"path": "public/a"})
    await problem(limited, 429)
    assert int(limited.headers["Retry-After"]) >= 1
    assert await statuses(bearer("zed"), 6) == [200] * 5 + [429]  # a user has a bucket of their own
    assert await statuses(bearer("amy"), 1) == [200]


async def test_guests_get_shorter_grants(client: Client) -> None:
    guest = await (await client.get("/v1/signed-url", params={"path": "public/a"})).json()
    user = await (await client.get("/v1/signed-url", params={"path": "public/a"}, headers=bearer("a"))).json()
    import time

    assert guest["expires"] - time.time() <= 600 < user["expires"] - time.time()
