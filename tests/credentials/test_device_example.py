"""examples/device_credentials.py against the whole local stack as ``make run`` starts it (README,
"Temporary AWS credentials"): it prints the caller's own objects and S3's AccessDenied for another
user's prefix; botocore asks the gateway again before the credentials run out."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from devstack.stack import BUCKET, Stack, dev_token_secret
from gateway.service.auth import dev_token
from gateway.service.settings import AuthSettings, Secret
from tests.stackutil import ROOT, running_stack

EXAMPLE = ROOT / "examples" / "device_credentials.py"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("stack")) as stack:
        yield stack


def _token(stack: Stack, sub: str) -> str:
    return dev_token(AuthSettings(dev_secret=Secret(dev_token_secret(stack.config.local))), sub, [], ttl=600)


def test_readme_example_lists_own_objects_and_is_refused_another_users(stack: Stack) -> None:
    run = subprocess.run(
        [sys.executable, str(EXAMPLE), "--gateway", stack.config.edge_url, "--token", _token(stack, "alice")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert "own prefix users/alice/" in run.stdout
    assert "users/alice/albums/holiday/beach.jpg" in run.stdout  # the demo's sample photos
    assert "users/alice/albums/holiday/hills.jpg" in run.stdout
    assert "users/bob/" not in run.stdout.split("users/bob/:")[0]  # none of bob's keys listed
    assert "users/bob/: AccessDenied" in run.stdout


def test_example_fails_without_a_valid_token(stack: Stack) -> None:
    run = subprocess.run(
        [sys.executable, str(EXAMPLE), "--gateway", stack.config.edge_url, "--token", "not-a-token"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 1 and "401" in run.stderr


def _example() -> Any:
    spec = importlib.util.spec_from_file_location("device_credentials", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_credentials_refreshed_before_expiry_and_make_run_writes_own_prefix(stack: Stack) -> None:
    """900 s credentials are inside botocore's 15-minute refresh margin, so each request first
    asks the gateway again: the refresh path runs.  make run lets credentials write the caller's
    own prefix (credentials_write), never another's."""
    example = _example()
    gateway = example.Gateway(stack.config.edge_url, _token(stack, "alice"), 900)
    fetches: list[str] = []
    fetch = gateway.fetch

    def counted() -> Any:
        fetches.append("fetch")
        return fetch()

    gateway.fetch = counted
    s3 = example.s3_client(gateway)
    before = len(fetches)
    s3.put_object(Bucket=BUCKET, Key="users/alice/device.txt", Body=b"from a device")
    s3.get_object(Bucket=BUCKET, Key="users/alice/device.txt")
    assert before == 1 and len(fetches) >= 3
    with pytest.raises(ClientError) as refused:
        s3.put_object(Bucket=BUCKET, Key="users/bob/device.txt", Body=b"not mine")
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert stack.s3.client().get_object(Bucket=BUCKET, Key="users/alice/device.txt")["Body"].read() == (
        b"from a device"
    )
