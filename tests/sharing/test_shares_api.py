"""/v1/shares over real HTTP, on SQLite and on a real PostgreSQL: the contract, owner isolation,
id guessing, sharing what you do not own, validation and pagination (docs/design.md, "Sharing")."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_aiohttp import AiohttpClient

from gateway.service.app import create_app
from gateway.sharing.model import ID_PATTERN, new_id
from tests.gateway.conftest import bearer
from tests.sharing.support import Client, share, sharing_settings


@pytest.fixture
async def client(
    aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path, backend_dsn: str
) -> Client:
    return await aiohttp_client(create_app(sharing_settings(tmp_path, keyring_dir, backend_dsn)))


async def test_a_share_is_made_listed_by_both_sides_and_deleted(client: Client) -> None:
    made = await share(
        client, "alice", {"prefix": "users/alice/album7/", "with": {"user": "bob"}, "expires_in": 600}
    )
    assert ID_PATTERN.match(made["id"]) and made["prefix"] == "users/alice/album7/"
    assert made["with"] == {"user": "bob"} and made["owner"] == "alice"
    assert made["expires"] == made["created"] + 600 and "path" not in made
    mine = await (await client.get("/v1/shares", headers=bearer("alice"))).json()
    assert mine == {"shares": [made], "next_cursor": None}
    theirs = await (await client.get("/v1/shares?with=me", headers=bearer("bob"))).json()
    assert theirs["shares"] == [made]
    for stranger in ("carol", "bob"):  # bob owns none; carol was given none
        listed = await (await client.get("/v1/shares", headers=bearer(stranger))).json()
        assert listed["shares"] == []
    assert (await (await client.get("/v1/shares?with=me", headers=bearer("carol"))).json())["shares"] == []
    response = await client.delete(f"/v1/shares/{made['id']}", headers=bearer("alice"))
    assert response.status == 204
    assert (await (await client.get("/v1/shares?with=me", headers=bearer("bob"))).json())["shares"] == []


async def test_share_ids_reveal_nothing_to_anyone_but_the_owner(client: Client) -> None:
    made = await share(client, "alice", {"path": "users/alice/p.jpg", "with": {"anyone": True}})
    ids = {made["id"]} | {
        (await share(client, "alice", {"path": f"users/alice/{i}.jpg", "with": {"anyone": True}}))["id"]
        for i in range(5)
    }
    assert len(ids) == 6  # 128 random bits each
    answers = []
    for who, share_id in [
        ("bob", made["id"]),  # someone else's
        ("alice", new_id()),  # never made
        ("alice", made["id"][:-1]),  # malformed
        ("alice", made["id"].swapcase()),  # a near miss
        ("alice", "x" * 5000),
    ]:
        response = await client.delete(f"/v1/shares/{share_id}", headers=bearer(who))
        answers.append((response.status, (await response.json())["detail"]))
    assert set(answers) == {(404, "no such share of yours")}, answers
    guest = await client.delete(f"/v1/shares/{made['id']}")
    assert guest.status == 401
    assert (await client.delete(f"/v1/shares/{made['id']}", headers=bearer("alice"))).status == 204
    again = await client.delete(f"/v1/shares/{made['id']}", headers=bearer("alice"))  # deleted: alike
    assert (again.status, (await again.json())["detail"]) == (404, "no such share of yours")


@pytest.mark.parametrize(
    ("owner", "target"),
    [
        ("alice", {"prefix": "users/bob/"}),  # someone else's
        ("alice", {"path": "users/bob/p.jpg"}),
        ("alice", {"prefix": "public/"}),  # readable by all, writable by none
        ("alice", {"prefix": "tiles/"}),
        ("alice", {"prefix": "users/"}),  # above the rule: other users' homes
        ("alice", {"prefix": "drafts/alice/"}),  # writable, but the rule is not shareable
        ("alice", {"prefix": "users/alice/private/"}),  # a nested rule that is not shareable
        ("alice", {"prefix": "nowhere/"}),  # no rule at all
    ],
)
async def test_only_what_you_may_write_under_a_shareable_rule_can_be_shared(
    client: Client, owner: str, target: dict[str, str]
) -> None:
    answer = await share(client, owner, {**target, "with": {"user": "bob"}}, status=403)
    assert answer["detail"].startswith("the access rules do not let you share this")


async def test_guests_cannot_share_or_list(client: Client) -> None:
    response = await client.post("/v1/shares", json={"prefix": "users/x/", "with": {"anyone": True}})
    assert response.status == 401
    assert (await client.get("/v1/shares")).status == 401
    assert (await client.get("/v1/shares?with=me")).status == 401


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({"with": {"user": "bob"}}, 400, "give exactly one of"),
        (
            {"prefix": "users/alice/", "path": "users/alice/a", "with": {"user": "bob"}},
            400,
            "give exactly one of",
        ),
        ({"prefix": "users/alice/"}, 400, "'with' is required"),
        ({"prefix": "users/alice", "with": {"user": "bob"}}, 422, "a prefix must end with '/'"),
        ({"path": "users/alice/dir/", "with": {"user": "bob"}}, 422, "a path names one object"),
        ({"path": "../etc/passwd", "with": {"user": "bob"}}, 422, ""),
        ({"prefix": "users/alice/", "with": {"user": "bob", "group": "x"}}, 422, "'with' must be one of"),
        ({"prefix": "users/alice/", "with": {}}, 422, "'with' must be one of"),
        ({"prefix": "users/alice/", "with": "bob"}, 422, "'with' must be one of"),
        ({"prefix": "users/alice/", "with": {"anyone": 1}}, 422, "anyone"),
        ({"prefix": "users/alice/", "with": {"anyone": False}}, 422, "anyone"),
        ({"prefix": "users/alice/", "with": {"everyone": True}}, 422, "must name a user"),
        ({"prefix": "users/alice/", "with": {"user": "a/b"}}, 422, "without '/'"),
        ({"prefix": "users/alice/", "with": {"user": ""}}, 422, "without '/'"),
        ({"prefix": "users/alice/", "with": {"group": ".."}}, 422, "without '/'"),
        ({"prefix": "users/alice/", "with": {"user": "b" * 257}}, 422, "without '/'"),
        ({"prefix": "users/alice/", "with": {"user": 7}}, 422, "without '/'"),
        ({"prefix": "users/alice/", "with": {"user": "alice"}}, 422, "you already read what you own"),
        ({"prefix": "users/alice/", "with": {"user": "bob"}, "expires_in": 0}, 422, "positive"),
        ({"prefix": "users/alice/", "with": {"user": "bob"}, "expires_in": -5}, 422, "positive"),
        ({"prefix": "users/alice/", "with": {"user": "bob"}, "expires_in": "60"}, 400, "integer"),
        ({"prefix": "users/alice/", "with": {"user": "bob"}, "expires_in": True}, 400, "integer"),
        ({"prefix": "users/alice/", "with": {"user": "bob"}, "expires_in": 1.5}, 400, "integer"),
    ],
)
async def test_bad_requests_get_a_precise_problem(
    client: Client, body: dict[str, object], status: int, detail: str
) -> None:
    response = await client.post("/v1/shares", json=body, headers=bearer("alice"))
    assert response.status == status
    assert response.content_type == "application/problem+json"
    assert detail in (await response.json())["detail"]


async def test_pages_follow_an_opaque_cursor(client: Client) -> None:
    made = [
        (await share(client, "alice", {"path": f"users/alice/{i}.jpg", "with": {"user": "bob"}}))["id"]
        for i in range(7)
    ]
    for query, who in (("", "alice"), ("with=me&", "bob")):
        seen: list[str] = []
        url = f"/v1/shares?{query}limit=3"
        pages = 0
        while True:
            body = await (await client.get(url, headers=bearer(who))).json()
            seen += [s["id"] for s in body["shares"]]
            pages += 1
            if body["next_cursor"] is None:
                break
            url = f"/v1/shares?{query}limit=3&cursor={body['next_cursor']}"
        assert sorted(seen) == sorted(made) and len(seen) == 7 and pages == 3
    for bad in (
        "limit=0",
        "limit=101",
        "limit=abc",
        "limit=1&limit=2",
        "cursor=nonsense",
        "cursor=" + "A" * 200,
        "with=you",
        "cursor=WzEsInh4Il0",
    ):
        response = await client.get(f"/v1/shares?{bad}", headers=bearer("alice"))
        assert response.status == 422, bad
        assert response.content_type == "application/problem+json"


async def test_an_owner_may_hold_only_so_many_shares(
    aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path, backend_dsn: str
) -> None:
    settings = sharing_settings(
        tmp_path, keyring_dir, backend_dsn, max_shares_per_owner=2, max_expires_in_seconds=60
    )
    client = await aiohttp_client(create_app(settings))
    await share(client, "alice", {"path": "users/alice/1", "with": {"user": "bob"}})
    too_long = await share(
        client, "alice", {"path": "users/alice/1", "with": {"user": "bob"}, "expires_in": 61}, 422
    )
    assert "at most 60 seconds" in too_long["detail"]
    await share(client, "alice", {"path": "users/alice/2", "with": {"user": "bob"}, "expires_in": 60})
    answer = await share(client, "alice", {"path": "users/alice/3", "with": {"user": "bob"}}, 422)
    assert "most live shares" in answer["detail"]


async def test_sharing_off_is_404(aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path) -> None:
    import dataclasses

    settings = sharing_settings(tmp_path, keyring_dir)
    client = await aiohttp_client(
        create_app(
            dataclasses.replace(settings, sharing=dataclasses.replace(settings.sharing, enabled=False))
        )
    )
    for method, url in (("POST", "/v1/shares"), ("GET", "/v1/shares"), ("DELETE", f"/v1/shares/{new_id()}")):
        response = await client.request(method, url, json={}, headers=bearer("alice"))
        assert response.status == 404 and "not enabled" in (await response.json())["detail"]
    assert not (tmp_path / "shares.sqlite3").exists()  # nothing is created when sharing is off


async def test_a_name_postgresql_cannot_store_is_nobody_not_an_outage(client: Client) -> None:
    """A token's sub or group may hold NUL, which PostgreSQL's text cannot: such a caller matches
    no named share (no grantee can hold one) but still gets anyone's, never a 5xx."""
    await share(client, "alice", {"path": "users/alice/pub.jpg", "with": {"anyone": True}})
    await share(client, "alice", {"path": "users/alice/p.jpg", "with": {"group": "climbers"}})
    odd = bearer("bob\x00", ["climbers\x00"])
    listed = await client.get("/v1/shares?with=me", headers=odd)
    assert listed.status == 200 and [s["path"] for s in (await listed.json())["shares"]] == [
        "users/alice/pub.jpg"
    ]
    assert (await client.get("/v1/shares", headers=odd)).status == 200
    assert (await client.get("/v1/signed-url?path=users/alice/pub.jpg", headers=odd)).status == 200
    assert (await client.get("/v1/signed-url?path=users/alice/p.jpg", headers=odd)).status == 403
    assert (await client.delete("/v1/shares/AAAAAAAAAAAAAAAAAAAAAA", headers=odd)).status == 404
