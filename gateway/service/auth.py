"""Bearer-token authentication with PyJWT.

The accepted algorithms come from settings, never from the token: RS256/ES256 against a JWKS
(file or URL, cached, refreshed when an unknown ``kid`` appears) and HS256 with a shared secret
only in development.  No token at all is the anonymous principal.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import jwt
from cachetools import TTLCache

from gateway.rules.access import ANONYMOUS, Principal
from gateway.service.errors import Unauthorized, Unavailable
from gateway.service.settings import AuthSettings

log = logging.getLogger(__name__)
_KEY_TYPES = {"RS256": "RSA", "ES256": "EC"}
_REFRESH_COOLDOWN = 30.0  # unknown kids must not turn into a JWKS-fetch amplifier
VERIFIED_TTL = 60.0  # a key the IdP withdraws stops working for us within this
_FORBIDDEN_HEADERS = ("jku", "x5u", "jwk", "x5c")  # keys are never taken from the token itself


class AuthFailure(Unauthorized):
    """``reason`` labels the metric (a few fixed words); ``internal`` is the log line's detail."""

    def __init__(self, reason: str, detail: str = "invalid bearer token", internal: str = "") -> None:
        super().__init__(detail, internal=internal or reason)
        self.reason = reason


@dataclass
class _KeySet:
    keys: dict[str, Any]
    fetched_at: float


class Authenticator:
    def __init__(
        self, settings: AuthSettings, development: bool, http: aiohttp.ClientSession | None = None
    ) -> None:
        self._settings = settings
        self._development = development
        self._http = http
        self._jwks: _KeySet | None = None
        self._verified: TTLCache[bytes, tuple[Principal, float]] = TTLCache(maxsize=100_000, ttl=VERIFIED_TTL)
        self._last_forced = -_REFRESH_COOLDOWN

    @property
    def has_jwks(self) -> bool:
        return bool(self._settings.jwks_file or self._settings.jwks_url)

    def allowed_algorithms(self) -> list[str]:
        algorithms = list(self._settings.algorithms) if self.has_jwks else []
        if self._development and self._settings.dev_secret:
            algorithms.append("HS256")
        return algorithms

    async def _load_jwks(self) -> dict[str, Any]:
        if self._settings.jwks_file:
            doc = json.loads(Path(self._settings.jwks_file).read_text("utf-8"))
        else:
            if self._http is None:
                raise Unavailable("identity provider keys are unavailable", internal="no HTTP session")
            timeout = aiohttp.ClientTimeout(total=5)
            async with self._http.get(self._settings.jwks_url, timeout=timeout) as response:
                response.raise_for_status()
                doc = await response.json(content_type=None)
        keys: dict[str, Any] = {}
        for entry in doc.get("keys", []) if isinstance(doc, dict) else []:
            try:
                jwk = jwt.PyJWK(entry)
            except (jwt.PyJWKError, jwt.InvalidKeyError, KeyError, TypeError, ValueError):
                continue  # one unusable key must not take the others down
            kid = entry.get("kid")
            if isinstance(kid, str) and entry.get("kty") in ("RSA", "EC"):
                keys[kid] = (entry["kty"], jwk.key)
        return keys

    async def _refresh(self, force: bool) -> None:
        """Reload when the cache is stale; ``force`` (an unknown kid) at most once per cooldown."""
        now = time.monotonic()
        if force:
            if self._jwks is not None and now - self._last_forced < _REFRESH_COOLDOWN:
                return
            self._last_forced = now
        elif self._jwks is not None and now - self._jwks.fetched_at < self._settings.jwks_cache_seconds:
            return
        try:
            self._jwks = _KeySet(await self._load_jwks(), now)
        except Unavailable:
            raise
        except Exception as exc:  # network, JSON or file errors: keep the last good set
            log.error("JWKS refresh failed: %s", type(exc).__name__)
            if self._jwks is None:
                raise Unavailable("identity provider keys are unavailable", retry_after=10) from None

    async def startup(self, http: aiohttp.ClientSession | None = None) -> None:
        """Attach the app's one HTTP session and load the JWKS once."""
        self._http = http or self._http
        if self.has_jwks:
            try:
                await self._refresh(force=False)
            except Unavailable:
                log.error("JWKS not loaded at start-up; tokens are refused until it loads")

    async def _key_for(self, header: dict[str, Any], algorithm: str) -> Any:
        if algorithm == "HS256":
            return self._settings.dev_secret.encode("utf-8")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise AuthFailure("missing_kid")
        await self._refresh(force=False)
        assert self._jwks is not None
        if kid not in self._jwks.keys:
            await self._refresh(force=True)
        entry = self._jwks.keys.get(kid)
        if entry is None:
            raise AuthFailure("unknown_kid")
        if entry[0] != _KEY_TYPES[algorithm]:
            raise AuthFailure("key_type_mismatch")
        return entry[1]

    async def authenticate(self, authorization: str | None) -> Principal:
        if authorization is None:
            return ANONYMOUS
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        # A JWT is base64url and dots: anything else (bytes that are not ASCII among them) is not one.
        if scheme.lower() != "bearer" or not token or " " in token or not token.isascii():
            raise AuthFailure("malformed", "Authorization must be 'Bearer <token>'")
        # Verified tokens are remembered briefly (by digest, never the token) until their exp:
        # a map client asks many times with one token, and checking it is most of a request's cost.
        digest = _digest(token)
        known = self._verified.get(digest)
        if known is not None and time.time() < known[1] + self._settings.leeway_seconds:
            return known[0]
        principal, expires = await self._verify(token)
        self._verified[digest] = (principal, expires)
        return principal

    async def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthFailure("malformed") from None
        algorithm = header.get("alg")
        if algorithm not in self.allowed_algorithms():
            raise AuthFailure("algorithm")
        if any(name in header for name in _FORBIDDEN_HEADERS):
            raise AuthFailure("header_key")
        key = await self._key_for(header, algorithm)
        s = self._settings
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                leeway=s.leeway_seconds,
                issuer=s.issuer or None,
                audience=s.audience or None,
                options={"require": ["exp", "sub"], "verify_aud": bool(s.audience)},
            )
        except jwt.ExpiredSignatureError:
            raise AuthFailure("expired", "token has expired") from None
        except jwt.InvalidIssuerError:
            raise _claim_failure("issuer", "iss", s.issuer, token) from None
        except jwt.InvalidAudienceError:
            raise _claim_failure("audience", "aud", s.audience, token) from None
        except jwt.MissingRequiredClaimError as exc:
            if exc.claim in ("iss", "aud"):
                which, expected = ("issuer", s.issuer) if exc.claim == "iss" else ("audience", s.audience)
                raise _claim_failure(which, exc.claim, expected, token) from None
            raise AuthFailure("invalid", internal=f"invalid: the token has no {exc.claim!r} claim") from None
        except jwt.PyJWTError:
            raise AuthFailure("invalid") from None
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub or len(sub) > 256:
            raise AuthFailure("invalid_sub")
        groups = _groups(claims.get(s.groups_claim), s.groups_claim)
        return Principal(sub, groups, str(claims.get("iss", ""))), float(claims["exp"])


