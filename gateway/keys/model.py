"""What a keyring is, wherever it is kept: entries, states, and the checks of ``keyring.json``.

``keyring.json`` holds the public half of every key; private keys are stored beside it, one per
key.  Parsing checks everything and reports every problem at once, naming the document, without
ever echoing key material.  Where the bytes come from (a directory, an S3 prefix) is the
caller's business: see ``keyring.py`` and ``s3store.py``.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import secrets
import string
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from gateway.signing.crypto import (
    KeyAlgorithm,
    KeySigner,
    PrivateKey,
    PublicKey,
    UnsupportedKey,
    key_algorithm,
    load_public_pem,
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

    def __init__(self, directory: Path | str, problems: list[str]) -> None:
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
    directory: Path | str  # the keyring's directory, or its store's URL (s3://bucket/prefix/)
    active_id: str
    entries: tuple[KeyEntry, ...]
    signer: KeySigner | None  # None when loaded for verification only
    public_keys: Mapping[str, PublicKey] = field(default_factory=dict)  # by key_pair_id
    version: str = ""  # a digest of keyring.json: replicas serving the same keyring report the same

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

    def to_bytes(self) -> bytes:
        return json.dumps(self.to_document(), indent=2).encode("utf-8") + b"\n"


_ID_CHARS = string.ascii_uppercase + string.digits


def new_key_id() -> str:
    """An id shaped like CloudFront's public key ids (``K`` + 13 characters)."""
    return "K" + "".join(secrets.choice(_ID_CHARS) for _ in range(13))


def document_version(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def same_public_key(a: PrivateKey | PublicKey, b: PrivateKey | PublicKey) -> bool:
    """Compared as keys, not as PEM text (line lengths and headers may differ)."""
    return public_pem(a) == public_pem(b)


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


def parse_private_pem(name: str, data: bytes, problems: list[str]) -> PrivateKey | None:
    """An unencrypted RSA-2048 or P-256 private key, or None with what is wrong in ``problems``."""
    try:
        key = serialization.load_pem_private_key(data, password=None)
        key_algorithm(key)
    except TypeError:
        problems.append(f"{name} is encrypted; keys must be stored unencrypted (access-controlled)")
        return None
    except UnsupportedKey as exc:
        problems.append(f"{name} is unusable: {exc}")
        return None
    except ValueError:
        problems.append(f"{name} is unusable: not a PEM private key")
        return None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        return None  # unreachable: key_algorithm accepted it
    return key


def matching_private(
    name: str, entry: KeyEntry, key: PrivateKey | None, problems: list[str]
) -> PrivateKey | None:
    """``key`` when it is the private half of ``entry``; else None and the problem."""
    if key is None:
        return None
    if key_algorithm(key) is not entry.algorithm:
        problems.append(f"{name} is not a {entry.algorithm} key")
        return None
    if public_pem(key) != entry.public_key:
        problems.append(f"{name} does not match the public key recorded in {KEYRING_FILE}")
        return None
    return key


# Reads the private key of an entry, appending what is wrong with it to the problems.
PrivateReader = Callable[[KeyEntry, list[str]], PrivateKey | None]


def parse_keyring(
    location: Path | str, name: str, data: bytes, read_private: PrivateReader | None
) -> Keyring:
    """Check ``data`` (``keyring.json``, called ``name`` in messages); with ``read_private`` the
    active key's private half is read and checked too (the gateway), else only public keys (the
    edge)."""
    problems: list[str] = []
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise KeyringError(location, [f"{name} is not readable JSON"]) from None
    if (
        not isinstance(doc, dict)
        or doc.get("version") != FORMAT_VERSION
        or not isinstance(doc.get("keys"), list)
    ):
        raise KeyringError(location, [f"{name} is not a version {FORMAT_VERSION} keyring"])
    entries = [e for i, raw in enumerate(doc["keys"]) if (e := _entry(raw, i, problems))]
    ids = [e.id for e in entries]
    if len(ids) != len(set(ids)):
        problems.append(f"{name} lists a key id twice")
    active_id = doc.get("active")
    active = [e for e in entries if e.state is KeyState.ACTIVE]
    if not isinstance(active_id, str) or active_id not in ids:
        problems.append(f"{name} names no existing active key")
    elif len(active) != 1 or active[0].id != active_id:
        problems.append(f"{name} must mark exactly the active key {active_id} as active")
    elif not active[0].key_pair_id:
        problems.append(f"{name} active key {active_id} is not published (no key_pair_id)")
    public_keys: dict[str, PublicKey] = {}
    signer: KeySigner | None = None
    for entry in entries:
        if entry.state is KeyState.RETIRED:
            continue
        try:
            public = load_public_pem(entry.public_key)
        except (ValueError, UnsupportedKey):
            problems.append(f"{name} key {entry.id} has an unusable public key")
            continue
        if entry.key_pair_id:
            public_keys[entry.key_pair_id] = public
        if read_private is not None and entry.id == active_id:
            key = read_private(entry, problems)
            if key is not None and entry.key_pair_id:
                signer = KeySigner(entry.key_pair_id, key)
    if problems:
        raise KeyringError(location, problems)
    assert isinstance(active_id, str)
    return Keyring(location, active_id, tuple(entries), signer, public_keys, document_version(data))
