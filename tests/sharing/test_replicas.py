"""Two gateway processes on one real PostgreSQL agree at once: a share made through one is
honoured by the other, a delete through one is refused by the other, and a delete racing grants
on the other replica leaves no grant made after it (docs/design.md, "Sharing")."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from gateway.common.config import Secret
from gateway.common.revocation import tag_of
from gateway.sharing.settings import SharingSettings
from gateway.sharing.store import open_store
from gateway.signing.encoding import cf_b64decode
from tests.gateway.conftest import bearer, gateway_process, write_config
from tests.sharing.support import SHARE_RULES


@pytest.fixture
def replicas(tmp_path: Path, keyring_dir: Path, pg_dsn: str) -> Iterator[tuple[str, str]]:
    config = write_config(tmp_path, keyring_dir)
    (tmp_path / "rules.toml").write_text(SHARE_RULES)
    with config.open("a") as toml:
        toml.write(f'[sharing]\nenabled = true\ndsn = "{pg_dsn}"\n')
    with gateway_process(config) as (first, _), gateway_process(config) as (second, _):
        yield first, second


def _signed_url(base: str, who: str, path: str) -> int:
    return requests.get(
        f"{base}/v1/signed-url", params={"path": path}, headers=bearer(who), timeout=10
    ).status_code


def test_a_share_made_or_deleted_through_one_replica_holds_on_the_other(replicas: tuple[str, str]) -> None:
    one, other = replicas
    made = requests.post(
        f"{one}/v1/shares",
        json={"prefix": "users/alice/album7/", "with": {"user": "bob"}},
        headers=bearer("alice"),
        timeout=10,
    )
    assert made.status_code == 201, made.text
    share = made.json()
    assert _signed_url(other, "bob", "users/alice/album7/p.jpg") == 200  # at once: no cache anywhere
    listed = requests.get(f"{other}/v1/shares?with=me", headers=bearer("bob"), timeout=10).json()
    assert [s["id"] for s in listed["shares"]] == [share["id"]]
    stranger = requests.delete(f"{other}/v1/shares/{share['id']}", headers=bearer("bob"), timeout=10)
    assert stranger.status_code == 404
    deleted = requests.delete(f"{other}/v1/shares/{share['id']}", headers=bearer("alice"), timeout=10)
    assert deleted.status_code == 204
    assert _signed_url(one, "bob", "users/alice/album7/p.jpg") == 403
    again = requests.delete(f"{one}/v1/shares/{share['id']}", headers=bearer("alice"), timeout=10)
    assert again.status_code == 404


def test_no_grant_starts_after_a_delete_on_another_replica(replicas: tuple[str, str]) -> None:
    one, other = replicas
    made = requests.post(
        f"{one}/v1/shares",
        json={"path": "users/alice/p.jpg", "with": {"user": "bob"}},
        headers=bearer("alice"),
        timeout=10,
    ).json()
    deleted_at: list[float] = []
    stop = threading.Event()
    seen: list[tuple[float, int]] = []

    def hammer() -> None:
        with requests.Session() as session:
            while not stop.is_set():
                started = time.monotonic()
                status = session.get(
                    f"{other}/v1/signed-url",
                    params={"path": "users/alice/p.jpg"},
                    headers=bearer("bob"),
                    timeout=10,
                ).status_code
                seen.append((started, status))

    with ThreadPoolExecutor(4) as pool:
        workers = [pool.submit(hammer) for _ in range(4)]
        time.sleep(0.5)
        response = requests.delete(f"{one}/v1/shares/{made['id']}", headers=bearer("alice"), timeout=10)
        deleted_at.append(time.monotonic())
        time.sleep(0.5)
        stop.set()
        for worker in workers:
            worker.result()
    assert response.status_code == 204
    before = [status for started, status in seen if started < deleted_at[0] - 0.2]
    after = [status for started, status in seen if started > deleted_at[0]]
    assert before and set(before) == {200}
    assert after and set(after) == {403}, sorted(set(after))


def test_every_grant_racing_a_delete_is_revoked_or_refused(
    tmp_path: Path, keyring_dir: Path, pg_dsn: str
) -> None:
    """With revocation on, grants handed out on one replica while the share is deleted through the
    other either carry a tag the delete revoked, or are refused: none is left working.  Each
    request comes from a new member of the group, so each needs a new tag made in the store, the
    step a delete can fall just before (the grant then reads the share again and refuses)."""
    config = write_config(tmp_path, keyring_dir)
    (tmp_path / "rules.toml").write_text(SHARE_RULES)
    with config.open("a") as toml:
        toml.write(f'[sharing]\nenabled = true\ndsn = "{pg_dsn}"\n[revocation]\nenabled = true\n')
    with gateway_process(config) as (one, _), gateway_process(config) as (other, _):
        made = requests.post(
            f"{one}/v1/shares",
            json={"prefix": "users/alice/a/", "with": {"group": "climbers"}},
            headers=bearer("alice"),
            timeout=10,
        ).json()
        stop = threading.Event()
        granted: list[str] = []
        refused: list[int] = []

        def hammer(n: int) -> None:
            with requests.Session() as session:
                for i in itertools.count():
                    if stop.is_set():
                        return
                    answer = session.get(
                        f"{other}/v1/signed-url",
                        params={"path": f"users/alice/a/{n}.jpg"},
                        headers=bearer(f"climber-{n}-{i}", ["climbers"]),
                        timeout=10,
                    )
                    if answer.status_code == 200:
                        granted.append(answer.json()["url"])
                    else:
                        refused.append(answer.status_code)

        with ThreadPoolExecutor(4) as pool:
            workers = [pool.submit(hammer, n) for n in range(4)]
            time.sleep(0.5)
            assert (
                requests.delete(
                    f"{one}/v1/shares/{made['id']}", headers=bearer("alice"), timeout=10
                ).status_code
                == 204
            )
            time.sleep(0.5)
            stop.set()
            for worker in workers:
                worker.result()
    assert granted and refused and set(refused) == {403}
    tags = {_tag(url) for url in granted}
    assert None not in tags

    async def revoked() -> set[int]:
        store = open_store(SharingSettings(dsn=Secret(pg_dsn)))
        try:
            return set(await store.revoked(int(time.time())))
        finally:
            await store.close()

    assert tags <= asyncio.run(revoked())


def _tag(url: str) -> int | None:
    policy = json.loads(cf_b64decode(url.split("Policy=")[1].split("&")[0]))
    return tag_of(policy["Statement"][0]["Condition"]["DateGreaterThan"]["AWS:EpochTime"])