def _groups(value: Any, claim: str) -> tuple[str, ...]:
    """The caller's groups: a list of strings, or one string as one group (some identity
    providers send a single group that way).  Anything else counts as no group, said in the log
    (the claim's name and type, never its value) so that a misconfigured IdP is found."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,) if value else ()
    if isinstance(value, list) and all(isinstance(g, str) for g in value):
        return tuple(value[:64])
    kind = type(value).__name__
    if isinstance(value, list):
        kind += " holding " + ", ".join(sorted({type(g).__name__ for g in value if not isinstance(g, str)}))
    log.warning("token claim %r is a %s, not a string or a list of strings: no groups", claim, kind)
    return ()


def _shown(value: Any) -> str:
    """A claim's value for the log: what the IdP signed (not a secret), bounded and on one line."""
    text = repr(value)
    return text if len(text) <= 200 else text[:200] + "..."


def _claim_failure(which: str, claim: str, expected: str, token: str) -> AuthFailure:
    """Which of issuer or audience failed, what was expected and what the token holds.  Only
    reached after the signature verified, so the values are the IdP's, never the token itself."""
    try:
        got = _shown(jwt.decode(token, options={"verify_signature": False}).get(claim))
    except jwt.PyJWTError:
        got = "unreadable"
    return AuthFailure(which, internal=f"{which}: expected {expected!r}, the token's {claim} is {got}")


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("ascii")).digest()


def dev_token(
    settings: AuthSettings, sub: str, groups: list[str], ttl: int = 3600, now: int | None = None
) -> str:
    """An HS256 token for the development settings (``cdn-gateway dev-token``)."""
    issued = int(time.time()) if now is None else now
    claims: dict[str, Any] = {"sub": sub, "iat": issued, "exp": issued + ttl}
    if groups:
        claims[settings.groups_claim] = groups
    if settings.issuer:
        claims["iss"] = settings.issuer
    if settings.audience:
        claims["aud"] = settings.audience
    return jwt.encode(claims, settings.dev_secret, algorithm="HS256")
