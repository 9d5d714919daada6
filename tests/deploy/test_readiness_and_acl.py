"""What the gateway does with the bucket the CloudFormation template makes (issue 14), against a real
SeaweedFS: a role that may only write and read under a prefix still finds S3 ready, and a presigned
POST form carries only the ACL a bucket with ACLs disabled accepts."""

from __future__ import annotations

import base64
import dataclasses
import json
import subprocess
import time
from pathlib import Path
from typing import Any

import requests
from aiohttp.test_utils import TestClient

from deploy.seaweedfs.weedtools import weed_binary
from devstack.seaweed import SeaweedFS
from gateway.service.app import create_app
from gateway.service.settings import Secret, Settings
from tests.conftest import stored
from tests.gateway.conftest import bearer, make_settings

LIMITED_KEY, LIMITED_SECRET = "AKIAPREFIXONLY000001", "prefix-only-secret-not-for-production"


def _limited_identity(seaweed: SeaweedFS, bucket: str) -> None:
    """Like the template's gateway role: PutObject/GetObject under users/ only, no ListBucket."""
    command = (
        f"s3.configure -user=gateway-{bucket} -access_key={LIMITED_KEY} -secret_key={LIMITED_SECRET} "
        f"-actions=Write:{bucket},Read:{bucket}/users/* -apply\n"
    )
    done = subprocess.run(
        [
            weed_binary(),
            "shell",
            f"-master=127.0.0.1:{seaweed.ports['master']}",
            f"-filer=127.0.0.1:{seaweed.ports['filer']}",
        ],
        input=command,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert LIMITED_KEY in done.stdout, done.stdout + done.stderr


def _limited(seaweed: SeaweedFS, bucket: str, tmp_path: Path, keyring_dir: Path) -> Settings:
    settings = make_settings(tmp_path, keyring_dir, seaweed, bucket)
    s3 = dataclasses.replace(
        settings.s3, access_key_id=Secret(LIMITED_KEY), secret_access_key=Secret(LIMITED_SECRET)
    )
    return dataclasses.replace(settings, s3=s3)


async def test_readiness_with_a_role_that_cannot_list(
    aiohttp_client: Any, seaweed: SeaweedFS, bucket: str, tmp_path: Path, keyring_dir: Path
) -> None:
    _limited_identity(seaweed, bucket)
    client: TestClient[Any, Any] = await aiohttp_client(
        create_app(_limited(seaweed, bucket, tmp_path, keyring_dir))
    )
    # The identity works where the role is allowed (the S3 server may take a moment to load it) ...
    answer = await client.post(
        "/v1/uploads",
        json={"path": "users/alice/r.png", "content_type": "image/png", "content_length": 3},
        headers=bearer("alice"),
    )
    assert answer.status == 200, await answer.text()
    upload = await answer.json()
    deadline = time.monotonic() + 20
    while (
        put := requests.put(upload["url"], data=b"abc", headers=upload["headers"], timeout=10)
    ).status_code != 200:
        assert time.monotonic() < deadline, put.text
        time.sleep(0.5)
    assert stored(seaweed, bucket, "users/alice/r.png") == b"abc"
    # ... and HeadBucket, which needs ListBucket, is refused: S3 answered, so it is reachable.
    ready = await (await client.get("/readyz")).json()
    assert ready == {"status": "ok", "checks": ready["checks"]} and ready["checks"]["s3"] == "ok", ready


async def test_readiness_tells_a_missing_bucket_from_a_refusal(
    aiohttp_client: Any, seaweed: SeaweedFS, tmp_path: Path, keyring_dir: Path
) -> None:
    client = await aiohttp_client(
        create_app(make_settings(tmp_path, keyring_dir, seaweed, "t-no-such-bucket"))
    )
    ready = await (await client.get("/readyz")).json()
    assert ready["status"] == "degraded" and ready["checks"]["s3"] == "down (no such bucket)", ready


async def test_post_form_acl_is_one_an_acl_disabled_bucket_accepts(
    aiohttp_client: Any, seaweed: SeaweedFS, bucket: str, tmp_path: Path, keyring_dir: Path
) -> None:
    """The template's bucket has Object Ownership "bucket owner enforced": S3 then refuses, with
    AccessControlListNotSupported, any request setting an ACL other than bucket-owner-full-control
    (S3 User Guide, "Troubleshooting" under Object Ownership).  SeaweedFS does not enforce that
    rule, so the field is checked here and the upload and the pin are checked live."""
    client = await aiohttp_client(create_app(make_settings(tmp_path, keyring_dir, seaweed, bucket)))
    answer = await client.post(
        "/v1/uploads",
        json={
            "path": "users/alice/f.png",
            "content_type": "image/png",
            "content_length": 3,
            "method": "POST",
        },
        headers=bearer("alice"),
    )
    assert answer.status == 200, await answer.text()
    form = await answer.json()
    policy = json.loads(base64.b64decode(form["fields"]["policy"]))
    accepted_with_acls_disabled = {"bucket-owner-full-control"}
    assert form["fields"].get("acl", "bucket-owner-full-control") in accepted_with_acls_disabled
    assert {"acl": form["fields"]["acl"]} in policy["conditions"]  # still pinned

    def post(**override: str) -> int:
        files = {"file": ("f.png", b"png", "image/png")}
        return requests.post(
            form["url"], data={**form["fields"], **override}, files=files, timeout=10
        ).status_code

    assert post(acl="public-read") == 403 and stored(seaweed, bucket, "users/alice/f.png") is None
    assert post() == 204 and stored(seaweed, bucket, "users/alice/f.png") == b"png"
