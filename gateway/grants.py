"""Stable CloudFront grants: cookies for a prefix, URLs for an object, cached per window.

A grant is a pure function of (resource, policy kind, window, key, hash), so the cache is keyed on
exactly those inputs: two callers allowed the same resource get the same bytes, and a new key id
after a rotation never meets an entry signed by the old one.  The caller has already been
authorised for the resource before any lookup.

Signing is the expensive part, so each miss is charged to the caller's :class:`Account` before
it is signed, and the cache remembers which caller's miss made each entry (:class:`FairCache`).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass

from gateway.keyring import Keyring
from gateway.metrics import Metrics
from gateway.settings import SigningSettings
from gateway.signing.cloudfront import SignedPolicy, sign_policy
from gateway.signing.crypto import HashAlgorithm
from gateway.signing.encoding import encode_key, object_url
from gateway.signing.policy import Policy
from gateway.signing.window import Window, stable_window

# Every input of the signed bytes (the hash algorithm is fixed per process).
CacheKey = tuple[str, bool, int, int, str]


@dataclass(frozen=True, slots=True)
class Account:
    """Who a grant is made for: a miss is charged first (``charge`` raises to refuse it), and the
    entry it creates is counted against ``owner``."""

    owner: str
    charge: Callable[[], None]


def _free() -> None:
    return None


INTERNAL = Account("", _free)  # command-line tools, benchmarks and tests of the signing itself


@dataclass(frozen=True, slots=True)
class Grant:
    signed: SignedPolicy
    window: Window
    resource: str

    @property
    def expires(self) -> int:
        return self.window.expires


class _Node:
    """A cache entry (or the sentinel of the ring of all entries, by insertion: with one TTL that
    is expiry order).  Each owner's entries form a second ring, least recently used first."""

    __slots__ = ("after", "before", "expires", "key", "newer", "older", "owner", "signature")
    key: CacheKey
    signature: str
    owner: _Owner
    expires: float
    older: _Node
    newer: _Node
    before: _Node
    after: _Node

    def __init__(self) -> None:
        self.older = self.newer = self.before = self.after = self


class _Owner:
    __slots__ = ("count", "name", "oldest")

    def __init__(self, name: str) -> None:
        self.name, self.count = name, 0
        self.oldest: _Node | None = None

    def append(self, node: _Node) -> None:
        """Make ``node`` this owner's most recently used entry."""
        node.owner, oldest = self, self.oldest
        if oldest is None:
            node.older = node.newer = self.oldest = node
        else:
            node.older, node.newer = oldest.older, oldest
            node.older.newer = oldest.older = node

    def unlink(self, node: _Node) -> None:
        if node.newer is node:
            self.oldest = None
            return
        node.older.newer, node.newer.older = node.newer, node.older
        if self.oldest is node:
            self.oldest = node.newer


class FairCache:
    """Signatures by cache key; when full, evicts from the owner holding the most entries.

    One caller's flood of misses therefore pushes out its own entries (least recently used
    first), never everyone else's.  Hits are shared and never change an entry's owner.  Entries
    live ``ttl`` seconds.  Every operation is O(1): owners sit in buckets by entry count and the
    fullest bucket is tracked.  Memory (tracemalloc, keys and signatures excluded): ~175 bytes
    per entry (cachetools' TTLCache took ~246), plus ~200 per caller holding entries.
    """

    def __init__(self, maxsize: int, ttl: float, timer: Callable[[], float] = time.monotonic) -> None:
        self.maxsize, self.ttl, self._timer = maxsize, ttl, timer
        self.clear()

    def clear(self) -> None:
        self._entries: dict[CacheKey, _Node] = {}
        self._owners: dict[str, _Owner] = {}
        self._by_count: dict[int, set[_Owner]] = {}
        self._most = 0
        self._ring = _Node()

    def __len__(self) -> int:
        return len(self._entries)

    def entries_of(self, owner: str) -> int:
        found = self._owners.get(owner)
        return found.count if found is not None else 0

    def get(self, key: CacheKey) -> str | None:
        node = self._entries.get(key)
        if node is None:
            return None
        if node.expires <= self._timer():
            self._remove(node)
            return None
        node.owner.unlink(node)
        node.owner.append(node)  # now its owner's most recently used
        return node.signature

    def put(self, key: CacheKey, signature: str, owner: str) -> None:
        now = self._timer()
        while self._ring.after is not self._ring and self._ring.after.expires <= now:
            self._remove(self._ring.after)
        if key in self._entries:
            self._remove(self._entries[key])
        while len(self._entries) >= self.maxsize:
            self._evict()
        node = _Node()
        node.key, node.signature, node.expires = key, signature, now + self.ttl
        node.before, node.after = self._ring.before, self._ring
        node.before.after = node.after.before = node
        holder = self._owners.get(owner)
        if holder is None:
            holder = self._owners[owner] = _Owner(owner)
        holder.append(node)
        self._entries[key] = node
        self._recount(holder, +1)

    def _evict(self) -> None:
        bucket = self._by_count[self._most]
        owner = bucket.pop()  # any of the fullest owners (set.pop is amortised O(1))
        bucket.add(owner)
        assert owner.oldest is not None  # an owner in a bucket holds entries
        self._remove(owner.oldest)

    def _remove(self, node: _Node) -> None:
        node.before.after, node.after.before = node.after, node.before
        node.owner.unlink(node)
        del self._entries[node.key]
        self._recount(node.owner, -1)

    def _recount(self, owner: _Owner, delta: int) -> None:
        old, new = owner.count, owner.count + delta
        if old:
            bucket = self._by_count[old]
            bucket.discard(owner)
            if not bucket:
                del self._by_count[old]
                if self._most == old and delta < 0:
                    self._most = new
        owner.count = new
        if new:
            self._by_count.setdefault(new, set()).add(owner)
            self._most = max(self._most, new)
        else:
            del self._owners[owner.name]


