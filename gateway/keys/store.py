"""Where a keyring is kept: a directory (the default) or an S3 prefix that every replica reads.

The lifecycle writes through a :class:`KeyringStore`, in the same order whatever the store:
a private key before any entry names it, the entry before its private key is deleted, and every
change of ``keyring.json`` as one whole new document.  Readers (``watch.py``) poll
``identity()``, which is cheap, and ``load()`` only when it changed.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from collections.abc import Hashable, Iterator
from pathlib import Path
from typing import Protocol

from gateway.common.fsutil import atomic_write
from gateway.keys.keyring import (
    KEYRING_FILE,
    Keyring,
    KeyringError,
    keyring_identity,
    load_keyring,
    read_private_key,
    write_private_key,
)
from gateway.keys.model import KeyEntry, KeyState, matching_private
from gateway.signing.crypto import PrivateKey

KEY_FILE = re.compile(r"\AK[A-Z0-9]{1,63}\.pem\Z")


class StoreError(RuntimeError):
    """A write to the store failed or lost a race; the message is one line for the operator."""


class KeyringSource(Protocol):
    """What a verifier or a gateway needs: a cheap change marker and a checked load."""

    location: str

    def identity(self) -> Hashable:
        """Changes whenever the keyring does; raises KeyringError when the store cannot be asked."""
        ...

    def load(self, *, private: bool) -> Keyring: ...


class KeyringStore(KeyringSource, Protocol):
    """What the operator's commands need besides: an exclusive session and ordered writes."""

    def session(self) -> contextlib.AbstractContextManager[Keyring]:
        """One command at a time (or each write checked against a concurrent one); yields the
        keyring as stored, public keys only."""
        ...

    def exists(self) -> bool: ...

    def create(self, keyring: Keyring) -> None:
        """Write the first keyring (its signer's key first); refuse if one exists."""
        ...

    def save(self, keyring: Keyring) -> None: ...

    def save_private(self, key_id: str, key: PrivateKey) -> None: ...

    def read_private(self, entry: KeyEntry, problems: list[str]) -> PrivateKey | None: ...

    def delete_private(self, entry: KeyEntry) -> None: ...

    def orphans(self, keyring: Keyring) -> list[str]:
        """Private keys no live entry names (a crash between writing a key and recording it)."""
        ...

    def remove(self, name: str) -> None: ...


class DirectoryStore:
    """``keys/`` on a disk: atomic renames, an advisory lock for the operator's commands."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.location = str(directory)

    def identity(self) -> Hashable:
        return keyring_identity(self.directory)

    def load(self, *, private: bool) -> Keyring:
        return load_keyring(self.directory, private=private)

    @contextlib.contextmanager
    def session(self) -> Iterator[Keyring]:
        with open(self.directory / ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield load_keyring(self.directory, private=False)

    def exists(self) -> bool:
        return (self.directory / KEYRING_FILE).exists()

    def create(self, keyring: Keyring) -> None:
        if self.exists():
            path = self.directory / KEYRING_FILE
            raise KeyringError(self.directory, [f"{path} already exists; refusing to overwrite"])
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_private_key(self.directory, keyring.active_id, keyring.require_signer().key)
        self.save(keyring)

    def save(self, keyring: Keyring) -> None:
        atomic_write(self.directory / KEYRING_FILE, keyring.to_bytes(), mode=0o644)

    def save_private(self, key_id: str, key: PrivateKey) -> None:
        write_private_key(self.directory, key_id, key)

    def read_private(self, entry: KeyEntry, problems: list[str]) -> PrivateKey | None:
        path = self.directory / entry.file
        return matching_private(str(path), entry, read_private_key(path, problems), problems)

    def delete_private(self, entry: KeyEntry) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.directory / entry.file)

    def orphans(self, keyring: Keyring) -> list[str]:
        named = {e.file for e in keyring.entries if e.state is not KeyState.RETIRED}
        return sorted(
            p.name for p in self.directory.iterdir() if KEY_FILE.match(p.name) and p.name not in named
        )

    def remove(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.directory / name)
