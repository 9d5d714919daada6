"""CORS only for configured origins; logs without secrets; several worker processes on one port."""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import subprocess
from pathlib import Path

import pytest
import requests
from aiohttp import web
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient, AiohttpServer

from gateway.service.accesslog import ServiceAccessLogger
from gateway.service.app import create_app
from gateway.service.settings import CorsSettings
from tests.gateway.conftest import answers, bearer, gateway_process, make_settings, write_config


async def test_cors_exact_origins_only(aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path) -> None:
    settings = make_settings(tmp_path, keyring_dir, None, "b")
    settings = dataclasses.replace(settings, cors=CorsSettings(origins=("https://app.test",)))
    client = await aiohttp_client(create_app(settings))
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
    ok = await client.options("/v1/cookies", headers={"Origin": "https://app.test", **preflight})
    assert ok.headers["Access-Control-Allow-Origin"] == "https://app.test"
    assert ok.headers["Access-Control-Allow-Credentials"] == "true"
    # Security case 35: reflected, null, suffix and prefix tricks get nothing.
    for origin in [
        "https://evil.test",
        "null",
        "https://app.test.evil.test",
        "https://evilapp.test",
        "http://app.test",
    ]:
        response = await client.options("/v1/cookies", headers={"Origin": origin, **preflight})
        assert "Access-Control-Allow-Origin" not in response.headers, origin
        actual = await client.post(
            "/v1/cookies", json={"prefix": "tiles/"}, headers={"Origin": origin, **bearer("a")}
        )
        assert (
            "Access-Control-Allow-Origin" not in actual.headers
            and "Access-Control-Allow-Credentials" not in actual.headers
        )


async def test_access_log_has_no_secrets(
    aiohttp_client: AiohttpClient,
    aiohttp_server: AiohttpServer,
    tmp_path: Path,
    keyring_dir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = make_settings(tmp_path, keyring_dir, None, "b")
    server = await aiohttp_server(create_app(settings), access_log_class=ServiceAccessLogger)
    client: TestClient[web.Request, None] = await aiohttp_client(server)
    caplog.set_level(logging.DEBUG)
    headers = bearer("alice")
    cookie = await client.post("/v1/cookies", json={"prefix": "tiles/"}, headers=headers)
    values = [m.value for m in cookie.cookies.values()]
    single = await client.get("/v1/signed-url", params={"path": "users/alice/a.png"}, headers=headers)
    url = (await single.json())["url"]
    await client.get(
        "/v1/signed-url",
        params={"path": "users/alice/a.png", "Signature": "leak-me"},
        headers={**headers, "Cookie": f"CloudFront-Signature={values[1]}"},
    )
    await client.post("/v1/cookies", json={"prefix": "tiles/"}, headers={"Authorization": "Bearer not.a.jwt"})
    text = caplog.text
    assert '"route": "/v1/signed-url"' in text and '"status": 200' in text
    secrets = [
        headers["Authorization"].split()[1],
        *values,
        url.split("Signature=")[1].split("&")[0],
        "leak-me",
        "not.a.jwt",
        "PRIVATE KEY",
    ]
    for secret in secrets:
        assert secret not in text


def test_two_workers_share_a_port(tmp_path: Path, keyring_dir: Path) -> None:
    with gateway_process(write_config(tmp_path, keyring_dir), "--workers", "2") as (base, proc):
        workers = subprocess.run(
            ["pgrep", "-P", str(proc.pid)], capture_output=True, text=True
        ).stdout.split()
        assert len(workers) >= 2  # two workers (and multiprocessing's resource tracker)
        answers_ = [
            requests.get(f"{base}/v1/signed-url", params={"path": "public/a"}, timeout=5) for _ in range(20)
        ]
        assert {a.status_code for a in answers_} == {200}
        assert len({a.json()["url"] for a in answers_}) == 1  # both workers sign identically
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    assert not answers(base)  # every worker stopped with the supervisor
