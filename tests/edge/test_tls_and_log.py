"""A real ``cdn-gateway edge`` process terminating TLS itself, and its access log."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from devstack.seaweed import SeaweedFS
from tests.edge.conftest import cookie_header, sign
from tests.gateway.conftest import free_port


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    certfile, keyfile = directory / "edge.crt", directory / "edge.key"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return certfile, keyfile


@pytest.fixture
def tls_edge(
    tmp_path: Path, seaweed: SeaweedFS, filled_bucket: str, keyring_dir: Path
) -> Iterator[tuple[str, Path, Path]]:
    certfile, keyfile = _self_signed(tmp_path)
    port = free_port()
    base = f"https://127.0.0.1:{port}"
    config = tmp_path / "edge.toml"
    config.write_text(f"""keys_dir = "{keyring_dir}"
[distribution]
urls = ["{base}"]
[origin]
endpoint_url = "{seaweed.endpoint}"
bucket = "{filled_bucket}"
access_key_id = "{seaweed.access_key}"
secret_access_key = "{seaweed.secret_key}"
""")
    log = tmp_path / "edge.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "gateway", "edge", "--config", str(config), "--port", str(port)),
                *("--certfile", str(certfile), "--keyfile", str(keyfile)),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{base}/", verify=str(certfile), timeout=1)
                break
            except requests.ConnectionError:
                assert process.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        yield base, certfile, log
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_an_edge_terminating_tls_verifies_https_grants(tls_edge: tuple[str, Path, Path]) -> None:
    base, certfile, log = tls_edge
    https_grant = cookie_header(sign(f"{base}/users/bob/*"))
    answer = requests.get(
        f"{base}/users/bob/secret.txt", headers=https_grant, verify=str(certfile), timeout=5
    )
    assert answer.status_code == 200 and answer.content == b"bob's secret"
    # A grant for http:// is for another URL: CloudFront compares the scheme too.
    http_grant = cookie_header(sign(base.replace("https://", "http://") + "/users/bob/*"))
    refused = requests.get(
        f"{base}/users/bob/secret.txt", headers=http_grant, verify=str(certfile), timeout=5
    )
    assert refused.status_code == 403 and b"AccessDenied" in refused.content
    # The access log: one JSON line per request, named by the id the viewer got, no query or cookie.
    signed = sign(f"{base}/users/bob/secret.txt", canned=True)
    url = signed.url(f"{base}/users/bob/secret.txt")
    third = requests.get(url, verify=str(certfile), timeout=5)
    assert third.status_code == 200
    deadline = time.monotonic() + 5
    while third.headers["X-Amz-Cf-Id"] not in log.read_text():
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)
    records = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    by_id = {record["request_id"]: record for record in records}
    assert by_id[answer.headers["X-Amz-Cf-Id"]]["result"] == "Miss"
    assert by_id[refused.headers["X-Amz-Cf-Id"]]["status"] == 403
    last = by_id[third.headers["X-Amz-Cf-Id"]]
    assert (
        last["result"] == "Hit"
        and last["path"] == "/users/bob/secret.txt"
        and last["time"].endswith("+00:00")
    )
    assert "Signature" not in log.read_text() and "CloudFront-" not in log.read_text()
