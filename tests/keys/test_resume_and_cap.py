"""Resuming a rotation killed during its wait (issue 12 item 5) and the cap on live keys for every
publisher (item 17)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gateway.keys.keyring import load_keyring
from gateway.keys.lifecycle import Lifecycle, LifecycleError
from gateway.keys.publish import LocalPublisher
from gateway.signing.crypto import KeyAlgorithm
from tests.conftest import run_cli
from tests.keys.conftest import Clock, Crash, CrashingPublisher, check_invariants, lifecycle, rotate_process


def test_resumed_rotation_waits_the_rest_of_the_propagation_time(keys: Path) -> None:
    # Issue 12 item 5: killed 40 s into a 300 s wait, the re-run waited nothing and the new key
    # signed grants that verifiers did not trust yet.
    clock = Clock()
    old = load_keyring(keys).active_id

    def killed_during_wait(seconds: float) -> None:
        clock.now += 40
        raise Crash

    with pytest.raises(Crash):
        Lifecycle(keys, LocalPublisher(), clock=clock, sleep=killed_during_wait, say=lambda m: None).rotate(
            KeyAlgorithm.ECDSA_P256, 300
        )
    check_invariants(keys)
    assert load_keyring(keys).active_id == old
    waits: list[tuple[float, str]] = []
    said: list[str] = []

    def sleep(seconds: float) -> None:
        waits.append((seconds, load_keyring(keys).active_id))  # who signs while we wait
        clock.sleep(seconds)

    new = Lifecycle(keys, LocalPublisher(), clock=clock, sleep=sleep, say=said.append).rotate(
        KeyAlgorithm.ECDSA_P256, 300
    )
    assert waits == [(260, old)]  # the rest of the 300 s, while the old key still signs
    assert load_keyring(keys).active_id == new.id
    assert "published 40s ago: waiting the remaining 260.0s of 300s" in " ".join(said)
    check_invariants(keys)


def test_resume_after_the_propagation_time_switches_at_once(keys: Path) -> None:
    clock = Clock()
    with pytest.raises(Crash):
        lifecycle(keys, clock, CrashingPublisher("wait")).rotate(KeyAlgorithm.ECDSA_P256, 300)
    clock.now += 301
    waits: list[float] = []
    said: list[str] = []
    Lifecycle(keys, LocalPublisher(), clock=clock, sleep=waits.append, say=said.append).rotate(
        KeyAlgorithm.ECDSA_P256, 300
    )
    assert waits == [] and "published 301s ago: its 300s propagation time is over" in " ".join(said)
    check_invariants(keys)


def test_pending_key_published_by_an_older_version_waits_in_full(keys: Path) -> None:
    # A keyring written before `published` existed: the key may have been published a moment
    # before the kill, so the whole propagation time is waited (and recorded, for a later resume).
    clock = Clock()
    with pytest.raises(Crash):
        lifecycle(keys, clock, CrashingPublisher("wait")).rotate(KeyAlgorithm.ECDSA_P256, 300)
    doc = json.loads((keys / "keyring.json").read_text())
    pending = next(k for k in doc["keys"] if k["state"] == "pending")
    assert pending["key_pair_id"] and pending.pop("published") == clock.now
    (keys / "keyring.json").write_text(json.dumps(doc))
    clock.now += 1000  # however long ago it really was, nothing says so
    waits: list[float] = []
    Lifecycle(keys, LocalPublisher(), clock=clock, sleep=waits.append, say=lambda m: None).rotate(
        KeyAlgorithm.ECDSA_P256, 300
    )
    assert waits == [300]
    check_invariants(keys)


def test_rotation_beyond_the_key_cap_is_refused_with_the_retire_time(keys: Path) -> None:
    # Issue 12 item 17: rotating every 30 s left 10 trusted keys.  The cap holds for every
    # publisher, and the refusal comes before anything is created.
    clock = Clock()
    first = load_keyring(keys).active_id
    life = Lifecycle(
        keys,
        LocalPublisher(),
        clock=clock,
        sleep=clock.sleep,
        say=lambda m: None,
        max_keys=3,
        max_grant_seconds=4500,
    )
    life.rotate(KeyAlgorithm.ECDSA_P256, 0)
    clock.now += 600
    life.rotate(KeyAlgorithm.ECDSA_P256, 0)  # live: active + 2 trusted = the cap
    before = (keys / "keyring.json").read_bytes(), sorted(p.name for p in keys.iterdir())
    with pytest.raises(LifecycleError) as refused:
        life.rotate(KeyAlgorithm.ECDSA_P256, 0)
    message = str(refused.value)
    assert "\n" not in message and "3 keys are live" in message and "max_keys_in_group is 3" in message
    # the first key stopped signing 600 s ago; its grants live 4500 s
    assert f"oldest trusted key {first} can retire in 1h05m" in message and "make retire-keys" in message
    assert ((keys / "keyring.json").read_bytes(), sorted(p.name for p in keys.iterdir())) == before
    clock.now += 3900
    assert [e.id for e in life.retire(4500)] == [first]
    life.rotate(KeyAlgorithm.ECDSA_P256, 0)
    check_invariants(keys)


def test_cli_refuses_a_local_rotation_past_max_keys_in_group(keys: Path) -> None:
    for _ in range(4):  # 5 live keys: the default keys.max_keys_in_group
        assert run_cli("keys", "rotate", "--keys", str(keys), "--wait", "0").returncode == 0
    before = (keys / "keyring.json").read_bytes(), sorted(p.name for p in keys.iterdir())
    refused = run_cli("keys", "rotate", "--keys", str(keys), "--wait", "0")
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1, refused
    assert "5 keys are live" in refused.stderr and "can retire in 1h" in refused.stderr  # 3600+600+300 s
    assert "make retire-keys" in refused.stderr
    assert ((keys / "keyring.json").read_bytes(), sorted(p.name for p in keys.iterdir())) == before


def test_kill_9_during_the_wait_then_the_rerun_waits_the_rest(keys: Path) -> None:
    # Issue 12 item 5, end to end: kill a real `keys rotate` once it waits for propagation; the
    # re-run must not switch before the propagation time since publishing has passed.
    old = load_keyring(keys).active_id
    process = rotate_process(keys, wait=6)
    assert process.stdout is not None
    lines = []
    for line in process.stdout:  # ends when the process prints the wait line (or exits)
        lines.append(line.decode())
        if "waiting" in lines[-1]:
            break
    seen_waiting = time.time()
    assert "waiting 6s for every verifier" in lines[-1], lines
    time.sleep(1)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    process.stdout.close()
    check_invariants(keys)
    keyring = load_keyring(keys)
    pending = [e for e in keyring.entries if e.state == "pending"]
    assert keyring.active_id == old and len(pending) == 1 and pending[0].key_pair_id  # published, waiting
    again = subprocess.run(
        [sys.executable, "-m", "gateway", "keys", "rotate", "--keys", str(keys), "--wait", "6"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 0, again.stdout + again.stderr
    check_invariants(keys)
    active = load_keyring(keys).active
    assert active.id == pending[0].id and active.activated is not None
    assert active.activated >= seen_waiting + 6 - 1, (
        again.stdout
    )  # not before 6 s since publishing (1 s slack)
    assert "waiting the remaining" in again.stdout, again.stdout
