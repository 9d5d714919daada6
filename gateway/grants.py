"""Stable CloudFront grants: cookies for a prefix, URLs for an object, cached per window.

A grant is a pure function of (resource, policy kind, window, key, hash), so the cache is keyed on
exactly those inputs: two callers allowed the same resource get the same bytes, and a new key id
after a rotation never meets an entry signed by the old one.  The caller has already been
authorised for the resource before any lookup.
"""

from __future__ import annotations

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

CacheKey = tuple[str, bool, int, str, str]


@dataclass(frozen=True)
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
        self.cache: TTLCache[CacheKey, SignedPolicy] = TTLCache(
            maxsize=settings.cache_size, ttl=settings.window_seconds + settings.grace_seconds
        )

    def window(self, now: float, lifetime: int | None = None) -> Window:
        length = min(lifetime or self._settings.window_seconds, self._settings.window_seconds)
        return stable_window(now, length, min(self._settings.grace_seconds, length))

    def _sign(self, resource: str, canned: bool, window: Window) -> SignedPolicy:
        signer = self._keyring().require_signer()
        key: CacheKey = (resource, canned, window.start, signer.key_pair_id, self.hash_algorithm.value)
        cached = self.cache.get(key)
        if cached is not None:
            self._metrics.cache.labels("hit").inc()
            return cached
        self._metrics.cache.labels("miss").inc()
        if canned:
            policy = Policy.make_canned(resource, window.expires)
        else:
            skew = self._settings.not_before_skew_seconds
            not_before = window.start - skew if skew else None
            policy = Policy.make_custom(resource, window.expires, not_before)
        signed = sign_policy(policy, signer, self.hash_algorithm)
        self._metrics.signatures.labels(signer.algorithm.value).inc()
        self.cache[key] = signed
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
