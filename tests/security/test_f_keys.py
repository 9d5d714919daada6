"""Security catalogue F: key management (cases 45-50)."""

from __future__ import annotations

import ast
import asyncio
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pytest_aiohttp import AiohttpClient

from gateway.keys.keyring import KeyringError, init_keyring, load_keyring
from gateway.keys.lifecycle import Lifecycle
from gateway.keys.publish import LocalPublisher
from gateway.signing.crypto import KeyAlgorithm, KeySigner
from tests.conftest import run_cli
from tests.edge.conftest import base_url, cookie_header, edge_settings, get, sign, start_edge

GATEWAY = Path(__file__).resolve().parents[2] / "gateway"


def test_case_45_private_keys_are_0600_from_the_first_byte(tmp_path: Path) -> None:
    old = os.umask(0)  # the most permissive umask cannot widen a key file
    try:
        keyring = init_keyring(tmp_path / "keys", KeyAlgorithm.RSA_2048)
        Lifecycle(tmp_path / "keys", LocalPublisher(), say=lambda m: None).rotate(KeyAlgorithm.ECDSA_P256, 0)
    finally:
        os.umask(old)
    for path in (tmp_path / "keys").glob("*.pem"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    source = (GATEWAY / "common" / "fsutil.py").read_text()
    assert "O_EXCL" in source and "os.open(tmp" in source  # created with the mode, never chmod-ed down
    assert keyring.active_id


def test_case_46_key_material_never_in_errors_or_reprs(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keyring = init_keyring(keys, KeyAlgorithm.RSA_2048)
    signer = load_keyring(keys).require_signer()
    assert "PRIVATE" not in repr(signer) and "PRIVATE" not in repr(load_keyring(keys))
    pem = keys / keyring.active.file
    pem.write_text("-----BEGIN PRIVATE KEY-----\nMIIEsecretmaterialXYZ\n-----END PRIVATE KEY-----\n")
    with pytest.raises(KeyringError) as caught:
        load_keyring(keys)
    assert "secretmaterial" not in str(caught.value) and "BEGIN" not in str(caught.value)
    done = run_cli("sign", "https://cdn.test/x", "--ttl", "60", "--keys", str(keys))
    assert done.returncode == 2 and "secretmaterial" not in done.stderr + done.stdout


def test_case_47_missing_or_corrupt_key_stops_start_up_with_one_line(tmp_path: Path) -> None:
    from tests.gateway.conftest import write_config

    keys = tmp_path / "keys"
    keyring = init_keyring(keys, KeyAlgorithm.RSA_2048)
    config = write_config(tmp_path, keys)
    pem = keys / keyring.active.file
    original = pem.read_bytes()
    corruptions: list[Callable[[], object]] = [
        lambda: pem.unlink(),
        lambda: pem.write_bytes(b""),
        lambda: pem.write_bytes(original[:300]),
        lambda: pem.chmod(0o644),
    ]
    for corrupt in corruptions:
        pem.write_bytes(original)
        pem.chmod(0o600)
        corrupt()
        done = run_cli("serve", "--config", str(config))
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2 and len(lines) == 1 and keyring.active.file in lines[0]


def test_case_48_the_verifier_trusts_a_key_before_it_signs(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    init_keyring(keys, KeyAlgorithm.RSA_2048)
    seen: list[tuple[str, set[str]]] = []

    def during_propagation(seconds: float) -> None:
        keyring = load_keyring(keys, private=False)  # what a verifier would load right now
        seen.append((keyring.active.key_pair_id or "", set(keyring.public_keys)))

    old = load_keyring(keys).active.key_pair_id
    new = Lifecycle(keys, LocalPublisher(), sleep=during_propagation, say=lambda m: None).rotate(
        KeyAlgorithm.ECDSA_P256, 5
    )
    assert seen == [(old, {old, new.key_pair_id})]  # published and trusted, not yet signing


async def test_case_49_revocation_stops_everything_the_key_signed(
    aiohttp_client: AiohttpClient, seaweed: Any, filled_bucket: str, tmp_path: Path
) -> None:
    keys = tmp_path / "keys"
    init_keyring(keys, KeyAlgorithm.RSA_2048)
    signer = load_keyring(keys).require_signer()
    edge = await start_edge(aiohttp_client, edge_settings(seaweed, filled_bucket, keys))
    url_grant = sign(
        f"{base_url(edge)}/tiles/1/0/0.png", canned=True, signer=KeySigner(signer.key_pair_id, signer.key)
    )
    cookie_grant = cookie_header(
        sign(f"{base_url(edge)}/tiles/*", signer=KeySigner(signer.key_pair_id, signer.key))
    )
    assert (await get(edge, url_grant.url("/tiles/1/0/0.png"))).status == 200  # now cached at the edge
    Lifecycle(keys, LocalPublisher(), say=lambda m: None).revoke(
        signer.key_pair_id, KeyAlgorithm.ECDSA_P256, 0
    )
    for _ in range(50):
        if (await get(edge, url_grant.url("/tiles/1/0/0.png"))).status == 403:
            break
        await asyncio.sleep(0.1)
    for response in [
        await get(edge, url_grant.url("/tiles/1/0/0.png")),
        await get(edge, "/tiles/1/0/0.png", headers=cookie_grant),
    ]:
        assert response.status == 403 and "<Code>InvalidKey</Code>" in await response.text()


def test_case_50_no_equality_comparisons_on_secrets() -> None:
    # Signatures are checked by cryptography's verify, tokens by PyJWT, HMACs by botocore/S3:
    # no code of ours compares secret material with == (which leaks timing).
    suspicious = ("signature", "secret", "token", "password", "mac", "digest")
    for path in GATEWAY.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare) and any(isinstance(op, ast.Eq | ast.NotEq) for op in node.ops):
                operands = [node.left, *node.comparators]  # the values compared, not e.g. bool(secret)
                names = {n.id.lower() for n in operands if isinstance(n, ast.Name)}
                names |= {n.attr.lower() for n in operands if isinstance(n, ast.Attribute)}
                hits = [n for n in names if any(word in n for word in suspicious)]
                assert not hits, f"{path.name}:{node.lineno} compares {hits} with =="
