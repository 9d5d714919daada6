"""Security catalogue G: load and faults (cases 51-58)."""

from __future__ import annotations

import dataclasses
import gzip
import io
import time
from pathlib import Path
from typing import Any

import requests
from aiohttp import web
from pytest_aiohttp import AiohttpClient

from gateway.keys.keyring import load_keyring
from gateway.service.app import create_app
from gateway.service.grants import Granter
from gateway.service.metrics import Metrics
from gateway.service.settings import S3Settings, Secret, SigningSettings
from gateway.signing.verify import ViewerRequest, verify_request
from tests.gateway.conftest import bearer, gateway_process, make_settings, write_config


async def test_case_51_batch_and_size_abuse(client: Any) -> None:
    assert (await client.post("/v1/signed-urls", json={"paths": ["public/a"] * 101})).status == 413
    assert (await client.get("/v1/signed-url", params={"path": "public/" + "a" * 1020})).status == 422
    big = b'{"prefix": "' + b"a" * (50 * 1024 * 1024) + b'"}'
    response = await client.post(
        "/v1/cookies", data=io.BytesIO(big), headers={"Content-Type": "application/json"}
    )
    assert response.status == 413
    # The longest key allowed (1024 bytes of 3-byte characters) still gives a URL CloudFront accepts.
    key = "public/" + "€" * 339
    response = await client.get(
        "/v1/signed-url", params={"path": key, "policy": "custom"}, headers=bearer("a")
    )
    assert response.status == 200 and len((await response.json())["url"]) < 8192


def test_case_52_slow_and_idle_connections_are_closed(tmp_path: Path, keyring_dir: Path) -> None:
    import socket

    config = write_config(tmp_path, keyring_dir)
    config.write_text(config.read_text().replace("[server]\n", "[server]\nheader_timeout_seconds = 2\n"))
    with gateway_process(config) as (base, _):
        host, port = base.removeprefix("http://").split(":")
        slow = []
        for i in range(60):
            sock = socket.create_connection((host, int(port)))
            if i % 2:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # then one header line at a time
            slow.append(sock)
        started = time.monotonic()
        assert requests.get(f"{base}/healthz", timeout=5).status_code == 200  # others are still served
        for _ in range(3):
            time.sleep(1)
            for sock in slow[1::2]:
                try:
                    sock.sendall(b"X-Trickle: 1\r\n")
                except OSError:
                    pass
        closed = 0
        for sock in slow:
            sock.settimeout(5)
            try:
                closed += sock.recv(1024) == b""  # EOF: the server hung up
            except (TimeoutError, OSError):
                closed += 1
            sock.close()
        assert closed == len(slow) and time.monotonic() - started < 12


async def test_case_53_s3_down_presigning_still_answers(
    aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path
) -> None:
    settings = make_settings(tmp_path, keyring_dir, None, "b")  # S3 endpoint: a closed port
    client = await aiohttp_client(create_app(settings))
    upload = await client.post(
        "/v1/uploads",
        json={"path": "users/alice/a.png", "content_type": "image/png", "content_length": 3},
        headers=bearer("alice"),
    )
    assert upload.status == 200
    started = time.monotonic()
    ready = await client.get("/readyz")
    body = await ready.json()
    assert ready.status == 200 and body["status"] == "degraded" and body["checks"]["s3"].startswith("down")
    assert time.monotonic() - started < 5


def test_case_55_clock_skew_within_tolerance(keyring_dir: Path) -> None:
    # DateGreaterThan is back-dated 60 s before the window start, so an edge whose clock is up
    # to a minute behind the gateway still accepts a grant made at the very start of a window.
    keyring = load_keyring(keyring_dir)
    granter = Granter(
        SigningSettings(cdn_base_url="https://cdn.test", not_before_skew_seconds=60),
        lambda: keyring,
        Metrics(),
    )
    issued_at = 1_800_000_000  # a window boundary
    grant = granter.for_prefix("tiles/", issued_at)
    cookies = tuple(grant.signed.cookies().items())
    request = ViewerRequest("https", "cdn.test", "/tiles/1.png", "", cookies)
    for edge_clock, ok in [
        (issued_at - 59, True),
        (issued_at + 3600 + 600 - 1, True),
        (issued_at - 61, False),
        (issued_at + 3600 + 600, False),
    ]:
        assert verify_request(request, keyring.public_keys, edge_clock).ok is ok, edge_clock


async def test_case_57_compressed_and_multipart_bodies(client: Any) -> None:
    bomb = gzip.compress(b'{"prefix": "' + b"a" * (20 * 1024 * 1024) + b'"}')
    response = await client.post(
        "/v1/cookies",
        data=io.BytesIO(bomb),
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert response.status in (400, 413)
    form = await client.post(
        "/v1/cookies",
        data=b"--x\r\n" * 10000,
        headers={"Content-Type": "multipart/form-data; boundary=never"},
    )
    assert form.status == 415


async def test_case_58_failures_fail_closed(aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path) -> None:
    settings = make_settings(tmp_path, keyring_dir, None, "b")
    app = create_app(
        dataclasses.replace(
            settings,
            s3=S3Settings(
                bucket="b",
                endpoint_url="http://127.0.0.1:9",
                access_key_id=Secret("A"),
                secret_access_key=Secret("S"),
            ),
        )
    )

    async def broken(request: web.Request) -> web.Response:
        raise RuntimeError("policy parser exploded: secret=hunter2")

    app.router.add_get("/v1/broken", broken)  # a bug anywhere below the middleware
    client = await aiohttp_client(app)
    response = await client.get("/v1/broken")
    body = await response.text()
    assert response.status == 500 and response.content_type == "application/problem+json"
    assert "hunter2" not in body and "Traceback" not in body and "exploded" not in body


def test_guest_and_user_grants_never_share_a_cache_entry(keyring_dir: Path) -> None:
    # At an hour boundary a guest window (300 s) and a user window (3600 s) start together: the
    # cache key holds the expiry too, so a user never receives a guest's short grant or back.
    keyring = load_keyring(keyring_dir)
    granter = Granter(SigningSettings(cdn_base_url="https://cdn.test"), lambda: keyring, Metrics())
    boundary = 1_800_000_000 - 1_800_000_000 % 3600
    guest = granter.for_object("public/a.png", boundary, canned=True, lifetime=300)[1]
    user = granter.for_object("public/a.png", boundary, canned=True)[1]
    assert guest.expires == boundary + 300 and user.expires == boundary + 3600 + 600
    assert granter.for_object("public/a.png", boundary, canned=True, lifetime=300)[1].expires == guest.expires
