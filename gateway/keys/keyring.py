"""The keyring in ``keys/``: which key signs, which keys still verify, and their PEM files.

``keyring.json`` holds the public half of every key; each private key lives in ``<id>.pem``
(mode 0600).  Loading checks everything and reports every problem at once, naming the file,
without ever echoing key material.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import secrets
import stat
import string
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from gateway.common.fsutil import atomic_write
from gateway.signing.crypto import (
    KeyAlgorithm,
    KeySigner,
    PrivateKey,
    PublicKey,
    UnsupportedKey,
    generate_private_key,
    key_algorithm,
    load_public_pem,
    private_pem,
    public_pem,
)

KEYRING_FILE = "keyring.json"
FORMAT_VERSION = 1


class KeyState(enum.StrEnum):
    PENDING = "pending"  # created; trusted for verification once published, not yet signing
    ACTIVE = "active"  # the one key that signs
    TRUSTED = "trusted"  # signed before a rotation; verifies until its grants have expired
    RETIRED = "retired"  # removed from the key group; its file is gone


class KeyringError(Exception):
    """Every problem found in a keyring, rendered as one line for start-up errors."""

    def __init__(self, directory: Path, problems: list[str]) -> None:
        self.directory, self.problems = directory, problems
        super().__init__(f"keyring {directory}: " + "; ".join(problems))


@dataclass(frozen=True)
class KeyEntry:
    id: str
    algorithm: KeyAlgorithm
    state: KeyState
    created: int
    public_key: str  # PEM
    key_pair_id: str | None = None  # the CloudFront public key id, once published
    activated: int | None = None
    deactivated: int | None = None
    # When publishing finished (epoch seconds): a resumed rotation waits out the rest of the
    # propagation time from here.  Keyrings written before this field existed load without it.
    published: int | None = None

    @property
    def file(self) -> str:
        return f"{self.id}.pem"


@dataclass(frozen=True, repr=False)
class Keyring:
    directory: Path
    active_id: str
    entries: tuple[KeyEntry, ...]
    signer: KeySigner | None  # None when loaded for verification only
    public_keys: Mapping[str, PublicKey] = field(default_factory=dict)  # by key_pair_id

    def __repr__(self) -> str:
        return f"Keyring({str(self.directory)!r}, active={self.active_id!r}, keys={len(self.entries)})"

    @property
    def active(self) -> KeyEntry:
        return next(e for e in self.entries if e.id == self.active_id)

    def require_signer(self) -> KeySigner:
        if self.signer is None:
            raise RuntimeError("keyring was loaded without private keys")
        return self.signer

    def to_document(self) -> dict[str, Any]:
        return {
            "version": FORMAT_VERSION,
            "active": self.active_id,
            "keys": [{k: v for k, v in asdict(e).items() if v is not None} for e in self.entries],
        }


_ID_CHARS = string.ascii_uppercase + string.digits


def new_key_id() -> str:
    """An id shaped like CloudFront's public key ids (``K`` + 13 characters)."""
    return "K" + "".join(secrets.choice(_ID_CHARS) for _ in range(13))


def _entry(raw: Any, index: int, problems: list[str]) -> KeyEntry | None:
    where = f"{KEYRING_FILE} keys[{index}]"
    if not isinstance(raw, dict):
        problems.append(f"{where} is not an object")
        return None
    try:
        entry = KeyEntry(**raw)
    except TypeError:
        problems.append(f"{where} has missing or unknown fields")
        return None
    if not isinstance(entry.id, str) or not entry.id or set(entry.id) - set(_ID_CHARS) or len(entry.id) > 64:
        problems.append(f"{where} id must be 1-64 characters A-Z, 0-9")
        return None
    if not isinstance(entry.state, str) or entry.state not in set(KeyState):
        problems.append(f"{where} state {entry.state!r} is not one of pending/active/trusted/retired")
        return None
    if not isinstance(entry.algorithm, str) or entry.algorithm not in set(KeyAlgorithm):
        problems.append(f"{where} algorithm {entry.algorithm!r} is not one of rsa-2048/ecdsa-p256")
        return None
    entry = dataclasses.replace(entry, state=KeyState(entry.state), algorithm=KeyAlgorithm(entry.algorithm))
    for name in ("created", "activated", "deactivated", "published"):
        value = getattr(entry, name)  # a string here would crash the lifecycle's arithmetic later
        if (value is not None or name == "created") and (type(value) is not int or value < 0):
            problems.append(f"{where} {name} must be epoch seconds (a whole number)")
    return entry


