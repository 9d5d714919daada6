"""``keys adopt``: record a public key published outside the rotation (the first key, created by
CloudFormation from ``keys init``'s public key, or one uploaded by hand) instead of editing
``keyring.json``.  With CloudFront it is checked first: ``GetPublicKey`` must hold the same key.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from gateway.keys.keyring import first_keyring, read_private_key
from gateway.keys.lifecycle import Lifecycle, LifecycleError
from gateway.keys.model import KeyEntry, Keyring, KeyState, new_key_id
from gateway.keys.publish import CloudFrontPublisher
from gateway.signing.crypto import (
    PrivateKey,
    PublicKey,
    UnsupportedKey,
    key_algorithm,
    load_public_pem,
    public_pem,
)

Say = Callable[[str], None]


def _published_key(life: Lifecycle, key_pair_id: str) -> PublicKey | None:
    """CloudFront's copy of ``key_pair_id`` (None with the local publisher: nothing to ask)."""
    if not isinstance(life.publisher, CloudFrontPublisher):
        life.say(f"local publisher: {key_pair_id} is recorded as given (nothing to check it against)")
        return None
    try:
        return load_public_pem(life.publisher.public_key(key_pair_id))
    except (ValueError, UnsupportedKey):
        raise LifecycleError(f"CloudFront public key {key_pair_id} is not an RSA-2048 or P-256 key") from None


def _in_group(life: Lifecycle, key_pair_id: str) -> None:
    if not isinstance(life.publisher, CloudFrontPublisher):
        return
    if key_pair_id in life.publisher.group_items():
        life.say(f"{key_pair_id} is in {life.publisher.trusted_by}")
        return
    life.publisher.add_to_group(key_pair_id)
    life.say(
        f"added {key_pair_id} to {life.publisher.trusted_by}: edge locations may refuse grants it "
        "signs until the change has propagated (up to 5 minutes)"
    )


def _read_key(path: Path) -> PrivateKey:
    problems: list[str] = []
    key = read_private_key(path, problems)
    if key is None or problems:
        raise LifecycleError("; ".join(problems))
    return key


def adopt(life: Lifecycle, key_pair_id: str, key_file: Path | None) -> KeyEntry:
    """Give the keyring's matching key CloudFront's ``key_pair_id``, or bring in ``key_file``:
    the first key of a new keyring, else a pending key that ``keys rotate`` switches to."""
    published = _published_key(life, key_pair_id)
    key = _read_key(key_file) if key_file is not None else None
    if key is not None and published is not None and public_pem(key) != public_pem(published):
        raise LifecycleError(f"{key_file} is not the private half of CloudFront public key {key_pair_id}")
    now = int(life.clock())
    store = life.store
    if not store.exists():
        if key is None:
            raise LifecycleError(
                f"no keyring in {store.location}: pass --key-file with the key's private half"
            )
        _in_group(life, key_pair_id)
        keyring, key_id = first_keyring(store.location, key, now, key_pair_id)
        store.create(keyring)
        life.say(f"created the keyring in {store.location}: key {key_id} signs as {key_pair_id}")
        return keyring.active
    with life.store.session() as keyring:
        wanted = published or (key.public_key() if key is not None else None)
        entry = _matching_entry(keyring, key_pair_id, wanted)
        if entry is not None and entry.key_pair_id == key_pair_id:
            life.say(f"key {entry.id} is already recorded as {key_pair_id}: nothing to do")
            return entry
        if entry is None and key is None:
            raise LifecycleError(
                f"no key in {store.location} matches CloudFront public key {key_pair_id}: pass --key-file"
            )
        if entry is None and any(e.state is KeyState.PENDING for e in keyring.entries):
            raise LifecycleError("a rotation is pending: finish it (keys rotate) before adopting another key")
        _in_group(life, key_pair_id)
        if entry is not None:
            adopted = dataclasses.replace(entry, key_pair_id=key_pair_id, published=entry.published or now)
            _save(life, keyring, [adopted if e.id == entry.id else e for e in keyring.entries])
            life.say(f"key {entry.id} ({entry.state}) is now recorded as CloudFront public key {key_pair_id}")
            return adopted
        assert key is not None  # checked above
        key_id = new_key_id()
        store.save_private(key_id, key)
        algorithm = key_algorithm(key)
        pending = KeyEntry(
            key_id, algorithm, KeyState.PENDING, now, public_pem(key), key_pair_id, published=now
        )
        _save(life, keyring, [*keyring.entries, pending])
        life.say(f"key {key_id} ({key_pair_id}) is pending: 'keys rotate' waits, probes, then switches to it")
        return pending


def _matching_entry(keyring: Keyring, key_pair_id: str, wanted: PublicKey | None) -> KeyEntry | None:
    live = [e for e in keyring.entries if e.state is not KeyState.RETIRED]
    if wanted is None:  # local publisher, no key file: the id names the signing key
        return next((e for e in live if e.key_pair_id == key_pair_id), keyring.active)
    entry = next((e for e in live if e.public_key == public_pem(wanted)), None)
    if entry is not None and entry.key_pair_id not in (None, entry.id, key_pair_id):
        raise LifecycleError(
            f"key {entry.id} is already published as {entry.key_pair_id}, not {key_pair_id}; "
            "delete the duplicate CloudFront public key instead"
        )
    return entry


def _save(life: Lifecycle, keyring: Keyring, entries: list[KeyEntry]) -> None:
    life.store.save(dataclasses.replace(keyring, entries=tuple(entries)))
