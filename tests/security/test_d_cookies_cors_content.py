"""Security catalogue D: cookies, CORS, content (cases 32-38)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path
from typing import Any

from pytest_aiohttp import AiohttpClient

from gateway.service.app import create_app
from gateway.service.settings import CorsSettings
from gateway.signing.encoding import cf_b64decode
from tests.edge.conftest import base_url, get, sign
from tests.gateway.conftest import CDN, bearer, make_settings


async def test_case_32_and_33_cookie_attributes_and_scope(client: Any) -> None:
    response = await client.post("/v1/cookies", json={"prefix": "users/alice/"}, headers=bearer("alice"))
    headers = response.headers.getall("Set-Cookie")
    assert len(headers) == 4
    for header in headers:
        lowered = header.lower()
        assert "; secure" in lowered and "; httponly" in lowered and "samesite=lax" in lowered
        # Host-only (no Domain): never sent to sibling hosts such as evil.example.com.
        assert "domain=" not in lowered and "max-age" not in lowered and "expires=" not in lowered
        assert "path=/users/alice/" in lowered and len(header) < 4096
    assert response.headers["Cache-Control"] == "no-store"


async def test_case_34_cache_isolation_under_concurrency(client: Any) -> None:
    async def grant(sub: str) -> tuple[str, str]:
        response = await client.post("/v1/cookies", json={"prefix": f"users/{sub}/"}, headers=bearer(sub))
        policy = json.loads(cf_b64decode(response.cookies["CloudFront-Policy"].value))
        return sub, policy["Statement"][0]["Resource"]

    results = await asyncio.gather(*(grant("alice" if i % 2 else "bob") for i in range(200)))
    for sub, resource in results:
        assert resource == f"{CDN}/users/{sub}/*"


async def test_case_35_cors_never_reflects_or_wildcards(
    aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path
) -> None:
    settings = dataclasses.replace(
        make_settings(tmp_path, keyring_dir, None, "b"),
        cors=CorsSettings(origins=("https://app.example.com",)),
    )
    client = await aiohttp_client(create_app(settings))
    for origin in [
        "https://evil.example",
        "null",
        "https://app.example.com.evil.example",
        "https://evilapp.example.com",
    ]:
        response = await client.options(
            "/v1/cookies",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        assert "Access-Control-Allow-Origin" not in response.headers
        assert "Access-Control-Allow-Credentials" not in response.headers
    ok = await client.options(
        "/v1/cookies", headers={"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST"}
    )
    assert ok.headers["Access-Control-Allow-Origin"] == "https://app.example.com"  # exact, never "*"


async def test_case_36_uploaded_content_cannot_script_the_cdn_origin(edge: Any) -> None:
    response = await get(edge, sign(f"{base_url(edge)}/page.html", canned=True).url("/page.html"))
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    csp = response.headers["Content-Security-Policy"]
    assert "sandbox" in csp and "default-src 'none'" in csp


async def test_case_37_no_open_redirect(client: Any) -> None:
    for path in ["//evil.example/x", "https://evil.example", "%2F%2Fevil.example", "\\\\evil.example"]:
        response = await client.get(f"/v1/r/{path}", allow_redirects=False)
        assert response.status in (400, 401, 403, 404, 422), path
    reader, writer = await asyncio.open_connection(client.host, client.port)
    writer.write(b"GET http://evil.example/v1/r/public/a.png HTTP/1.1\r\nHost: evil.example\r\n\r\n")
    await writer.drain()
    head = (await reader.read(4096)).decode("latin-1")
    writer.close()
    location = [line for line in head.split("\r\n") if line.lower().startswith("location:")]
    assert all(line.split(":", 1)[1].strip().startswith(f"{CDN}/public/") for line in location)


async def test_case_38_request_smuggling_is_refused(client: Any) -> None:
    for raw in [
        b"POST /v1/cookies HTTP/1.1\r\nHost: gw\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"0\r\n\r\nGET /v1/keys HTTP/1.1\r\nHost: gw\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: gw\r\nX-Abc: \rxTransfer-Encoding: chunked\r\n\r\n",
    ]:
        reader, writer = await asyncio.open_connection(client.host, client.port)
        writer.write(raw)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(65536), 5)
        writer.close()
        status_line = answer.split(b"\r\n", 1)[0]
        assert status_line.startswith(b"HTTP/1.") and b" 400 " in status_line, answer[:80]
        assert b"/v1/keys" not in answer and answer.count(b"HTTP/1.") == 1  # nothing smuggled behind it
        assert b"Traceback" not in answer
