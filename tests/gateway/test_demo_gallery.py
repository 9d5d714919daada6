"""The gallery's demo routes over real HTTP: sign-in with groups, checked like ``sub``, and a
listing that names only the photos the caller may read, by the rules or a live share
(development only, like all of /demo/)."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import jwt
import pytest
from pytest_aiohttp import AiohttpClient

from devstack.demo_data import SAMPLE_SHARES, share_samples
from devstack.seaweed import SeaweedFS
from gateway.service.app import create_app
from gateway.service.settings import DemoSettings, Secret
from gateway.sharing.settings import SharingSettings
from tests.gateway.conftest import DEV_SECRET, bearer, free_port, make_settings, token

PHOTOS = ["users/alice/albums/trip/a.png", "users/alice/albums/trip/b.png", "users/bob/albums/x/c.png"]


async def _client(
    aiohttp_client: AiohttpClient,
    tmp_path: Path,
    keyring_dir: Path,
    seaweed: SeaweedFS,
    bucket: str,
    dsn: str = "",
) -> Any:
    settings = make_settings(tmp_path, keyring_dir, seaweed, bucket)
    sharing = SharingSettings(enabled=True, sqlite_file=tmp_path / "shares.sqlite3", timeout_seconds=0.5)
    settings = dataclasses.replace(
        settings,
        demo=DemoSettings(enabled=True, vendor_dir=tmp_path),
        sharing=dataclasses.replace(sharing, dsn=Secret(dsn)) if dsn else sharing,
    )
    s3 = seaweed.client()
    for key in [*PHOTOS, "public/p.png"]:
        s3.put_object(Bucket=bucket, Key=key, Body=b"\x89PNG", ContentType="image/png")
    return await aiohttp_client(create_app(settings))


@pytest.fixture
async def client(
    aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path, seaweed: SeaweedFS, bucket: str
) -> Any:
    return await _client(aiohttp_client, tmp_path, keyring_dir, seaweed, bucket)


async def test_sign_in_with_groups_reaches_group_prefixes(client: Any) -> None:
    answer = await client.post(
        "/demo/token", json={"sub": "bob", "groups": ["friends", "climbers", "friends"]}
    )
    assert answer.status == 200
    body = await answer.json()
    assert body["groups"] == ["climbers", "friends"]
    claims = jwt.decode(body["token"], DEV_SECRET, algorithms=["HS256"])
    assert claims["sub"] == "bob" and claims["groups"] == ["climbers", "friends"]
    # The test rules hold shared/{group}/: the group in the token is what opens it.
    headers = {"Authorization": f"Bearer {body['token']}"}
    signed = await client.get("/v1/signed-url?path=shared/climbers/x.png", headers=headers)
    assert signed.status == 200
    other = await client.get("/v1/signed-url?path=shared/divers/x.png", headers=headers)
    assert other.status == 403
    plain = await (await client.post("/demo/token", json={"sub": "bob"})).json()
    assert plain["groups"] == [] and "groups" not in jwt.decode(
        plain["token"], DEV_SECRET, algorithms=["HS256"]
    )


@pytest.mark.parametrize(
    "groups",
    [
        ["../x"],
        ["a/b"],
        [""],
        ["{sub}"],
        [".."],
        ["x" * 65],
        [7],
        [None],
        [f"g{i}" for i in range(9)],
    ],
)
async def test_sign_in_refuses_unsafe_groups(client: Any, groups: list[object]) -> None:
    answer = await client.post("/demo/token", json={"sub": "bob", "groups": groups})
    assert answer.status == 422 and answer.content_type == "application/problem+json"


async def test_sign_in_refuses_groups_that_are_not_a_list(client: Any) -> None:
    answer = await client.post("/demo/token", json={"sub": "bob", "groups": "friends"})
    assert answer.status == 400 and answer.content_type == "application/problem+json"


async def _listed(client: Any, prefix: str, who: str | None, groups: list[str] | None = None) -> list[str]:
    headers = bearer(who, groups) if who else {}
    answer = await client.get("/demo/photos", params={"prefix": prefix}, headers=headers)
    assert answer.status == 200 and answer.headers["Cache-Control"] == "no-store"
    return [photo["path"] for photo in (await answer.json())["photos"]]


async def test_listing_names_only_what_the_caller_may_read(client: Any) -> None:
    async def listed(prefix: str, who: str | None) -> list[str]:
        return await _listed(client, prefix, who)

    assert await listed("users/", "alice") == PHOTOS[:2]
    assert await listed("users/alice/albums/", "alice") == PHOTOS[:2]
    assert await listed("users/", "bob") == PHOTOS[2:]
    assert await listed("users/alice/", "bob") == []  # no share: not even the names
    assert await listed("users/", None) == []


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?prefix=public/",
        "?prefix=users/../",
        "?prefix=users",
        "?prefix=users/&prefix=users/alice/",
        "?prefix=/users/",
    ],
)
async def test_listing_refuses_bad_prefixes(client: Any, query: str) -> None:
    answer = await client.get(f"/demo/photos{query}", headers=bearer("alice"))
    assert answer.status == 422 and answer.content_type == "application/problem+json"


async def test_the_gallery_page_links_and_scripts(client: Any) -> None:
    page = await client.get("/demo/photos.html")
    assert page.status == 200
    text = await page.text()
    for script in ("session.js", "thumbs.js", "photos.js"):
        assert f"/demo/static/{script}" in text
        assert (await client.get(f"/demo/static/{script}")).status == 200
    for other in ("/demo/", "/demo/upload.html"):
        assert 'href="/demo/photos.html"' in await (await client.get(other)).text()


async def test_listing_follows_shares_as_they_come_and_go(client: Any) -> None:
    trip, public = "users/alice/albums/trip/", PHOTOS[0]

    async def share(body: dict[str, Any]) -> str:
        made = await client.post("/v1/shares", json=body, headers=bearer("alice"))
        assert made.status == 201
        return str((await made.json())["id"])

    album = await share({"prefix": trip, "with": {"user": "bob"}})
    await share({"path": public, "with": {"anyone": True}})
    await share({"path": PHOTOS[1], "with": {"group": "friends"}})
    assert await _listed(client, "users/", "bob") == PHOTOS  # the album, and his own
    assert await _listed(client, "users/", "carol") == [public]
    assert await _listed(client, "users/", "carol", ["friends"]) == PHOTOS[:2]
    assert await _listed(client, "users/", None) == [public]
    assert await _listed(client, "users/bob/", "alice") == []  # sharing is one way
    deleted = await client.delete(f"/v1/shares/{album}", headers=bearer("alice"))
    assert deleted.status == 204
    assert await _listed(client, "users/", "bob") == [public, PHOTOS[2]]


async def test_listing_fails_closed_when_the_share_store_is_down(
    aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path, seaweed: SeaweedFS, bucket: str
) -> None:
    nobody = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"  # nothing listens there
    client = await _client(aiohttp_client, tmp_path, keyring_dir, seaweed, bucket, nobody)
    answer = await client.get("/demo/photos", params={"prefix": "users/alice/"}, headers=bearer("bob"))
    assert answer.status == 503 and answer.content_type == "application/problem+json"
    assert answer.headers["Retry-After"] == "5"
    assert "postgres" not in (await answer.text()).lower()  # the detail stays in the log
    # Her own album needs the rules alone; all of users/ would need the store for bob's photo.
    assert await _listed(client, "users/alice/", "alice") == PHOTOS[:2]
    everyone = await client.get("/demo/photos", params={"prefix": "users/"}, headers=bearer("alice"))
    assert everyone.status == 503


async def test_sample_shares_are_made_once(client: Any) -> None:
    base = str(client.make_url("")).rstrip("/")
    made = [await asyncio.to_thread(share_samples, base, token) for _ in range(2)]
    assert made == [len(SAMPLE_SHARES), 0]
    for owner, body in SAMPLE_SHARES:
        listed = await (await client.get("/v1/shares", headers=bearer(owner))).json()
        assert [{key: share[key] for key in body} for share in listed["shares"]] == [body]
