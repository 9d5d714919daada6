"""Replaying an upload (issue 12 item 12), through the gateway's HTTP API and against SeaweedFS.

S3 has no conditional write for POST, so a form stays usable until it expires.  With
``checksum_sha256`` the form (and the PUT) pins the bytes: S3 answers ``BadDigest`` to any
others and keeps what is stored.  Without it, the README's exposure holds: any bytes of the
form's type and size range overwrite the key.  Both are asserted, so the README stays true.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pytest_aiohttp import AiohttpClient

from devstack.seaweed import SeaweedFS
from gateway.service.app import create_app
from tests.conftest import stored
from tests.gateway.conftest import bearer, make_settings

MINE = b"\x89PNG\r\n\x1a\n" + b"mine" * 6
EVIL = b"\x89PNG\r\n\x1a\n" + b"evil" * 6  # same type, same size: only the bytes differ


def sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


@pytest.fixture
async def gateway(
    aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path, seaweed: SeaweedFS, bucket: str
) -> Any:
    return await aiohttp_client(create_app(make_settings(tmp_path, keyring_dir, seaweed, bucket)))


async def _presign(gateway: Any, **body: Any) -> dict[str, Any]:
    response = await gateway.post("/v1/uploads", json=body, headers=bearer("alice"))
    assert response.status == 200, await response.text()
    answer: dict[str, Any] = await response.json()
    return answer


async def _post(form: dict[str, Any], data: bytes, drop: tuple[str, ...] = ()) -> tuple[int, str]:
    fields = aiohttp.FormData({k: v for k, v in form["fields"].items() if k not in drop})
    fields.add_field("file", data, filename="f.png", content_type="image/png")
    async with aiohttp.ClientSession() as s3, s3.post(form["url"], data=fields) as response:
        return response.status, await response.text()


async def test_a_pinned_post_form_replays_only_the_same_bytes(
    gateway: Any, seaweed: SeaweedFS, bucket: str
) -> None:
    key = "users/alice/pinned.png"
    form = await _presign(
        gateway,
        path=key,
        content_type="image/png",
        content_length=len(MINE),
        method="POST",
        checksum_sha256=sha256(MINE),
    )
    conditions = json.loads(base64.b64decode(form["fields"]["policy"]))["conditions"]
    assert {"x-amz-checksum-sha256": sha256(MINE)} in conditions
    assert ["content-length-range", len(MINE), len(MINE)] in conditions
    assert await _post(form, MINE) == (204, "")
    status, text = await _post(form, EVIL)  # the replay an eavesdropper would try
    assert status == 400 and "<Code>BadDigest</Code>" in text
    status, text = await _post(form, EVIL, drop=("x-amz-checksum-sha256", "x-amz-checksum-algorithm"))
    assert status == 403 and "<Code>AccessDenied</Code>" in text  # the policy requires the field
    assert stored(seaweed, bucket, key) == MINE
    assert (await _post(form, MINE))[0] == 204  # the same bytes again: harmless, and allowed
    assert stored(seaweed, bucket, key) == MINE


async def test_an_unpinned_post_form_can_be_replayed_until_it_expires(
    gateway: Any, seaweed: SeaweedFS, bucket: str
) -> None:
    """The documented exposure (README, uploads): without a checksum, any bytes of the form's
    content type and size range overwrite the key while the form lives."""
    key = "users/alice/open.png"
    form = await _presign(
        gateway, path=key, content_type="image/png", content_length=len(MINE), method="POST"
    )
    assert await _post(form, MINE) == (204, "")
    assert await _post(form, EVIL) == (204, "")
    assert stored(seaweed, bucket, key) == EVIL


async def test_a_pinned_put_refuses_other_bytes(gateway: Any, seaweed: SeaweedFS, bucket: str) -> None:
    key = "users/alice/put.png"
    put = await _presign(
        gateway, path=key, content_type="image/png", content_length=len(MINE), checksum_sha256=sha256(MINE)
    )
    assert put["headers"]["x-amz-checksum-sha256"] == sha256(MINE)
    async with aiohttp.ClientSession() as s3:
        async with s3.put(put["url"], data=EVIL, headers=put["headers"]) as response:
            assert response.status == 400 and "<Code>BadDigest</Code>" in await response.text()
        assert stored(seaweed, bucket, key) is None
        async with s3.put(put["url"], data=MINE, headers=put["headers"]) as response:
            assert response.status == 200
    assert stored(seaweed, bucket, key) == MINE


@pytest.mark.parametrize(
    ("value", "status"),
    [
        ("abc", 422),
        (base64.b64encode(b"\x00" * 31).decode(), 422),  # not 32 bytes
        (sha256(MINE).rstrip("="), 422),  # unpadded: S3 would compare another string
        (sha256(MINE)[:-2] + "\n=", 422),
        (hashlib.sha256(MINE).hexdigest(), 422),  # hex, not base64
        (12, 400),
    ],
)
async def test_a_malformed_checksum_is_refused(gateway: Any, value: Any, status: int) -> None:
    response = await gateway.post(
        "/v1/uploads",
        json={
            "path": "users/alice/x.png",
            "content_type": "image/png",
            "content_length": 5,
            "checksum_sha256": value,
        },
        headers=bearer("alice"),
    )
    assert response.status == status
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert "checksum_sha256" in (await response.json())["detail"]
