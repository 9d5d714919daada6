"""Everything a viewer sends besides the signature: Host and its forms, request-target forms,
forwarding headers, path spellings.  None of it may change which URL a signature is checked for
(issue: one ``Host`` header read a private object with the anonymous ``public/`` cookies)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from devstack.seaweed import SeaweedFS
from gateway.edge.settings import Behavior
from gateway.signing.cloudfront import SignedPolicy
from tests.edge.conftest import edge_settings, sign, start_edge
from tests.edge.rawhttp import RawResponse, request_bytes, send_raw

Client = TestClient[Any, Any]
BOB = b"bob's secret"


def _cookie(signed: SignedPolicy) -> str:
    return "; ".join(f"{k}={v}" for k, v in signed.cookies().items())


async def _raw(edge: Client, target: str, host: str | None, **kw: Any) -> RawResponse:
    port = edge.server.port
    assert port is not None
    return await send_raw(port, request_bytes(target, host, **kw))


def _authority(edge: Client) -> str:
    return f"127.0.0.1:{edge.server.port}"


async def test_host_header_cannot_move_a_grant_onto_another_prefix(edge: Client) -> None:
    """The reported attack: anonymous ``public/`` cookies and ``Host: <edge>/public``."""
    public = _cookie(sign(f"http://{_authority(edge)}/public/*"))
    for method in ("GET", "HEAD"):
        for host in (
            f"{_authority(edge)}/public",
            f"{_authority(edge)}/public/",
            f"{_authority(edge)}?/public",
        ):
            answer = await _raw(
                edge, "/users/bob/secret.txt", host, headers={"Cookie": public}, method=method
            )
            assert BOB not in answer.body and answer.status == 400, (method, host, answer)
    # The same cookies still do what they were made for.
    assert (
        await _raw(edge, "/public/logo.png", _authority(edge), headers={"Cookie": public})
    ).body == b"logo"


async def test_only_configured_distribution_urls_are_served(
    aiohttp_client: AiohttpClient, seaweed: SeaweedFS, filled_bucket: str, keyring_dir: Path
) -> None:
    edge = await start_edge(
        aiohttp_client, edge_settings(seaweed, filled_bucket, keyring_dir), "http://cdn.test"
    )
    bob_at_cdn = _cookie(sign("http://cdn.test/users/bob/*"))
    # The canonical spellings of the served host are the same distribution: same grant, same object.
    for host in ("cdn.test", "CDN.Test", "cdn.test.", "cdn.test:80", "CDN.TEST.:80"):
        answer = await _raw(edge, "/users/bob/secret.txt", host, headers={"Cookie": bob_at_cdn})
        assert answer.status == 200 and answer.body == BOB, host
    # A grant for one served URL is not a grant for another one, nor for a host the viewer invents.
    evil = _cookie(sign("http://evil.test/users/bob/*"))
    for host, cookie, status in [
        (_authority(edge), bob_at_cdn, 403),  # served, but the grant names cdn.test
        ("evil.test", evil, 403),  # not served at all: no signature is even looked at
        ("cdn.test:8080", bob_at_cdn, 403),
        ("user@cdn.test", bob_at_cdn, 400),
        ("cdn.test/users", bob_at_cdn, 400),
        ("cdn..test", bob_at_cdn, 400),
        ("[::1]", bob_at_cdn, 403),
        ("", bob_at_cdn, 400),
    ]:
        answer = await _raw(edge, "/users/bob/secret.txt", host, headers={"Cookie": cookie})
        assert answer.status == status and BOB not in answer.body, (host, answer.status)
    refused = await _raw(edge, "/users/bob/secret.txt", "evil.test", headers={"Cookie": evil})
    assert refused.headers["server"] == "CloudFront" and "x-amz-cf-id" in refused.headers
    # Forwarding headers from a viewer never choose the distribution or the verified URL.
    for name, value in [("X-Forwarded-Host", "cdn.test"), ("Forwarded", "host=cdn.test;proto=http")]:
        answer = await _raw(
            edge, "/users/bob/secret.txt", "evil.test", headers={name: value, "Cookie": bob_at_cdn}
        )
        assert answer.status == 403 and BOB not in answer.body
    port = edge.server.port
    assert port is not None
    # A duplicated Host, or none at all (HTTP/1.0), names no distribution.
    dup = b"GET /users/bob/secret.txt HTTP/1.1\r\nHost: evil.test\r\nHost: cdn.test\r\nConnection: close\r\n\r\n"
    assert (await send_raw(port, dup)).status == 400
    bare = request_bytes("/users/bob/secret.txt", None, headers={"Cookie": bob_at_cdn}, version="1.0")
    assert (answer := await send_raw(port, bare)).status == 400 and BOB not in answer.body


async def test_absolute_form_targets_use_their_own_authority(
    aiohttp_client: AiohttpClient, seaweed: SeaweedFS, filled_bucket: str, keyring_dir: Path
) -> None:
    edge = await start_edge(
        aiohttp_client, edge_settings(seaweed, filled_bucket, keyring_dir), "http://cdn.test"
    )
    bob = _cookie(sign("http://cdn.test/users/bob/*"))
    # RFC 9112 3.2.2: the target's authority decides and Host is ignored, both ways.
    ok = await _raw(edge, "http://cdn.test/users/bob/secret.txt", "evil.test", headers={"Cookie": bob})
    assert ok.status == 200 and ok.body == BOB
    for target, host in [
        ("http://evil.test/users/bob/secret.txt", "cdn.test"),
        (f"http://{_authority(edge)}/users/bob/secret.txt", "cdn.test"),
        ("https://cdn.test/users/bob/secret.txt", "cdn.test"),  # not the connection's scheme
        ("http://user@cdn.test/users/bob/secret.txt", "cdn.test"),
        ("http://cdn.test/users/bob/secret.txt#frag", "cdn.test"),
        ("*", "cdn.test"),
        ("cdn.test:80", "cdn.test"),
    ]:
        answer = await _raw(edge, target, host, headers={"Cookie": bob})
        assert answer.status in (400, 403, 404) and BOB not in answer.body, (target, answer.status)


async def test_scheme_comes_from_tls_or_a_trusted_proxy_only(
    aiohttp_client: AiohttpClient, seaweed: SeaweedFS, filled_bucket: str, keyring_dir: Path
) -> None:
    """Behind a TLS-terminating proxy the viewer asked for https://; a viewer cannot just say so."""
    base = edge_settings(seaweed, filled_bucket, keyring_dir)
    https_bob = _cookie(sign("https://cdn.test/users/bob/*"))
    proxied = dataclasses.replace(
        base, server=dataclasses.replace(base.server, trusted_proxies=("127.0.0.0/8",))
    )
    edge = await start_edge(aiohttp_client, proxied, "https://cdn.test")
    answer = await _raw(
        edge, "/users/bob/secret.txt", "cdn.test", headers={"Cookie": https_bob, "X-Forwarded-Proto": "https"}
    )
    assert answer.status == 200 and answer.body == BOB
    # The rightmost value is the nearest proxy's: a viewer's own "https" further left does not count.
    spoofed = {"Cookie": https_bob, "X-Forwarded-Proto": "https, http"}
    assert (await _raw(edge, "/users/bob/secret.txt", "cdn.test", headers=spoofed)).status == 403
    bad = {"Cookie": https_bob, "X-Forwarded-Proto": "gopher"}
    assert (await _raw(edge, "/users/bob/secret.txt", "cdn.test", headers=bad)).status == 400
    direct = await start_edge(aiohttp_client, base, "https://cdn.test")  # the peer is not trusted
    answer = await _raw(
        direct,
        "/users/bob/secret.txt",
        "cdn.test",
        headers={"Cookie": https_bob, "X-Forwarded-Proto": "https"},
    )
    assert answer.status == 403 and BOB not in answer.body


