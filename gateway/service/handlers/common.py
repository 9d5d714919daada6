"""What every handler needs: the caller, a bounded JSON body, and typed fields from it."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import time
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError

from gateway.common.netutil import budget_key, viewer_ip
from gateway.rules.access import Decision, Principal, Rule
from gateway.rules.paths import PathError, validate_key
from gateway.service import appkeys
from gateway.service.auth import AuthFailure
from gateway.service.errors import (
    BadRequest,
    Forbidden,
    GatewayError,
    RequestTimeout,
    TooManyRequests,
    Unauthorized,
    Unprocessable,
    UnsupportedMedia,
)
from gateway.service.grants import Account
from gateway.service.middlewares import ARRIVED, FROM_CDN

T = TypeVar("T")
NO_STORE = {"Cache-Control": "no-store"}


def client_ip(request: web.Request) -> str:
    """The viewer's address: CloudFront's ``CloudFront-Viewer-Address`` on a request that carried the
    origin secret (anyone else could send that header), else the socket peer or, from trusted
    proxies, ``X-Forwarded-For``.  Behind CloudFront and a load balancer the peer and the forwarded
    hops are CDN and pool addresses, which would put every guest in one budget."""
    if request.get(FROM_CDN):
        viewer = cloudfront_viewer(request.headers.getall("CloudFront-Viewer-Address", []))
        if viewer is not None:
            return viewer
    trusted = request.app[appkeys.TRUSTED_PROXIES]
    # Several X-Forwarded-For lines are one list (RFC 9110 5.3): a proxy may add its own line.
    return viewer_ip(request.remote, ",".join(request.headers.getall("X-Forwarded-For", [])), trusted)


def cloudfront_viewer(values: list[str]) -> str | None:
    """The address in the one ``CloudFront-Viewer-Address`` value, ``IP:port`` with an IPv6 address
    unbracketed (CloudFront Developer Guide, "Add CloudFront request headers"); None when absent,
    repeated or malformed."""
    if len(values) != 1:
        return None
    host, colon, port = values[0].strip().rpartition(":")
    if not colon or not port.isdigit() or not port.isascii():
        return None
    try:
        return str(ipaddress.ip_address(host.removeprefix("[").removesuffix("]")))
    except ValueError:
        return None


async def caller(request: web.Request) -> Principal:
    """Authenticate and rate-limit the caller; anonymous callers are limited per client address.

    Failed authentications are limited per client address too: past that budget a bad token
    gets 429 instead of 401.  Every token is still checked, so a valid user behind the same
    address (an office or carrier NAT) keeps working while someone there floods bad tokens.
    """
    app = request.app
    address = client_ip(request)
    try:
        principal = await app[appkeys.AUTH].authenticate(request.headers.get("Authorization"))
    except AuthFailure as failure:
        app[appkeys.METRICS].auth_failures.labels(failure.reason).inc()
        failures = app[appkeys.AUTH_FAILURES]
        wait = failures.acquire(budget_key(address), time.monotonic())
        if wait:
            app[appkeys.METRICS].auth_failures.labels("throttled").inc()
            raise TooManyRequests(
                "too many failed sign-ins from your address", retry_after=failures.retry_after(wait)
            ) from None
        raise
    limiter = app[appkeys.LIMITER] if principal.sub is not None else app[appkeys.GUEST_LIMITER]
    wait = limiter.acquire(_who(principal, address), time.monotonic())
    if wait:
        raise TooManyRequests("rate limit exceeded", retry_after=limiter.retry_after(wait))
    return principal


def _who(principal: Principal, address: str) -> str:
    """One budget per user, and per client network for guests (the NUL keeps the kinds apart)."""
    if principal.sub is not None:
        return f"user\0{principal.issuer}\0{principal.sub}"
    return f"ip\0{budget_key(address)}"


def account(request: web.Request, principal: Principal) -> Account:
    """Charges each new signature (a grant-cache miss) to the caller's signature budget."""
    budget, who = request.app[appkeys.SIGNATURES], _who(principal, client_ip(request))

    def charge() -> None:
        wait = budget.acquire(who, time.monotonic())
        if wait:
            raise TooManyRequests(
                "too many new grants: retry later (grants already made still answer at once)",
                retry_after=budget.retry_after(wait),
            )

    return Account(who, charge)


def grant_lifetime(request: web.Request, principal: Principal, path: str, *, wildcard: bool) -> int | None:
    """The shortest lifetime of every rule the grant covers, and for guests the guest window."""
    lifetime = request.app[appkeys.RULES].shortest_grant(path, principal, wildcard=wildcard)
    if principal.authenticated:
        return lifetime
    guest = request.app[appkeys.SETTINGS].signing.guest_window_seconds
    return min(lifetime or guest, guest)


async def read_json(request: web.Request) -> dict[str, Any]:
    if request.content_type != "application/json":
        raise UnsupportedMedia("send Content-Type: application/json")
    # client_max_size bounds the size (413) and body_timeout_seconds the time (408), counted
    # from the complete head, so a stalled or trickling body cannot hold the connection.
    deadline = request[ARRIVED] + request.app[appkeys.SETTINGS].server.body_timeout_seconds
    try:
        async with asyncio.timeout_at(deadline):
            raw = await request.read()
    except TimeoutError:
        raise RequestTimeout("the request body did not arrive in time") from None
    except RequestPayloadError as exc:  # e.g. a Content-Encoding the body is not in
        raise BadRequest("the request body cannot be decoded", internal=str(exc), close=True) from None
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
    raise refusal(principal, what)


def refusal(principal: Principal, what: str) -> GatewayError:
    """401 for strangers (signing in may help), 403 for users (it will not)."""
    if not principal.authenticated:
        return Unauthorized(f"sign in to {what}")
    return Forbidden(f"the access rules do not let you {what}")