class Granter:
    def __init__(self, settings: SigningSettings, keyring: Callable[[], Keyring], metrics: Metrics) -> None:
        self._settings = settings
        self._keyring = keyring
        self._metrics = metrics
        self.hash_algorithm = HashAlgorithm.parse(settings.hash_algorithm)
        self._hits, self._misses = metrics.cache.labels("hit"), metrics.cache.labels("miss")
        self._signatures = functools.cache(metrics.signatures.labels)
        self.cache = FairCache(settings.cache_size, settings.window_seconds + settings.grace_seconds)

    def window(self, now: float, lifetime: int | None = None) -> Window:
        """The stable window of a grant.  A ``lifetime`` (a rule's ``grant_seconds``, the guest
        window) bounds the *whole* life of a grant, window plus grace: a grant made at the start
        of its window lives exactly that long, one made later lives less."""
        window, grace = self._settings.window_seconds, self._settings.grace_seconds
        if lifetime is None or lifetime >= window + grace:
            return stable_window(now, window, grace)
        grace = min(grace, lifetime // 2)
        return stable_window(now, lifetime - grace, grace)

    def _policy(self, resource: str, canned: bool, window: Window) -> Policy:
        if canned:
            return Policy.make_canned(resource, window.expires)
        skew = self._settings.not_before_skew_seconds
        return Policy.make_custom(resource, window.expires, window.start - skew if skew else None)

    def _sign(self, resource: str, canned: bool, window: Window, account: Account) -> SignedPolicy:
        signer = self._keyring().require_signer()
        policy = self._policy(resource, canned, window)
        key: CacheKey = (resource, canned, window.start, window.expires, signer.key_pair_id)
        signature = self.cache.get(key)
        if signature is not None:
            # Only the signature is kept (memory): the policy bytes are rebuilt, identically.
            self._hits.inc()
            return SignedPolicy(policy, policy.to_bytes(), signature, signer.key_pair_id, self.hash_algorithm)
        account.charge()  # before any work: a caller over its signature budget gets nothing signed
        self._misses.inc()
        signed = sign_policy(policy, signer, self.hash_algorithm)
        self._signatures(signer.algorithm.value).inc()
        self.cache.put(key, signed.signature, account.owner)
        return signed

    def for_prefix(
        self, prefix: str, now: float, lifetime: int | None = None, account: Account = INTERNAL
    ) -> Grant:
        """A custom-policy grant for everything under ``prefix`` (cookies for tiles, galleries)."""
        resource = f"{self._settings.cdn_base_url.rstrip('/')}/{encode_key(prefix)}*"
        window = self.window(now, lifetime)
        return Grant(self._sign(resource, False, window, account), window, resource)

    def for_object(
        self, key: str, now: float, canned: bool, lifetime: int | None = None, account: Account = INTERNAL
    ) -> tuple[str, Grant]:
        """A signed URL for one object, byte-identical within the window."""
        url = object_url(self._settings.cdn_base_url, key)
        window = self.window(now, lifetime)
        grant = Grant(self._sign(url, canned, window, account), window, url)
        return grant.signed.url(url), grant

    def clear(self) -> None:
        self.cache.clear()
