"""A share widens reads only, exactly like a rule, for exactly its prefix or object: cookies,
signed URLs, the redirect and temporary credentials honour it; uploads and deletes never do;
expired, deleted and unshareable shares give nothing; the store down refuses share-based access
with 503 while rule-based access goes on (docs/design.md, "Sharing")."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from pytest_aiohttp import AiohttpClient

from gateway.service.app import create_app
from gateway.signing.encoding import cf_b64decode
from tests.gateway.conftest import bearer, free_port
from tests.sharing.support import Client, cookies, share, sharing_settings, signed_url


@pytest.fixture
async def client(
    aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path, backend_dsn: str
) -> Client:
    return await aiohttp_client(create_app(sharing_settings(tmp_path, keyring_dir, backend_dsn)))


def _policy_expires(url: str) -> int:
    policy = url.split("Policy=")[1].split("&")[0] if "Policy=" in url else None
    if policy is None:
        return int(url.split("Expires=")[1].split("&")[0])
    document = json.loads(cf_b64decode(policy))
    return int(document["Statement"][0]["Condition"]["DateLessThan"]["AWS:EpochTime"])


async def test_a_prefix_share_opens_reads_of_exactly_that_prefix(client: Client) -> None:
    album = "users/alice/album7/"
    assert await signed_url(client, "bob", album + "p.jpg") == 403  # before: the rules refuse
    await share(client, "alice", {"prefix": album, "with": {"user": "bob"}})
    assert await signed_url(client, "bob", album + "p.jpg") == 200
    assert await signed_url(client, "bob", album + "deep/er/p.jpg") == 200
    assert await signed_url(client, "bob", "users/alice/other.jpg") == 403  # beside it
    assert await signed_url(client, "bob", "users/alice/album70/p.jpg") == 403  # a longer name
    assert await signed_url(client, "carol", album + "p.jpg") == 403  # someone else
    assert await signed_url(client, None, album + "p.jpg") == 401
    status, body = await cookies(client, "bob", album)
    assert status == 200 and body["prefix"] == album
    status, body = await cookies(client, "bob", album + "deep/")  # never nested: the share's prefix
    assert status == 200 and body["prefix"] == album
    assert (await cookies(client, "bob", "users/alice/"))[0] == 403
    redirect = await client.get(f"/v1/r/{album}p.jpg", headers=bearer("bob"), allow_redirects=False)
    assert redirect.status == 302 and album + "p.jpg" in redirect.headers["Location"]
    batch = await client.post(
        "/v1/signed-urls", json={"paths": [album + "a.jpg", "users/alice/b.jpg"]}, headers=bearer("bob")
    )
    results = (await batch.json())["results"]
    assert "url" in results[0] and results[1]["error"]["status"] == 403


async def test_a_share_never_opens_writes_or_deletes(client: Client) -> None:
    album = "users/alice/album7/"
    await share(client, "alice", {"prefix": album, "with": {"user": "bob"}})
    upload = await client.post(
        "/v1/uploads",
        json={"path": album + "new.png", "content_type": "image/png", "content_length": 10},
        headers=bearer("bob"),
    )
    assert upload.status == 403
    delete = await client.post("/v1/deletes", json={"path": album + "p.jpg"}, headers=bearer("bob"))
    assert delete.status == 403
    reshare = await client.post(
        "/v1/shares", json={"prefix": album, "with": {"user": "carol"}}, headers=bearer("bob")
    )
    assert reshare.status == 403  # a grantee cannot pass it on


async def test_an_object_share_opens_that_object_only(client: Client) -> None:
    await share(client, "alice", {"path": "users/alice/p.jpg", "with": {"user": "bob"}})
    assert await signed_url(client, "bob", "users/alice/p.jpg") == 200
    assert await signed_url(client, "bob", "users/alice/p.jpg.bak") == 403
    assert await signed_url(client, "bob", "users/alice/p.jp") == 403
    assert (await cookies(client, "bob", "users/alice/"))[0] == 403


async def test_a_share_stops_at_a_stricter_nested_rule(client: Client) -> None:
    await share(client, "alice", {"prefix": "users/alice/", "with": {"user": "bob"}})
    assert await signed_url(client, "bob", "users/alice/p.jpg") == 200
    assert await signed_url(client, "bob", "users/alice/private/p.jpg") == 403
    # users/alice/ as a whole would open users/alice/private/: no cookie for it, nor above it.
    assert (await cookies(client, "bob", "users/alice/"))[0] == 403
    status, body = await cookies(client, "bob", "users/alice/album/")
    assert status == 200 and body["prefix"] == "users/alice/album/"


async def test_group_and_anyone_shares(client: Client) -> None:
    await share(client, "alice", {"prefix": "users/alice/climb/", "with": {"group": "climbers"}})
    await share(client, "alice", {"path": "users/alice/pub.jpg", "with": {"anyone": True}})
    climber = bearer("bob", ["climbers"])
    assert (await client.get("/v1/signed-url?path=users/alice/climb/a.jpg", headers=climber)).status == 200
    assert await signed_url(client, "bob", "users/alice/climb/a.jpg") == 403  # not in the group
    assert await signed_url(client, "bob", "users/alice/climb/a.jpg", ["climbers2"]) == 403
    for who in ("bob", "carol", None):
        assert await signed_url(client, who, "users/alice/pub.jpg") == 200
    # A guest's grant from an anyone share lives no longer than any guest grant.
    guest = await (await client.get("/v1/signed-url?path=users/alice/pub.jpg")).json()
    assert guest["expires"] <= time.time() + 300


async def test_an_expiring_share_bounds_the_grant_and_then_gives_nothing(client: Client) -> None:
    made = await share(
        client, "alice", {"prefix": "users/alice/soon/", "with": {"user": "bob"}, "expires_in": 3}
    )
    response = await client.get("/v1/signed-url?path=users/alice/soon/a.jpg", headers=bearer("bob"))
    body = await response.json()
    assert response.status == 200 and body["expires"] <= made["expires"]
    assert _policy_expires(body["url"]) <= made["expires"]
    status, grant = await cookies(client, "bob", "users/alice/soon/")
    assert status == 200 and grant["expires"] <= made["expires"]
    await asyncio.sleep(max(0.0, made["expires"] - time.time()) + 0.2)
    assert await signed_url(client, "bob", "users/alice/soon/a.jpg") == 403
    assert (await cookies(client, "bob", "users/alice/soon/"))[0] == 403
    assert (await (await client.get("/v1/shares?with=me", headers=bearer("bob"))).json())["shares"] == []


async def test_a_deleted_share_gives_nothing(client: Client) -> None:
    made = await share(client, "alice", {"prefix": "users/alice/a/", "with": {"user": "bob"}})
    assert await signed_url(client, "bob", "users/alice/a/x.jpg") == 200
    assert (await client.delete(f"/v1/shares/{made['id']}", headers=bearer("alice"))).status == 204
    assert await signed_url(client, "bob", "users/alice/a/x.jpg") == 403
    assert (await cookies(client, "bob", "users/alice/a/"))[0] == 403


async def test_a_rule_no_longer_shareable_ends_its_shares(
    aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path
) -> None:
    settings = sharing_settings(tmp_path, keyring_dir)
    first = await aiohttp_client(create_app(settings))
    await share(first, "alice", {"prefix": "users/alice/a/", "with": {"user": "bob"}})
    assert await signed_url(first, "bob", "users/alice/a/x.jpg") == 200
    settings.rules_file.write_text(settings.rules_file.read_text().replace("shareable = true", ""))
    second = await aiohttp_client(create_app(settings))  # the operator's new rules, same store
    assert await signed_url(second, "bob", "users/alice/a/x.jpg") == 403


async def test_a_store_that_is_down_refuses_shared_reads_only(
    aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path
) -> None:
    nobody = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"  # nothing listens there
    settings = sharing_settings(tmp_path, keyring_dir, nobody, timeout_seconds=0.5)
    client = await aiohttp_client(create_app(settings))  # starts: the rules still serve
    assert await signed_url(client, "bob", "users/bob/p.jpg") == 200
    assert (await cookies(client, "bob", "users/bob/"))[0] == 200
    assert await signed_url(client, None, "public/p.jpg") == 200
    for answer in (
        await client.get("/v1/signed-url?path=users/alice/p.jpg", headers=bearer("bob")),
        await client.post("/v1/cookies", json={"prefix": "users/alice/"}, headers=bearer("bob")),
        await client.post(
            "/v1/shares", json={"prefix": "users/bob/", "with": {"anyone": True}}, headers=bearer("bob")
        ),
        await client.get("/v1/shares", headers=bearer("bob")),
        await client.delete("/v1/shares/AAAAAAAAAAAAAAAAAAAAAA", headers=bearer("bob")),
    ):
        assert answer.status == 503, await answer.text()
        assert answer.content_type == "application/problem+json"
        assert answer.headers["Retry-After"] == "5"
        assert "postgres" not in (await answer.text()).lower()  # the detail stays in the log
