"""What a second outside review found in the hardened release, each now a regression test:
templated rules that did not hold other users' prefixes, encoded request bodies, revocation at the
key cap, grants outliving their lifetime, and a log line lost for malformed requests."""

from __future__ import annotations

import dataclasses
import gzip
import json
import socket
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpClient, AiohttpServer

from gateway.credentials.policy import scope_for
from gateway.edge.settings import Behavior
from gateway.keys.keyring import KeyState, init_keyring, load_keyring
from gateway.rules.access import ANONYMOUS, Principal
from gateway.rules.load import parse_rules
from gateway.service.app import create_app
from gateway.service.grants import Granter
from gateway.service.metrics import Metrics
from gateway.service.settings import SigningSettings
from gateway.signing.crypto import KeyAlgorithm
from tests.edge.conftest import edge_settings, start_edge
from tests.gateway.conftest import bearer, gateway_process, make_settings, write_config
from tests.keys.conftest import Clock, check_invariants, lifecycle

FAMILIES = """
[[rules]]
prefix = "shared/"
read = "authenticated"
[[rules]]
prefix = "shared/{group}/"
read = "authenticated"
[[rules]]
prefix = "docs/"
read = "anyone"
[[rules]]
prefix = "docs/{sub}/"
read = "authenticated"
[[rules]]
prefix = "drop/"
read = "authenticated"
write = "authenticated"
content_types = ["image/png"]
[[rules]]
prefix = "drop/{sub}/"
read = "authenticated"
write = "authenticated"
content_types = ["image/png"]
"""


@pytest.fixture
async def families(aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path) -> Any:
    settings = make_settings(tmp_path, keyring_dir, None, "b")
    settings.rules_file.write_text(FAMILIES)
    return await aiohttp_client(create_app(settings))


async def test_a_templated_rule_holds_every_members_prefix_not_only_the_callers(families: Any) -> None:
    """bob (engineering) must not reach finance's folder through the broader ``shared/`` rule."""
    bob = bearer("bob", ["engineering"])

    async def status(method: str, url: str, **kw: Any) -> int:
        return int((await families.request(method, url, **kw)).status)

    assert await status("POST", "/v1/cookies", json={"prefix": "shared/finance/"}, headers=bob) == 403
    assert (
        await status("GET", "/v1/signed-url", params={"path": "shared/finance/pay.txt"}, headers=bob) == 403
    )
    assert await status("POST", "/v1/cookies", json={"prefix": "shared/"}, headers=bob) == 403
    assert await status("POST", "/v1/cookies", json={"prefix": "shared/engineering/"}, headers=bob) == 200
    assert await status("GET", "/v1/signed-url", params={"path": "shared/readme.txt"}, headers=bob) == 200
    # Guests: docs/ is public, docs/{sub}/ belongs to each user.
    assert await status("POST", "/v1/cookies", json={"prefix": "docs/alice/"}) == 401
    assert await status("GET", "/v1/signed-url", params={"path": "docs/alice/cv.pdf"}) == 401
    assert await status("GET", "/v1/signed-url", params={"path": "docs/readme.txt"}) == 200
    # Writes: alice may not upload into bob's drop folder through drop/.
    upload = {"path": "drop/bob/x.png", "content_type": "image/png", "content_length": 3}
    assert await status("POST", "/v1/uploads", json=upload, headers=bearer("alice")) == 403
    own = {**upload, "path": "drop/alice/x.png"}
    assert await status("POST", "/v1/uploads", json=own, headers=bearer("alice")) == 200


def test_credentials_never_open_a_family_of_other_members_prefixes() -> None:
    rules = parse_rules(tomllib.loads(FAMILIES))
    scope = scope_for(rules, Principal("bob", ("engineering",)))
    assert "shared/" not in scope.prefixes["read"]  # it would hold shared/finance/ too
    assert "shared/engineering/" in scope.prefixes["read"]
    assert "drop/" not in scope.prefixes.get("write", ()) and "drop/" not in scope.prefixes["read"]
    assert rules.broadest_readable("docs/alice/", ANONYMOUS) is None