def read_private_key(path: Path, problems: list[str]) -> PrivateKey | None:
    """Read one PEM private key, appending what is wrong with it (mode, format, type) to problems."""
    try:
        info = path.stat()
        data = path.read_bytes()
    except FileNotFoundError:
        problems.append(f"{path} is missing")
        return None
    except OSError as exc:
        problems.append(f"{path} cannot be read ({exc.strerror})")
        return None
    if stat.S_IMODE(info.st_mode) & 0o077:
        problems.append(f"{path} must be mode 0600, not {stat.S_IMODE(info.st_mode):04o}")
    try:
        key = serialization.load_pem_private_key(data, password=None)
        key_algorithm(key)
    except TypeError:
        problems.append(f"{path} is encrypted; keys must be stored unencrypted with mode 0600")
        return None
    except UnsupportedKey as exc:
        problems.append(f"{path} is unusable: {exc}")
        return None
    except ValueError:
        problems.append(f"{path} is unusable: not a PEM private key")
        return None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        return None  # unreachable: key_algorithm accepted it
    return key


def _load_private(directory: Path, entry: KeyEntry, problems: list[str]) -> PrivateKey | None:
    path = directory / entry.file
    key = read_private_key(path, problems)
    if key is None:
        return None
    if key_algorithm(key) is not entry.algorithm:
        problems.append(f"{path} is not a {entry.algorithm} key")
        return None
    if public_pem(key) != entry.public_key:
        problems.append(f"{path} does not match the public key recorded in {KEYRING_FILE}")
        return None
    return key


def load_keyring(directory: Path, *, private: bool = True) -> Keyring:
    """Load and check the keyring; with ``private=False`` only public keys are read (the edge)."""
    path = directory / KEYRING_FILE
    problems: list[str] = []
    try:
        doc = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        # Suggest creating a key only where one was meant to be: a mistyped directory is not that.
        if not directory.is_dir():
            raise KeyringError(directory, ["the directory does not exist"]) from None
        hint = f"create the first key with: cdn-gateway keys init --keys {directory}"
        raise KeyringError(directory, [f"{path} is missing ({hint})"]) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise KeyringError(directory, [f"{path} is not readable JSON"]) from None
    if (
        not isinstance(doc, dict)
        or doc.get("version") != FORMAT_VERSION
        or not isinstance(doc.get("keys"), list)
    ):
        raise KeyringError(directory, [f"{path} is not a version {FORMAT_VERSION} keyring"])
    entries = [e for i, raw in enumerate(doc["keys"]) if (e := _entry(raw, i, problems))]
    ids = [e.id for e in entries]
    if len(ids) != len(set(ids)):
        problems.append(f"{path} lists a key id twice")
    active_id = doc.get("active")
    active = [e for e in entries if e.state is KeyState.ACTIVE]
    if not isinstance(active_id, str) or active_id not in ids:
        problems.append(f"{path} names no existing active key")
    elif len(active) != 1 or active[0].id != active_id:
        problems.append(f"{path} must mark exactly the active key {active_id} as active")
    elif not active[0].key_pair_id:
        problems.append(f"{path} active key {active_id} is not published (no key_pair_id)")
    public_keys: dict[str, PublicKey] = {}
    signer: KeySigner | None = None
    for entry in entries:
        if entry.state is KeyState.RETIRED:
            continue
        try:
            public = load_public_pem(entry.public_key)
        except (ValueError, UnsupportedKey):
            problems.append(f"{path} key {entry.id} has an unusable public key")
            continue
        if entry.key_pair_id:
            public_keys[entry.key_pair_id] = public
        if private and entry.id == active_id:
            key = _load_private(directory, entry, problems)
            if key is not None and entry.key_pair_id:
                signer = KeySigner(entry.key_pair_id, key)
    if problems:
        raise KeyringError(directory, problems)
    assert isinstance(active_id, str)
    return Keyring(directory, active_id, tuple(entries), signer, public_keys)


def write_keyring(keyring: Keyring) -> None:
    data = json.dumps(keyring.to_document(), indent=2).encode("utf-8") + b"\n"
    atomic_write(keyring.directory / KEYRING_FILE, data, mode=0o644)


def write_private_key(directory: Path, key_id: str, key: PrivateKey) -> None:
    atomic_write(directory / f"{key_id}.pem", private_pem(key), mode=0o600)


def init_keyring(directory: Path, algorithm: KeyAlgorithm, now: int | None = None) -> Keyring:
    """Create the first key and keyring; refuse if a keyring is already there."""
    if (directory / KEYRING_FILE).exists():
        raise KeyringError(directory, [f"{directory / KEYRING_FILE} already exists; refusing to overwrite"])
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    created = int(time.time()) if now is None else now
    key, key_id = generate_private_key(algorithm), new_key_id()
    write_private_key(directory, key_id, key)
    # Locally the key's own id is its Key-Pair-Id; CloudFront publishing replaces it (keys rotate).
    entry = KeyEntry(
        key_id,
        algorithm,
        KeyState.ACTIVE,
        created,
        public_pem(key),
        key_pair_id=key_id,
        activated=created,
    )
    keyring = Keyring(directory, key_id, (entry,), KeySigner(key_id, key), {key_id: key.public_key()})
    write_keyring(keyring)
    return keyring
