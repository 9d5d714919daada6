"""A key directory laid out exactly as the kubelet projects a Secret volume, and the pod's identity.

The kubelet's atomic writer puts the files in a timestamped directory, points ``..data`` at it
and makes each visible name a symlink through ``..data``; an update writes a new timestamped
directory and swaps ``..data`` in one rename (pkg/volume/util/atomic_writer.go).  With ``fsGroup``
every file and directory is given that group and at least ``0440`` (directories also setgid and
group-exec), whatever ``defaultMode`` says (pkg/volume/volume_linux.go, SetVolumeOwnership;
kubernetes/kubernetes#57923).  The volume itself is a tmpfs owned by root.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


@dataclass(frozen=True)
class PodIdentity:
    """What the Deployment's securityContext gives the gateway's process, and the key volume."""

    uid: int
    gid: int
    fs_group: int | None  # None: no fsGroup in the pod's securityContext
    key_mode: int  # the Secret volume's defaultMode


def deployment_pod() -> dict[str, Any]:
    docs = list(yaml.safe_load_all((DEPLOY / "kubernetes" / "deployment.yaml").read_text()))
    pod: dict[str, Any] = docs[0]["spec"]["template"]["spec"]
    return pod


def shipped_identity() -> PodIdentity:
    pod = deployment_pod()
    context = pod["securityContext"]
    keys = next(v for v in pod["volumes"] if v["name"] == "keys")["secret"]
    return PodIdentity(
        context["runAsUser"], context["runAsGroup"], context.get("fsGroup"), keys["defaultMode"]
    )


def project_secret(volume: Path, files: dict[str, bytes], mode: int, fs_group: int | None) -> None:
    """Write ``files`` into ``volume`` as the kubelet does for a Secret (root owner, ``..data``)."""
    volume.mkdir(mode=0o777, exist_ok=True)
    os.chmod(volume, 0o1777)  # noqa: S103 - what the kubelet's tmpfs for a volume is
    stamp = time.strftime("..%Y_%m_%d_%H_%M_%S.", time.gmtime()) + f"{time.monotonic_ns() % 10**9:09d}"
    payload = volume / stamp
    payload.mkdir(mode=0o755)
    for name, data in files.items():
        path = payload / name
        path.write_bytes(data)
        os.chmod(path, mode)
    for path in (volume, payload, *(payload / n for n in files)):
        os.chown(path, 0, -1 if fs_group is None else fs_group)
        if fs_group is not None:  # SetVolumeOwnership: rw-less volumes get the read-only mask
            extra = 0o440 | (stat.S_ISGID | 0o110 if path.is_dir() else 0)
            os.chmod(path, stat.S_IMODE(path.stat().st_mode) | extra)
    os.symlink(stamp, volume / "..data_tmp")
    os.rename(volume / "..data_tmp", volume / "..data")
    for name in files:
        if not (volume / name).is_symlink():
            os.symlink(f"..data/{name}", volume / name)


def run_as(uid: int, gid: int, groups: list[int]) -> list[str]:
    """A command prefix that drops root for exactly that identity (no capabilities left)."""
    listed = ",".join(str(g) for g in groups) if groups else None
    return [
        "setpriv",
        f"--reuid={uid}",
        f"--regid={gid}",
        f"--groups={listed}" if listed else "--clear-groups",
        "--inh-caps=-all",
        "--",
    ]


def can_run_as(uid: int, gid: int) -> str:
    """Why this machine cannot run the gateway as that uid, or "" when it can."""
    if os.geteuid() != 0:
        return "needs root to project files owned by root and to switch to the pod's uid/gid"
    done = subprocess.run(
        [*run_as(uid, gid, []), sys.executable, "-c", "import gateway"], capture_output=True, text=True
    )
    if done.returncode != 0:
        return f"uid {uid} cannot run this Python ({done.stderr.strip()[-200:]})"
    return ""
