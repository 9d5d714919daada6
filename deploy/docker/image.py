"""Build the gateway's image with podman from deploy/docker/Dockerfile on a Debian base made here.

``python -m deploy.docker.image build`` (what ``make image`` runs):

1. the base, ``localhost/cdn-gateway-base:bookworm``, unless podman already has it: ``debootstrap
   --variant=minbase`` of Debian bookworm with ``python3`` and ``python3-venv`` (Python 3.11, as
   ``python:3.11-slim`` has) into ``.local/image/rootfs``, imported with ``podman import``;
2. the image, ``podman build --build-arg BASE=<that base>``: the same Dockerfile Docker users
   build on ``python:3.11-slim``.

No registry of images is needed: the Debian mirror comes from this machine's apt sources, and
the build's pip reaches the Python package index through the host's network.  The CA bundle
this machine trusts (``PIP_CERT``, else the system's) is handed to the build as a secret, so a
TLS-inspecting proxy works, and stays out of the layers.

Podman runs rootful with options that work where there is no systemd and no cgroup v2 of its own
(a CI machine, a VM with hybrid cgroups, no CAP_SYS_RESOURCE to raise limits): ``PODMAN_OPTS``
replaces them, for example with an empty string on a workstation.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "docker" / "Dockerfile"
IGNOREFILE = ROOT / "deploy" / "docker" / "Dockerfile.dockerignore"
BASE = "localhost/cdn-gateway-base:bookworm"
IMAGE = "localhost/cdn-gateway:dev"
WORK = ROOT / ".local" / "image"
# vfs needs no overlay support; cgroupfs and runc work without systemd and with hybrid cgroups,
# where crun refuses to start.
DEFAULT_OPTS = "--storage-driver vfs --cgroup-manager cgroupfs --runtime runc"
# Podman's default limits are above what an unprivileged sandbox may set; lower ones always work.
RUN_LIMITS = ["--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096"]
SYSTEM_CA = "/etc/ssl/certs/ca-certificates.crt"  # Debian's bundle of the CAs the machine trusts


def podman() -> list[str]:
    return ["podman", *shlex.split(os.environ.get("PODMAN_OPTS", DEFAULT_OPTS))]


def has_image(name: str) -> bool:
    return subprocess.run([*podman(), "image", "exists", name], capture_output=True).returncode == 0


def debian_mirror() -> list[str]:
    """The machine's own Debian mirror (deb822 or one-line sources), or none: debootstrap's default."""
    for path in (Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list")):
        if path.is_file():
            text = path.read_text()
            found = re.search(r"^URIs:\s*(\S+)", text, re.M) or re.search(
                r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+bookworm\s", text, re.M
            )
            if found:
                return [found.group(1)]
    return []


def make_base() -> None:
    if os.geteuid() != 0:
        sys.exit("image: debootstrap and rootful podman need root")
    rootfs = WORK / "rootfs"
    shutil.rmtree(rootfs, ignore_errors=True)
    WORK.mkdir(parents=True, exist_ok=True)
    print(f"image: debootstrap bookworm into {rootfs.relative_to(ROOT)} (about a minute)", flush=True)
    with open(WORK / "debootstrap.log", "wb") as log:
        done = subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                "--include=python3,python3-venv",
                "bookworm",
                str(rootfs),
                *debian_mirror(),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    if done.returncode != 0:
        sys.exit(f"image: debootstrap failed, see {WORK / 'debootstrap.log'}")
    for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for item in (rootfs / cache).glob("*"):
            if item.is_file():
                item.unlink()
    tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
    imported = subprocess.run(
        [*podman(), "import", "-", BASE], stdin=tar.stdout, capture_output=True, text=True
    )
    tar.wait()
    if imported.returncode != 0 or tar.returncode != 0:
        sys.exit(f"image: podman import failed: {imported.stderr.strip()}")
    shutil.rmtree(rootfs)


def build(tag: str, base: str) -> str:
    """Build ``tag`` on ``base`` (made first when it is ours and missing); return the image id."""
    if base == BASE and not has_image(BASE):
        make_base()
    # The CAs this machine trusts: pip inside the build trusts the same (a TLS-inspecting proxy's
    # too), where it would otherwise know only its own bundle.
    bundles = [os.environ.get(name, "") for name in ("PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")]
    ca = next((b for b in [*bundles, SYSTEM_CA] if b and Path(b).is_file()), "")
    secret = ["--secret", f"id=ca,src={ca}"] if ca else []
    print(f"image: building {tag} on {base}", flush=True)
    subprocess.run(
        [
            *podman(),
            "build",
            "--format",
            "docker",  # HEALTHCHECK is a Docker image field; the OCI format drops it
            "--network",
            "host",
            *RUN_LIMITS,
            *secret,
            "--ignorefile",
            str(IGNOREFILE),
            "--build-arg",
            f"BASE={base}",
            "--file",
            str(DOCKERFILE),
            "--tag",
            tag,
            "--quiet",
            str(ROOT),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    # vfs stores every layer whole: drop the previous builds' images now that nothing names them.
    subprocess.run([*podman(), "image", "prune", "--force"], check=True, stdout=subprocess.DEVNULL)
    found = subprocess.run(
        [*podman(), "image", "inspect", "--format", "{{.Id}}", tag], capture_output=True, text=True
    )
    return found.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.docker.image", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("build", help="build the image (and the Debian base when missing)")
    make.add_argument("--tag", default=IMAGE)
    make.add_argument("--base", default=BASE, help="another base, e.g. python:3.11-slim from a registry")
    sub.add_parser("base", help="make the Debian base again")
    args = parser.parse_args(argv)
    if args.command == "base":
        make_base()
        return 0
    image_id = build(args.tag, args.base)
    print(f"image: {args.tag} is {image_id[:12]}; run it as docs/operations.md 'In a container' shows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
