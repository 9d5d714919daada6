"""``POST /v1/credentials``: temporary AWS credentials scoped to what the rules allow the caller."""

from __future__ import annotations

import datetime as dt

from aiohttp import web

from gateway.credentials.policy import PolicyTooLarge, scope_for
from gateway.credentials.vendor import StsUnavailable
from gateway.service import appkeys
from gateway.service.errors import Forbidden, NotFound, Unauthorized, Unavailable, Unprocessable
from gateway.service.handlers.common import NO_STORE, caller, field, read_json


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
    if scope.empty:
        raise Forbidden("the access rules give you no prefix to use credentials on")
    try:
        vended = await vendor.vend(principal, scope, requested)
    except PolicyTooLarge as exc:
        raise Unprocessable(
            "your access rules are too many for one session policy", internal=str(exc)
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
        },
        headers=NO_STORE,
    )
