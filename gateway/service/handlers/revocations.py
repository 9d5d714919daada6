"""``POST /v1/revocations`` (operators), and the tags every revocable grant carries.

A grant is revocable with ``revocation.enabled``: every signed-in caller's grant, and every share
grant (guests' too: an ``anyone`` share).  Its tag names (principal, source), the source being the
rule that allowed it (``rule:<the rule's prefix>``) or the share (``share:<id>``), so one
principal's grants of one source stay byte-stable within a window and no two principals share one
(docs/design.md, "Revocation").
"""

from __future__ import annotations

import logging

from aiohttp import web

from gateway.rules.access import Principal
from gateway.service import appkeys
from gateway.service.errors import Forbidden, NotFound, Unauthorized, Unavailable, Unprocessable
from gateway.service.handlers.common import NO_STORE, account, caller, field, read_json
from gateway.sharing.revocation import Revocations, StoreUnavailable, principal_key

log = logging.getLogger(__name__)
REVOCATIONS = web.AppKey("revocations", Revocations)
MAX_SUB_BYTES = 1024


async def grant_tag(
    request: web.Request, principal: Principal, source: str, *, share: bool = False
) -> int | None:
    """The tag for a grant to ``principal`` from ``source``; None when grants are not revocable
    (off, or a guest's rule grant: nothing to revoke per person).  503 when a share grant cannot
    be tagged (the store is down: fail closed)."""
    revocations = request.app.get(REVOCATIONS)
    if revocations is None or (not share and not principal.authenticated):
        return None
    key = principal_key(principal.issuer, principal.sub)
    if not revocations.kept(key, source):
        # A new tag is a row in the store and, once revoked, an entry in the KeyValueStore: it is
        # charged to the caller's signature budget before it is made, so a caller past the budget
        # (a create-grant-delete flood) adds no rows (429).
        account(request, principal).charge()
    try:
        return await revocations.tag(key, source, share)
    except StoreUnavailable as exc:
        raise Unavailable(
            "shared content is unavailable right now", internal=str(exc), retry_after=5
        ) from None


def rule_source(rule_prefix: str) -> str:
    return f"rule:{rule_prefix}"


async def revoke(request: web.Request) -> web.Response:
    """Revoke every grant a principal holds: they stop working at the edge within seconds."""
    principal = await caller(request)
    if not principal.authenticated:
        raise Unauthorized("sign in as an operator to revoke grants")
    revocations = request.app.get(REVOCATIONS)
    if revocations is None:
        raise NotFound("revocation is not enabled on this gateway")
    operators = request.app[appkeys.SETTINGS].auth.operator_groups
    if not set(principal.groups) & set(operators):
        raise Forbidden("only operators may revoke grants")
    body = await read_json(request)
    sub = field(body, "sub", str)
    issuer = field(body, "issuer", str, default=principal.issuer)
    if not sub or len(sub.encode()) > MAX_SUB_BYTES or not sub.isprintable():
        raise Unprocessable("sub must be a user's id: printable, 1 to 1024 bytes")
    if len(issuer.encode()) > MAX_SUB_BYTES or not issuer.isprintable():
        raise Unprocessable("issuer must be printable, at most 1024 bytes")
    try:
        revoked, until = await revocations.revoke(principal=principal_key(issuer, sub))
    except Exception as exc:  # the store: nothing was revoked, say so
        raise Unavailable(
            "revocations cannot be recorded right now", internal=repr(exc), retry_after=5
        ) from None
    # An audit line: who revoked whom (ids only, printable: checked above or by the token's issuer).
    log.warning(
        "grants revoked: operator %r (issuer %r) revoked %d tag(s) of %r (issuer %r) until %d",
        principal.sub,
        principal.issuer,
        len(revoked),
        sub,
        issuer,
        until,
    )
    return web.json_response(
        {"sub": sub, "issuer": issuer, "revoked": len(revoked), "until": until}, headers=NO_STORE
    )
