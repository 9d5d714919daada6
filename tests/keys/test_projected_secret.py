"""Issue 14 item 1: the keyring as Kubernetes projects a Secret, built the way the kubelet's
AtomicWriter builds it: every version in its own ``..<timestamp>`` directory, ``..data`` a
symlink to the current one swapped by rename, each key a symlink into ``..data``, files 0440
when the pod has an ``fsGroup`` (kubernetes/kubernetes#57923)."""

from __future__ import annotations

import os
import shutil
import stat
import time
from pathlib import Path

import pytest

from gateway.keys.keyring import KeyringError, init_keyring, load_keyring
from gateway.keys.lifecycle import Lifecycle
from gateway.keys.publish import LocalPublisher
from gateway.keys.watch import KeyringHolder
from gateway.signing.crypto import KeyAlgorithm
from tests.conftest import run_cli


def project(volume: Path, source: Path, mode: int = 0o440) -> None:
    """Write ``source``'s files into ``volume`` as the kubelet updates a Secret volume."""
    volume.mkdir(exist_ok=True)
    version = volume / f"..{time.strftime('%Y_%m_%d_%H_%M_%S')}.{time.monotonic_ns()}"
    version.mkdir(mode=0o750)
    names = sorted(p.name for p in source.iterdir() if not p.name.startswith("."))
    for name in names:
        shutil.copyfile(source / name, version / name)
        (version / name).chmod(mode)
    data = volume / "..data"
    old = os.readlink(data) if data.is_symlink() else None
    os.symlink(version.name, volume / "..data_tmp")
    os.rename(volume / "..data_tmp", data)  # the atomic swap
    for name in names:
        if not (volume / name).is_symlink():
            os.symlink(f"..data/{name}", volume / name)
    for link in volume.iterdir():  # keys no longer in the Secret
        if link.is_symlink() and link.name != "..data" and link.name not in names:
            link.unlink()
    if old is not None:
        shutil.rmtree(volume / old)


@pytest.fixture
def secret(tmp_path: Path) -> tuple[Path, Path]:
    """(the operator's keyring, the pod's projected copy of it)."""
    source = tmp_path / "keys"
    init_keyring(source, KeyAlgorithm.RSA_2048)
    volume = tmp_path / "projected"
    project(volume, source)
    return source, volume


def test_a_secret_projected_with_fs_group_loads(secret: tuple[Path, Path]) -> None:
    source, volume = secret
    keyring = load_keyring(source)
    pem = volume / keyring.active.file
    assert pem.is_symlink() and stat.S_IMODE(pem.stat().st_mode) == 0o440  # as the kubelet leaves it
    loaded = load_keyring(volume)
    assert loaded.require_signer().key_pair_id == keyring.active.key_pair_id
    assert loaded.version == keyring.version  # the same document, wherever it is read from
    listed = run_cli("keys", "list", "--keys", str(volume))
    assert listed.returncode == 0 and keyring.active_id in listed.stdout, listed.stderr


@pytest.mark.parametrize("mode", [0o444, 0o460])
def test_a_projected_key_open_to_others_or_group_writable_is_refused(tmp_path: Path, mode: int) -> None:
    source = tmp_path / "keys"
    init_keyring(source, KeyAlgorithm.RSA_2048)
    project(tmp_path / "projected", source, mode=mode)
    with pytest.raises(KeyringError, match=f"is mode {mode:04o}"):
        load_keyring(tmp_path / "projected")


def test_the_watcher_follows_a_secret_update(secret: tuple[Path, Path]) -> None:
    source, volume = secret
    holder = KeyringHolder(volume)
    old = holder.current.active_id
    assert holder.check() is False  # nothing changed
    new = Lifecycle(source, LocalPublisher(), say=lambda m: None).rotate(None, 0)
    project(volume, source)  # `kubectl apply` of the updated Secret, as the kubelet syncs it
    assert (volume / "keyring.json").is_symlink()  # the path itself never changed
    assert holder.check() is True and holder.error is None
    assert holder.current.active_id == new.id != old
    assert holder.current.require_signer().key_pair_id == new.key_pair_id
    assert holder.check() is False
    # A Secret update whose key file is now open to others keeps the last good keyring.
    Lifecycle(source, LocalPublisher(), say=lambda m: None).rotate(None, 0)
    project(volume, source, mode=0o444)
    assert holder.check() is False and holder.current.active_id == new.id
    assert holder.error is not None and "is mode 0444" in holder.error
    project(volume, source)  # fixed: picked up at the next poll
    assert holder.check() is True and holder.error is None and holder.current.active_id != new.id
