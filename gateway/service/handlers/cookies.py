"""``POST /v1/cookies`` and ``DELETE /v1/cookies``: CloudFront signed cookies for a prefix.

Each grant's cookies carry ``Path=/<prefix>`` (unless settings fix a path), so a browser can hold
grants for several prefixes at once: CloudFront's cookie names are fixed, and cookies of one
path would overwrite each other.  Grants are never nested: a request for ``tiles/3/`` is answered
with the broadest prefix above it that the caller may read as a whole (``tiles/``), because a
browser sends every matching set under the same names and CloudFront does not document which it
uses.  Leftover sets between the two paths (a guest's narrower grant before sign-in) are expired.
"""

from __future__ import annotations

import time

from aiohttp import web

from gateway.service import appkeys
from gateway.service.errors import Unprocessable
from gateway.service.handlers.common import (
    NO_STORE,
    account,
    caller,
    checked_path,
    field,
    grant_lifetime,
    read_json,
    refusal,
)
from gateway.service.handlers.revocations import grant_tag, rule_source
from gateway.service.settings import CookieSettings
from gateway.service.shared import bounded, share_tag, shared_prefix
from gateway.signing.cloudfront import COOKIE_PREFIX, SIGNING_PARAMS
from gateway.signing.encoding import encode_key

# What every browser keeps: RFC 6265 section 6.1 asks for at least 4096 bytes per cookie (name,
# value and attributes together); RFC 6265bis section 5.6 ignores an attribute over 1024 bytes,
# which for Path would silently scope the cookie to /v1/.
MAX_COOKIE_BYTES = 4096
MAX_ATTRIBUTE_BYTES = 1024
# Leftover sets expired below a widened grant, at most (the asked prefix and its nearest parents):
# each costs five Set-Cookie lines of up to ~1 KiB, and the response must stay small.
MAX_CLEARED_PATHS = 3
_EXPIRED = "=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0"


def cookie_path(settings: CookieSettings, prefix: str | None) -> str:
    if settings.path:
        return settings.path
    return "/" + encode_key(prefix) if prefix else "/"


def _cookie_suffix(settings: CookieSettings, prefix: str | None) -> str:
    """The attributes after ``name=value``: one rendering for setting and for clearing."""
    domain = f"; Domain={settings.domain}" if settings.domain else ""
    flags = ("; Secure" if settings.secure else "") + ("; HttpOnly" if settings.http_only else "")
    return f"{domain}; Path={cookie_path(settings, prefix)}{flags}; SameSite={settings.same_site}"


def _fits(settings: CookieSettings, prefix: str | None) -> bool:
    return len(cookie_path(settings, prefix).encode()) <= MAX_ATTRIBUTE_BYTES


def _expired(settings: CookieSettings, prefix: str | None) -> list[str]:
    suffix = _cookie_suffix(settings, prefix)
    return [f"{COOKIE_PREFIX}{name}{_EXPIRED}{suffix}" for name in SIGNING_PARAMS]


def _between(granted: str, asked: str) -> list[str]:
    """The prefixes below ``granted`` down to ``asked`` (included), shallowest first; only the
    deepest few, where an earlier narrower grant (the one asked for before) is likeliest."""
    paths = [asked[: i + 1] for i in range(len(granted), len(asked)) if asked[i] == "/"]
    return paths[-MAX_CLEARED_PATHS:]


async def issue_cookies(request: web.Request) -> web.Response:
    principal = await caller(request)
    body = await read_json(request)
    asked = checked_path(field(body, "prefix", str), prefix=True)
    rules = request.app[appkeys.RULES]
    prefix = rules.broadest_readable(asked, principal)
    shared = None
    if prefix is None:  # only what the rules refuse asks the share store
        shared = await shared_prefix(request, principal, asked, time.time())
        if shared is None:
            raise refusal(principal, "read everything under this prefix")
        prefix = shared.resource
    settings = request.app[appkeys.SETTINGS].cookies
    too_long = Unprocessable(
        "the cookies for this prefix would be too long for a browser to keep: "
        "ask for a shorter prefix, or use signed URLs (POST /v1/signed-urls)",
        extra={"prefix": prefix},
    )
    if not _fits(settings, prefix):
        raise too_long
    lifetime = grant_lifetime(request, principal, prefix, wildcard=True)
    if shared is None:
        tag = await grant_tag(request, principal, rule_source(prefix))  # revocable: docs/design.md
    else:  # a share's expiry bounds the grant; its tag names the share
        lifetime, tag = bounded(lifetime, shared), await share_tag(request, principal, shared)
    grant = request.app[appkeys.GRANTER].for_prefix(
        prefix, time.time(), lifetime, account(request, principal), tag=tag
    )
    suffix = _cookie_suffix(settings, prefix)
    # Session cookies (no Max-Age/Expires): the policy inside says when they stop working.
    # Written directly: the values are CloudFront base64 and ids, which need no quoting.
    headers = [f"{name}={value}{suffix}" for name, value in grant.signed.cookies().items()]
    if any(len(header.encode()) > MAX_COOKIE_BYTES for header in headers):
        raise too_long  # checked before anything is set: a dropped cookie fails silently
    if not settings.path:  # leftovers first, so the new set is the last of each name
        leftovers = [path for path in _between(prefix, asked) if _fits(settings, path)]
        headers = [cleared for path in leftovers for cleared in _expired(settings, path)] + headers
    response = web.json_response(
        {
            "prefix": prefix,
            "resource": grant.resource,
            "expires": grant.expires,
            "refresh_after": grant.window.refresh_after,
            "key_id": grant.signed.key_pair_id,
        },
        headers=NO_STORE,
    )
    for header in headers:
        response.headers.add("Set-Cookie", header)
    return response


async def clear_cookies(request: web.Request) -> web.Response:
    """Logout: expire the cookies of ``?prefix=`` (or of the fixed cookie path)."""
    prefix = request.query.get("prefix")
    if prefix is not None:
        prefix = checked_path(prefix, prefix=True)
    response = web.Response(status=204, headers=NO_STORE)
    for header in _expired(request.app[appkeys.SETTINGS].cookies, prefix):
        response.headers.add("Set-Cookie", header)
    return response
