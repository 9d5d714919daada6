"""What the key tests share: a fake clock, a fresh keyring, the invariants every step keeps, a
publisher that "dies" at a chosen step, and CloudFront on moto with a key group moto cannot update."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

from gateway.keys.keyring import KeyEntry, KeyState, init_keyring, load_keyring
from gateway.keys.lifecycle import Lifecycle
from gateway.keys.publish import LocalPublisher, Publisher
from gateway.signing.crypto import KeyAlgorithm


class Clock:
    """Time that moves only when the code under test sleeps; the sleeps are recorded."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def check_invariants(directory: Path) -> None:
    """What must hold whenever a command stops, even by kill -9."""
    keyring = load_keyring(directory)  # parses; the active key is published and loads
    active = [e for e in keyring.entries if e.state == KeyState.ACTIVE.value]
    assert len(active) == 1 and active[0].key_pair_id and active[0].key_pair_id in keyring.public_keys
    for entry in keyring.entries:
        path = directory / entry.file
        if entry.state == KeyState.RETIRED.value:
            assert not path.exists()
        else:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
    leftovers = [p.name for p in directory.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    directory = tmp_path / "keys"
    init_keyring(directory, KeyAlgorithm.RSA_2048, now=1_799_990_000)
    return directory


def lifecycle(keys: Path, clock: Clock, publisher: Publisher | None = None) -> Lifecycle:
    return Lifecycle(keys, publisher or LocalPublisher(), clock=clock, sleep=clock.sleep, say=lambda m: None)


class Crash(BaseException):
    """Stands for the process dying at this point (nothing after it runs)."""


class CrashingPublisher(LocalPublisher):
    def __init__(self, at: str) -> None:
        self.at = at

    def publish(self, entry: KeyEntry) -> str:
        if self.at == "publish":
            raise Crash
        return super().publish(entry)

    def add_to_group(self, key_pair_id: str) -> None:
        if self.at == "group":
            raise Crash

    def remove_from_group(self, key_pair_id: str) -> None:
        if self.at == "remove":
            raise Crash

    def wait_until_deployed(self) -> None:
        if self.at == "wait":  # killed while waiting for the key to propagate
            raise Crash


def rotate_process(keys: Path, wait: float) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "gateway", "keys", "rotate", "--keys", str(keys), "--wait", str(wait)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def cloudfront_client(endpoint: str | None = None) -> Any:
    return boto3.client(
        "cloudfront",
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


class KeyGroupClient:
    """The moto client, with the key group's items kept here: moto has no UpdateKeyGroup."""

    def __init__(self, client: Any, keys: Path) -> None:
        self.client = client
        self.group_id = client.create_key_group(KeyGroupConfig={"Name": "signers", "Items": []})["KeyGroup"][
            "Id"
        ]
        init_keyring(keys, KeyAlgorithm.RSA_2048)
        self.items = [load_keyring(keys).active.key_pair_id]

    def update_key_group(self, **kwargs: Any) -> dict[str, Any]:
        self.items[:] = kwargs["KeyGroupConfig"]["Items"]
        return {"KeyGroup": {"KeyGroupConfig": kwargs["KeyGroupConfig"]}, "ETag": "E2"}

    def get_key_group(self, **kwargs: Any) -> dict[str, Any]:
        answer: dict[str, Any] = self.client.get_key_group(**kwargs)
        answer["KeyGroup"]["KeyGroupConfig"]["Items"] = list(self.items)
        return answer

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)
