"""Behind CloudFront and a public load balancer (issue 14), over real HTTP: with an origin secret the
gateway refuses every request that did not come through the CDN (the load balancer's health checks
excepted), reads the viewer from ``CloudFront-Viewer-Address`` only on requests that did, keeps
``/metrics`` off the public port, and sends HSTS on ``/v1/*`` answers."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from gateway.common.config import SettingsError
from gateway.service.app import create_app
from gateway.service.settings import Secret, Settings, load_settings
from tests.gateway.conftest import free_port, make_settings, write_config

SECRET = "s3cr3t-0f-the-cdn-origin-header-0123456789"
PREVIOUS = "the-previous-origin-secret-still-accepted-42"
HEADER = "X-Origin-Verify"
GUEST = ("/v1/signed-url", {"path": "public/a.png"})


def _settings(tmp_path: Path, keyring_dir: Path, **server: Any) -> Settings:
    settings = make_settings(tmp_path, keyring_dir, None, "b")
    return dataclasses.replace(settings, server=dataclasses.replace(settings.server, **server))


def _guarded(tmp_path: Path, keyring_dir: Path, **server: Any) -> Settings:
    return _settings(
        tmp_path, keyring_dir, origin_secret=Secret(SECRET), origin_secret_previous=Secret(PREVIOUS), **server
    )


async def _problem(response: Any) -> dict[str, Any]:
    assert response.status == 403, await response.text()
    assert response.content_type == "application/problem+json"
    body: dict[str, Any] = json.loads(await response.text())
    assert SECRET not in json.dumps(body) and HEADER.lower() not in json.dumps(body).lower()
    return body


async def test_requests_without_the_exact_secret_are_refused(
    aiohttp_client: Any, tmp_path: Path, keyring_dir: Path
) -> None:
    client = await aiohttp_client(create_app(_guarded(tmp_path, keyring_dir)))
    wrong = [
        {},
        {HEADER: ""},
        {HEADER: SECRET[:-1]},  # a prefix
        {HEADER: SECRET + "x"},  # longer
        {HEADER: SECRET.upper()},
        {HEADER: " " + SECRET + "x"},
        {"X-Origin-Verified": SECRET},  # another header's name
    ]
    for headers in wrong:
        for method, path in [
            ("GET", "/v1/signed-url?path=public/a.png"),
            ("POST", "/v1/cookies"),
            ("GET", "/metrics"),
            ("GET", "/openapi.json"),
            ("GET", "/v1/keys"),
            ("GET", "/no-such-page"),
        ]:
            response = await client.request(method, path, headers=headers, json={"prefix": "public/"})
            assert (await _problem(response))["status"] == 403, (headers, path)
    # The header twice, one right: a second value is something a client added.
    twice = aiohttp.ClientSession()  # multidict headers: the test client would merge them
    async with twice:
        url = client.make_url("/v1/signed-url?path=public/a.png")
        doubled = [(HEADER, SECRET), (HEADER, "other")]
        async with twice.get(url, headers=doubled) as response:
            await _problem(response)
    # A CORS preflight straight to the load balancer is refused too.
    preflight = await client.options(
        "/v1/cookies", headers={"Origin": "https://app.test", "Access-Control-Request-Method": "POST"}
    )
    await _problem(preflight)


async def test_the_secret_and_the_previous_one_pass_and_health_checks_need_none(
    aiohttp_client: Any, tmp_path: Path, keyring_dir: Path
) -> None:
    client = await aiohttp_client(create_app(_guarded(tmp_path, keyring_dir)))
    for secret in (SECRET, PREVIOUS):
        response = await client.get(GUEST[0], params=GUEST[1], headers={HEADER: secret})
        assert response.status == 200, await response.text()
    assert (await client.get("/healthz")).status == 200
    ready = await client.get("/readyz")
    assert ready.status == 200 and (await ready.json())["checks"]["keyring"] == "ok"
    # Without an origin secret nothing changes: the gateway answers anyone, as before.
    open_client = await aiohttp_client(create_app(_settings(tmp_path, keyring_dir)))
    assert (await open_client.get(GUEST[0], params=GUEST[1])).status == 200


@pytest.mark.parametrize("guarded", [True, False])
async def test_guest_budgets_follow_cloudfront_viewer_address_only_with_the_secret(
    aiohttp_client: Any, tmp_path: Path, keyring_dir: Path, guarded: bool
) -> None:
    """Every request arrives from one address (the CDN or the load balancer pool): with the
    secret, each viewer CloudFront names has its own guest budget; without it, the header is
    anyone's to send and is ignored."""
    budget = {"guest_rate_limit_per_second": 0.01, "guest_rate_limit_burst": 1}
    make = _guarded if guarded else _settings
    client = await aiohttp_client(create_app(make(tmp_path, keyring_dir, **budget)))
    secret = {HEADER: SECRET} if guarded else {}

    async def status(viewer: str) -> int:
        headers = {**secret, "CloudFront-Viewer-Address": viewer}
        return int((await client.get(GUEST[0], params=GUEST[1], headers=headers)).status)

    assert await status("203.0.113.1:40112") == 200
    assert await status("203.0.113.1:40113") == 429  # the same viewer, another port
    assert await status("2001:db8:1:2::7:443") == (200 if guarded else 429)  # unbracketed IPv6
    assert await status("2001:db8:1:2::8:443") == 429  # the same /64
    assert await status("198.51.100.9:5") == (200 if guarded else 429)


