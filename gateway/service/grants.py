"""Stable CloudFront grants: cookies for a prefix, URLs for an object, cached per window.

A grant is a pure function of (resource, policy kind, window, key, hash, and for a revocable
grant its tag), so the cache is keyed on exactly those inputs: two callers allowed the same
resource get the same bytes (unless their grants are revocable: then each principal's tag is
its own), and a new key id after a rotation never meets an entry signed by the old one.  The
caller has already been authorised for the resource before any lookup.

Signing is the expensive part, so each miss is charged to the caller's :class:`Account` before
it is signed, and the cache remembers which caller's miss made each entry (:class:`FairCache`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from gateway.common.revocation import Tag, not_before
from gateway.keys.keyring import Keyring
from gateway.service.faircache import CacheKey, FairCache
from gateway.service.metrics import Metrics
from gateway.service.settings import SigningSettings
from gateway.signing.cloudfront import SignedPolicy, sign_policy
from gateway.signing.crypto import HashAlgorithm
from gateway.signing.encoding import encode_key, object_url
from gateway.signing.policy import Policy
from gateway.signing.window import Window, stable_window

# Every input of the signed bytes (the hash algorithm is fixed per process).


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

    def _policy(self, resource: str, canned: bool, window: Window, tag: Tag | None) -> Policy:
        if tag is not None:  # the tag replaces the clock-skew allowance (docs/design.md, "Revocation")
            return Policy.make_custom(resource, window.expires, not_before(tag))
        if canned:
            return Policy.make_canned(resource, window.expires)
        skew = self._settings.not_before_skew_seconds
        return Policy.make_custom(resource, window.expires, window.start - skew if skew else None)

    def _sign(
        self, resource: str, canned: bool, window: Window, account: Account, tag: Tag | None
    ) -> SignedPolicy:
        signer = self._keyring().require_signer()
        canned = canned and tag is None  # a canned policy has no room for a tag
        policy = self._policy(resource, canned, window, tag)
        # The third part is the policy's lower bound: the window start, or for a tagged grant the
        # tag's DateGreaterThan (always earlier than any window start, so the two never collide).
        lower = window.start if tag is None else not_before(tag)
        key: CacheKey = (resource, canned, lower, window.expires, signer.key_pair_id)
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
        self,
        prefix: str,
        now: float,
        lifetime: int | None = None,
        account: Account = INTERNAL,
        tag: Tag | None = None,
    ) -> Grant:
        """A custom-policy grant for everything under ``prefix`` (cookies for tiles, galleries);
        a ``tag`` makes it revocable (one principal's grant from one source)."""
        resource = f"{self._settings.cdn_base_url.rstrip('/')}/{encode_key(prefix)}*"
        window = self.window(now, lifetime)
        return Grant(self._sign(resource, False, window, account, tag), window, resource)

    def for_object(
        self,
        key: str,
        now: float,
        canned: bool,
        lifetime: int | None = None,
        account: Account = INTERNAL,
        tag: Tag | None = None,
    ) -> tuple[str, Grant]:
        """A signed URL for one object, byte-identical within the window; a ``tag`` makes it
        revocable, and then its policy is custom whatever ``canned`` says."""
        url = object_url(self._settings.cdn_base_url, key)
        window = self.window(now, lifetime)
        grant = Grant(self._sign(url, canned, window, account, tag), window, url)
        return grant.signed.url(url), grant

    def clear(self) -> None:
        self.cache.clear()
