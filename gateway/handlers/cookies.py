"""``POST /v1/cookies`` and ``DELETE /v1/cookies``: CloudFront signed cookies for a prefix.

Each grant's cookies carry ``Path=/<prefix>`` (unless settings fix a path), so a browser can hold
grants for several prefixes at once: CloudFront's cookie names are fixed, and cookies of one
path would overwrite each other.
"""

from __future__ import annotations

import time

from aiohttp import web

from gateway import appkeys
from gateway.handlers.common import (
    NO_STORE,
    allowed_rule,
    caller,
    checked_path,
    field,
    grant_lifetime,
    read_json,
)
from gateway.settings import CookieSettings
from gateway.signing.cloudfront import COOKIE_PREFIX, SIGNING_PARAMS
from gateway.signing.encoding import encode_key


def cookie_path(settings: CookieSettings, prefix: str | None) -> str:
    if settings.path:
        return settings.path
    return "/" + encode_key(prefix) if prefix else "/"


def _cookie_suffix(settings: CookieSettings, prefix: str | None) -> str:
    """The attributes after ``name=value``: one rendering for setting and for clearing."""
    domain = f"; Domain={settings.domain}" if settings.domain else ""
    flags = ("; Secure" if settings.secure else "") + ("; HttpOnly" if settings.http_only else "")
    return f"{domain}; Path={cookie_path(settings, prefix)}{flags}; SameSite={settings.same_site}"


async def issue_cookies(request: web.Request) -> web.Response:
    principal = await caller(request)
    body = await read_json(request)
    prefix = checked_path(field(body, "prefix", str), prefix=True)
    decision = request.app[appkeys.RULES].decide_prefix(prefix, principal)
    rule = allowed_rule(decision, principal, "read everything under this prefix")
    lifetime = grant_lifetime(request, rule, principal)
    grant = request.app[appkeys.GRANTER].for_prefix(prefix, time.time(), lifetime)
    response = web.json_response(
        {
            "resource": grant.resource,
            "expires": grant.expires,
            "refresh_after": grant.window.refresh_after,
            "key_id": grant.signed.key_pair_id,
        },
        headers=NO_STORE,
    )
    suffix = _cookie_suffix(request.app[appkeys.SETTINGS].cookies, prefix)
    for name, value in grant.signed.cookies().items():
        # Session cookies (no Max-Age/Expires): the policy inside says when they stop working.
        # Written directly: the values are CloudFront base64 and ids, which need no quoting.
        response.headers.add("Set-Cookie", f"{name}={value}{suffix}")
    return response


async def clear_cookies(request: web.Request) -> web.Response:
    """Logout: expire the cookies of ``?prefix=`` (or of the fixed cookie path)."""
    prefix = request.query.get("prefix")
    if prefix is not None:
        prefix = checked_path(prefix, prefix=True)
    suffix = _cookie_suffix(request.app[appkeys.SETTINGS].cookies, prefix)
    response = web.Response(status=204, headers=NO_STORE)
    for name in SIGNING_PARAMS:
        expired = f"{COOKIE_PREFIX}{name}=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0"
        response.headers.add("Set-Cookie", expired + suffix)
    return response