@pytest.mark.parametrize(
    "value", ["203.0.113.1", "not-an-ip:80", "203.0.113.1:x", "", "203.0.113.1:80, 1.2.3.4:5"]
)
async def test_a_malformed_viewer_address_falls_back_to_the_peer(
    aiohttp_client: Any, tmp_path: Path, keyring_dir: Path, value: str
) -> None:
    budget = {"guest_rate_limit_per_second": 0.01, "guest_rate_limit_burst": 1}
    client = await aiohttp_client(create_app(_guarded(tmp_path, keyring_dir, **budget)))
    first = await client.get(
        GUEST[0], params=GUEST[1], headers={HEADER: SECRET, "CloudFront-Viewer-Address": value}
    )
    assert first.status == 200
    second = await client.get(GUEST[0], params=GUEST[1], headers={HEADER: SECRET})
    assert second.status == 429  # both counted against the peer's address, never a 500


async def test_metrics_leave_the_public_port(aiohttp_client: Any, tmp_path: Path, keyring_dir: Path) -> None:
    port = free_port()
    client = await aiohttp_client(create_app(_guarded(tmp_path, keyring_dir, metrics_port=port)))
    await _problem(await client.get("/metrics"))
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/metrics") as response:
        assert response.status == 200 and "gateway_requests_total" in await response.text()
        async with http.get(f"http://127.0.0.1:{port}/v1/keys") as other:
            assert other.status == 404  # that port serves nothing else


async def test_hsts_on_api_answers_when_the_cdn_is_https(
    aiohttp_client: Any, tmp_path: Path, keyring_dir: Path
) -> None:
    client = await aiohttp_client(create_app(_settings(tmp_path, keyring_dir)))
    ok = await client.get(GUEST[0], params=GUEST[1])
    refused = await client.post("/v1/cookies", data=b"{", headers={"Content-Type": "application/json"})
    for response in (ok, refused):
        assert response.headers["Strict-Transport-Security"] == "max-age=63072000", response.status
    assert "Strict-Transport-Security" not in (await client.get("/healthz")).headers
    settings = _settings(tmp_path, keyring_dir)
    plain = dataclasses.replace(
        settings, signing=dataclasses.replace(settings.signing, cdn_base_url="http://cdn.test")
    )
    plain_client = await aiohttp_client(create_app(plain))
    assert "Strict-Transport-Security" not in (await plain_client.get(GUEST[0], params=GUEST[1])).headers


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        ('origin_secret = "short"', "server.origin_secret must be 32 or more"),
        (f'origin_secret = "{SECRET[:20]} {SECRET[:20]}"', "server.origin_secret must be 32 or more"),
        (f'origin_secret_previous = "{PREVIOUS}"', "origin_secret_previous needs server.origin_secret"),
        (f'origin_secret = "{SECRET}"\norigin_secret_header = "X Origin"', "is not an HTTP header name"),
        (
            f'origin_secret = "{SECRET}"\norigin_secret_header = "X-Amz-Secret"',
            "CloudFront sets or will not add",
        ),
        (
            f'origin_secret = "{SECRET}"\norigin_secret_header = "Authorization"',
            "CloudFront sets or will not add",
        ),
        ("metrics_port = 70000", "server.metrics_port must be 0 (off) or 1-65535"),
        ("metrics_port = 8080\nport = 8080", "server.metrics_port must differ"),
    ],
)
def test_origin_settings_are_checked(tmp_path: Path, keyring_dir: Path, lines: str, problem: str) -> None:
    config = write_config(tmp_path, keyring_dir)
    config.write_text(config.read_text().replace("[server]\n", f"[server]\n{lines}\n", 1))
    with pytest.raises(SettingsError) as refused:
        load_settings(config, env={})
    assert any(problem in p for p in refused.value.problems), refused.value.problems
    assert SECRET not in str(refused.value) and PREVIOUS not in str(refused.value)


def test_origin_secret_from_the_environment(tmp_path: Path, keyring_dir: Path) -> None:
    config = write_config(tmp_path, keyring_dir)
    settings = load_settings(config, env={"GATEWAY_SERVER_ORIGIN_SECRET": SECRET})
    assert settings.server.origin_secret == SECRET and SECRET not in repr(settings)
