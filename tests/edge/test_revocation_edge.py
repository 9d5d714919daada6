"""Revocation at the local edge: a revoked grant is refused within seconds, cookies and signed URLs
alike, while another principal's grant for the same prefix keeps working; a stale list refuses share
grants only (fail closed), and an edge without a store checks nothing."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from devstack.seaweed import SeaweedFS
from gateway.common.config import Secret
from gateway.common.revocation import Tag, not_before
from gateway.edge.responses import denied
from gateway.edge.revocation import EdgeRevocation
from gateway.edge.settings import EdgeDebug
from gateway.sharing.backends import SqliteBackend
from gateway.sharing.settings import SharingSettings
from gateway.sharing.store import ShareStore, open_store
from gateway.signing.cloudfront import SignedPolicy, sign_policy
from gateway.signing.crypto import HashAlgorithm
from gateway.signing.encoding import cf_b64encode
from gateway.signing.policy import Policy
from gateway.signing.verify import ErrorCode
from tests.edge.conftest import SIGNER, base_url, cookie_header, edge_settings, get, start_edge

PATH = "/users/alice/a.txt"
DEADLINE = 5.0  # the bound: a revocation takes effect at the edge within 5 s


async def _edge(
    aiohttp_client: AiohttpClient, seaweed: SeaweedFS, bucket: str, keys: Path, store: Path, **more: Any
) -> TestClient[Any, Any]:
    settings = edge_settings(seaweed, bucket, keys)
    revocation = EdgeRevocation(store=Secret(store), poll_seconds=0.2, **more)
    return await start_edge(aiohttp_client, dataclasses.replace(settings, revocation=revocation))


def _grant(client: TestClient[Any, Any], tag: Tag | None, resource: str | None = None) -> SignedPolicy:
    expires = int(time.time()) + 600
    lower = not_before(tag) if tag is not None else int(time.time()) - 60
    policy = Policy.make_custom(resource or f"{base_url(client)}/users/alice/*", expires, lower)
    return sign_policy(policy, SIGNER, HashAlgorithm.SHA256)


async def _until(check: Callable[[], Awaitable[bool]], seconds: float = DEADLINE) -> float:
    started = time.monotonic()
    while not await check():
        assert time.monotonic() - started < seconds, "not within the deadline"
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def _is_denied(response: ClientResponse) -> bool:
    if response.status != 403:
        return False
    expected = denied(ErrorCode.ACCESS_DENIED)
    assert await response.text() == expected.text and response.headers["Server"] == "CloudFront"
    return True


async def _store(tmp_path: Path) -> ShareStore:
    """The share store the gateways write (its SQLite file: what the edge reads)."""
    store = open_store(SharingSettings(sqlite_file=tmp_path / "shares.sqlite3"))
    await store.start()
    return store


def _path(store: ShareStore) -> Path:
    backend = store.backend
    assert isinstance(backend, SqliteBackend)
    return backend.path


async def test_revoking_bob_refuses_his_cookies_and_urls_not_carols(
    aiohttp_client: AiohttpClient, seaweed: SeaweedFS, filled_bucket: str, keyring_dir: Path, tmp_path: Path
) -> None:
    store = await _store(tmp_path)
    now = int(time.time())
    bob = await store.tag("iss\0bob", "share:album7", True, now)
    carol = await store.tag("iss\0carol", "share:album7", True, now)
    edge = await _edge(aiohttp_client, seaweed, filled_bucket, keyring_dir, _path(store))
    bob_cookie, carol_cookie = cookie_header(_grant(edge, bob)), cookie_header(_grant(edge, carol))
    url = f"{base_url(edge)}{PATH}"
    bob_url, carol_url = _grant(edge, bob, url).url(url), _grant(edge, carol, url).url(url)
    for headers in (bob_cookie, carol_cookie):
        assert (await get(edge, PATH, headers=headers)).status == 200
    for signed in (bob_url, carol_url):
        assert (await edge.session.get(signed)).status == 200

    assert await store.revoke(now + 600, principal="iss\0bob") == {bob: now + 600}
    took = await _until(lambda: _check(get(edge, PATH, headers=bob_cookie)))
    assert took < DEADLINE
    assert await _is_denied(await edge.session.get(bob_url))
    assert (await get(edge, PATH, headers=carol_cookie)).status == 200  # the same prefix, another grantee
    assert (await edge.session.get(carol_url)).status == 200
    assert await (await get(edge, PATH, headers=carol_cookie)).read() == b"alice's file"


async def _check(response: Awaitable[ClientResponse]) -> bool:
    return await _is_denied(await response)


async def test_revoking_a_share_refuses_every_grantee_and_nothing_else(
    aiohttp_client: AiohttpClient, seaweed: SeaweedFS, filled_bucket: str, keyring_dir: Path, tmp_path: Path
) -> None:
    store = await _store(tmp_path)
    now = int(time.time())
    shared = [await store.tag(f"iss\0{who}", "share:s1", True, now) for who in ("bob", "carol")]
    own_rule = await store.tag("iss\0bob", "rule:users/{sub}/", False, now)
    edge = await _edge(aiohttp_client, seaweed, filled_bucket, keyring_dir, _path(store))
    await store.revoke(now + 600, source="share:s1")
    for tag in shared:
        headers = cookie_header(_grant(edge, tag))
        await _until(lambda headers=headers: _check(get(edge, PATH, headers=headers)))  # type: ignore[misc]
    assert (await get(edge, PATH, headers=cookie_header(_grant(edge, own_rule)))).status == 200
    # The pairs were forgotten: a grant made now carries a new tag, and works.
    again = await store.tag("iss\0bob", "share:s1", True, now)
    assert again not in shared
    assert (await get(edge, PATH, headers=cookie_header(_grant(edge, again)))).status == 200


async def test_a_revocation_ends_when_its_grants_would_have_expired(
    aiohttp_client: AiohttpClient, seaweed: SeaweedFS, filled_bucket: str, keyring_dir: Path, tmp_path: Path
) -> None:
    store = await _store(tmp_path)
    now = int(time.time())
    tag = await store.tag("iss\0bob", "share:s2", True, now)
    edge = await _edge(aiohttp_client, seaweed, filled_bucket, keyring_dir, _path(store))
    await store.revoke(now + 2, principal="iss\0bob")
    headers = cookie_header(_grant(edge, tag))
    await _until(lambda: _check(get(edge, PATH, headers=headers)))
    await _until(lambda: _ok(get(edge, PATH, headers=headers)), seconds=DEADLINE + 2)
    assert await store.expire(now + 3) == [tag]
    assert await store.revoked(now) == {}


async def _ok(response: Awaitable[ClientResponse]) -> bool:
    return (await response).status == 200


async def test_a_stale_list_refuses_share_grants_and_keeps_rule_grants(
    aiohttp_client: AiohttpClient, seaweed: SeaweedFS, filled_bucket: str, keyring_dir: Path, tmp_path: Path
) -> None:
    store = await _store(tmp_path)
    now = int(time.time())
    share = await store.tag("iss\0bob", "share:s3", True, now)
    rule = await store.tag("iss\0bob", "rule:users/{sub}/", False, now)
    edge = await _edge(
        aiohttp_client, seaweed, filled_bucket, keyring_dir, _path(store), max_stale_seconds=1.0
    )
    share_cookie, rule_cookie = cookie_header(_grant(edge, share)), cookie_header(_grant(edge, rule))
    untagged = cookie_header(_grant(edge, None))
    assert (await get(edge, PATH, headers=share_cookie)).status == 200
    _path(store).rename(_path(store).with_suffix(".gone"))  # the store is unreachable
    await _until(lambda: _check(get(edge, PATH, headers=share_cookie)))
    assert (await get(edge, PATH, headers=rule_cookie)).status == 200
    assert (await get(edge, PATH, headers=untagged)).status == 200
    _path(store).with_suffix(".gone").rename(_path(store))  # back: share grants work again
    await _until(lambda: _ok(get(edge, PATH, headers=share_cookie)))


async def test_an_edge_that_never_read_its_store_refuses_share_grants(
    aiohttp_client: AiohttpClient, seaweed: SeaweedFS, filled_bucket: str, keyring_dir: Path, tmp_path: Path
) -> None:
    edge = await _edge(aiohttp_client, seaweed, filled_bucket, keyring_dir, tmp_path / "missing.sqlite")
    from gateway.common.revocation import make_tag

    assert await _is_denied(await get(edge, PATH, headers=cookie_header(_grant(edge, make_tag(5, True)))))
    assert (await get(edge, PATH, headers=cookie_header(_grant(edge, make_tag(5, False))))).status == 200


async def test_a_viewer_cannot_move_a_revoked_grant_to_another_tag(
    aiohttp_client: AiohttpClient, seaweed: SeaweedFS, filled_bucket: str, keyring_dir: Path, tmp_path: Path
) -> None:
    """Tag forgery: the tag is inside the signed policy, so rewriting it (to a live tag, to no tag,
    or dropping DateGreaterThan) breaks the signature; only the gateway can make a tagged grant."""
    store = await _store(tmp_path)
    now = int(time.time())
    bob = await store.tag("iss\0bob", "share:s4", True, now)
    carol = await store.tag("iss\0carol", "share:s4", True, now)
    edge = await _edge(aiohttp_client, seaweed, filled_bucket, keyring_dir, _path(store))
    await store.revoke(now + 600, principal="iss\0bob")
    revoked = _grant(edge, bob)
    await _until(lambda: _check(get(edge, PATH, headers=cookie_header(revoked))))
    document = json.loads(revoked.policy_bytes)
    condition = document["Statement"][0]["Condition"]
    forged_docs = []
    for after in (not_before(carol), now - 60, None):
        forged = copy.deepcopy(document)
        if after is None:
            del forged["Statement"][0]["Condition"]["DateGreaterThan"]
        else:
            forged["Statement"][0]["Condition"]["DateGreaterThan"] = {"AWS:EpochTime": after}
        forged_docs.append(forged)
    assert condition["DateGreaterThan"] == {"AWS:EpochTime": not_before(bob)}
    for forged in forged_docs:
        cookies = dict(revoked.cookies())
        cookies["CloudFront-Policy"] = cf_b64encode(json.dumps(forged, separators=(",", ":")).encode())
        header = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
        assert await _is_denied(await get(edge, PATH, headers=header))  # the signature fails
    assert (await get(edge, PATH, headers=cookie_header(_grant(edge, carol)))).status == 200


async def test_in_development_the_edge_says_which_tag_was_revoked(
    aiohttp_client: AiohttpClient, seaweed: SeaweedFS, filled_bucket: str, keyring_dir: Path, tmp_path: Path
) -> None:
    store = await _store(tmp_path)
    now = int(time.time())
    bob = await store.tag("iss\0bob", "share:s5", True, now)
    await store.revoke(now + 600, principal="iss\0bob")
    settings = dataclasses.replace(
        edge_settings(seaweed, filled_bucket, keyring_dir),
        environment="development",
        debug=EdgeDebug(explain=True),
        revocation=EdgeRevocation(store=Secret(_path(store)), poll_seconds=0.2),
    )
    edge = await start_edge(aiohttp_client, settings)
    response = await get(edge, PATH, headers=cookie_header(_grant(edge, bob)))
    assert await _is_denied(response)
    assert response.headers["X-Edge-Explain"] == f"AccessDenied: grant tag {bob} is revoked"
