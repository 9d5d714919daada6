"""A token bucket per caller, bounded in memory (a flood of new callers evicts the oldest).

Buckets live in this process only: behind N replicas (or ``--workers N``) a caller can spend up
to N buckets.  Operators size the settings per process (docs/operations.md, "Rate limits").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cachetools import TTLCache


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(self, rate: float, burst: int, max_callers: int = 100_000) -> None:
        self.rate, self.burst = rate, burst
        idle = burst / rate  # a bucket idle this long is full again: forget it
        self._buckets: TTLCache[str, _Bucket] = TTLCache(maxsize=max_callers, ttl=max(idle, 1.0))

    def _refilled(self, caller: str, now: float) -> _Bucket:
        bucket = self._buckets.get(caller)
        if bucket is None:
            bucket = _Bucket(float(self.burst), now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        self._buckets[caller] = bucket
        return bucket

    def wait(self, caller: str, now: float) -> float:
        """0 when a token is available (none is taken), else the seconds until one is."""
        bucket = self._refilled(caller, now)
        return 0.0 if bucket.tokens >= 1 else (1 - bucket.tokens) / self.rate

    def acquire(self, caller: str, now: float) -> float:
        """0 when the call may proceed (a token is taken), else the seconds until a token is available."""
        bucket = self._refilled(caller, now)
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.rate

    @staticmethod
    def retry_after(wait: float) -> int:
        return max(1, math.ceil(wait))
