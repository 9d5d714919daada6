"""The image, built here with podman (deploy/docker/image.py, ``make image``) and run as Kubernetes
runs it: as uid 10001, root filesystem read-only, a tmpfs /tmp, the shipped ConfigMap's settings
and the keys mounted read-only as the kubelet projects them.  Its HEALTHCHECK must pass, the keys
must load, and keys its group cannot read must stop it with one line.

The container has no network (``--network none``): every request is made inside it, on its own
loopback, the way its HEALTHCHECK makes one.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from deploy.docker import image
from tests.deploy.kubelet import DEPLOY, PodIdentity, project_secret, shipped_identity

SHIPPED = shipped_identity()
AWS_ENV = ["-e", "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "-e", "AWS_SECRET_ACCESS_KEY=not-a-real-secret"]


def _why_podman_cannot_run() -> str:
    if shutil.which("podman") is None:
        return "podman is not installed (make install installs it from Debian's packages)"
    if os.geteuid() != 0:
        return "the image is built and run with rootful podman (debootstrap needs root too)"
    info = subprocess.run([*image.podman(), "info"], capture_output=True, text=True)
    if info.returncode != 0:
        return f"podman cannot run here: {info.stderr.strip()[-300:]}"
    return ""


@pytest.fixture(scope="module")
def built() -> str:
    if reason := _why_podman_cannot_run():
        pytest.skip(reason)
    return image.build(image.IMAGE, image.BASE)


@pytest.fixture
def mounts() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="image-test-"))
    (path / "config").mkdir()
    (config,) = yaml.safe_load_all((DEPLOY / "kubernetes" / "configmap.yaml").read_text())
    for name, text in config["data"].items():  # what the ConfigMap volume shows at /config
        (path / "config" / name).write_text(text)
    made = subprocess.run(
        [sys.executable, "-m", "gateway", "keys", "init", "--keys", str(path / "source")], capture_output=True
    )
    assert made.returncode == 0, made.stderr
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _project(mounts: Path, identity: PodIdentity) -> Path:
    files = {p.name: p.read_bytes() for p in (mounts / "source").iterdir()}
    project_secret(mounts / "keys", files, identity.key_mode, identity.fs_group)
    return mounts / "keys"


def _podman(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*image.podman(), *args], capture_output=True, text=True, timeout=timeout)


def _run_args(mounts: Path, name: str) -> list[str]:
    return [
        "--name",
        name,
        "--network",
        "none",
        "--read-only",
        "--read-only-tmpfs=false",  # only what the Deployment mounts is writable: /tmp
        "--tmpfs",
        "/tmp:size=16m",
        "--cap-drop",
        "all",
        "--security-opt",
        "no-new-privileges",
        *image.RUN_LIMITS,
        *AWS_ENV,
        "--volume",
        f"{mounts / 'keys'}:/keys:ro",
        "--volume",
        f"{mounts / 'config'}:/config:ro",
    ]


def _inside(name: str, code: str) -> str:
    done = _podman("exec", name, "python", "-c", code)
    assert done.returncode == 0, done.stderr
    return done.stdout


GET = (
    "import sys, urllib.request, urllib.error\n"
    "try:\n    r = urllib.request.urlopen(sys.argv[1], timeout=5)\n"
    "except urllib.error.HTTPError as e:\n    r = e\n"
    "print(r.status); print(r.read().decode())\n"
)


def _get(name: str, url: str) -> tuple[int, str]:
    done = _podman("exec", name, "python", "-c", GET, url)
    assert done.returncode == 0, done.stderr
    status, body = done.stdout.split("\n", 1)
    return int(status), body


def test_image_runs_as_kubernetes_runs_it(built: str, mounts: Path) -> None:
    _project(mounts, SHIPPED)
    config = json.loads(_podman("image", "inspect", built).stdout)[0]["Config"]
    assert config["User"] == f"{SHIPPED.uid}:{SHIPPED.gid}"
    name = f"cdn-gateway-test-{uuid.uuid4().hex[:8]}"
    started = _podman("run", "--detach", *_run_args(mounts, name), built, "--workers", "1")
    assert started.returncode == 0, started.stderr
    try:
        deadline = time.monotonic() + 60
        while (health := _podman("healthcheck", "run", name)).returncode != 0:
            state = _podman("inspect", "--format", "{{.State.Status}}", name).stdout.strip()
            assert state == "running" and time.monotonic() < deadline, _podman("logs", name).stderr
            time.sleep(1)
        # The image's own HEALTHCHECK command ran inside the container and passed.
        health_state = _podman("inspect", "--format", "{{.State.Health.Status}}", name).stdout
        assert health_state.strip() == "healthy", health.stdout + health.stderr
        assert _inside(name, "import os; print(os.getuid(), os.getgid())").split() == [
            str(SHIPPED.uid),
            str(SHIPPED.gid),
        ]
        # Nothing outside /tmp is writable, not even for a process of the image's own user.
        refused = _podman("exec", name, "python", "-c", "open('/opt/venv/x', 'w')")
        assert refused.returncode != 0 and "Read-only file system" in refused.stderr
        # The mounted keys loaded: the keyring's active key is published at /v1/keys, and
        # /readyz says the gateway can sign (503 only when it cannot).
        active = json.loads((mounts / "source" / "keyring.json").read_text())["active"]
        status, keys = _get(name, "http://127.0.0.1:8080/v1/keys")
        assert status == 200 and active in keys, keys
        status, ready = _get(name, "http://127.0.0.1:8080/readyz")
        assert status == 200, ready
        # Settings came from the mounted ConfigMap: /metrics alone on its metrics_port.
        status, metrics = _get(name, "http://127.0.0.1:9090/metrics")
        assert status == 200 and "gateway_requests_total" in metrics
    finally:
        _podman("rm", "--force", "--time", "10", name)


def test_image_refuses_keys_its_group_cannot_read(built: str, mounts: Path) -> None:
    """The old manifest's layout (0400, root's, no fsGroup): one line, exit 2, no crash loop noise."""
    _project(mounts, PodIdentity(SHIPPED.uid, SHIPPED.gid, fs_group=None, key_mode=0o400))
    name = f"cdn-gateway-test-{uuid.uuid4().hex[:8]}"
    started = _podman("run", "--detach", *_run_args(mounts, name), built, "--workers", "1")
    assert started.returncode == 0, started.stderr
    try:
        # podman's own complaints (no systemd for health timers) stay out of the container's log.
        assert _podman("wait", name).stdout.strip() == "2"
        lines = _podman("logs", name).stderr.strip().splitlines()
        assert len(lines) == 1 and "/keys/keyring.json cannot be read (Permission denied)" in lines[0], lines
    finally:
        _podman("rm", "--force", name)
