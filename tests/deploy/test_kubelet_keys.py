"""The key Secret as deployment.yaml has the kubelet project it starts the real gateway as the pod's
non-root user, and without the pod's group it fails with one clear line, not a crash loop of
tracebacks.

The directory is built exactly as the kubelet builds it (tests/deploy/kubelet.py): files owned by
root, group fsGroup, mode defaultMode | 0440, reached through ``..data`` symlinks.  The process
drops root for the pod's uid, gid and supplementary groups, as the container runtime does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

from deploy.seaweedfs.weedtools import free_ports
from tests.deploy.kubelet import DEPLOY, PodIdentity, can_run_as, project_secret, run_as, shipped_identity

SHIPPED = shipped_identity()
assert SHIPPED.fs_group is not None, "deployment.yaml must set fsGroup (the key files' group)"
FS_GROUP: int = SHIPPED.fs_group
# Credentials of no account: production refuses to start without any, and nothing here calls AWS.
AWS_ENV = {"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": "not-a-real-secret"}


@pytest.fixture
def pod_dir() -> Iterator[Path]:
    """A directory the pod's uid can traverse (pytest's own is root's, mode 0700)."""
    if reason := can_run_as(SHIPPED.uid, SHIPPED.gid):
        pytest.skip(reason)
    path = Path(tempfile.mkdtemp(prefix="kubelet-keys-"))
    os.chmod(path, 0o755)  # noqa: S103 - the pod's uid reads the settings here
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _layout(pod_dir: Path, identity: PodIdentity) -> Path:
    """keys init's keyring, projected as the Secret volume, and the shipped ConfigMap's settings."""
    source = pod_dir / "source"
    made = subprocess.run(
        [sys.executable, "-m", "gateway", "keys", "init", "--keys", str(source)], capture_output=True
    )
    assert made.returncode == 0, made.stderr
    files = {p.name: p.read_bytes() for p in source.iterdir()}
    shutil.rmtree(source)
    project_secret(pod_dir / "keys", files, identity.key_mode, identity.fs_group)
    (config,) = yaml.safe_load_all((DEPLOY / "kubernetes" / "configmap.yaml").read_text())
    (pod_dir / "rules.toml").write_text(config["data"]["rules.toml"])
    settings = (
        config["data"]["gateway.toml"]
        .replace('keys_dir = "/keys"', f'keys_dir = "{pod_dir / "keys"}"')
        .replace('"/config/rules.toml"', f'"{pod_dir / "rules.toml"}"')
        .replace("metrics_port = 9090", f"metrics_port = {free_ports(1)[0]}")
    )
    (pod_dir / "gateway.toml").write_text(settings)
    return pod_dir / "gateway.toml"


def _serve(config: Path, identity: list[str], port: int) -> list[str]:
    return [
        *identity,
        sys.executable,
        "-m",
        "gateway",
        "serve",
        "--config",
        str(config),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]


def test_projected_layout_is_what_the_kubelet_makes(pod_dir: Path) -> None:
    _layout(pod_dir, SHIPPED)
    keys = pod_dir / "keys"
    pem = next(p for p in keys.iterdir() if p.suffix == ".pem")
    assert pem.is_symlink() and os.readlink(pem) == f"..data/{pem.name}"
    assert (keys / "..data").is_symlink() and os.readlink(keys / "..data").startswith("..20")
    info = pem.stat()
    assert (info.st_uid, info.st_gid, info.st_mode & 0o7777) == (0, FS_GROUP, 0o440)


@pytest.mark.parametrize(
    "groups",
    [
        pytest.param("shipped", id="deployment.yaml: runAsGroup = fsGroup"),
        pytest.param("supplementary", id="fsGroup only a supplementary group"),
    ],
)
def test_gateway_starts_as_the_pod_user(pod_dir: Path, groups: str) -> None:
    config = _layout(pod_dir, SHIPPED)
    if groups == "shipped":
        identity = run_as(SHIPPED.uid, SHIPPED.gid, [FS_GROUP])
    else:  # what a platform choosing its own fsGroup (runAsGroup unset) gives the process
        identity = run_as(SHIPPED.uid, SHIPPED.uid + 7, [FS_GROUP])
    port = free_ports(1)[0]
    log_path = pod_dir / "serve.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            _serve(config, identity, port), env={**os.environ, **AWS_ENV}, stdout=log, stderr=log
        )
    try:
        deadline = time.monotonic() + 40
        while True:
            assert proc.poll() is None, log_path.read_text()
            try:
                ready = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=1)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.2)
        # 200 (ready or degraded: S3 and the identity provider are not reachable here) means the
        # private key was read: /readyz answers 503 when nothing can be signed.
        assert ready.status_code == 200, ready.text
        status = subprocess.run(
            ["ps", "-o", "uid=,gid=", "-p", str(proc.pid)], capture_output=True, text=True
        )
        assert status.stdout.split() == [str(SHIPPED.uid), identity[2].split("=")[1]]
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_without_the_group_it_fails_with_one_line(pod_dir: Path) -> None:
    config = _layout(pod_dir, SHIPPED)
    stranger = run_as(SHIPPED.uid, SHIPPED.uid + 7, [])  # the pod's uid, but not in fsGroup
    done = subprocess.run(
        _serve(config, stranger, free_ports(1)[0]),
        env={**os.environ, **AWS_ENV},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert str(pod_dir / "keys") in lines[0] and "ermission denied" in lines[0], lines[0]


def test_old_manifest_layout_is_refused_clearly(pod_dir: Path) -> None:
    """What deployment.yaml used to ask for (0400, root-owned, no fsGroup): uid 10001 cannot read."""
    old = PodIdentity(SHIPPED.uid, SHIPPED.gid, fs_group=None, key_mode=0o400)
    config = _layout(pod_dir, old)
    done = subprocess.run(
        _serve(config, run_as(old.uid, old.gid, []), free_ports(1)[0]),
        env={**os.environ, **AWS_ENV},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "ermission denied" in done.stderr, done.stderr
