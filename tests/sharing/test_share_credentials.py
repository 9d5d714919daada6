"""Temporary credentials honour shares read only: GetObject on a shared prefix or object, never a
write, never past a nested rule, never for a share that ends before the credentials; the store
down vends them without shares (STS served by moto over real HTTP)."""

from __future__ import annotations

import dataclasses
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from moto.sts.models import sts_backends
from pytest_aiohttp import AiohttpClient

from gateway.credentials.policy import PolicyTooLarge, scope_for, session_policy, with_shares
from gateway.rules.access import Principal
from gateway.rules.load import parse_rules
from gateway.service.app import create_app
from gateway.service.settings import CredentialsSettings
from tests.gateway.conftest import bearer, free_port
from tests.sharing.support import SHARE_RULES, share, sharing_settings

ROLE = "arn:aws:iam::210987654321:role/media-uploader"


def _last_policy() -> dict[str, Any]:
    policy: dict[str, Any] = json.loads(list(sts_backends["210987654321"]["aws"].assumed_roles)[-1].policy)
    return policy


async def _client(
    aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path, moto: str, dsn: str = ""
) -> Any:
    settings = sharing_settings(tmp_path, keyring_dir, dsn, timeout_seconds=0.5)
    credentials = CredentialsSettings(
        mode="assume_role", role_arn=ROLE, endpoint_url=moto, timeout_seconds=2.0
    )
    return await aiohttp_client(create_app(dataclasses.replace(settings, credentials=credentials)))


async def test_credentials_read_what_is_shared_and_nothing_more(
    aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path, moto_endpoint: str
) -> None:
    client = await _client(aiohttp_client, tmp_path, keyring_dir, moto_endpoint)
    await share(client, "alice", {"prefix": "users/alice/album7/", "with": {"user": "bob"}})
    await share(client, "alice", {"path": "users/alice/p.jpg", "with": {"group": "climbers"}})
    await share(client, "alice", {"prefix": "users/alice/", "with": {"user": "bob"}})  # holds private/
    await share(client, "alice", {"path": "users/alice/soon.jpg", "with": {"user": "bob"}, "expires_in": 600})
    await share(client, "carol", {"path": "users/carol/c.jpg", "with": {"user": "dave"}})  # not bob's
    response = await client.post(
        "/v1/credentials", json={"duration_seconds": 900}, headers=bearer("bob", ["climbers"])
    )
    body = await response.json()
    assert response.status == 200, body
    assert body["shared"] == ["users/alice/album7/", "users/alice/p.jpg"]
    statements = _last_policy()["Statement"]
    shared = [
        s
        for s in statements
        if s["Effect"] == "Allow" and s["Action"] == "s3:GetObject" and "alice" in str(s)
    ]
    assert shared == [
        {
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": ["arn:aws:s3:::media/users/alice/album7/*", "arn:aws:s3:::media/users/alice/p.jpg"],
        }
    ]
    text = json.dumps(statements)
    assert "users/carol" not in text and "soon.jpg" not in text
    assert not any(
        "alice" in json.dumps(s) for s in statements if s["Action"] in ("s3:PutObject", "s3:DeleteObject")
    )


async def test_the_store_down_vends_credentials_without_shares(
    aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path, moto_endpoint: str
) -> None:
    nowhere = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    client = await _client(aiohttp_client, tmp_path, keyring_dir, moto_endpoint, nowhere)
    response = await client.post("/v1/credentials", json={}, headers=bearer("bob"))
    body = await response.json()
    assert response.status == 200 and body["shared"] == [] and "users/bob/" in body["prefixes"]["read"]


def test_shares_that_would_not_fit_are_left_out_not_the_rules() -> None:
    rules = parse_rules(tomllib.loads(SHARE_RULES))
    bob = Principal("bob", (), "")
    scope = with_shares(scope_for(rules, bob), rules, [f"users/alice/{i:04}.jpg" for i in range(200)])
    assert len(scope.shared) == 200
    with pytest.raises(PolicyTooLarge):  # the handler then drops shares until it fits
        session_policy(scope, "media")
    fitted = with_shares(
        scope_for(rules, bob), rules, ["users/alice/a/", "users/alice/a/b/", "users/alice/a/c.jpg"]
    )
    assert fitted.shared == ("users/alice/a/",)  # what a shared prefix holds is not listed twice
