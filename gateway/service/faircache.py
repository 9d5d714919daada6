"""The grant cache: signatures shared by every caller, evicted fairly when full.

Whose miss created an entry is remembered, so that when the cache is full the caller holding the
most entries loses its least recently used one: one caller's flood of never-seen paths pushes out
its own grants, never everyone else's.  Pure data structure: no I/O; the clock is passed in.
"""

from __future__ import annotations

import time
from collections.abc import Callable

# Every input of the signed bytes: resource, canned, lower bound (the window start, or a revocable
# grant's tagged DateGreaterThan), expiry, key (the hash algorithm is fixed per process).
CacheKey = tuple[str, bool, int, int, str]


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
