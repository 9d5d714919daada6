"""Issue 14 item 4: a rotation cannot silently go wrong.  Production names its publisher, the
local publisher says what it did (and did not do), every AWS failure is one line and changes
nothing that a re-run cannot finish, and a key's type changes only when asked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from gateway.keys.keyring import init_keyring, load_keyring
from gateway.keys.lifecycle import Lifecycle
from gateway.keys.publish import CloudFrontPublisher
from gateway.signing.crypto import KeyAlgorithm
from tests.keys.conftest import KeyGroupClient, cloudfront_client

NO_AWS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE")


def _production(tmp_path: Path, keys: str = "") -> Path:
    (tmp_path / "rules.toml").write_text("")
    (tmp_path / "jwks.json").write_text('{"keys": []}')
    path = tmp_path / "gateway.toml"
    path.write_text(
        'rules_file = "rules.toml"\n[signing]\nkeys_dir = "keys"\ncdn_base_url = "https://cdn.example.com"\n'
        '[auth]\njwks_file = "jwks.json"\n' + (f"[keys]\n{keys}" if keys else "")
    )
    return path


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in NO_AWS}
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**clean, **env},
    )


def _snapshot(keys: Path) -> tuple[bytes, list[str]]:
    return (keys / "keyring.json").read_bytes(), sorted(p.name for p in keys.iterdir() if p.name != ".lock")


def _one_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    return lines[0]


def test_production_must_name_the_publisher(tmp_path: Path) -> None:
    init_keyring(tmp_path / "keys", KeyAlgorithm.RSA_2048)
    before = _snapshot(tmp_path / "keys")
    config = _production(tmp_path)  # no [keys] at all: rotated locally, silently, before
    for command in ("rotate", "retire", "revoke", "adopt"):
        more = {"revoke": ["KANY"], "adopt": ["--key-pair-id", "K2ANY"]}.get(command, [])
        line = _one_line(_cli("keys", command, "--config", str(config), *more))
        assert "invalid settings: keys.publisher must be set in production" in line
    assert _snapshot(tmp_path / "keys") == before
    listed = _cli("keys", "list", "--config", str(config))  # looking changes nothing: allowed
    assert listed.returncode == 0 and "active" in listed.stdout, listed.stderr


def test_the_local_publisher_says_what_it_did(tmp_path: Path) -> None:
    init_keyring(tmp_path / "keys", KeyAlgorithm.RSA_2048)
    config = _production(tmp_path, 'publisher = "local"\n')
    rotated = _cli("keys", "rotate", "--config", str(config), "--wait", "0")
    assert rotated.returncode == 0, rotated.stderr
    assert (
        "trusted by the keyring itself (local publisher: only cdn-gateway edges; CloudFront is not told)"
        in (rotated.stdout)
    )
    retired = _cli("keys", "retire", "--config", str(config), "--max-grant-seconds", "0")
    assert retired.returncode == 0, retired.stderr
    assert "no longer trusted by the keyring itself (local publisher" in retired.stdout
    assert "key group" not in retired.stdout  # there is none to have removed it from


def test_cloudfront_without_credentials_is_one_line_and_creates_nothing(tmp_path: Path) -> None:
    init_keyring(tmp_path / "keys", KeyAlgorithm.RSA_2048)
    before = _snapshot(tmp_path / "keys")
    config = _production(tmp_path, 'publisher = "cloudfront"\nkey_group_id = "KG1"\n')
    line = _one_line(_cli("keys", "rotate", "--config", str(config)))
    assert "CloudFront GetKeyGroup KG1 failed: no AWS credentials found" in line
    assert "AWS_PROFILE" in line  # what to do
    assert _snapshot(tmp_path / "keys") == before  # no pending key left behind


def test_an_aws_failure_mid_rotation_is_one_line_and_a_rerun_converges(
    moto_endpoint: str, tmp_path: Path
) -> None:
    keys = tmp_path / "keys"
    group = KeyGroupClient(cloudfront_client(moto_endpoint), keys)  # moto has no UpdateKeyGroup
    old = load_keyring(keys).active
    config = _production(
        tmp_path, f'publisher = "cloudfront"\nkey_group_id = "{group.group_id}"\npropagation_seconds = 0\n'
    )
    aws = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL_CLOUDFRONT": moto_endpoint,
        "AWS_MAX_ATTEMPTS": "1",
    }
    line = _one_line(_cli("keys", "rotate", "--config", str(config), **aws))
    assert f"CloudFront UpdateKeyGroup {group.group_id} failed" in line  # moto answers 500
    pending = [e for e in load_keyring(keys).entries if e.state == "pending"]
    assert load_keyring(keys).active_id == old.id and len(pending) == 1
    life = Lifecycle(
        keys, CloudFrontPublisher(group, group.group_id), sleep=lambda s: None, say=lambda m: None
    )
    new = life.rotate(None, 0)
    assert new.id == pending[0].id and load_keyring(keys).active.key_pair_id == new.key_pair_id
    names = [k["Name"] for k in group.list_public_keys()["PublicKeyList"]["Items"]]
    assert names.count(f"cdn-gateway-{new.id}") == 1  # the key created by the failed run, reused
    assert group.items == [old.key_pair_id, new.key_pair_id]


def test_a_rotation_keeps_the_key_type_unless_asked(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    made = _cli("keys", "init", "--keys", str(keys))
    assert made.returncode == 0 and "rsa-2048" in made.stdout  # new keyrings are RSA-2048
    kept = _cli("keys", "rotate", "--keys", str(keys), "--wait", "0")
    assert kept.returncode == 0 and "created rsa-2048 key" in kept.stdout and "changes" not in kept.stdout
    asked = _cli("keys", "rotate", "--keys", str(keys), "--wait", "0", "--algorithm", "ecdsa")
    assert asked.returncode == 0, asked.stderr
    assert (
        "created ecdsa-p256 key" in asked.stdout
        and "the current key is rsa-2048: the type changes" in asked.stdout
    )
    config = _production(tmp_path, 'publisher = "local"\nalgorithm = "rsa"\n')  # the setting, set
    back = _cli("keys", "rotate", "--config", str(config), "--wait", "0")
    assert back.returncode == 0 and "created rsa-2048 key" in back.stdout, back.stderr
    algorithms = [e["algorithm"] for e in json.loads((keys / "keyring.json").read_text())["keys"]]
    assert algorithms == ["rsa-2048", "rsa-2048", "ecdsa-p256", "rsa-2048"]
