"""A gateway with sharing on (SQLite or PostgreSQL), over real HTTP, and shortcuts for shares."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from gateway.service.settings import Secret, Settings
from gateway.sharing.settings import SharingSettings
from tests.gateway.conftest import RULES, bearer, make_settings

Client = TestClient[web.Request, web.Application]
# The test rules, plus a writable prefix that is not shareable and a stricter rule nested in the
# shareable users/{sub}/ (only its owner reads users/<sub>/private/, whatever a share says).
SHARE_RULES = (
    RULES
    + """
[[rules]]
prefix = "drafts/{sub}/"
read = "authenticated"
write = "authenticated"
content_types = ["image/png"]

[[rules]]
prefix = "users/{sub}/private/"
read = "authenticated"
write = "authenticated"
content_types = ["image/png"]
"""
)


def sharing_settings(
    tmp_path: Path, keyring_dir: Path, dsn: str = "", rules: str = SHARE_RULES, **sharing: Any
) -> Settings:
    settings = make_settings(tmp_path, keyring_dir, None, "media")
    settings.rules_file.write_text(rules)
    store = SharingSettings(enabled=True, sqlite_file=tmp_path / "shares.sqlite3", **sharing)
    if dsn:
        store = dataclasses.replace(store, dsn=Secret(dsn))
    return dataclasses.replace(settings, sharing=store)


async def share(client: Client, owner: str, body: dict[str, Any], status: int = 201) -> dict[str, Any]:
    response = await client.post("/v1/shares", json=body, headers=bearer(owner))
    answer: dict[str, Any] = await response.json()
    assert response.status == status, answer
    return answer


async def signed_url(client: Client, who: str | None, path: str, groups: list[str] | None = None) -> int:
    headers = bearer(who, groups) if who else {}
    response = await client.get("/v1/signed-url", params={"path": path}, headers=headers)
    await response.read()
    return response.status


async def cookies(client: Client, who: str | None, prefix: str) -> tuple[int, dict[str, Any]]:
    headers = bearer(who) if who else {}
    response = await client.post("/v1/cookies", json={"prefix": prefix}, headers=headers)
    body: dict[str, Any] = await response.json()
    return response.status, body
