"""Rotation, retirement and revocation: the invariants hold after every step, and an interrupted
command converges when run again (security cases 45, 48, 49, 56)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gateway.keys.keyring import load_keyring
from gateway.keys.lifecycle import LifecycleError
from gateway.signing.crypto import KeyAlgorithm
from tests.keys.conftest import Clock, Crash, CrashingPublisher, check_invariants, lifecycle, rotate_process


def test_rotate_then_retire_after_drain(keys: Path) -> None:
    clock = Clock()
    life = lifecycle(keys, clock)
    old = load_keyring(keys).active_id
    new = life.rotate(KeyAlgorithm.ECDSA_P256, propagation_seconds=5)
    check_invariants(keys)
    keyring = load_keyring(keys)
    assert keyring.active_id == new.id != old
    assert {e.id: e.state for e in keyring.entries} == {old: "trusted", new.id: "active"}
    assert len(keyring.public_keys) == 2  # the old key still verifies
    assert life.retire(max_grant_seconds=4200) == []  # its grants may still be out there
    clock.now += 4200
    retired = life.retire(max_grant_seconds=4200)
    assert [e.id for e in retired] == [old]
    check_invariants(keys)
    assert set(load_keyring(keys).public_keys) == {new.key_pair_id}


def test_revoke_active_rotates_and_drops_it_at_once(keys: Path) -> None:
    life = lifecycle(keys, Clock())
    old = load_keyring(keys).active_id
    life.revoke(old, KeyAlgorithm.RSA_2048, propagation_seconds=0)
    check_invariants(keys)
    keyring = load_keyring(keys)
    assert keyring.active_id != old and old not in keyring.public_keys
    assert next(e for e in keyring.entries if e.id == old).state == "retired"
    with pytest.raises(LifecycleError):
        life.revoke(old, KeyAlgorithm.RSA_2048, propagation_seconds=0)
    with pytest.raises(LifecycleError):
        life.revoke("KNOSUCHKEY", KeyAlgorithm.RSA_2048, propagation_seconds=0)


@pytest.mark.parametrize("at", ["publish", "group"])
def test_interrupted_rotation_converges(keys: Path, at: str) -> None:
    clock = Clock()
    old = load_keyring(keys).active_id
    with pytest.raises(Crash):
        lifecycle(keys, clock, CrashingPublisher(at)).rotate(KeyAlgorithm.ECDSA_P256, 5)
    check_invariants(keys)
    assert load_keyring(keys).active_id == old  # the old key still signs: nothing broke
    pending = [e for e in load_keyring(keys).entries if e.state == "pending"]
    assert len(pending) == 1 and pending[0].key_pair_id is None  # unpublished, so not trusted yet
    new = lifecycle(keys, clock).rotate(KeyAlgorithm.ECDSA_P256, 5)
    assert new.id == pending[0].id  # resumed, not a second new key
    check_invariants(keys)
    assert load_keyring(keys).active_id == new.id


def test_orphan_key_file_from_a_crash_is_removed(keys: Path) -> None:
    orphan = keys / "KORPHAN0000000.pem"
    orphan.write_bytes(b"half a key")
    lifecycle(keys, Clock()).rotate(KeyAlgorithm.ECDSA_P256, 0)
    assert not orphan.exists()
    check_invariants(keys)


def test_interrupted_retire_converges(keys: Path) -> None:
    clock = Clock()
    old = load_keyring(keys).active_id
    lifecycle(keys, clock).rotate(KeyAlgorithm.ECDSA_P256, 0)
    clock.now += 10_000
    with pytest.raises(Crash):
        lifecycle(keys, clock, CrashingPublisher("remove")).retire(100)
    check_invariants(keys)
    assert [e.id for e in lifecycle(keys, clock).retire(100)] == [old]
    check_invariants(keys)


@pytest.mark.parametrize("kill_after", [0.05, 0.3, 1.5])
def test_kill_9_during_rotate_then_run_again(keys: Path, kill_after: float) -> None:
    # Security case 56: the process dies at some step (during key generation, publishing, or the
    # propagation wait); the next run converges to one active, published key.
    old = load_keyring(keys).active_id
    process = rotate_process(keys, wait=30)
    time.sleep(kill_after)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.stdout is not None
    process.stdout.close()
    check_invariants(keys)
    assert load_keyring(keys).active_id == old
    again = subprocess.run(
        [sys.executable, "-m", "gateway", "keys", "rotate", "--keys", str(keys), "--wait", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 0, again.stdout + again.stderr
    check_invariants(keys)
    keyring = load_keyring(keys)
    assert keyring.active_id != old and len([e for e in keyring.entries if e.state == "trusted"]) == 1


def test_cli_list_and_errors(keys: Path) -> None:
    from tests.conftest import run_cli

    listed = run_cli("keys", "list", "--keys", str(keys))
    assert listed.returncode == 0 and "active" in listed.stdout and "KEY_PAIR_ID" in listed.stdout
    assert run_cli("keys", "revoke", "KNOPE", "--keys", str(keys)).returncode == 2
    assert run_cli("keys", "rotate", "--keys", str(keys), "--algorithm", "dsa").returncode == 2
    retire = run_cli("keys", "retire", "--keys", str(keys))
    assert retire.returncode == 0 and "nothing to retire" in retire.stdout
