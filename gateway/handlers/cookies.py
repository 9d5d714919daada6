"""``POST /v1/cookies`` and ``DELETE /v1/cookies``: CloudFront signed cookies for a prefix."""

from __future__ import annotations

import time

from aiohttp import web

from gateway import appkeys
from gateway.handlers.common import NO_STORE, allowed_rule, caller, checked_path, field, read_json
from gateway.settings import CookieSettings
from gateway.signing.cloudfront import COOKIE_PREFIX, SIGNING_PARAMS


def _set(response: web.StreamResponse, settings: CookieSettings, name: str, value: str) -> None:
    # Session cookies (no Max-Age/Expires): the policy inside says when they stop working.
    response.set_cookie(
        name,
        value,
        domain=settings.domain or None,
        path=settings.path,
        secure=settings.secure,
        httponly=settings.http_only,
        samesite=settings.same_site,
    )


async def issue_cookies(request: web.Request) -> web.Response:
    principal = await caller(request)
    body = await read_json(request)
    prefix = checked_path(field(body, "prefix", str), prefix=True)
    decision = request.app[appkeys.RULES].decide_prefix(prefix, principal)
    rule = allowed_rule(decision, principal, "read everything under this prefix")
    grant = request.app[appkeys.GRANTER].for_prefix(prefix, time.time(), rule.grant_seconds)
    response = web.json_response(
        {
            "resource": grant.resource,
            "expires": grant.expires,
            "refresh_after": grant.window.refresh_after,
            "key_id": grant.signed.key_pair_id,
        },
        headers=NO_STORE,
    )
    settings = request.app[appkeys.SETTINGS].cookies
    for name, value in grant.signed.cookies().items():
        _set(response, settings, name, value)
    return response


async def clear_cookies(request: web.Request) -> web.Response:
    settings = request.app[appkeys.SETTINGS].cookies
    response = web.Response(status=204, headers=NO_STORE)
    for name in SIGNING_PARAMS:
        response.del_cookie(
            COOKIE_PREFIX + name,
            domain=settings.domain or None,
            path=settings.path,
            secure=settings.secure,
            httponly=settings.http_only,
            samesite=settings.same_site,
        )
    return response
