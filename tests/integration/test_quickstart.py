"""``make run`` as a user runs it: a fresh directory, start, ready, use, Ctrl-C, and again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from deploy.seaweedfs.weedtools import free_ports

ROOT = Path(__file__).resolve().parents[2]


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


def _stop(process: subprocess.Popen[str]) -> list[str]:
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 0, out
    return out.splitlines()


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
    ports = free_ports(3)
    process, lines = _start(local, ports)
    text = "\n".join(lines)
    assert "filled bucket" in text and "created development key" in text
    assert f"http://127.0.0.1:{ports[1]}/demo/" in text
    _use(f"http://127.0.0.1:{ports[1]}")
    tail = _stop(process)
    assert tail[-1] == "stopped."
    for port in ports:
        try:
            requests.get(f"http://127.0.0.1:{port}/", timeout=1)
            raise AssertionError(f"port {port} still answers after Ctrl-C")
        except requests.ConnectionError:
            pass
    # Running it again reuses the data and the key.
    process, lines = _start(local, ports)
    assert not any("filled bucket" in line or "created development key" in line for line in lines)
    _use(f"http://127.0.0.1:{ports[1]}")
    _stop(process)
