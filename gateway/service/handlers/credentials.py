"""``POST /v1/credentials``: temporary AWS credentials scoped to what the rules allow the caller."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time

from aiohttp import web

from gateway.credentials.policy import PolicyTooLarge, Scope, scope_for, session_policy, with_shares
from gateway.credentials.vendor import StsRefused, StsUnavailable
from gateway.rules.access import Principal
from gateway.service import appkeys
from gateway.service.errors import Forbidden, NotFound, Unauthorized, Unavailable, Unprocessable
from gateway.service.handlers.common import NO_STORE, caller, field, read_json
from gateway.sharing.store import StoreUnavailable

log = logging.getLogger(__name__)
MAX_SHARES = 50  # more would not fit in one session policy (2048 characters) anyway


async def _shared(request: web.Request, principal: Principal, scope: Scope, duration: int) -> Scope:
    """Add the shares made for the caller that outlive the credentials (read only); the store
    down leaves them out (fail closed), and so do the newest ones that would not fit."""
    store = request.app.get(appkeys.SHARES)
    if store is None:
        return scope
    now = int(time.time())
    try:
        shares = await store.for_principal(principal, now, MAX_SHARES)
    except StoreUnavailable as exc:
        log.warning("credentials without shares: the share store is unavailable (%s)", exc)
        return scope
    targets = [s.target for s in shares if s.expires is None or s.expires >= now + duration]
    widened = with_shares(scope, request.app[appkeys.RULES], targets)
    bucket = request.app[appkeys.SETTINGS].s3.bucket
    while widened.shared:
        try:
            session_policy(widened, bucket)
            return widened
        except PolicyTooLarge:
            widened = dataclasses.replace(widened, shared=widened.shared[:-1])
    return widened


async def vend(request: web.Request) -> web.Response:
    principal = await caller(request)
    if not principal.authenticated:
        raise Unauthorized("sign in to get temporary credentials")  # never for guests
    vendor = request.app.get(appkeys.VENDOR)
    if vendor is None:
        raise NotFound("credential vending is not enabled on this gateway")
    body = await read_json(request) if request.body_exists else {}
    requested = field(body, "duration_seconds", int, default=vendor.settings.default_seconds)
    if requested <= 0:
        raise Unprocessable("duration_seconds must be positive")
    scope = scope_for(request.app[appkeys.RULES], principal)
    scope = await _shared(request, principal, scope, vendor.duration(requested))
    if scope.empty:
        raise Forbidden("the access rules give you no prefix to use credentials on")
    try:
        vended = await vendor.vend(principal, scope, requested)
    except PolicyTooLarge as exc:
        raise Unprocessable(
            "your access rules are too many for one session policy", internal=str(exc)
        ) from None
    except StsRefused as exc:  # the same request fails again: no Retry-After (logged by the vendor)
        raise Unprocessable(
            "the credential service refuses to issue credentials for your account; retrying will not help",
            internal=f"STS {exc.code}",
        ) from None
    except StsUnavailable as exc:
        raise Unavailable(
            "temporary credentials are unavailable right now", internal=str(exc), retry_after=exc.retry_after
        ) from None
    settings = request.app[appkeys.SETTINGS].s3
    return web.json_response(
        {
            "access_key_id": vended.access_key_id,
            "secret_access_key": vended.secret_access_key,
            "session_token": vended.session_token,
            "expiration": dt.datetime.fromtimestamp(vended.expiration, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "bucket": settings.bucket,
            "region": settings.region,
            "endpoint_url": settings.endpoint_url or None,
            "prefixes": {action: list(prefixes) for action, prefixes in scope.prefixes.items()},
            "shared": list(scope.shared),
        },
        headers=NO_STORE,
    )
