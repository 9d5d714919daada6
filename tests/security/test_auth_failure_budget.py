"""Issue 12 item 15: failed authentications are limited per client address.  Past the budget a bad
token gets 429 instead of 401, while every valid user behind the same address (an office or
carrier NAT) keeps working, including one whose token the gateway has never seen (an outside
review locked such users out when unknown tokens were refused unchecked)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jwt
from pytest_aiohttp import AiohttpClient

from gateway.service import appkeys
from gateway.service.app import create_app
from tests.gateway.conftest import bearer, make_settings

NAT, ELSEWHERE = "203.0.113.7", "198.51.100.9"


def _forged(sub: str) -> dict[str, str]:
    forged = jwt.encode({"sub": sub, "exp": 4_000_000_000}, "not-the-secret-" * 3, algorithm="HS256")
    return {"Authorization": f"Bearer {forged}"}


async def test_failed_authentications_are_rate_limited_per_address(
    aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path
) -> None:
    settings = make_settings(tmp_path, keyring_dir, None, "b")
    server = dataclasses.replace(
        settings.server,
        auth_failures_per_second=0.01,
        auth_failure_burst=5,
        trusted_proxies=("127.0.0.1",),  # the test client stands for a proxy naming the viewer
    )
    app = create_app(dataclasses.replace(settings, server=server))
    client = await aiohttp_client(app)
    failures = app[appkeys.METRICS].auth_failures

    async def status(address: str, headers: dict[str, str], path: str = "users/alice/a.png") -> int:
        response = await client.get(
            "/v1/signed-url", params={"path": path}, headers={"X-Forwarded-For": address, **headers}
        )
        if response.status == 429:
            assert int(response.headers["Retry-After"]) >= 1
            assert response.content_type == "application/problem+json"
        return int(response.status)

    alice = bearer("alice")
    assert await status(NAT, alice) == 200
    assert [await status(NAT, _forged(f"m{i}")) for i in range(7)] == [401] * 5 + [429] * 2
    assert [await status(NAT, _forged(f"x{i}")) for i in range(50)] == [429] * 50
    assert failures.labels("throttled")._value.get() == 52

    assert await status(NAT, alice) == 200  # the user behind the same address keeps working
    assert await status(NAT, bearer("bob"), "users/bob/a.png") == 200  # so does one never seen before
    assert await status(NAT, _forged("y")) == 429  # while the flood stays refused
    assert await status(NAT, {}, "public/a.png") == 200  # guests are not failed sign-ins
    assert await status(ELSEWHERE, _forged("m")) == 401  # every address has its own budget
    assert await status(ELSEWHERE, bearer("carol"), "users/carol/a.png") == 200
    # An IPv6 client gets one budget per /64, however many of its addresses it uses.
    assert [await status(f"2001:db8:1:2::{i:x}", _forged(f"v{i}")) for i in range(7)] == [401] * 5 + [429] * 2
    assert await status("2001:db8:1:3::1", _forged("w")) == 401


async def test_bytes_that_are_not_a_token_are_a_401_not_a_500(
    aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path
) -> None:
    from tests.edge.rawhttp import send_raw

    client = await aiohttp_client(create_app(make_settings(tmp_path, keyring_dir, None, "b")))
    request = (
        b"GET /v1/signed-url?path=users/alice/a.png HTTP/1.1\r\nHost: x\r\n"
        b"Authorization: Bearer abc\xff\xfe.def.ghi\r\nConnection: close\r\n\r\n"
    )
    port = client.server.port
    assert port is not None  # the test server is started, so it has a port
    answer = await send_raw(port, request)
    assert answer.status == 401 and answer.headers["content-type"].startswith("application/problem+json")
