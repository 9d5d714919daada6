"""Real processes for the differential run: three ``cdn-gateway edge`` subprocesses (layout "a",
layout "a" behind TLS, layout "b") in front of one SeaweedFS bucket and a stub custom origin that
echoes what it received; then each case's bytes go to the edge and the answer is compared."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gateway.keys.keyring import KeyEntry, Keyring, KeyState, write_keyring
from gateway.signing.crypto import KeyAlgorithm, public_pem
from tests.differential.world import BEHAVIOURS, DISTRIBUTION_URLS, OBJECTS, TRUSTED_PROXIES, signers

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def _echo(request: web.Request) -> web.Response:
    path, _, query = request.raw_path.partition("?")
    body = f"<<ORIGIN {request.method} {path} ? {query} END>>"
    headers = {"X-Echo-Method": request.method, "X-Echo-Path": path, "X-Echo-Query": query}
    return web.Response(text=body, headers=headers)


@contextlib.contextmanager
def echo_origin() -> Iterator[str]:
    """The custom origin, on its own loop in a thread: answers with the method, raw path and
    query it was sent, so the edge's answer says what reached the origin."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", _echo)
    runner = web.AppRunner(app, access_log=None)
    loop = asyncio.new_event_loop()
    port, ready = free_port(), threading.Event()

    def serve() -> None:
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        ready.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    thread = threading.Thread(target=serve, name="echo-origin", daemon=True)
    thread.start()
    if not ready.wait(10):
        raise RuntimeError("the echo origin did not start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def fill_bucket(client: Any, bucket: str) -> dict[str, str]:
    """Every object, with a cacheable lifetime; returns ETag -> key."""
    etags = {}
    for key, body in OBJECTS.items():
        client.put_object(
            Bucket=bucket, Key=key, Body=body, ContentType="text/plain", CacheControl="max-age=300"
        )
        stored = client.get_object(Bucket=bucket, Key=key)
        assert stored["Body"].read() == body, f"the bucket does not round-trip {key!r}"
        etags[stored["ETag"]] = key
    return etags


def write_keyring_dir(directory: Path) -> Path:
    """RSA active and ECDSA trusted (signed before a rotation): both verify at the edge."""
    chosen = signers()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    entries = (
        KeyEntry(
            "KRSA", KeyAlgorithm.RSA_2048, KeyState.ACTIVE, 1, public_pem(chosen.rsa.key), chosen.rsa.key_pair_id, activated=1
        ),
        KeyEntry(
            "KECDSA", KeyAlgorithm.ECDSA_P256, KeyState.TRUSTED, 1, public_pem(chosen.ecdsa.key), chosen.ecdsa.key_pair_id, 1, 2
        ),
    )
    write_keyring(Keyring(directory, "KRSA", entries, None))
    return directory


def write_certificate(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cdn.example.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "edge.crt", directory / "edge.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


def _toml(value: Any) -> str:
    return json.dumps(value)  # TOML accepts JSON strings, numbers, booleans and arrays of them


def write_config(
    directory: Path, layout: str, s3: dict[str, str], origin: str, tls: tuple[Path, Path] | None
) -> Path:
    lines = [
        f"keys_dir = {_toml(str(directory.parent / 'keys'))}",
        "[distribution]",
        f"urls = {_toml(list(DISTRIBUTION_URLS))}",
        "[server]",
        'host = "127.0.0.1"',
        f"trusted_proxies = {_toml(list(TRUSTED_PROXIES))}",
    ]
    if tls:
        lines += [f"certfile = {_toml(str(tls[0]))}", f"keyfile = {_toml(str(tls[1]))}"]
    lines += ["[origin]", *(f"{k} = {_toml(v)}" for k, v in s3.items())]
    for behaviour in BEHAVIOURS[layout]:
        lines += [
            "[[behaviors]]",
            f"path_pattern = {_toml(behaviour.pattern)}",
            f"signed = {_toml(behaviour.signed)}",
            f"origin = {_toml('s3' if behaviour.origin == 's3' else origin)}",
        ]
    path = directory / "edge.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


@contextlib.contextmanager
def edges(work: Path, s3: dict[str, str], origin: str) -> Iterator[dict[str, int]]:
    """Start the three edges and wait until each listens; stop them (by pid) afterwards."""
    write_keyring_dir(work / "keys")
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGE_")}
    processes: list[subprocess.Popen[bytes]] = []
    ports: dict[str, int] = {}
    with contextlib.ExitStack() as stack:
        yield from _run_edges(work, s3, origin, env, processes, ports, stack)


def _run_edges(
    work: Path,
    s3: dict[str, str],
    origin: str,
    env: dict[str, str],
    processes: list[subprocess.Popen[bytes]],
    ports: dict[str, int],
    stack: contextlib.ExitStack,
) -> Iterator[dict[str, int]]:
    try:
        for name in ("a", "b", "a-tls"):
            directory = work / name
            directory.mkdir()
            tls = write_certificate(directory) if name.endswith("-tls") else None
            config = write_config(directory, name[0], s3, origin, tls)
            ports[name] = free_port()
            log = stack.enter_context((directory / "edge.log").open("wb"))
            command = [
                sys.executable,
                "-m",
                "gateway",
                "edge",
                "--config",
                str(config),
                "--port",
                str(ports[name]),
            ]
            processes.append(
                subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
            )
        for name, process in zip(ports, processes, strict=True):
            _wait_listening(ports[name], process, work / name / "edge.log")
        yield ports
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"edge exited ({process.returncode}): {log.read_text()[-2000:]}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"edge on port {port} did not start: {log.read_text()[-2000:]}")
