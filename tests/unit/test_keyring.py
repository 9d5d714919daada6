"""Keyring loading: every problem reported at once, naming the file, never the key material."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from gateway.keys.keyring import KeyringError, init_keyring, load_keyring, write_keyring
from gateway.signing.crypto import KeyAlgorithm
from tests.conftest import VECTORS


def _problems(directory: Path) -> str:
    with pytest.raises(KeyringError) as caught:
        load_keyring(directory)
    message = str(caught.value)
    assert "\n" not in message and "PRIVATE KEY" not in message and "MII" not in message
    return message


def test_loads_a_good_keyring(keyring_dir: Path) -> None:
    keyring = load_keyring(keyring_dir)
    assert keyring.active_id == "KTESTRSA" and keyring.require_signer().key_pair_id == "K2TESTRSA00001"
    assert set(keyring.public_keys) == {"K2TESTRSA00001"}
    assert "PRIVATE" not in repr(keyring) and "PRIVATE" not in repr(keyring.signer)
    public_only = load_keyring(keyring_dir, private=False)
    assert public_only.signer is None and set(public_only.public_keys) == {"K2TESTRSA00001"}


@pytest.mark.parametrize("algorithm", list(KeyAlgorithm))
def test_init_creates_a_private_key_0600_and_refuses_to_overwrite(
    tmp_path: Path, algorithm: KeyAlgorithm
) -> None:
    directory = tmp_path / "keys"
    keyring = init_keyring(directory, algorithm)
    pem = directory / keyring.active.file
    assert pem.stat().st_mode & 0o777 == 0o600
    assert directory.stat().st_mode & 0o777 == 0o700
    assert load_keyring(directory).active.algorithm == algorithm.value
    with pytest.raises(KeyringError, match="already exists"):
        init_keyring(directory, algorithm)


def test_missing_keyring(tmp_path: Path) -> None:
    assert "keyring.json is missing" in _problems(tmp_path)
    (tmp_path / "keyring.json").write_text("{not json")
    assert "not readable JSON" in _problems(tmp_path)


def _write_pem(path: Path, data: bytes, mode: int = 0o600) -> None:
    path.write_bytes(data)
    path.chmod(mode)


@pytest.mark.parametrize(
    ("corrupt", "expected"),
    [
        (lambda p: p.unlink(), "KTESTRSA.pem is missing"),
        (lambda p: _write_pem(p, b""), "not a PEM private key"),
        (lambda p: _write_pem(p, p.read_bytes()[:200]), "not a PEM private key"),
        (lambda p: p.chmod(0o644), "is mode 0644: a private key must be mode 0600, 0400 or 0440"),
        (lambda p: p.chmod(0o660), "is mode 0660"),  # group-writable
        (lambda p: p.chmod(0o604), "is mode 0604"),  # readable by anyone
        (lambda p: _write_pem(p, (VECTORS / "test-rsa-2048.pub.pem").read_bytes()), "not a PEM private key"),
        (lambda p: _write_pem(p, (VECTORS / "test-ecdsa-p256.pem").read_bytes()), "is not a rsa-2048 key"),
        (
            lambda p: _write_pem(
                p,
                rsa.generate_private_key(65537, 1024).private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                ),
            ),
            "CloudFront needs 2048",
        ),
        (
            lambda p: _write_pem(
                p,
                ec.generate_private_key(ec.SECP384R1()).private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                ),
            ),
            "CloudFront needs P-256",
        ),
        (
            lambda p: _write_pem(
                p,
                rsa.generate_private_key(65537, 2048).private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.BestAvailableEncryption(b"pw"),
                ),
            ),
            "is encrypted",
        ),
        (
            lambda p: _write_pem(
                p,
                rsa.generate_private_key(65537, 2048).private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                ),
            ),
            "does not match the public key",
        ),
    ],
)
def test_bad_private_key_file(keyring_dir: Path, corrupt: Callable[[Path], object], expected: str) -> None:
    corrupt(keyring_dir / "KTESTRSA.pem")
    assert expected in _problems(keyring_dir)


def test_every_problem_is_reported_together(keyring_dir: Path) -> None:
    doc = json.loads((keyring_dir / "keyring.json").read_text())
    extra = dict(doc["keys"][0], id="KSECOND", state="trusted", public_key="garbage")
    doc["keys"].append(extra)
    doc["keys"].append({"id": "bad id!", "algorithm": "rsa-2048"})
    (keyring_dir / "keyring.json").write_text(json.dumps(doc))
    (keyring_dir / "KTESTRSA.pem").chmod(0o644)
    message = _problems(keyring_dir)
    assert "keys[2]" in message and "KSECOND has an unusable public key" in message
    assert "KTESTRSA.pem is mode 0644" in message


@pytest.mark.parametrize("mode", [0o600, 0o400, 0o440, 0o640])
def test_owner_and_group_read_are_accepted(keyring_dir: Path, mode: int) -> None:
    # Kubernetes projects a Secret with fsGroup as 0440 whatever defaultMode says
    # (kubernetes/kubernetes#57923): the process reads its key through the group bit.
    (keyring_dir / "KTESTRSA.pem").chmod(mode)
    assert load_keyring(keyring_dir).require_signer().key_pair_id == "K2TESTRSA00001"


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda d: d.update(active="KNOPE"), "names no existing active key"),
        (lambda d: d["keys"][0].update(state="trusted"), "must mark exactly the active key"),
        (lambda d: d["keys"][0].pop("key_pair_id"), "is not published"),
        (lambda d: d["keys"][0].update(state="sideways"), "is not one of"),
        (lambda d: d.update(version=7), "is not a version 1 keyring"),
        (lambda d: d["keys"].append(dict(d["keys"][0])), "lists a key id twice"),
    ],
)
def test_keyring_document_rules(
    keyring_dir: Path, edit: Callable[[dict[str, Any]], object], expected: str
) -> None:
    doc = json.loads((keyring_dir / "keyring.json").read_text())
    edit(doc)
    (keyring_dir / "keyring.json").write_text(json.dumps(doc))
    assert expected in _problems(keyring_dir)


def test_trusted_keys_verify_but_retired_do_not(keyring_dir: Path) -> None:
    doc = json.loads((keyring_dir / "keyring.json").read_text())
    ec_pub = (VECTORS / "test-ecdsa-p256.pub.pem").read_text()
    doc["keys"] += [
        {
            "id": "KOLD",
            "algorithm": "ecdsa-p256",
            "state": "trusted",
            "created": 0,
            "public_key": ec_pub,
            "key_pair_id": "K2OLD",
        },
        {
            "id": "KGONE",
            "algorithm": "ecdsa-p256",
            "state": "retired",
            "created": 0,
            "public_key": ec_pub,
            "key_pair_id": "K2GONE",
        },
    ]
    (keyring_dir / "keyring.json").write_text(json.dumps(doc))
    shutil.copy(VECTORS / "test-ecdsa-p256.pem", keyring_dir / "KOLD.pem")  # stays 0644: not loaded
    assert set(load_keyring(keyring_dir).public_keys) == {"K2TESTRSA00001", "K2OLD"}


def _pending(doc: dict[str, list[dict[str, object]]], **fields: object) -> None:
    ec_pub = (VECTORS / "test-ecdsa-p256.pub.pem").read_text()
    entry = {"id": "KNEW", "algorithm": "ecdsa-p256", "state": "pending", "created": 5, "public_key": ec_pub}
    doc["keys"].append({**entry, **fields})


def test_published_time_is_kept_and_older_keyrings_load_without_it(keyring_dir: Path) -> None:
    doc = json.loads((keyring_dir / "keyring.json").read_text())
    _pending(doc, key_pair_id="K2NEW", published=1_800_000_000)
    (keyring_dir / "keyring.json").write_text(json.dumps(doc))
    keyring = load_keyring(keyring_dir)
    assert next(e for e in keyring.entries if e.id == "KNEW").published == 1_800_000_000
    assert keyring.active.published is None  # written before the field existed
    write_keyring(keyring)  # and written back unchanged: absent stays absent
    assert json.loads((keyring_dir / "keyring.json").read_text()) == doc


@pytest.mark.parametrize("published", ["1800000000", -1, True, 1.5, None])
def test_published_must_be_epoch_seconds(keyring_dir: Path, published: object) -> None:
    doc = json.loads((keyring_dir / "keyring.json").read_text())
    _pending(doc, key_pair_id="K2NEW", published=published)
    (keyring_dir / "keyring.json").write_text(json.dumps(doc))
    if published is None:  # null is the same as absent
        assert load_keyring(keyring_dir).entries[1].published is None
    else:
        assert "keys[1] published must be epoch seconds" in _problems(keyring_dir)