async def test_behaviours_match_the_decoded_path_that_names_the_object(
    aiohttp_client: AiohttpClient, seaweed: SeaweedFS, filled_bucket: str, keyring_dir: Path
) -> None:
    """``/users/*`` signed and ``*`` public: no spelling of a users/ path may take the public one."""
    settings = dataclasses.replace(
        edge_settings(seaweed, filled_bucket, keyring_dir),
        behaviors=(Behavior("/users/*"), Behavior("*", signed=False)),
    )
    edge = await start_edge(aiohttp_client, settings)
    for target in [
        "/%75sers/bob/secret.txt",
        "/%75%73%65%72%73/bob/secret.txt",
        "/users%2Fbob/secret.txt",
        "//users/bob/secret.txt",
        "/./users/bob/secret.txt",
        "/public/../users/bob/secret.txt",
        "/public/%2e%2e/users/bob/secret.txt",
        "/x/..%2Fusers/bob/secret.txt",
    ]:
        answer = await _raw(edge, target, _authority(edge))
        assert BOB not in answer.body and answer.status in (400, 403), (target, answer.status)
    assert (await _raw(edge, "/public/logo.png", _authority(edge))).body == b"logo"
    assert (await _raw(edge, "/p%75blic/logo.png", _authority(edge))).body == b"logo"
    assert (await _raw(edge, "/users/%ff/x", _authority(edge))).status == 400  # not UTF-8


async def test_every_answer_names_its_request(edge: Client) -> None:
    ids = set()
    for target in ("/public/logo.png", "/users/bob/secret.txt", "/public/none"):
        answer = await _raw(edge, target, _authority(edge))
        ids.add(answer.headers["x-amz-cf-id"])
    assert len(ids) == 3
