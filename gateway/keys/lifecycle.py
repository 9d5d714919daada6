"""Rotate, retire and revoke keys without downtime, safely re-runnable after a crash at any step.

The keyring is the record of progress.  Every change is one atomic write of ``keyring.json``
(private keys are written, 0600, before any entry names them), and the order of steps makes each
intermediate state safe to serve from and safe to resume:

    create   pending key (PEM first, then the entry)        gateway: old key signs; edge: unchanged
    publish  public key + key group, then record its id     edge trusts the new key
             and when publishing finished
    wait     propagation (CloudFront edges, local reloads), counted from ``published`` so a
             resumed rotation waits out the rest of it
    probe    (keys.probe_url) the distribution serves a signed GET with the new key, else stop
    switch   pending -> active, active -> trusted (one write) never two active keys
    retire   trusted keys whose last grant has expired, once no replica reports signing with
             them: key group, public key, entry, private key

The keyring lives in a :class:`KeyringStore`: a directory, or an S3 prefix every replica polls.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from gateway.keys.gates import Replicas
from gateway.keys.limits import (
    CLOCK_SKEW_SECONDS,
    LIVE,
    cap_refusal,
    longest_grant_seconds,
    replicas_refusal,
    table,
)
from gateway.keys.model import KeyEntry, Keyring, KeyState, new_key_id
from gateway.keys.publish import CLOUDFRONT_MAX_KEYS_PER_GROUP, Publisher
from gateway.keys.store import DirectoryStore, KeyringStore
from gateway.signing.crypto import KeyAlgorithm, KeySigner, generate_private_key, public_pem

__all__ = ["CLOCK_SKEW_SECONDS", "Lifecycle", "LifecycleError", "longest_grant_seconds"]


class LifecycleError(RuntimeError):
    """An operator-facing refusal (unknown key, nothing to do that was asked for)."""


@dataclass
class Lifecycle:
    directory: Path | KeyringStore  # a keyring directory, or any store (S3)
    publisher: Publisher
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    say: Callable[[str], None] = field(default=lambda message: print(message, flush=True))
    max_keys: int = CLOUDFRONT_MAX_KEYS_PER_GROUP  # keys.max_keys_in_group, for every publisher
    max_grant_seconds: int = longest_grant_seconds(3600, 600)  # the default signing window
    # Before switching: None when the distribution serves a GET signed with the key, else why not.
    probe: Callable[[KeySigner], str | None] | None = None
    # Before retiring: what the replicas report signing with (None: nobody reports).
    replicas: Callable[[], Replicas] | None = None

    def __post_init__(self) -> None:
        self.store: KeyringStore = (
            DirectoryStore(self.directory) if isinstance(self.directory, Path) else self.directory
        )

    @contextlib.contextmanager
    def _locked(self) -> Iterator[Keyring]:
        """One operator command at a time; yields the keyring as it is stored."""
        with self.store.session() as keyring:
            yield keyring

    def _save(self, keyring: Keyring, entries: list[KeyEntry], active_id: str | None = None) -> Keyring:
        updated = dataclasses.replace(
            keyring, entries=tuple(entries), active_id=active_id or keyring.active_id
        )
        self.store.save(updated)
        return updated

    def _remove_orphans(self, keyring: Keyring) -> None:
        """Key files no entry names: left by a crash between writing the key and recording it."""
        for name in self.store.orphans(keyring):
            self.store.remove(name)
            self.say(f"removed {name}: a key file no keyring entry names (interrupted rotation)")

    def _create(self, keyring: Keyring, algorithm: KeyAlgorithm) -> tuple[Keyring, KeyEntry]:
        key, key_id = generate_private_key(algorithm), new_key_id()
        self.store.save_private(key_id, key)
        entry = KeyEntry(key_id, algorithm, KeyState.PENDING, int(self.clock()), public_pem(key))
        current = keyring.active.algorithm
        change = (
            f" (the current key is {current.value}: the type changes, as asked)"
            if current != algorithm
            else ""
        )
        self.say(f"created {algorithm.value} key {key_id}{change}")
        return self._save(keyring, [*keyring.entries, entry]), entry

    def _check_cap(self, keyring: Keyring, leaving: str | None = None) -> None:
        """Refuse, before creating anything, a rotation that would leave more live keys than allowed."""
        refusal = cap_refusal(keyring, leaving, self.max_keys, self.max_grant_seconds, self.clock())
        if refusal is not None:
            raise LifecycleError(refusal)

    def _publish(self, keyring: Keyring, entry: KeyEntry) -> tuple[Keyring, KeyEntry]:
        key_pair_id = self.publisher.publish(entry)
        self.publisher.add_to_group(key_pair_id)
        published = dataclasses.replace(entry, key_pair_id=key_pair_id, published=self._now_up())
        entries = [published if e.id == entry.id else e for e in keyring.entries]
        self.say(f"published key {entry.id} as {key_pair_id}: trusted by {self.publisher.trusted_by}")
        return self._save(keyring, entries), published

    def _now_up(self) -> int:
        # Rounded up: an early ``published`` would shorten a resumed wait.
        return math.ceil(self.clock())

    def _resolve_wait(self, propagation_seconds: float | None) -> float:
        safe = self.publisher.safe_wait_seconds
        if propagation_seconds is None:
            return safe
        if propagation_seconds < safe:
            self.say(
                f"warning: waiting {propagation_seconds:g}s, less than the {safe:g}s verifiers may need: "
                "grants signed with the new key may be refused (InvalidKey) until they trust it"
            )
        return propagation_seconds

    def _wait(self, keyring: Keyring, entry: KeyEntry, propagation: float) -> Keyring:
        """Wait until every verifier trusts ``entry``: Deployed (where known), then whatever is left
        of the propagation time since it was published, so a resumed rotation waits the rest."""
        note = ""
        if entry.published is None:  # published by an older version that did not record when
            entry = dataclasses.replace(entry, published=self._now_up())
            keyring = self._save(keyring, [entry if e.id == entry.id else e for e in keyring.entries])
            note = f"key {entry.id} has no publishing time recorded: "
        self.publisher.wait_until_deployed()
        elapsed = max(0.0, self.clock() - (entry.published or 0))  # a clock set back waits in full
        remaining = propagation - elapsed
        if elapsed > 0 and propagation > 0:  # resumed, or Deployed took a while
            self.say(
                f"key {entry.id} was published {elapsed:.0f}s ago: "
                + (
                    f"waiting the remaining {remaining:.1f}s of {propagation:g}s before it signs"
                    if remaining > 0
                    else f"its {propagation:g}s propagation time is over"
                )
            )
        elif remaining > 0:
            self.say(f"{note}waiting {remaining:g}s for every verifier to trust it")
        if remaining > 0:
            self.sleep(remaining)
        return keyring

    def _prove(self, entry: KeyEntry) -> None:
        """Refuse to switch unless the distribution serves a GET signed with the new key."""
        if self.probe is None or entry.key_pair_id is None:
            return
        problems: list[str] = []
        key = self.store.read_private(entry, problems)
        if key is None:
            raise LifecycleError("; ".join(problems))
        failure = self.probe(KeySigner(entry.key_pair_id, key))
        if failure is not None:
            raise LifecycleError(
                f"refusing to switch to key {entry.id}: {failure}; it stays pending (trusted, not "
                "signing): run the rotation again to resume"
            )
        self.say(f"probe: the distribution serves a GET signed with {entry.key_pair_id}")

    def _activate(self, keyring: Keyring, entry: KeyEntry) -> Keyring:
        now = int(self.clock())
        entries = []
        for e in keyring.entries:
            if e.id == entry.id:
                e = dataclasses.replace(e, state=KeyState.ACTIVE, activated=now)
            elif e.state is KeyState.ACTIVE:
                e = dataclasses.replace(e, state=KeyState.TRUSTED, deactivated=now)
            entries.append(e)
        self.say(f"key {entry.id} ({entry.key_pair_id}) now signs; {keyring.active_id} still verifies")
        return self._save(keyring, entries, active_id=entry.id)

    def rotate(
        self,
        algorithm: KeyAlgorithm | None = None,
        propagation_seconds: float | None = None,
        leaving: str | None = None,
    ) -> KeyEntry:
        """Create (or resume) a pending key, publish it, wait, prove it, then make it the signing key.

        ``algorithm`` None keeps the current key's type.  ``propagation_seconds`` None means the
        publisher's safe wait; an explicit value is honoured even below it, with a warning.
        ``leaving``: a key already taken out of the key group (a revocation making room), not
        counted against the cap.
        """
        with self._locked() as keyring:
            self._remove_orphans(keyring)
            pending = [e for e in keyring.entries if e.state is KeyState.PENDING]
            if pending:
                entry = pending[0]
                self.say(f"resuming the interrupted rotation of key {entry.id}")
            else:
                self._check_cap(keyring, leaving)
                self.publisher.check()  # unreachable or refused: nothing is created
                keyring, entry = self._create(keyring, algorithm or keyring.active.algorithm)
            propagation = self._resolve_wait(propagation_seconds)
            if entry.key_pair_id is None:
                keyring, entry = self._publish(keyring, entry)
            keyring = self._wait(keyring, entry, propagation)
            self._prove(entry)
            self._activate(keyring, entry)
            return entry

    def _retire(self, keyring: Keyring, entry: KeyEntry) -> Keyring:
        if entry.key_pair_id:
            self.publisher.remove_from_group(entry.key_pair_id)
            self.publisher.delete(entry.key_pair_id)
        retired = dataclasses.replace(
            entry, state=KeyState.RETIRED, deactivated=entry.deactivated or int(self.clock())
        )
        keyring = self._save(keyring, [retired if e.id == entry.id else e for e in keyring.entries])
        self.store.delete_private(entry)
        self.say(
            f"retired key {entry.id} ({entry.key_pair_id}): no longer trusted by "
            f"{self.publisher.trusted_by}; its private key is deleted"
        )
        return keyring

    def _replicas_moved_on(self, keyring: Keyring, leaving: list[KeyEntry]) -> None:
        """Refuse while a replica that reports still signs with a key about to be retired."""
        if self.replicas is None:
            return
        seen = self.replicas()
        for note in seen.notes:
            self.say(note)
        refusal, said = replicas_refusal(keyring, leaving, seen)
        if refusal is not None:
            raise LifecycleError(refusal)
        self.say(said)

    def retire(self, max_grant_seconds: int) -> list[KeyEntry]:
        """Retire every trusted key whose last possible grant has expired."""
        now = self.clock()
        done = []
        with self._locked() as keyring:
            drained = []
            for entry in keyring.entries:
                if entry.state is not KeyState.TRUSTED:
                    continue
                drained_at = (entry.deactivated or 0) + max_grant_seconds
                if drained_at <= now:
                    drained.append(entry)
                else:
                    self.say(f"key {entry.id} still verifies grants for {int(drained_at - now)}s")
            if drained:
                self._replicas_moved_on(keyring, drained)
            for entry in drained:
                keyring = self._retire(keyring, entry)
                done.append(entry)
        return done

    def revoke(
        self, key: str, algorithm: KeyAlgorithm | None = None, propagation_seconds: float | None = None
    ) -> None:
        """Emergency: stop trusting ``key`` now; everything it signed stops working."""
        with self._locked() as keyring:
            matches = [e for e in keyring.entries if key in (e.id, e.key_pair_id)]
            if not matches or matches[0].state is KeyState.RETIRED:
                raise LifecycleError(f"no live key {key} in {self.store.location}")
            target = matches[0]
            was_active = target.id == keyring.active_id
            live = [e for e in keyring.entries if e.state in LIVE]
            full = (
                was_active
                and len(live) >= self.max_keys
                and not any(e.state is KeyState.PENDING for e in live)
            )
            if full and target.key_pair_id:
                # A full key group has no room for the replacement: the revoked key leaves it
                # first.  It is to stop being trusted anyway; the cost is that grants made until
                # the new key signs fail too, instead of a compromised key staying in use.
                self.publisher.remove_from_group(target.key_pair_id)
                self.say(
                    f"the key group is full: removed {target.id} ({target.key_pair_id}) from it first; "
                    "grants it signed stop working now, and new grants fail until the new key signs"
                )
        if was_active:
            self.rotate(algorithm, propagation_seconds, leaving=target.id if full else None)
        with self._locked() as keyring:
            current = next(e for e in keyring.entries if e.id == target.id)
            self._retire(keyring, current)

    def table(self) -> list[dict[str, str]]:
        return table(self.store.load(private=False), self.clock())
