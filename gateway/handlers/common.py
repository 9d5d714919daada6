"""What every handler needs: the caller, a bounded JSON body, and typed fields from it."""

from __future__ import annotations

import json
import time
from typing import Any, TypeVar

from aiohttp import web

from gateway import appkeys
from gateway.auth import AuthFailure
from gateway.errors import (
    BadRequest,
    Forbidden,
    TooManyRequests,
    Unauthorized,
    Unprocessable,
    UnsupportedMedia,
)
from gateway.netutil import viewer_ip
from gateway.paths import PathError, validate_key
from gateway.rules import Decision, Principal, Rule

T = TypeVar("T")
NO_STORE = {"Cache-Control": "no-store"}


def client_ip(request: web.Request) -> str:
    trusted = request.app[appkeys.SETTINGS].server.trusted_proxies
    return viewer_ip(request.remote, request.headers.get("X-Forwarded-For", ""), trusted)


async def caller(request: web.Request) -> Principal:
    """Authenticate and rate-limit the caller; anonymous callers are limited per client IP."""
    app = request.app
    try:
        principal = await app[appkeys.AUTH].authenticate(request.headers.get("Authorization"))
    except AuthFailure as failure:
        app[appkeys.METRICS].auth_failures.labels(failure.reason).inc()
        raise
    if principal.sub is not None:
        limiter, who = app[appkeys.LIMITER], f"{principal.issuer}:{principal.sub}"
    else:
        limiter, who = app[appkeys.GUEST_LIMITER], client_ip(request)
    wait = limiter.acquire(who, time.monotonic())
    if wait:
        raise TooManyRequests("rate limit exceeded", retry_after=limiter.retry_after(wait))
    return principal


def grant_lifetime(request: web.Request, rule: Rule, principal: Principal) -> int | None:
    """The rule's own lifetime, shortened for guests (security.md: anonymous access)."""
    if principal.authenticated:
        return rule.grant_seconds
    guest = request.app[appkeys.SETTINGS].signing.guest_window_seconds
    return min(rule.grant_seconds or guest, guest)


async def read_json(request: web.Request) -> dict[str, Any]:
    if request.content_type != "application/json":
        raise UnsupportedMedia("send Content-Type: application/json")
    raw = await request.read()  # client_max_size bounds this (413) before anything is parsed
    try:
        body = json.loads(raw.decode("utf-8"), parse_constant=_no_constants, object_pairs_hook=_unique)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadRequest("body is not valid UTF-8 JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("body must be a JSON object")
    return body


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Refuse duplicate keys: which one counts would depend on the parser."""
    keys = [key for key, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate key")
    return dict(pairs)


def _no_constants(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def field(body: dict[str, Any], name: str, kind: type[T], default: T | None = None) -> T:
    """``body[name]`` of type ``kind``; absent means ``default``, or 400 when there is none."""
    if name not in body:
        if default is None:
            raise BadRequest(f"'{name}' is required")
        return default
    value = body[name]
    if kind is int:
        if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
            value = int(value)  # JSON does not tell 3 from 3.0
        if isinstance(value, bool) or not isinstance(value, int):
            raise BadRequest(f"'{name}' must be an integer")
    if not isinstance(value, kind):
        raise BadRequest(f"'{name}' must be a {kind.__name__}")
    return value


def checked_path(value: object, *, prefix: bool = False) -> str:
    try:
        return validate_key(value, prefix=prefix)
    except PathError as exc:
        raise Unprocessable(str(exc)) from None


def allowed_rule(decision: Decision, principal: Principal, what: str) -> Rule:
    """The governing rule of an allowed decision; otherwise 401 for strangers, 403 for users."""
    if decision.allowed and decision.rule is not None:
        return decision.rule
    if not principal.authenticated:
        raise Unauthorized(f"sign in to {what}")
    raise Forbidden(f"the access rules do not let you {what}")