async def test_encoded_request_bodies_are_decoded_or_refused_never_a_500(
    families: Any, aiohttp_client: AiohttpClient, aiohttp_server: AiohttpServer, seaweed: Any, bucket: str, keyring_dir: Path
) -> None:
    body = json.dumps({"prefix": "shared/engineering/"}).encode()
    headers = {**bearer("bob", ["engineering"]), "Content-Type": "application/json"}
    good = await families.post(
        "/v1/cookies", data=gzip.compress(body), headers={**headers, "Content-Encoding": "gzip"}
    )
    assert good.status == 200
    bad = await families.post(
        "/v1/cookies", data=b"not gzip", headers={**headers, "Content-Encoding": "gzip"}
    )
    assert bad.status == 400 and bad.content_type == "application/problem+json"
    # The edge forwards a body to a custom origin as the viewer sent it, encoding and all.
    seen: list[tuple[str | None, bytes]] = []

    async def echo(request: web.Request) -> web.Response:
        seen.append((request.headers.get("Content-Encoding"), await request.content.read()))
        return web.Response(text="ok")

    upstream_app = web.Application(handler_args={"auto_decompress": False})
    upstream_app.router.add_post("/{tail:.*}", echo)
    upstream = await aiohttp_server(upstream_app)
    settings = edge_settings(seaweed, bucket, keyring_dir)
    behaviors = (
        Behavior("/v1/*", signed=False, origin=str(upstream.make_url("")).rstrip("/")),
        Behavior("*"),
    )
    edge = await start_edge(aiohttp_client, dataclasses.replace(settings, behaviors=behaviors))
    compressed = gzip.compress(body)
    for payload in (compressed, b"not gzip at all"):
        response = await edge.post("/v1/cookies", data=payload, headers={"Content-Encoding": "gzip"})
        assert response.status == 200
        assert seen[-1] == ("gzip", payload)


def test_revoking_the_active_key_at_the_cap_makes_room_instead_of_refusing(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    init_keyring(directory, KeyAlgorithm.RSA_2048, now=1_799_990_000)
    clock = Clock()
    manager = dataclasses.replace(lifecycle(directory, clock), max_keys=3, max_grant_seconds=4200)
    for _ in range(2):
        manager.rotate(KeyAlgorithm.RSA_2048, 0)
    compromised = load_keyring(directory, private=False).active_id
    manager.revoke(compromised, KeyAlgorithm.RSA_2048, 0)
    keyring = load_keyring(directory, private=False)
    states = {e.id: e.state for e in keyring.entries}
    assert states[compromised] == KeyState.RETIRED.value and keyring.active_id != compromised
    live = [e for e in keyring.entries if e.state != KeyState.RETIRED.value]
    assert len(live) <= 3
    check_invariants(directory)


@pytest.mark.parametrize("lifetime", [60, 300, 3599])
def test_a_grant_never_outlives_its_lifetime(keyring_dir: Path, lifetime: int) -> None:
    granter = Granter(SigningSettings(keys_dir=keyring_dir), lambda: load_keyring(keyring_dir), Metrics())
    start = 1_800_000_000
    for now in range(start, start + 2 * lifetime, max(1, lifetime // 17)):
        window = granter.window(now, lifetime)
        assert 0 < window.expires - now <= lifetime, (now, window)
        assert window.refresh_after > now  # a client renews before its grant ends


def test_a_request_aiohttp_refuses_still_gets_its_log_line(tmp_path: Path, keyring_dir: Path) -> None:
    config = write_config(tmp_path, keyring_dir)
    with gateway_process(config) as (base, _):
        host, port = base.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port))) as sock:
            sock.sendall(
                b"POST /v1/cookies HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
            )
            sock.settimeout(5)
            answer = b""
            while chunk := sock.recv(4096):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 400") or answer.startswith(b"HTTP/1.0 400")
        time.sleep(0.5)
    log = next(tmp_path.glob("serve-*.log")).read_text()
    assert "Traceback" not in log and "AssertionError" not in log
    assert any(line.startswith("{") and json.loads(line).get("status") == 400 for line in log.splitlines())
