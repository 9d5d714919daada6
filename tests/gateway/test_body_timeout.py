"""Issue 12 item 4: a stalled or trickling request body gets 408 within
``server.body_timeout_seconds``, and a client that goes away mid-body is counted as nginx's 499
(one info line, no traceback, never a 500).  Real sockets against a real ``cdn-gateway serve``."""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.gateway.conftest import bearer, gateway_process, write_config

BOUND = 2.0  # server.body_timeout_seconds in these tests
HEAD = (
    "POST /v1/cookies HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
    "Authorization: {auth}\r\nContent-Length: {length}\r\n\r\n"
)


@pytest.fixture
def gateway(tmp_path: Path, keyring_dir: Path) -> Iterator[tuple[str, Path]]:
    config = write_config(tmp_path, keyring_dir)
    config.write_text(config.read_text().replace("[server]\n", f"[server]\nbody_timeout_seconds = {BOUND}\n"))
    with gateway_process(config) as (base, _):
        yield base, tmp_path / f"serve-{base.rsplit(':', 1)[1]}.log"


def _connect(base: str) -> socket.socket:
    host, port = base.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=BOUND + 5)


def _head(length: int) -> bytes:
    return HEAD.format(auth=bearer("alice")["Authorization"], length=length).encode()


def _response(sock: socket.socket) -> tuple[bytes, bytes, float]:
    """One HTTP response (head, body) and when it was complete, by Content-Length."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"closed without an answer: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head, body, time.monotonic()


def _closed_by_server(sock: socket.socket, within: float) -> bool:
    sock.settimeout(within)
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        pass
    except TimeoutError:
        return False
    return True


def test_headers_then_no_body_gets_408_within_the_bound(gateway: tuple[str, Path]) -> None:
    base, _ = gateway
    with _connect(base) as sock:
        started = time.monotonic()
        sock.sendall(_head(40))  # the 40 bytes never come
        head, body, answered = _response(sock)
        assert head.startswith(b"HTTP/1.1 408 "), head
        assert b"application/problem+json" in head and b"Connection: close" in head
        assert json.loads(body)["status"] == 408 and "Traceback" not in body.decode()
        assert BOUND - 0.2 <= answered - started < BOUND + 1.5
        # Then the connection goes: after aiohttp's lingering close (at most 10 s of discarding
        # whatever body still arrives), never "forever".
        assert _closed_by_server(sock, 12)


def test_a_trickling_body_gets_408(gateway: tuple[str, Path]) -> None:
    base, _ = gateway
    body = json.dumps({"prefix": "tiles/", "padding": "x" * 40}).encode()
    with _connect(base) as sock:
        started = time.monotonic()
        sock.sendall(_head(len(body)))
        sent = 0
        while not select.select([sock], [], [], 0.25)[0]:  # one byte every 0.25 s until it answers
            sock.sendall(body[sent : sent + 1])
            sent += 1
        head, _, answered = _response(sock)
    assert head.startswith(b"HTTP/1.1 408 "), head
    assert BOUND - 0.2 <= answered - started < BOUND + 1
    assert 0 < sent < len(body)  # bytes kept arriving, yet the request as a whole was too slow


def test_a_client_gone_mid_body_is_a_499_not_a_500(gateway: tuple[str, Path]) -> None:
    base, log_path = gateway
    for _ in range(3):
        with _connect(base) as sock:
            sock.sendall(_head(100) + b'{"prefix": "ti')
            time.sleep(0.3)  # the handler is now waiting for the rest of the body
        # leaving the block closed the socket mid-body
    time.sleep(0.5)
    metrics = requests.get(f"{base}/metrics", timeout=5).text
    assert 'gateway_requests_total{method="POST",route="/v1/cookies",status="499"} 3.0' in metrics
    assert 'status="500"' not in metrics
    log = log_path.read_text()
    assert "Traceback" not in log and '"status": 500' not in log
    assert log.count('"status": 499') == 3  # the access log says what happened
    assert log.count("closed the connection before the answer") == 3
    # and the gateway still serves everyone else
    assert (
        requests.post(
            f"{base}/v1/cookies", json={"prefix": "tiles/"}, headers=bearer("a"), timeout=5
        ).status_code
        == 200
    )
