"""The edge's object cache: bounded by bytes, fresh for the origin's max-age (or a default).

Entries outlive their freshness by a stale window so that a failing origin can still be answered
from cache (stale-if-error), as CloudFront does for objects it holds.
"""

from __future__ import annotations

import functools
import re
import time
from dataclasses import dataclass

from cachetools import TLRUCache

STALE_WINDOW_SECONDS = 24 * 3600
_MAX_AGE = re.compile(r"(?:^|,)\s*(?:s-maxage|max-age)\s*=\s*(\d+)", re.IGNORECASE)
CacheKey = tuple[str, str]  # (object key, forwarded query)


@dataclass(frozen=True)
class Entry:
    body: bytes
    headers: tuple[tuple[str, str], ...]  # as the origin sent them, but Content-Length
    stored_at: float  # wall clock, for Age
    fresh_until: float  # monotonic

    # Read on every hit: worked out once.
    @functools.cached_property
    def etag(self) -> str | None:
        return self.header("etag")

    @functools.cached_property
    def last_modified(self) -> str | None:
        return self.header("last-modified")

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name), None)

    def age(self) -> int:
        return max(0, int(time.time() - self.stored_at))

    def fresh(self) -> bool:
        return time.monotonic() < self.fresh_until


def ttl_from(cache_control: str, default: int) -> int | None:
    """Seconds to keep a response, or None when the origin says it must not be cached."""
    lowered = cache_control.lower()
    if "no-store" in lowered or "private" in lowered or "no-cache" in lowered:
        return None
    match = _MAX_AGE.search(cache_control)
    return int(match.group(1)) if match else default


class ObjectCache:
    def __init__(self, max_bytes: int, max_object_bytes: int) -> None:
        self.max_object_bytes = max_object_bytes
        self._entries: TLRUCache[CacheKey, Entry] = TLRUCache(
            maxsize=max_bytes,
            ttu=lambda _k, entry, _now: entry.fresh_until + STALE_WINDOW_SECONDS,
            getsizeof=lambda entry: len(entry.body) + 256,
        )

    def get(self, key: CacheKey) -> Entry | None:
        return self._entries.get(key)

    def put(self, key: CacheKey, body: bytes, headers: tuple[tuple[str, str], ...], ttl: int) -> None:
        if len(body) <= self.max_object_bytes and ttl > 0:
            self._entries[key] = Entry(body, headers, time.time(), time.monotonic() + ttl)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size(self) -> float:
        return float(self._entries.currsize)
