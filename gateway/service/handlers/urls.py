"""Signed URLs for objects: a batch, a single one, and a redirect for ``<img src>``."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from gateway.rules.access import Principal
from gateway.service import appkeys
from gateway.service.errors import BadRequest, GatewayError, PayloadTooLarge, TooManyRequests, Unprocessable
from gateway.service.grants import Account, Grant
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
from gateway.service.shared import bounded, share_tag, shared_object


def _policy_kind(app: web.Application, value: object, given: bool) -> bool:
    """True for canned.  Either kind is byte-stable within a window."""
    kind = value if given else app[appkeys.SETTINGS].signing.default_url_policy
    if kind not in ("canned", "custom"):
        raise Unprocessable("policy must be 'canned' or 'custom'")
    return kind == "canned"


async def _sign_one(
    request: web.Request, principal: Principal, raw: object, canned: bool, now: float, payer: Account
) -> tuple[str, Grant]:
    path = checked_path(raw)
    app = request.app
    decision = app[appkeys.RULES].decide("read", path, principal)
    lifetime = grant_lifetime(request, principal, path, wildcard=False)
    if decision.allowed and decision.rule is not None:  # the rules alone: the share store is not asked
        tag = await grant_tag(request, principal, rule_source(decision.rule.prefix))  # a tagged URL is custom
        return app[appkeys.GRANTER].for_object(path, now, canned, lifetime, payer, tag=tag)
    shared = await shared_object(request, principal, path, now)
    if shared is None:
        raise refusal(principal, "read this path")
    tag = await share_tag(request, principal, shared)
    return app[appkeys.GRANTER].for_object(path, now, canned, bounded(lifetime, shared), payer, tag=tag)


async def batch(request: web.Request) -> web.Response:
    principal = await caller(request)
    body = await read_json(request)
    paths = field(body, "paths", list)
    limit = request.app[appkeys.SETTINGS].signing.max_batch
    if len(paths) > limit:
        raise PayloadTooLarge(f"at most {limit} paths per request")
    if not all(isinstance(p, str) for p in paths):
        raise BadRequest("'paths' must be a list of strings")
    canned = _policy_kind(request.app, body.get("policy"), "policy" in body)
    now = time.time()
    payer = account(request, principal)
    results: list[dict[str, Any]] = []
    expires: int | None = None
    for raw in paths:
        try:
            url, grant = await _sign_one(request, principal, raw, canned, now, payer)
        except TooManyRequests:
            # Over the signature budget: the whole batch is 429.  What was signed is cached, so
            # the same batch after Retry-After costs only the paths still missing.
            raise
        except GatewayError as exc:
            results.append({"path": raw, "error": exc.problem()})
            continue
        expires = grant.expires if expires is None else min(expires, grant.expires)
        results.append({"path": raw, "url": url})
    window = request.app[appkeys.GRANTER].window(now)
    return web.json_response(
        {"expires": expires if expires is not None else window.expires, "results": results}, headers=NO_STORE
    )


async def single(request: web.Request) -> web.Response:
    principal = await caller(request)
    values = request.query.getall("path", [])
    if len(values) != 1:
        raise Unprocessable("give exactly one 'path' query parameter")
    policies = request.query.getall("policy", [])
    if len(policies) > 1:
        raise Unprocessable("give 'policy' at most once")
    canned = _policy_kind(request.app, policies[0] if policies else None, bool(policies))
    url, grant = await _sign_one(
        request, principal, values[0], canned, time.time(), account(request, principal)
    )
    return web.json_response({"url": url, "expires": grant.expires}, headers=NO_STORE)


async def redirect(request: web.Request) -> web.Response:
    """302 to the stable URL; the browser may reuse it until the window ends."""
    principal = await caller(request)
    now = time.time()
    canned = request.app[appkeys.SETTINGS].signing.default_url_policy == "canned"
    payer = account(request, principal)
    url, grant = await _sign_one(request, principal, request.match_info["path"], canned, now, payer)
    max_age = grant.window.seconds_left(now)
    return web.Response(
        status=302,
        headers={"Location": url, "Cache-Control": f"private, max-age={max_age}", "Vary": "Authorization"},
    )
