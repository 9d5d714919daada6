"""The operator commands, run as a user runs them (a real process, exit codes, stdout)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from pathlib import Path

import pytest
from botocore.signers import CloudFrontSigner
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from tests.conftest import VECTORS, load_vector_rsa_key, run_cli


def test_keys_init_sign_verify_round_trip(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    done = run_cli("keys", "init", "--keys", str(keys), "--algorithm", "ecdsa")
    assert done.returncode == 0 and "ecdsa-p256" in done.stdout
    again = run_cli("keys", "init", "--keys", str(keys))
    assert again.returncode == 2 and "refusing to overwrite" in again.stderr

    url = run_cli("sign", "https://cdn.test/photos/my file ü.jpg", "--ttl", "600", "--keys", str(keys))
    assert url.returncode == 0
    signed = url.stdout.strip()
    assert signed.startswith("https://cdn.test/photos/my%20file%20%C3%BC.jpg?Expires=")
    assert run_cli("verify", signed, "--keys", str(keys)).stdout.strip() == "OK"
    later = str(int(time.time()) + 601)
    expired = run_cli("verify", signed, "--keys", str(keys), "--now", later)
    assert expired.returncode == 1 and expired.stdout.strip() == "AccessDenied"
    other = run_cli("verify", signed.replace("my%20file", "my%20fil3"), "--keys", str(keys))
    assert other.stdout.strip() == "AccessDenied"


def test_custom_policy_options_and_cookies(keyring_dir: Path) -> None:
    keys = str(keyring_dir)
    url = run_cli(
        "sign",
        "https://cdn.test/a/b.png",
        "--expires",
        "1893456000",
        "--not-before",
        "1700000000",
        "--ip",
        "192.0.2.0/24",
        "--hash",
        "sha256",
        "--keys",
        keys,
    ).stdout.strip()
    assert "Policy=" in url and url.endswith("&Hash-Algorithm=SHA256")
    ok = run_cli("verify", url, "--ip", "192.0.2.9", "--now", "1800000000", "--keys", keys)
    assert ok.stdout.strip() == "OK"
    wrong_ip = run_cli("verify", url, "--ip", "198.51.100.1", "--now", "1800000000", "--keys", keys)
    assert wrong_ip.stdout.strip() == "AccessDenied"

    cookies = run_cli(
        "sign-cookies", "--resource", "https://cdn.test/tiles/*", "--expires", "1893456000", "--keys", keys
    )
    values = json.loads(cookies.stdout)
    assert set(values) == {"CloudFront-Policy", "CloudFront-Signature", "CloudFront-Key-Pair-Id"}
    args = [f"--cookie={name}={value}" for name, value in values.items()]
    assert (
        run_cli(
            "verify", "https://cdn.test/tiles/1/2/3.png", *args, "--now", "1800000000", "--keys", keys
        ).stdout.strip()
        == "OK"
    )
    assert (
        run_cli(
            "verify", "https://cdn.test/private/x", *args, "--now", "1800000000", "--keys", keys
        ).stdout.strip()
        == "AccessDenied"
    )


def test_canned_url_with_a_query_string(keyring_dir: Path, tmp_path: Path) -> None:
    """Issue 12 item 11: a canned URL may carry a query; the query is signed as part of the URL."""
    keys = str(keyring_dir)
    url = run_cli("sign", "https://cdn.test/tiles/1.png?x=1", "--ttl", "60", "--keys", keys)
    assert url.returncode == 0, url.stderr
    signed = url.stdout.strip()
    assert signed.startswith("https://cdn.test/tiles/1.png?x=1&Expires=") and "Policy=" not in signed
    assert run_cli("verify", signed, "--keys", keys).stdout.strip() == "OK"
    changed = run_cli("verify", signed.replace("?x=1&", "?x=2&"), "--keys", keys)
    assert (changed.returncode, changed.stdout.strip()) == (1, "AccessDenied")
    dropped = run_cli("verify", signed.replace("?x=1&", "?"), "--keys", keys)
    assert dropped.stdout.strip() == "AccessDenied"

    # Byte-identical to botocore's CloudFrontSigner for the same key, URL and expiry.
    pem = tmp_path / "k.pem"
    shutil.copy(VECTORS / "test-rsa-2048.pem", pem)
    pem.chmod(0o600)
    ours = run_cli(
        "sign",
        "https://cdn.test/a b.png?v=3&lang=en us",
        "--expires",
        "1893456000",
        "--key-file",
        str(pem),
        "--key-id",
        "K1",
    )
    key = load_vector_rsa_key("test-rsa-2048.pem")
    botocore = CloudFrontSigner("K1", lambda m: key.sign(m, padding.PKCS1v15(), hashes.SHA1()))
    expires = dt.datetime.fromtimestamp(1893456000, dt.UTC).replace(tzinfo=None)
    expected = botocore.generate_presigned_url(
        "https://cdn.test/a%20b.png?v=3&lang=en%20us", date_less_than=expires
    )
    assert ours.stdout.strip() == expected


def test_explicit_key_files(tmp_path: Path) -> None:
    pem = tmp_path / "k.pem"
    shutil.copy(VECTORS / "test-ecdsa-p256.pem", pem)
    pem.chmod(0o600)
    url = run_cli("sign", "https://cdn.test/x", "--ttl", "60", "--key-file", str(pem), "--key-id", "K1")
    assert url.returncode == 0
    verdict = run_cli(
        "verify",
        url.stdout.strip(),
        "--public-key",
        str(VECTORS / "test-ecdsa-p256.pub.pem"),
        "--key-id",
        "K1",
    )
    assert verdict.stdout.strip() == "OK"
    unknown = run_cli(
        "verify",
        url.stdout.strip(),
        "--public-key",
        str(VECTORS / "test-ecdsa-p256.pub.pem"),
        "--key-id",
        "K2",
    )
    assert unknown.stdout.strip() == "InvalidKey"
    pem.chmod(0o644)
    loose = run_cli("sign", "https://cdn.test/x", "--ttl", "60", "--key-file", str(pem), "--key-id", "K1")
    assert loose.returncode == 2 and "mode 0600" in loose.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["sign"],
        ["sign", "https://cdn.test/x", "--keys", "k"],
        ["sign", "https://cdn.test/x", "--ttl", "60", "--expires", "5", "--keys", "k"],
        ["sign", "https://cdn.test/x", "--ttl", "-5", "--keys", "k"],
        ["sign", "https://cdn.test/tiles/*", "--ttl", "60", "--keys", "{keys}"],
        ["sign", "https://cdn.test/x?a=*", "--ttl", "60", "--keys", "{keys}"],
        ["sign", "https://cdn.test/x?", "--ttl", "60", "--keys", "{keys}"],
        ["sign", "https://cdn.test/x?a=1&&b=2", "--ttl", "60", "--keys", "{keys}"],
        ["sign", "https://cdn.test/x", "--ttl", "60", "--ip", "2001:db8::1", "--keys", "{keys}"],
        ["sign", "https://cdn.test/x", "--ttl", "60", "--hash", "md5", "--keys", "{keys}"],
        ["sign", "https://cdn.test/x?Signature=1", "--ttl", "60", "--keys", "{keys}"],
        ["sign", "/relative", "--ttl", "60", "--keys", "{keys}"],
        ["sign", "https://cdn.test/x", "--ttl", "60", "--keys", "/nonexistent"],
        ["sign", "https://cdn.test/x", "--ttl", "60", "--key-file", "/nonexistent", "--key-id", "K"],
        ["sign-cookies", "--resource", "https://cdn.test/*", "--ttl", "60", "--key-file", "/x"],
        ["verify", "https://cdn.test/x", "--cookie", "novalue", "--keys", "{keys}"],
        ["verify", "https://cdn.test/x", "--public-key", "/nonexistent", "--key-id", "K"],
        ["keys", "init", "--algorithm", "dsa", "--keys", "{tmp}/new"],
        ["explain", "https://cdn.test/x"],  # neither --keys nor --config
        ["explain", "https://cdn.test/x", "--keys", "{keys}", "--config", "{tmp}/edge.toml"],
        ["explain", "/relative", "--keys", "{keys}"],
        ["explain", "ftp://cdn.test/x", "--keys", "{keys}"],
        ["explain", "https:///x", "--keys", "{keys}"],
        ["explain", "https://cdn.test:99999/x", "--keys", "{keys}"],
        ["explain", "https://cdn.test/x", "--keys", "{keys}", "--now", "soon"],
        ["explain", "https://cdn.test/x", "--keys", "{keys}", "--ip", "10.0.0.300"],
        ["explain", "https://cdn.test/x", "--keys", "{keys}", "--cookie", "novalue"],
        ["explain", "https://cdn.test/x", "--keys", "{tmp}/none"],
        ["explain", "https://cdn.test/x", "--config", "{tmp}/none.toml"],
        ["frobnicate"],
    ],
)
def test_bad_arguments_give_one_line_and_exit_2(args: list[str], keyring_dir: Path, tmp_path: Path) -> None:
    done = run_cli(*[a.format(keys=keyring_dir, tmp=tmp_path) for a in args])
    assert done.returncode == 2, done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "error:" in lines[0] and "Traceback" not in done.stderr
    assert done.stdout == ""
