"""Upload round trips: what /v1/uploads returns is enough to upload straight to S3 (SeaweedFS);
/v1/deletes removes it; wrong sizes and types are refused and nothing is stored."""

from __future__ import annotations

from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient

from devstack.seaweed import SeaweedFS
from tests.conftest import stored
from tests.gateway.conftest import bearer

Client = TestClient[web.Request, web.Application]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24


async def _upload(client: Client, **body: Any) -> dict[str, Any]:
    response = await client.post("/v1/uploads", json=body, headers=bearer("alice"))
    assert response.status == 200, await response.text()
    answer: dict[str, Any] = await response.json()
    return answer


async def test_put_round_trip_and_delete(client: Client, seaweed: SeaweedFS, bucket: str) -> None:
    answer = await _upload(
        client, path="users/alice/p.png", content_type="image/png", content_length=len(PNG)
    )
    assert answer["method"] == "PUT" and answer["headers"]["If-None-Match"] == "*"
    async with aiohttp.ClientSession() as s3:
        async with s3.put(answer["url"], data=PNG, headers=answer["headers"]) as put:
            assert put.status == 200
        async with s3.put(answer["url"], data=PNG, headers=answer["headers"]) as replay:
            assert replay.status == 412  # the same URL cannot overwrite
        assert stored(seaweed, bucket, "users/alice/p.png") == PNG
        deleted = await client.post(
            "/v1/deletes", json={"path": "users/alice/p.png"}, headers=bearer("alice")
        )
        delete = await deleted.json()
        assert delete["method"] == "DELETE"
        async with s3.delete(delete["url"]) as gone:
            assert gone.status == 204
    assert stored(seaweed, bucket, "users/alice/p.png") is None


async def test_post_form_round_trip(client: Client, seaweed: SeaweedFS, bucket: str) -> None:
    answer = await _upload(
        client, path="users/alice/f.png", content_type="image/png", method="POST", content_length=1024
    )
    assert answer["method"] == "POST" and answer["fields"]["key"] == "users/alice/f.png"
    async with aiohttp.ClientSession() as s3:
        form = aiohttp.FormData(answer["fields"])
        form.add_field("file", PNG, filename="f.png", content_type="image/png")
        async with s3.post(answer["url"], data=form) as posted:
            assert posted.status == 204, await posted.text()
        # The rule's 1 KiB limit is in the policy: S3 refuses more and stores nothing.
        big = aiohttp.FormData(dict(answer["fields"], key="users/alice/f.png"))
        big.add_field("file", b"x" * 2048, filename="f.png", content_type="image/png")
        async with s3.post(answer["url"], data=big) as refused:
            assert refused.status == 400 and "EntityTooLarge" in await refused.text()
        html = aiohttp.FormData(dict(answer["fields"], **{"Content-Type": "text/html"}))
        html.add_field("file", b"<script>", filename="x.html", content_type="text/html")
        async with s3.post(answer["url"], data=html) as refused:
            assert refused.status == 403
    assert stored(seaweed, bucket, "users/alice/f.png") == PNG


async def test_wrong_size_or_type_is_refused_by_s3(client: Client, seaweed: SeaweedFS, bucket: str) -> None:
    answer = await _upload(client, path="users/alice/s.png", content_type="image/png", content_length=10)
    async with aiohttp.ClientSession() as s3:
        async with s3.put(
            answer["url"], data=b"x" * 20, headers=dict(answer["headers"], **{"Content-Length": "20"})
        ) as r:
            assert r.status == 403
        headers = dict(answer["headers"], **{"Content-Type": "text/html"})
        async with s3.put(answer["url"], data=b"x" * 10, headers=headers) as r:
            assert r.status == 403
    assert stored(seaweed, bucket, "users/alice/s.png") is None


async def test_gateway_refuses_out_of_rule_uploads(client: Client) -> None:
    cases = [
        ({"path": "users/alice/a.svg", "content_type": "image/svg+xml", "content_length": 5}, 415),
        ({"path": "users/alice/a.html", "content_type": "text/html", "content_length": 5}, 415),
        ({"path": "users/alice/a.png", "content_type": "image/png", "content_length": 4096}, 413),
        ({"path": "users/alice/a.png", "content_type": "image/png", "content_length": 0}, 422),
        ({"path": "users/alice/a.png", "content_type": "image/png", "content_length": 1e30}, 400),
        ({"path": "users/alice/a.png", "content_type": "image/png", "content_length": True}, 400),
        ({"path": "users/alice/a.png", "content_type": "image/png"}, 400),
        ({"path": "users/alice/a.png", "content_type": "image/png", "method": "PATCH"}, 422),
        ({"path": "tiles/1.png", "content_type": "image/png", "content_length": 5}, 403),
        ({"path": "public/x.png", "content_type": "image/png", "content_length": 5}, 403),
    ]
    for body, status in cases:
        response = await client.post("/v1/uploads", json=body, headers=bearer("alice"))
        assert response.status == status, (body, await response.text())
    anonymous = await client.post("/v1/uploads", json=cases[0][0])
    assert anonymous.status == 401
    for path, status in [("users/bob/a.png", 403), ("tiles/1.png", 403), ("users/alice/a.png", 200)]:
        response = await client.post("/v1/deletes", json={"path": path}, headers=bearer("alice"))
        assert response.status == status
