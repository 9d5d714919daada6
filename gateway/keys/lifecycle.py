"""Rotate, retire and revoke keys without downtime, safely re-runnable after a crash at any step.

The keyring is the record of progress.  Every change is one atomic write of ``keyring.json``
(private keys are written, 0600, before any entry names them), and the order of steps makes each
intermediate state safe to serve from and safe to resume:

    create   pending key (PEM first, then the entry)        gateway: old key signs; edge: unchanged
    publish  public key + key group, then record its id     edge trusts the new key
    wait     propagation (CloudFront edges, local reloads)
    switch   pending -> active, active -> trusted (one write) never two active keys
    retire   trusted keys whose last grant has expired: key group, public key, entry, PEM
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from gateway.keyring import (
    KeyEntry,
    Keyring,
    KeyState,
    load_keyring,
    new_key_id,
    write_keyring,
    write_private_key,
)
from gateway.keys.publish import Publisher
from gateway.signing.crypto import KeyAlgorithm, generate_private_key, public_pem

_KEY_FILE = re.compile(r"\AK[A-Z0-9]{1,63}\.pem\Z")


class LifecycleError(RuntimeError):
    """An operator-facing refusal (unknown key, nothing to do that was asked for)."""


@dataclass
class Lifecycle:
    directory: Path
    publisher: Publisher
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    say: Callable[[str], None] = field(default=lambda message: print(message, flush=True))

    @contextlib.contextmanager
    def _locked(self) -> Iterator[Keyring]:
        """One operator command at a time; yields the keyring as it is on disk."""
        with open(self.directory / ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield load_keyring(self.directory, private=False)

    def _save(self, keyring: Keyring, entries: list[KeyEntry], active_id: str | None = None) -> Keyring:
        updated = dataclasses.replace(
            keyring, entries=tuple(entries), active_id=active_id or keyring.active_id
        )
        write_keyring(updated)
        return updated

    def _remove_orphans(self, keyring: Keyring) -> None:
        """PEM files no entry names: left by a crash between writing the key and recording it."""
        live = {e.file for e in keyring.entries if e.state != KeyState.RETIRED.value}
        for path in self.directory.iterdir():
            if _KEY_FILE.match(path.name) and path.name not in live:
                path.unlink()
                self.say(f"removed {path.name}: a key file no keyring entry names (interrupted rotation)")

    def _create(self, keyring: Keyring, algorithm: KeyAlgorithm) -> tuple[Keyring, KeyEntry]:
        key, key_id = generate_private_key(algorithm), new_key_id()
        write_private_key(self.directory, key_id, key)
        entry = KeyEntry(key_id, algorithm.value, KeyState.PENDING.value, int(self.clock()), public_pem(key))
        self.say(f"created {algorithm.value} key {key_id}")
        return self._save(keyring, [*keyring.entries, entry]), entry

    def _publish(self, keyring: Keyring, entry: KeyEntry) -> tuple[Keyring, KeyEntry]:
        key_pair_id = self.publisher.publish(entry)
        self.publisher.add_to_group(key_pair_id)
        published = dataclasses.replace(entry, key_pair_id=key_pair_id)
        entries = [published if e.id == entry.id else e for e in keyring.entries]
        self.say(f"published key {entry.id} as {key_pair_id}")
        return self._save(keyring, entries), published

    def _activate(self, keyring: Keyring, entry: KeyEntry) -> Keyring:
        now = int(self.clock())
        entries = []
        for e in keyring.entries:
            if e.id == entry.id:
                e = dataclasses.replace(e, state=KeyState.ACTIVE.value, activated=now)
            elif e.state == KeyState.ACTIVE.value:
                e = dataclasses.replace(e, state=KeyState.TRUSTED.value, deactivated=now)
            entries.append(e)
        self.say(f"key {entry.id} ({entry.key_pair_id}) now signs; {keyring.active_id} still verifies")
        return self._save(keyring, entries, active_id=entry.id)

    def rotate(self, algorithm: KeyAlgorithm, propagation_seconds: float) -> KeyEntry:
        """Create (or resume) a pending key, publish it, wait, then make it the signing key."""
        with self._locked() as keyring:
            self._remove_orphans(keyring)
            pending = [e for e in keyring.entries if e.state == KeyState.PENDING.value]
            if pending:
                entry = pending[0]
                self.say(f"resuming the interrupted rotation of key {entry.id}")
            else:
                keyring, entry = self._create(keyring, algorithm)
            if entry.key_pair_id is None:
                keyring, entry = self._publish(keyring, entry)
                if propagation_seconds > 0:
                    self.say(f"waiting {propagation_seconds:g}s for every verifier to trust it")
                    self.sleep(propagation_seconds)
            self._activate(keyring, entry)
            return entry

    def _retire(self, keyring: Keyring, entry: KeyEntry) -> Keyring:
        if entry.key_pair_id:
            self.publisher.remove_from_group(entry.key_pair_id)
            self.publisher.delete(entry.key_pair_id)
        retired = dataclasses.replace(
            entry, state=KeyState.RETIRED.value, deactivated=entry.deactivated or int(self.clock())
        )
        keyring = self._save(keyring, [retired if e.id == entry.id else e for e in keyring.entries])
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.directory / entry.file)
        self.say(f"retired key {entry.id} ({entry.key_pair_id}): removed from the key group and from disk")
        return keyring

    def retire(self, max_grant_seconds: int) -> list[KeyEntry]:
        """Retire every trusted key whose last possible grant has expired."""
        now = self.clock()
        done = []
        with self._locked() as keyring:
            for entry in keyring.entries:
                if entry.state != KeyState.TRUSTED.value:
                    continue
                drained_at = (entry.deactivated or 0) + max_grant_seconds
                if drained_at <= now:
                    keyring = self._retire(keyring, entry)
                    done.append(entry)
                else:
                    self.say(f"key {entry.id} still verifies grants for {int(drained_at - now)}s")
        return done

    def revoke(self, key: str, algorithm: KeyAlgorithm, propagation_seconds: float) -> None:
        """Emergency: stop trusting ``key`` now; everything it signed stops working."""
        with self._locked() as keyring:
            matches = [e for e in keyring.entries if key in (e.id, e.key_pair_id)]
            if not matches or matches[0].state == KeyState.RETIRED.value:
                raise LifecycleError(f"no live key {key} in {self.directory}")
            target = matches[0]
            was_active = target.id == keyring.active_id
        if was_active:
            self.rotate(algorithm, propagation_seconds)
        with self._locked() as keyring:
            current = next(e for e in keyring.entries if e.id == target.id)
            self._retire(keyring, current)

    def table(self) -> list[dict[str, str]]:
        keyring = load_keyring(self.directory, private=False)
        now = self.clock()
        rows = []
        for e in keyring.entries:
            rows.append(
                {
                    "id": e.id,
                    "key_pair_id": e.key_pair_id or "-",
                    "algorithm": e.algorithm,
                    "state": e.state,
                    "age": _age(now - e.created),
                    "since": _age(now - (e.deactivated or e.activated or e.created)) + " ago",
                }
            )
        return rows


def _age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
