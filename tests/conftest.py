"""Shared fixtures: committed test-only keys, a keyring built from them, and a real SeaweedFS."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Literal, TypedDict

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from devstack.seaweed import SeaweedFS
from gateway.keys.keyring import KeyState
from gateway.signing.crypto import KeyAlgorithm, PrivateKey

VECTORS = Path(__file__).parent / "vectors"
S3_KEY = "AKIALOCALTEST0000001"
S3_SECRET = "local-test-secret-not-for-production"

# A developer's real AWS profile must never leak into tests.
os.environ.update(
    AWS_CONFIG_FILE="/nonexistent",
    AWS_SHARED_CREDENTIALS_FILE="/nonexistent",
    AWS_EC2_METADATA_DISABLED="true",
)


class CloudFrontVector(TypedDict):
    """One known answer in tests/vectors/cloudfront.json, as tests/vectors/generate.py writes it."""

    name: str
    key_file: str
    key_pair_id: str
    hash: Literal["SHA1", "SHA256"]
    kind: Literal["canned", "custom"]
    url: str
    resource: str
    expires: int
    not_before: int | None
    ip: str | None
    policy: str
    signature: str
    signed_url: str
    cookies: dict[str, str]


def load_vector_key(name: str) -> PrivateKey:
    key = serialization.load_pem_private_key((VECTORS / name).read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey), f"{name}: not an RSA or EC key"
    return key


def load_vector_rsa_key(name: str) -> rsa.RSAPrivateKey:
    """For callers that sign with PKCS#1 v1.5 themselves, as botocore's CloudFrontSigner asks."""
    key = load_vector_key(name)
    assert isinstance(key, rsa.RSAPrivateKey), f"{name}: not an RSA key"
    return key


def cloudfront_vectors() -> list[CloudFrontVector]:
    vectors: list[CloudFrontVector] = json.loads((VECTORS / "cloudfront.json").read_text())
    return vectors


@pytest.fixture(scope="session")
def cf_vectors() -> list[CloudFrontVector]:
    return cloudfront_vectors()


@pytest.fixture
def keyring_dir(tmp_path: Path) -> Path:
    """A one-key keyring (RSA test key, active) written as ``keys init`` would."""
    from gateway.keys.keyring import KeyEntry, Keyring, write_keyring
    from gateway.signing.crypto import public_pem

    directory = tmp_path / "keys"
    directory.mkdir(mode=0o700)
    key = load_vector_key("test-rsa-2048.pem")
    shutil.copy(VECTORS / "test-rsa-2048.pem", directory / "KTESTRSA.pem")
    (directory / "KTESTRSA.pem").chmod(0o600)
    entry = KeyEntry(
        "KTESTRSA",
        KeyAlgorithm.RSA_2048,
        KeyState.ACTIVE,
        1,
        public_pem(key),
        key_pair_id="K2TESTRSA00001",
        activated=1,
    )
    write_keyring(Keyring(directory, "KTESTRSA", (entry,), None))
    return directory


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args], capture_output=True, text=True, cwd=cwd, timeout=60
    )


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    server = SeaweedFS(tmp_path_factory.mktemp("weed"), S3_KEY, S3_SECRET)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def bucket(seaweed: SeaweedFS) -> str:
    name = "t-" + uuid.uuid4().hex[:12]
    seaweed.client().create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto over real HTTP, for the AWS control planes with no local server (CloudFront, STS)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def stored(seaweed: SeaweedFS, bucket: str, key: str) -> bytes | None:
    """The object's bytes straight from S3, or None when it is not there."""
    try:
        body: bytes = seaweed.client().get_object(Bucket=bucket, Key=key)["Body"].read()
    except Exception:
        return None
    return body
