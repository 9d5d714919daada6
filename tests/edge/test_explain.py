"""The edge's development explanation (issue 13): with ``[debug] explain`` a refusal says why in
``X-Edge-Explain`` and in its access-log line; off by default, and refused outside development."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from pytest_aiohttp import AiohttpClient

from devstack.seaweed import SeaweedFS
from gateway.common.config import SettingsError
from gateway.edge.app import create_edge_app
from gateway.edge.settings import DEBUG_IN_PRODUCTION, EdgeDebug, load_edge_settings
from tests.conftest import run_cli
from tests.edge.conftest import base_url, cookie_header, edge_settings, get, sign, start_edge
from tests.gateway.conftest import free_port

HEADER = "X-Edge-Explain"


def _expired(base: str, seconds_ago: int = 200) -> dict[str, str]:
    return cookie_header(sign(f"{base}/users/bob/*", expires=int(time.time()) - seconds_ago))


async def test_refusals_say_why_in_development(
    aiohttp_client: AiohttpClient, seaweed: SeaweedFS, filled_bucket: str, keyring_dir: Path
) -> None:
    settings = edge_settings(seaweed, filled_bucket, keyring_dir)
    edge = await start_edge(
        aiohttp_client, dataclasses.replace(settings, environment="development", debug=EdgeDebug(True))
    )
    base = base_url(edge)
    expired = await get(edge, "/users/bob/secret.txt", headers=_expired(base))
    assert expired.status == 403 and "<Code>AccessDenied</Code>" in await expired.text()
    assert re.fullmatch(
        r"AccessDenied: date-less-than: now \d+ \(\S+\) is not before DateLessThan \d+ \(\S+\): "
        r"expired 3 min 2\d s ago \(behaviour \*\)",
        expired.headers[HEADER],
    ), expired.headers[HEADER]

    alice = cookie_header(sign(f"{base}/users/alice/*"))
    other = await get(edge, "/users/bob/secret.txt", headers=alice)
    position = len(f"{base}/users/") + 1  # 1-based: the "b" of bob, where the grant says "a"
    assert other.headers[HEADER] == (
        f"AccessDenied: resource: the path differs at character {position} of the request URL ('b') "
        "(behaviour *)"
    )

    unknown = await get(edge, "/users/bob/secret.txt", headers={"Host": "cdn.example.org"})
    assert unknown.status == 403
    assert unknown.headers[HEADER] == "refused: no distribution is configured for this host"

    # Whatever a request holds, the explanation stays one header line of printable ASCII.
    query = "Expires=1&Signature=AAAA&Key-Pair-Id=%0D%0ASet-Cookie:%20evil=1"
    injected = await get(edge, f"/users/bob/secret.txt?{query}")
    assert injected.status == 403 and "<Code>InvalidKey</Code>" in await injected.text()
    assert "Set-Cookie" not in injected.headers and "evil" not in injected.cookies
    assert injected.headers[HEADER].startswith(
        "InvalidKey: key: \\x0d\\x0aSet-Cookie: evil=1 is not a trusted"
    )

    served = await get(edge, "/users/bob/secret.txt", headers=cookie_header(sign(f"{base}/users/bob/*")))
    assert served.status == 200 and HEADER not in served.headers


async def test_production_answers_say_nothing_more(
    aiohttp_client: AiohttpClient, seaweed: SeaweedFS, filled_bucket: str, keyring_dir: Path
) -> None:
    settings = edge_settings(seaweed, filled_bucket, keyring_dir)
    assert (settings.environment, settings.debug.explain) == ("production", False)  # the defaults
    quiet = await start_edge(aiohttp_client, settings)
    told = await start_edge(
        aiohttp_client, dataclasses.replace(settings, environment="development", debug=EdgeDebug(True))
    )
    answers = [
        await get(client, "/users/bob/secret.txt", headers=_expired(base_url(client)))
        for client in (quiet, told)
    ]
    assert [a.status for a in answers] == [403, 403]
    assert HEADER not in answers[0].headers and HEADER in answers[1].headers
    assert await answers[0].read() == await answers[1].read()  # never in the body, on or off
    development_only = dataclasses.replace(settings, environment="development")
    assert HEADER not in (await get(await start_edge(aiohttp_client, development_only), "/x")).headers


def test_explain_is_refused_outside_development(
    tmp_path: Path, seaweed: SeaweedFS, keyring_dir: Path
) -> None:
    settings = edge_settings(seaweed, "b", keyring_dir)
    with pytest.raises(SettingsError) as built:
        create_edge_app(dataclasses.replace(settings, debug=EdgeDebug(True)))
    assert built.value.problems == [DEBUG_IN_PRODUCTION]

    config = tmp_path / "edge.toml"
    config.write_text(f'keys_dir = "{keyring_dir}"\n[debug]\nexplain = true\n')
    with pytest.raises(SettingsError) as loaded:
        load_edge_settings(config, env={})
    assert DEBUG_IN_PRODUCTION in loaded.value.problems  # reported with every other problem
    assert any(p.startswith("distribution.urls is required") for p in loaded.value.problems)
    allowed = load_edge_settings(config, env={"EDGE_ENVIRONMENT": "development"} | _complete())
    assert allowed.debug.explain and allowed.development
    off = load_edge_settings(
        config, env={"EDGE_ENVIRONMENT": "development", "EDGE_DEBUG_EXPLAIN": "0"} | _complete()
    )
    assert not off.debug.explain

    done = run_cli("edge", "--config", str(config))
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    assert (
        'debug.explain tells viewers why they are refused: it needs environment = "development"'
        in done.stderr
    )


def _complete() -> dict[str, str]:
    return {
        "EDGE_DISTRIBUTION_URLS": "http://127.0.0.1:1",
        "EDGE_ORIGIN_ACCESS_KEY_ID": "a",
        "EDGE_ORIGIN_SECRET_ACCESS_KEY": "b",
    }


@pytest.fixture
def explaining_edge(
    tmp_path: Path, seaweed: SeaweedFS, filled_bucket: str, keyring_dir: Path
) -> Iterator[tuple[str, Path]]:
    """A real ``cdn-gateway edge`` process with the explanation on, as ``make run`` starts it."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = tmp_path / "edge.toml"
    config.write_text(f"""keys_dir = "{keyring_dir}"
environment = "development"
[debug]
explain = true
[distribution]
urls = ["{base}"]
[origin]
endpoint_url = "{seaweed.endpoint}"
bucket = "{filled_bucket}"
access_key_id = "{seaweed.access_key}"
secret_access_key = "{seaweed.secret_key}"
""")
    log = tmp_path / "edge.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gateway", "edge", "--config", str(config), "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{base}/", timeout=1)
                break
            except requests.ConnectionError:
                assert process.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        yield base, log
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_the_access_log_line_carries_the_explanation(explaining_edge: tuple[str, Path]) -> None:
    base, log = explaining_edge
    refused = requests.get(f"{base}/users/bob/secret.txt", headers=_expired(base), timeout=5)
    served = requests.get(
        f"{base}/users/bob/secret.txt", headers=cookie_header(sign(f"{base}/users/bob/*")), timeout=5
    )
    assert (refused.status_code, served.status_code) == (403, 200)
    deadline = time.monotonic() + 5
    while served.headers["X-Amz-Cf-Id"] not in log.read_text():
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    records = {record["request_id"]: record for record in lines}
    line = records[refused.headers["X-Amz-Cf-Id"]]
    assert line["status"] == 403 and line["explain"] == refused.headers[HEADER]
    assert line["explain"].startswith("AccessDenied: date-less-than: ")
    assert "explain" not in records[served.headers["X-Amz-Cf-Id"]]
    assert "Signature" not in log.read_text() and "CloudFront-" not in log.read_text()
