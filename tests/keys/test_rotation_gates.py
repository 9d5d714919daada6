"""Issue 14 item 3: a rotation proves the new key works through the distribution before it
switches, and retirement waits until every replica that reports signs with the new key.  The
local edge stands for the distribution; the gateways are their own processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from devstack.seaweed import SeaweedFS
from gateway.keys.keyring import load_keyring
from gateway.keys.model import KeyState
from gateway.keys.s3store import S3KeyringStore
from tests.gateway.conftest import free_port, gateway_process, write_config
from tests.keys.fleet import PUBLIC_KEY, cli, edge_process, make_fleet, serving, signed_url, wait_for


def _one_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    return lines[0]


def test_the_switch_waits_for_a_probe_through_the_distribution(seaweed: SeaweedFS, tmp_path: Path) -> None:
    fleet = make_fleet(seaweed, tmp_path / "fleet")
    config = fleet.gateway_config()
    assert cli("keys", "init", "--config", str(config)).returncode == 0
    store = S3KeyringStore(seaweed.client(), fleet.store)
    stale = tmp_path / "stale-keys"  # a distribution whose key group never got the new key
    stale.mkdir()
    (stale / "keyring.json").write_bytes(
        seaweed.client().get_object(Bucket=store.bucket, Key=store.prefix + "keyring.json")["Body"].read()
    )
    stale_port = free_port()
    with (
        edge_process(fleet.edge_config(fleet.edge_port, f'keys_store = "{fleet.store}"'), fleet.edge_port),
        edge_process(fleet.edge_config(stale_port, f'keys_dir = "{stale}"'), stale_port),
        gateway_process(config) as (gateway, _),
    ):
        old = serving(gateway)
        public = cli(
            "keys",
            "rotate",
            "--config",
            str(config),
            "--wait",
            "0",
            env={"GATEWAY_KEYS_PROBE_URL": f"{fleet.cdn}/{PUBLIC_KEY}"},
        )
        assert "answered 200 without a signature, which proves nothing" in _one_line(public)
        refused = cli(
            "keys",
            "rotate",
            "--config",
            str(config),
            "--wait",
            "0",
            env={"GATEWAY_KEYS_PROBE_URL": f"http://127.0.0.1:{stale_port}/probe/probe.txt"},
        )
        line = _one_line(refused)
        assert "refusing to switch to key" in line and "answered 403 (InvalidKey)" in line
        assert "stays pending" in line and "run the rotation again to resume" in line
        keyring = store.load(private=False)
        pending = [e for e in keyring.entries if e.state is KeyState.PENDING]
        assert keyring.active.key_pair_id == old and len(pending) == 1 and pending[0].key_pair_id
        time.sleep(1)
        assert serving(gateway) == old  # nobody signs with a key the distribution refuses

        resumed = cli("keys", "rotate", "--config", str(config), "--wait", "0")
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        assert f"resuming the interrupted rotation of key {pending[0].id}" in resumed.stdout
        assert store.load(private=False).active.id == pending[0].id  # the same key, not another
        wait_for(lambda: serving(gateway) == pending[0].key_pair_id)
        url, _ = signed_url(gateway)
        assert requests.get(url, timeout=5).status_code == 200


def test_retire_waits_for_every_reporting_replica(seaweed: SeaweedFS, tmp_path: Path) -> None:
    fleet = make_fleet(seaweed, tmp_path / "fleet")
    config = fleet.gateway_config()
    assert cli("keys", "init", "--config", str(config)).returncode == 0
    with (
        edge_process(fleet.edge_config(fleet.edge_port, f'keys_store = "{fleet.store}"'), fleet.edge_port),
        gateway_process(config) as (one, _),
        gateway_process(config) as (two, frozen),
    ):
        old = serving(one)
        time.sleep(1)  # both have reported the key they sign with
        os.kill(frozen.pid, signal.SIGSTOP)  # a replica that stops reloading (stuck, partitioned)
        try:
            rotated = cli("keys", "rotate", "--config", str(config), "--wait", "1")
            assert rotated.returncode == 0, rotated.stdout + rotated.stderr
            new = S3KeyringStore(seaweed.client(), fleet.store).load(private=False).active.key_pair_id
            wait_for(lambda: serving(one) == new)
            time.sleep(1)  # `one` has reported the new key
            line = _one_line(cli("keys", "retire", "--config", str(config), "--max-grant-seconds", "0"))
            assert "refusing to retire: 1 replica(s) still sign with a key to retire" in line
            assert f"-{frozen.pid} ({old}," in line and f"once they report {new}" in line
        finally:
            os.kill(frozen.pid, signal.SIGCONT)
        wait_for(lambda: serving(two) == new)

        def retired() -> bool:
            done = cli("keys", "retire", "--config", str(config), "--max-grant-seconds", "0")
            return done.returncode == 0 and "retired key" in done.stdout

        wait_for(retired, timeout=20)
        assert S3KeyringStore(seaweed.client(), fleet.store).load(private=False).public_keys.keys() == {new}


def test_retire_asks_named_replicas_of_a_file_keyring(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    assert cli("keys", "init", "--keys", str(keys)).returncode == 0
    config = write_config(tmp_path, keys)
    slow = {"GATEWAY_SIGNING_RELOAD_INTERVAL_SECONDS": "3600"}  # never reloads during the test
    with gateway_process(config) as (quick, _):
        old = serving(quick)
        port = free_port()
        lagging = subprocess.Popen(
            [sys.executable, "-m", "gateway", "serve", "--config", str(config), "--port", str(port)],
            env={**os.environ, **slow},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        behind = f"http://127.0.0.1:{port}"
        try:
            wait_for(lambda: _answers(behind))
            assert cli("keys", "rotate", "--keys", str(keys), "--wait", "0").returncode == 0
            new = load_keyring(keys).active.key_pair_id
            wait_for(lambda: serving(quick) == new)
            asked = ("keys", "retire", "--keys", str(keys), "--max-grant-seconds", "0")
            line = _one_line(cli(*asked, "--replica", quick, "--replica", behind))
            assert f"still sign with a key to retire: {behind} ({old}, 0s ago)" in line
        finally:
            lagging.terminate()
            lagging.wait(timeout=20)
        gone = _one_line(cli(*asked, "--replica", behind))  # named, but silent: no consent
        assert f"replica {behind} did not report" in gone and "refusing to retire" in gone
        done = cli(*asked, "--replica", quick)
        assert done.returncode == 0 and "1 replica(s) report signing with" in done.stdout, done.stderr
        assert load_keyring(keys).public_keys.keys() == {new}


def _answers(base: str) -> bool:
    try:
        return requests.get(f"{base}/healthz", timeout=1).status_code == 200
    except requests.ConnectionError:
        return False
