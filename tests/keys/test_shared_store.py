"""Issue 14 item 2: a rotation reaches every replica without a redeploy.  Two gateway processes
and an edge share nothing but the keyring under an S3 prefix (SeaweedFS); the rotation command
writes it, and every one of them switches by polling it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import requests

from devstack.seaweed import SeaweedFS
from gateway.keys.s3store import S3KeyringStore
from gateway.keys.store import StoreError
from tests.gateway.conftest import gateway_process
from tests.keys.fleet import cli, edge_process, make_fleet, serving, signed_url, wait_for


def test_a_rotation_reaches_every_replica_through_the_store(seaweed: SeaweedFS, tmp_path: Path) -> None:
    fleet = make_fleet(seaweed, tmp_path / "fleet")
    config = fleet.gateway_config()
    made = cli("keys", "init", "--config", str(config))
    assert made.returncode == 0 and fleet.store in made.stdout, made.stderr
    assert not (fleet.root / "unused").exists()  # no keyring on any disk: only in the store
    bucket, prefix = fleet.store[5:].split("/", 1)
    names = [o["Key"] for o in seaweed.client().list_objects_v2(Bucket=bucket)["Contents"]]
    assert sorted(n.rsplit("/", 1)[1].rsplit(".", 1)[1] for n in names) == ["json", "pem"]
    edge_toml = fleet.edge_config(fleet.edge_port, f'keys_store = "{fleet.store}"')
    with (
        edge_process(edge_toml, fleet.edge_port),
        gateway_process(config) as (one, _),
        gateway_process(config) as (two, _),
    ):
        old_url, old_key = signed_url(one)
        assert signed_url(two)[1] == old_key
        assert requests.get(old_url, timeout=5).status_code == 200

        rotated = cli("keys", "rotate", "--config", str(config), "--wait", "1")
        assert rotated.returncode == 0, rotated.stdout + rotated.stderr
        assert "probe: the distribution serves a GET signed with" in rotated.stdout
        new_key = S3KeyringStore(seaweed.client(), fleet.store).load(private=False).active.key_pair_id
        assert new_key and new_key != old_key
        for gateway in (one, two):  # each replica switches by itself, within its reload interval

            def switched(gateway: str = gateway) -> bool:
                return serving(gateway) == new_key

            wait_for(switched)
            url, key = signed_url(gateway)
            assert key == new_key and requests.get(url, timeout=5).status_code == 200  # the edge too
        assert requests.get(old_url, timeout=5).status_code == 200  # the old key still verifies

        retired = cli("keys", "retire", "--config", str(config), "--max-grant-seconds", "0")
        assert retired.returncode == 0, retired.stdout + retired.stderr
        assert "2 replica(s) report signing with" in retired.stdout
        wait_for(lambda: requests.get(old_url, timeout=5).status_code == 403)
        assert "<Code>InvalidKey</Code>" in requests.get(old_url, timeout=5).text
        objects = {
            o["Key"] for o in seaweed.client().list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]
        }
        assert not any(old_key in name for name in objects)  # the old private key is gone


def test_a_store_that_cannot_be_read_stops_start_up_with_one_line(seaweed: SeaweedFS, tmp_path: Path) -> None:
    fleet = make_fleet(seaweed, tmp_path / "fleet")
    config = fleet.gateway_config()
    empty = cli("serve", "--config", str(config))
    lines = empty.stderr.strip().splitlines()
    assert empty.returncode == 2 and len(lines) == 1, empty.stderr
    assert f"{fleet.store}keyring.json is missing" in lines[0] and "keys init --config" in lines[0]
    wrong = fleet.gateway_config("wrong.toml")
    wrong.write_text(wrong.read_text().replace(seaweed.secret_key, "not-the-secret"))
    refused = cli("keys", "list", "--config", str(wrong))
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert (
        "cannot read keyring.json: SignatureDoesNotMatch" in refused.stderr
        and "Traceback" not in refused.stderr
    )


def test_two_commands_at_once_cannot_overwrite_each_other(seaweed: SeaweedFS, tmp_path: Path) -> None:
    fleet = make_fleet(seaweed, tmp_path / "fleet")
    assert cli("keys", "init", "--config", str(fleet.gateway_config())).returncode == 0
    first, second = (S3KeyringStore(seaweed.client(), fleet.store) for _ in range(2))
    with first.session() as mine, second.session() as theirs:  # both read the same keyring.json
        touched = tuple(dataclasses.replace(e, created=e.created + 1) for e in mine.entries)
        first.save(dataclasses.replace(mine, entries=touched))
        with pytest.raises(StoreError, match=r"changed while this command ran .*run it again"):
            second.save(dataclasses.replace(theirs, entries=()))  # would have dropped every key
    assert first.load(private=True).entries == touched  # the winner's write stands


def test_store_kms_key_id_is_sent_with_every_write(seaweed: SeaweedFS, tmp_path: Path) -> None:
    # SeaweedFS has no KMS: it refuses an aws:kms write, which shows the header is sent (a plain
    # write succeeds), and the refusal is one line that leaves nothing behind.
    fleet = make_fleet(seaweed, tmp_path / "fleet")
    config = fleet.gateway_config(store_kms_key_id="alias/cdn-gateway-keys")
    done = cli("keys", "init", "--config", str(config))
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert f"writing {fleet.store}K" in lines[0] and ".pem failed: InternalError" in lines[0]
    bucket, prefix = fleet.store[5:].split("/", 1)
    assert "Contents" not in seaweed.client().list_objects_v2(Bucket=bucket, Prefix=prefix)
