"""The keyring in a directory (``keys/``): ``keyring.json`` and one ``<id>.pem`` per key.

Private keys are written 0600.  When loading, a key file may be readable by its owner and its
group, never writable by the group nor open to others: Kubernetes projects a Secret with
``fsGroup`` as 0440 whatever ``defaultMode`` asks (kubernetes/kubernetes#57923), and a process
in that group reads it through the group bit.  A projected Secret is a set of symlinks into
``..data``, itself a symlink the kubelet swaps atomically on every update; a keyring is read
through one resolution of ``..data``, so that ``keyring.json`` and the key files always come
from the same version.
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

from gateway.common.fsutil import atomic_write
from gateway.keys.model import (
    FORMAT_VERSION,
    KEYRING_FILE,
    KeyEntry,
    Keyring,
    KeyringError,
    KeyState,
    matching_private,
    new_key_id,
    parse_keyring,
    parse_private_pem,
)
from gateway.signing.crypto import (
    KeyAlgorithm,
    KeySigner,
    PrivateKey,
    generate_private_key,
    key_algorithm,
    private_pem,
    public_pem,
)

__all__ = [
    "FORMAT_VERSION",
    "KEYRING_FILE",
    "KeyEntry",
    "KeyState",
    "Keyring",
    "KeyringError",
    "init_keyring",
    "keyring_identity",
    "load_keyring",
    "new_key_id",
    "read_private_key",
    "write_keyring",
    "write_private_key",
]

PROJECTED_DATA = "..data"  # the kubelet's symlink to the current version of a projected volume
# Group read is allowed (fsGroup); group write or execute, and anything for others, is not.
_FORBIDDEN_BITS = 0o037


def _mode_problem(path: Path, mode: int) -> str | None:
    if not mode & _FORBIDDEN_BITS:
        return None
    return (
        f"{path} is mode {mode:04o}: a private key must be mode 0600, 0400 or 0440 (read by its "
        "owner and group only, never writable by the group nor open to others)"
    )


def read_private_key(path: Path, problems: list[str], *, shown: Path | None = None) -> PrivateKey | None:
    """Read one PEM private key, appending what is wrong with it (mode, format, type) to problems.
    ``shown`` is the name given in messages (the path the operator knows, not ``..data``'s target)."""
    name = shown or path
    try:
        info = path.stat()
        data = path.read_bytes()
    except FileNotFoundError:
        problems.append(f"{name} is missing")
        return None
    except OSError as exc:
        problems.append(f"{name} cannot be read ({exc.strerror})")
        return None
    if problem := _mode_problem(name, stat.S_IMODE(info.st_mode)):
        problems.append(problem)
    return parse_private_pem(str(name), data, problems)


def _version_dir(directory: Path) -> tuple[Path, str]:
    """Where the files of one consistent version are, and that version's name ("" if plain)."""
    try:
        target = os.readlink(directory / PROJECTED_DATA)
    except OSError:  # not a projected volume: the files are the directory's own
        return directory, ""
    return directory / target, target


def keyring_identity(directory: Path) -> tuple[str, int, int, int] | None:
    """What changes whenever the keyring does: a rotation's rename or the kubelet's ``..data`` swap."""
    _, version = _version_dir(directory)
    try:
        info = os.stat(directory / KEYRING_FILE)
    except OSError:
        return None
    return (version, info.st_ino, info.st_size, info.st_mtime_ns)


def _load_once(directory: Path, private: bool) -> Keyring:
    base, _ = _version_dir(directory)
    shown = directory / KEYRING_FILE
    try:
        data = (base / KEYRING_FILE).read_bytes()
    except FileNotFoundError:
        # Suggest creating a key only where one was meant to be: a mistyped directory is not that.
        if not directory.is_dir():
            raise KeyringError(directory, ["the directory does not exist"]) from None
        hint = f"create the first key with: cdn-gateway keys init --keys {directory}"
        raise KeyringError(directory, [f"{shown} is missing ({hint})"]) from None
    except OSError as exc:  # e.g. a pod whose user is not in the Secret's fsGroup
        raise KeyringError(directory, [f"{shown} cannot be read ({exc.strerror})"]) from None

    def read_private(entry: KeyEntry, problems: list[str]) -> PrivateKey | None:
        name = directory / entry.file
        key = read_private_key(base / entry.file, problems, shown=name)
        return matching_private(str(name), entry, key, problems)

    return parse_keyring(directory, str(shown), data, read_private if private else None)


def load_keyring(directory: Path, *, private: bool = True) -> Keyring:
    """Load and check the keyring; with ``private=False`` only public keys are read (the edge)."""
    for _ in range(3):
        before = _version_dir(directory)[1]
        try:
            return _load_once(directory, private)
        except KeyringError:
            if not before or _version_dir(directory)[1] == before:
                raise
            # The kubelet swapped ``..data`` (and removed the old version) while we read: again.
    return _load_once(directory, private)


def write_keyring(keyring: Keyring) -> None:
    if not isinstance(keyring.directory, Path):
        raise TypeError(f"{keyring.directory} is not a keyring directory")
    atomic_write(keyring.directory / KEYRING_FILE, keyring.to_bytes(), mode=0o644)


def write_private_key(directory: Path, key_id: str, key: PrivateKey) -> None:
    atomic_write(directory / f"{key_id}.pem", private_pem(key), mode=0o600)


def first_keyring(
    location: Path | str, key: PrivateKey, created: int, key_pair_id: str | None = None
) -> tuple[Keyring, str]:
    """A one-key keyring where ``key`` signs; locally its own id is its Key-Pair-Id until a
    publisher (or ``keys adopt``) records CloudFront's."""
    key_id = new_key_id()
    algorithm = key_algorithm(key)
    pair_id = key_pair_id or key_id
    entry = KeyEntry(
        key_id,
        algorithm,
        KeyState.ACTIVE,
        created,
        public_pem(key),
        key_pair_id=pair_id,
        activated=created,
        published=created if key_pair_id else None,
    )
    return Keyring(location, key_id, (entry,), KeySigner(pair_id, key), {pair_id: key.public_key()}), key_id


def init_keyring(directory: Path, algorithm: KeyAlgorithm, now: int | None = None) -> Keyring:
    """Create the first key and keyring; refuse if a keyring is already there."""
    if (directory / KEYRING_FILE).exists():
        raise KeyringError(directory, [f"{directory / KEYRING_FILE} already exists; refusing to overwrite"])
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    created = int(time.time()) if now is None else now
    keyring, key_id = first_keyring(directory, generate_private_key(algorithm), created)
    write_private_key(directory, key_id, keyring.require_signer().key)
    write_keyring(keyring)
    return keyring
