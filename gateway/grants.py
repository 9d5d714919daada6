"""Stable CloudFront grants: cookies for a prefix, URLs for an object, cached per window.

A grant is a pure function of (resource, policy kind, window, key, hash), so the cache is keyed on
exactly those inputs: two callers allowed the same resource get the same bytes, and a new key id
after a rotation never meets an entry signed by the old one.  The caller has already been
authorised for the resource before any lookup.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from cachetools import TTLCache

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
class Grant:
    signed: SignedPolicy
    window: Window
    resource: str

    @property
    def expires(self) -> int:
        return self.window.expires


class Granter:
    def __init__(self, settings: SigningSettings, keyring: Callable[[], Keyring], metrics: Metrics) -> None:
        self._settings = settings
        self._keyring = keyring
        self._metrics = metrics
        self.hash_algorithm = HashAlgorithm.parse(settings.hash_algorithm)
        self._hits, self._misses = metrics.cache.labels("hit"), metrics.cache.labels("miss")
        self._signatures = functools.cache(metrics.signatures.labels)
        self.cache: TTLCache[CacheKey, str] = TTLCache(
            maxsize=settings.cache_size, ttl=settings.window_seconds + settings.grace_seconds
        )

    def window(self, now: float, lifetime: int | None = None) -> Window:
        length = min(lifetime or self._settings.window_seconds, self._settings.window_seconds)
        return stable_window(now, length, min(self._settings.grace_seconds, length))

    def _policy(self, resource: str, canned: bool, window: Window) -> Policy:
        if canned:
            return Policy.make_canned(resource, window.expires)
        skew = self._settings.not_before_skew_seconds
        return Policy.make_custom(resource, window.expires, window.start - skew if skew else None)

    def _sign(self, resource: str, canned: bool, window: Window) -> SignedPolicy:
        signer = self._keyring().require_signer()
        policy = self._policy(resource, canned, window)
        key: CacheKey = (resource, canned, window.start, window.expires, signer.key_pair_id)
        signature = self.cache.get(key)
        if signature is not None:
            # Only the signature is kept (memory): the policy bytes are rebuilt, identically.
            self._hits.inc()
            return SignedPolicy(policy, policy.to_bytes(), signature, signer.key_pair_id, self.hash_algorithm)
        self._misses.inc()
        signed = sign_policy(policy, signer, self.hash_algorithm)
        self._signatures(signer.algorithm.value).inc()
        self.cache[key] = signed.signature
        return signed

    def for_prefix(self, prefix: str, now: float, lifetime: int | None = None) -> Grant:
        """A custom-policy grant for everything under ``prefix`` (cookies for tiles, galleries)."""
        resource = f"{self._settings.cdn_base_url.rstrip('/')}/{encode_key(prefix)}*"
        window = self.window(now, lifetime)
        return Grant(self._sign(resource, False, window), window, resource)

    def for_object(
        self, key: str, now: float, canned: bool, lifetime: int | None = None
    ) -> tuple[str, Grant]:
        """A signed URL for one object, byte-identical within the window."""
        url = object_url(self._settings.cdn_base_url, key)
        window = self.window(now, lifetime)
        grant = Grant(self._sign(url, canned, window), window, url)
        return grant.signed.url(url), grant

    def clear(self) -> None:
        self.cache.clear()
