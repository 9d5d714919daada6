"""Share-aware read decisions: what the rules refuse, a live share may still open, for reading.

The rules decide first and alone whenever they allow (rule-based access never waits for the share
store).  Only a refusal consults the store, for the shares whose target is the path or one of its
ancestors; :meth:`~gateway.rules.access.Rules.share_opens` then says how far each reaches (never
past a more specific rule below its target, never for an unshareable rule).  A share's expiry
bounds the grant's lifetime.  The store down: 503 for share-based access only (fail closed).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from aiohttp import web

from gateway.common.revocation import Tag
from gateway.rules.access import Principal
from gateway.service import appkeys
from gateway.service.errors import Unavailable
from gateway.service.handlers.common import refusal
from gateway.service.handlers.revocations import grant_tag
from gateway.sharing.model import Share
from gateway.sharing.store import StoreUnavailable


@dataclass(frozen=True, slots=True)
class Shared:
    """A read opened by a share: the resource to sign (a key, or a prefix for cookies), the share
    that opens it, and the longest life a grant for it may have (None: no bound from the share)."""

    resource: str
    share: Share
    lifetime: int | None

    @property
    def source(self) -> str:
        """The grant source a revocation tag names (docs/design.md, "Revocation")."""
        return f"share:{self.share.id}"


def ancestors(path: str) -> list[str]:
    """Every segment-boundary prefix of ``path`` (``a/``, ``a/b/``...), shortest first; a prefix
    ending in ``/`` is its own last ancestor."""
    return [path[: i + 1] for i, ch in enumerate(path) if ch == "/"]


def _lifetime(share: Share, now: float) -> int | None:
    if share.expires is None:
        return None
    return max(1, int(share.expires - now))  # a live share has at least a second left


def _longest(shares: list[Share]) -> Share:
    """Of several shares opening the same thing, the one that lasts longest (a stable choice)."""
    return max(shares, key=lambda s: (s.expires is None, s.expires or 0, s.created, s.id))


async def _lookup(request: web.Request, principal: Principal, targets: list[str], now: float) -> list[Share]:
    store = request.app.get(appkeys.SHARES)
    if store is None:
        return []
    try:
        return await store.for_targets(principal, targets, int(now))
    except StoreUnavailable as exc:
        raise Unavailable(
            "shared content cannot be checked right now", internal=str(exc), retry_after=5
        ) from None


async def shared_object(request: web.Request, principal: Principal, path: str, now: float) -> Shared | None:
    """The share letting ``principal`` read the key ``path``, if any."""
    shares = await _lookup(request, principal, [*ancestors(path), path], now)
    rules = request.app[appkeys.RULES]
    opening = [s for s in shares if s.active(now) and rules.share_opens(s.target, path, wildcard=False)]
    if not opening:
        return None
    share = _longest(opening)
    return Shared(path, share, _lifetime(share, now))


async def shared_prefix(request: web.Request, principal: Principal, asked: str, now: float) -> Shared | None:
    """The broadest prefix from ``asked`` upwards that a share lets ``principal`` read as a whole
    (cookies are never nested: see handlers/cookies.py), if any."""
    candidates = ancestors(asked)
    shares = await _lookup(request, principal, candidates, now)
    rules = request.app[appkeys.RULES]
    for prefix in candidates:  # shortest first: the broadest grant wins
        opening = [s for s in shares if s.active(now) and rules.share_opens(s.target, prefix, wildcard=True)]
        if opening:
            share = _longest(opening)
            return Shared(prefix, share, _lifetime(share, now))
    return None


def bounded(lifetime: int | None, shared: Shared) -> int | None:
    """The shorter of a rule-derived lifetime and the share's."""
    if shared.lifetime is None:
        return lifetime
    return shared.lifetime if lifetime is None else min(lifetime, shared.lifetime)


async def share_tag(request: web.Request, principal: Principal, shared: Shared) -> Tag | None:
    """The revocation tag of a share grant (None with revocation off).  A tag made just after the
    share was deleted would be a fresh one that nothing revoked, so the share is checked again
    once the tag exists: a delete either finds the tag (and revokes it) or is seen here."""
    tag = await grant_tag(request, principal, shared.source, share=True)
    if tag is None:
        return None
    store = request.app[appkeys.SHARES]
    try:
        current = await store.get(shared.share.id)
    except StoreUnavailable as exc:
        raise Unavailable(
            "shared content cannot be checked right now", internal=str(exc), retry_after=5
        ) from None
    if current is None or not current.active(time.time()):
        raise refusal(principal, "read this: the share was deleted")
    return tag
