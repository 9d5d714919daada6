"""Owner isolation (security cases 5, 8, 13, 14, 21): alice never obtains access to bob's prefix,
whatever spelling of the path she tries, on any endpoint."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from yarl import URL

from tests.gateway.conftest import bearer

Client = TestClient[web.Request, web.Application]

SPELLINGS = [
    "users/bob/a.png",
    "users/alice/../bob/a.png",
    "users/alice/%2e%2e/bob/a.png",
    "users/alice/%2E%2E/bob/a.png",
    "users/alice/%252e%252e/bob/a.png",
    "users/alice/..%2Fbob/a.png",
    "users//bob/a.png",
    "users/alice//../bob/a.png",
    "./users/bob/a.png",
    "/users/bob/a.png",
    "users\\bob\\a.png",
    "users/alice/..\\bob/a.png",
    "users/*/a.png",
    "users/alice/*",
    "users/ali?e/a.png",
    "users/alice/a.png?Policy=x",
    "users/ALICE/a.png",
    "users/alice\u0000/a.png",
    "users/alice\u202e/a.png",
    "users/a\u0301lice/a.png",  # NFD: a different S3 key from NFC
    "users/alice/" + "a" * 1100,
    "users/bob",
]


def _prefix(path: str) -> str:
    return path if path.endswith("/") else path + "/"


async def _all_refused(client: Client, path: str) -> None:
    alice = bearer("alice")
    answers = [
        await client.post("/v1/signed-urls", json={"paths": [path]}, headers=alice),
        await client.get("/v1/signed-url", params={"path": path}, headers=alice),
        await client.post("/v1/cookies", json={"prefix": _prefix(path)}, headers=alice),
        await client.post(
            "/v1/uploads",
            json={"path": path, "content_type": "image/png", "content_length": 3},
            headers=alice,
        ),
        await client.post(
            "/v1/uploads",
            json={"path": path, "content_type": "image/png", "method": "POST", "content_length": 3},
            headers=alice,
        ),
        await client.post("/v1/deletes", json={"path": path}, headers=alice),
    ]
    for response in answers:
        body: dict[str, Any] = await response.json(content_type=None)
        if response.status == 200 and "results" in body:
            assert "url" not in body["results"][0], path
        else:
            assert response.status in (400, 403, 413, 422), (path, response.status, body)
    # Sent as written: existing escapes are kept, so the server sees "%2e%2e" and "%252e" itself.
    target = URL(str(client.make_url("/v1/r/")) + quote(path, safe="/%"), encoded=True)
    redirect = await client.session.get(target, headers=alice, allow_redirects=False)
    assert redirect.status in (400, 403, 404, 422), (path, redirect.status)


@pytest.mark.parametrize("path", SPELLINGS)
async def test_alice_cannot_reach_bob(client: Client, path: str) -> None:
    await _all_refused(client, path)


async def test_sub_values_that_are_not_safe_segments_get_nothing(client: Client) -> None:
    # Security case 5: a token whose sub is "../bob" or "*" must not expand users/{sub}/.
    for sub in ["../bob", "*", "bob/x", ".", "..", "a?b", "x%2fy"]:
        response = await client.post("/v1/cookies", json={"prefix": "users/bob/"}, headers=bearer(sub))
        assert response.status == 403
        for prefix in ["users/", "users/*/", "users/../"]:
            response = await client.post("/v1/cookies", json={"prefix": prefix}, headers=bearer(sub))
            assert response.status in (403, 422)


async def test_group_rules_cover_only_member_groups(client: Client) -> None:
    ok = await client.post(
        "/v1/signed-urls",
        json={"paths": ["shared/red/a.png", "shared/blue/a.png"]},
        headers=bearer("dan", ["red", "../blue", "*"]),
    )
    results = (await ok.json())["results"]
    assert "url" in results[0] and results[1]["error"]["status"] == 403
