"""Issue 14 item 5: ``keys adopt`` records a public key published outside rotation (the first key,
created by CloudFormation from ``keys init``'s public key) instead of a hand-edited keyring.json,
after checking with GetPublicKey that CloudFront holds the same key.  CloudFront is moto over HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gateway.keys.keyring import init_keyring, load_keyring
from gateway.keys.model import KeyState
from gateway.signing.crypto import KeyAlgorithm, generate_private_key, private_pem, public_pem
from tests.keys.conftest import cloudfront_client
from tests.keys.test_failing_safe import _cli, _one_line, _production


@pytest.fixture
def cloudfront(moto_endpoint: str) -> Any:
    return cloudfront_client(moto_endpoint)


def _aws(moto_endpoint: str) -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL_CLOUDFRONT": moto_endpoint,
        "AWS_MAX_ATTEMPTS": "1",
    }


def _publish(cloudfront: Any, pem: str, name: str) -> str:
    """What CloudFormation's AWS::CloudFront::PublicKey does with InitialPublicKeyPem."""
    config = {"CallerReference": name, "Name": name, "EncodedKey": pem}
    return str(cloudfront.create_public_key(PublicKeyConfig=config)["PublicKey"]["Id"])


def _group(cloudfront: Any, *items: str) -> str:
    config = {"Name": f"g-{'-'.join(items)}"[:60], "Items": list(items)}
    return str(cloudfront.create_key_group(KeyGroupConfig=config)["KeyGroup"]["Id"])


def test_adopt_the_first_key_published_by_the_stack(
    cloudfront: Any, moto_endpoint: str, tmp_path: Path
) -> None:
    keys = tmp_path / "keys"
    keyring = init_keyring(keys, KeyAlgorithm.RSA_2048)
    initial = _publish(cloudfront, keyring.active.public_key, f"stack-{keyring.active_id}")
    other = _publish(
        cloudfront, public_pem(generate_private_key(KeyAlgorithm.RSA_2048)), f"o-{keyring.active_id}"
    )
    config = _production(
        tmp_path, f'publisher = "cloudfront"\nkey_group_id = "{_group(cloudfront, initial)}"\n'
    )
    aws = _aws(moto_endpoint)

    wrong = _one_line(_cli("keys", "adopt", "--config", str(config), "--key-pair-id", other, **aws))
    assert f"matches CloudFront public key {other}" in wrong and "--key-file" in wrong
    unknown = _one_line(_cli("keys", "adopt", "--config", str(config), "--key-pair-id", "K2NOSUCHKEY", **aws))
    assert "CloudFront GetPublicKey K2NOSUCHKEY failed" in unknown
    assert load_keyring(keys).active.key_pair_id == keyring.active_id  # nothing recorded yet

    done = _cli("keys", "adopt", "--config", str(config), "--key-pair-id", initial, **aws)
    assert done.returncode == 0, done.stderr
    assert (
        f"now recorded as CloudFront public key {initial}" in done.stdout
        and "is in CloudFront key group" in done.stdout
    )
    adopted = load_keyring(keys)
    assert adopted.active_id == keyring.active_id and adopted.require_signer().key_pair_id == initial
    assert adopted.active.published is not None and set(adopted.public_keys) == {initial}
    again = _cli("keys", "adopt", "--config", str(config), "--key-pair-id", initial, **aws)
    assert again.returncode == 0 and "nothing to do" in again.stdout


def test_adopt_a_key_file_made_outside(cloudfront: Any, moto_endpoint: str, tmp_path: Path) -> None:
    made = generate_private_key(KeyAlgorithm.ECDSA_P256)  # e.g. openssl, then uploaded by hand
    pem = tmp_path / "outside.pem"
    pem.write_bytes(private_pem(made))
    pem.chmod(0o600)
    first = _publish(cloudfront, public_pem(made), "outside")
    config = _production(
        tmp_path, f'publisher = "cloudfront"\nkey_group_id = "{_group(cloudfront, first)}"\n'
    )
    aws, keys = _aws(moto_endpoint), tmp_path / "keys"
    keys.mkdir(mode=0o700)  # an empty keyring directory: the adopted key will be its first
    stranger = _publish(cloudfront, public_pem(generate_private_key(KeyAlgorithm.ECDSA_P256)), "stranger")
    args = ("keys", "adopt", "--config", str(config), "--keys", str(keys), "--key-file", str(pem))
    mismatch = _one_line(_cli(*args, "--key-pair-id", stranger, **aws))
    assert f"is not the private half of CloudFront public key {stranger}" in mismatch

    created = _cli(*args, "--key-pair-id", first, **aws)  # no keyring yet: this key is the first
    assert created.returncode == 0, created.stderr
    keyring = load_keyring(keys)
    assert keyring.require_signer().key_pair_id == first and keyring.active.algorithm == "ecdsa-p256"
    assert (keys / keyring.active.file).stat().st_mode & 0o777 == 0o600

    second = generate_private_key(KeyAlgorithm.ECDSA_P256)
    pem.write_bytes(private_pem(second))
    pem.chmod(0o600)
    next_id = _publish(cloudfront, public_pem(second), "outside-2")
    group = _group(cloudfront, first, next_id)
    config = _production(
        tmp_path, f'publisher = "cloudfront"\nkey_group_id = "{group}"\npropagation_seconds = 0\n'
    )
    pending = _cli(*args, "--key-pair-id", next_id, **aws)  # into a keyring: pending, rotate switches
    assert pending.returncode == 0 and "is pending" in pending.stdout, pending.stderr
    states = {e.key_pair_id: e.state for e in load_keyring(keys).entries}
    assert states == {first: KeyState.ACTIVE, next_id: KeyState.PENDING}
    rotated = _cli("keys", "rotate", "--config", str(config), "--keys", str(keys), **aws)
    assert rotated.returncode == 0 and "resuming" in rotated.stdout, rotated.stdout + rotated.stderr
    assert load_keyring(keys).require_signer().key_pair_id == next_id
