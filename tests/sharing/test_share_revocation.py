"""With revocation on, a share grant carries a tag of its own (the share bit set), deleting the
share revokes exactly its grantees' tags, and other users' grants for the same prefix keep theirs
(docs/design.md, "Sharing" and "Revocation")."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

from pytest_aiohttp import AiohttpClient

from gateway.common.revocation import is_share, tag_of
from gateway.service.app import create_app
from gateway.sharing.revocation_settings import RevocationSettings
from gateway.sharing.store import open_store
from gateway.signing.encoding import cf_b64decode
from tests.gateway.conftest import bearer
from tests.sharing.support import share, sharing_settings


def _tag(url: str) -> int | None:
    policy = json.loads(cf_b64decode(url.split("Policy=")[1].split("&")[0]))
    return tag_of(policy["Statement"][0]["Condition"]["DateGreaterThan"]["AWS:EpochTime"])


async def test_deleting_a_share_revokes_its_grants_only(
    aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path
) -> None:
    settings = sharing_settings(tmp_path, keyring_dir)
    revocation = RevocationSettings(enabled=True)  # tags and revocations in the share store
    client = await aiohttp_client(create_app(dataclasses.replace(settings, revocation=revocation)))
    made = await share(client, "alice", {"prefix": "users/alice/album7/", "with": {"user": "bob"}})
    await share(client, "alice", {"prefix": "users/alice/album7/", "with": {"user": "carol"}})

    async def url(who: str) -> str:
        response = await client.get("/v1/signed-url?path=users/alice/album7/p.jpg", headers=bearer(who))
        assert response.status == 200
        return str((await response.json())["url"])

    bob, carol = _tag(await url("bob")), _tag(await url("carol"))
    assert bob is not None and carol is not None and bob != carol and is_share(bob) and is_share(carol)
    assert _tag(await url("bob")) == bob  # stable within the window
    own = await client.get("/v1/signed-url?path=users/alice/album7/p.jpg", headers=bearer("alice"))
    alice = _tag((await own.json())["url"])
    assert alice is not None and not is_share(alice)  # her own rule grant
    assert (await client.delete(f"/v1/shares/{made['id']}", headers=bearer("alice"))).status == 204
    store = open_store(settings.sharing)
    try:
        revoked = await store.revoked(int(time.time()))
    finally:
        await store.close()
    assert bob in revoked and carol not in revoked and alice not in revoked
    missing = await client.get("/v1/signed-url?path=users/alice/album7/p.jpg", headers=bearer("bob"))
    assert missing.status == 403
    assert _tag(await url("carol")) == carol
