"""``make run`` as a user runs it: a fresh directory, start, ready, use, Ctrl-C, and again."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from deploy.seaweedfs.weedtools import port_free
from devstack.stack import STOP_SECONDS, Stack, StackConfig

ROOT = Path(__file__).resolve().parents[2]


def _ports() -> list[int]:
    """Gateway, edge and an S3 port whose four neighbours and their +10000 gRPC twins are free."""
    base = random.randrange(20000, 29000, 10)
    while not all(port_free(p) for offset in range(7) for p in (base + offset, base + offset + 10000)):
        base += 10
    return [base + 5, base + 6, base]


def _start(local: Path, ports: list[int]) -> tuple[subprocess.Popen[str], list[str]]:
    env = dict(
        os.environ,
        LOCAL_DIR=str(local),
        KEYS_DIR=str(local / "keys"),
        GATEWAY_PORT=str(ports[0]),
        EDGE_PORT=str(ports[1]),
        S3_PORT=str(ports[2]),
        PYTHONUNBUFFERED="1",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "devstack"],
        cwd=ROOT,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    lines: list[str] = []
    deadline = time.monotonic() + 120
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip())
        if "Press Ctrl-C" in line:
            return process, lines
    process.kill()
    raise AssertionError("make run did not become ready:\n" + "\n".join(lines))


def _stop(process: subprocess.Popen[str], within: float) -> list[str]:
    started = time.monotonic()
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 0, out
    assert time.monotonic() - started < within, out
    return out.splitlines()


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid:
                found.append(int(entry.name))
    return found


def _listening(pids: list[int]) -> set[tuple[str, int]]:
    """(address, port) of every listening TCP and bound UDP socket the processes hold."""
    inodes = set()
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            target = os.readlink(fd) if fd.is_symlink() else ""
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    found = set()
    for table, state in (("tcp", "0A"), ("tcp6", "0A"), ("udp", "07"), ("udp6", "07")):
        for row in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = row.split()
            if fields[3] == state and fields[9] in inodes:
                address, port = fields[1].split(":")
                shown = socket.inet_ntoa(bytes.fromhex(address)[::-1]) if len(address) == 8 else address
                found.add((shown, int(port, 16)))
    return found


def _use(edge: str) -> None:
    assert requests.get(f"{edge}/public/logo.png", timeout=5).status_code == 200
    assert requests.get(f"{edge}/tiles/0/0/0.png", timeout=5).status_code == 403
    page = requests.get(f"{edge}/demo/", timeout=5)
    assert page.status_code == 200 and "leaflet.js" in page.text
    assert requests.get(f"{edge}/demo/vendor/leaflet/leaflet.js", timeout=5).status_code == 200
    session = requests.Session()
    token = session.post(f"{edge}/demo/token", json={"sub": "demo"}, timeout=5).json()["token"]
    granted = session.post(
        f"{edge}/v1/cookies",
        json={"prefix": "tiles/"},
        timeout=5,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert granted.status_code == 200
    tile = session.get(f"{edge}/tiles/0/0/0.png", timeout=5)
    assert tile.status_code == 200 and tile.content.startswith(b"\x89PNG")


def test_make_run_starts_serves_and_stops(tmp_path: Path) -> None:
    local = tmp_path / "fresh"
    ports = _ports()
    process, lines = _start(local, ports)
    text = "\n".join(lines)
    assert "filled bucket" in text and "created development key" in text
    assert f"http://127.0.0.1:{ports[1]}/demo/" in text
    _use(f"http://127.0.0.1:{ports[1]}")

    # Issue 13: exactly the ports the README lists, all on loopback, and the banner says them.
    s3 = ports[2]
    listed = {ports[0], ports[1], *range(s3, s3 + 5), *range(s3 + 10000, s3 + 10005)}
    assert _listening(_children(process.pid)) == {("127.0.0.1", port) for port in listed}
    grpc = ", ".join(str(s3 + 10000 + i) for i in range(5))
    assert f"master {s3 + 1}, volume {s3 + 2}, filer {s3 + 3}, admin {s3 + 4}; gRPC {grpc}" in text

    # The printed dev-token and curl lines work as pasted, from the repository.
    command = next(line.strip() for line in lines if " dev-token " in line and "curl" not in line)
    assert command.endswith(f"dev-token --config {local}/gateway.toml --sub demo")
    curl = next(line.strip() for line in lines if line.strip().startswith("curl "))
    answer = subprocess.run(["bash", "-c", curl], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert answer.returncode == 0 and '"url": "http://127.0.0.1:' in answer.stdout, answer
    # make run turns revocation on: a signed-in caller's URL is custom, its policy holds the tag.
    assert "/tiles/0/0/0.png?Policy=" in answer.stdout

    tail = _stop(process, within=STOP_SECONDS + 3)
    assert tail[-1] == "stopped." and not any("killed" in line for line in tail)
    for port in ports:
        try:
            requests.get(f"http://127.0.0.1:{port}/", timeout=1)
            raise AssertionError(f"port {port} still answers after Ctrl-C")
        except requests.ConnectionError:
            pass

    # Running it again reuses the data and the key; a component that hangs on stop is killed at
    # once by a second Ctrl-C (SeaweedFS frozen with SIGSTOP here).
    process, lines = _start(local, ports)
    assert not any("filled bucket" in line or "created development key" in line for line in lines)
    _use(f"http://127.0.0.1:{ports[1]}")
    weed = next(pid for pid in _children(process.pid) if "weed" in Path(f"/proc/{pid}/cmdline").read_text())
    os.kill(weed, signal.SIGSTOP)
    process.send_signal(signal.SIGINT)
    time.sleep(1)
    second = time.monotonic()
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=60)
    assert time.monotonic() - second < 2, out
    assert "killed SeaweedFS (at once)" in out and out.rstrip().endswith("stopped."), out
    assert not Path(f"/proc/{weed}").exists() or "zombie" in Path(f"/proc/{weed}/status").read_text()


def test_one_ctrl_c_kills_what_does_not_stop_in_time(tmp_path: Path) -> None:
    """The first Ctrl-C waits STOP_SECONDS at most, then kills what still runs."""
    stack = Stack(StackConfig(root=ROOT, local=tmp_path))
    stubborn = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)",
        ],
        start_new_session=True,
    )
    polite = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    time.sleep(0.5)  # let the stubborn one install its handler
    for name, process in (("gateway", stubborn), ("edge", polite)):
        stack.processes.append(process)
        stack.names[process.pid] = name
    started = time.monotonic()
    assert stack.stop(grace=1.5) == ["gateway"]
    assert 1.5 <= time.monotonic() - started < 3
    assert stubborn.returncode == -signal.SIGKILL and polite.returncode == -signal.SIGTERM
