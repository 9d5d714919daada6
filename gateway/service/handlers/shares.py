"""``/v1/shares``: share a prefix or an object, list shares, delete one (docs/design.md, "Sharing").

Only a signed-in caller whose rules let them write the target, under a rule marked ``shareable``,
may share it; a share only ever widens reads.  Every id that is not the caller's live share
answers 404 alike (someone else's, deleted, expired, malformed, never made), so ids reveal
nothing.  Deleting a share also revokes the grants already handed out for it when revocation is
enabled (docs/design.md, "Revocation").
"""

from __future__ import annotations

import logging
import time
from typing import Any

from aiohttp import web

from gateway.rules.access import Principal
from gateway.rules.paths import validate_segment
from gateway.service import appkeys
from gateway.service.errors import (
    BadRequest,
    Forbidden,
    NotFound,
    TooManyRequests,
    Unauthorized,
    Unavailable,
    Unprocessable,
)
from gateway.service.handlers.common import NO_STORE, caller, checked_path, field, read_json
from gateway.service.handlers.revocations import REVOCATIONS
from gateway.sharing.model import ID_PATTERN, BadCursor, GranteeKind, decode_cursor
from gateway.sharing.settings import LONGEST_EXPIRES_IN
from gateway.sharing.store import ShareLimit, ShareStore, StoreRejected, StoreUnavailable

log = logging.getLogger(__name__)
MAX_PAGE = 100


def _store(request: web.Request) -> ShareStore:
    store = request.app.get(appkeys.SHARES)
    if store is None:
        raise NotFound("sharing is not enabled on this gateway")
    return store


async def _signed_in(request: web.Request, what: str) -> Principal:
    principal = await caller(request)
    if not principal.authenticated:
        raise Unauthorized(f"sign in to {what}")
    return principal


def _unavailable(exc: StoreUnavailable) -> Unavailable | Unprocessable:
    if isinstance(exc, StoreRejected):  # a value the checks above let through: never a 500
        return Unprocessable("a value in the request is out of range", internal=str(exc))
    return Unavailable("shares are unavailable right now", internal=str(exc), retry_after=5)


def _grantee(value: object, principal: Principal) -> tuple[GranteeKind, str]:
    """``{"user": name}``, ``{"group": name}`` or ``{"anyone": true}``, nothing else."""
    if not isinstance(value, dict) or len(value) != 1:
        raise Unprocessable('\'with\' must be one of {"user": ...}, {"group": ...}, {"anyone": true}')
    ((kind, name),) = value.items()
    if kind == "anyone":
        if name is not True:
            raise Unprocessable("'with': {\"anyone\": true} is the only form for everyone")
        return "anyone", ""
    if kind not in ("user", "group"):
        raise Unprocessable("'with' must name a user, a group, or anyone")
    if not isinstance(name, str) or validate_segment(name) != name or len(name.encode()) > 256:
        raise Unprocessable(f"'with': the {kind} must be a name of 1-256 bytes without '/'")
    if kind == "user" and name == principal.sub:
        raise Unprocessable("you already read what you own: share it with someone else")
    return kind, name


def _expires(body: dict[str, Any], now: int, limit: int) -> int | None:
    if "expires_in" not in body or body["expires_in"] is None:
        return None
    seconds = field(body, "expires_in", int)
    if seconds <= 0:
        raise Unprocessable("expires_in must be a positive number of seconds")
    limit = limit or LONGEST_EXPIRES_IN
    if seconds > limit:
        raise Unprocessable(f"expires_in may be at most {limit} seconds here")
    return now + seconds


async def create(request: web.Request) -> web.Response:
    principal = await _signed_in(request, "share")
    store = _store(request)
    body = await read_json(request)
    kinds = [kind for kind in ("prefix", "path") if kind in body]
    if len(kinds) != 1:
        raise BadRequest("give exactly one of 'prefix' (ending in '/') or 'path' (one object)")
    kind = kinds[0]
    target = checked_path(body[kind], prefix=kind == "prefix")
    if kind == "path" and target.endswith("/"):
        raise Unprocessable("a path names one object: share a prefix with 'prefix'")
    if "with" not in body:
        raise BadRequest("'with' is required")
    grantee_kind, grantee = _grantee(body["with"], principal)
    settings = request.app[appkeys.SETTINGS].sharing
    now = int(time.time())
    expires = _expires(body, now, settings.max_expires_in_seconds)
    if not request.app[appkeys.RULES].may_share(target, principal).allowed:
        raise Forbidden(
            "the access rules do not let you share this: only what you may write, under a shareable rule"
        )
    wait = store.creates.acquire(f"{principal.issuer}\0{principal.sub}", time.monotonic())
    if wait:  # create-then-delete churn would pile up dead rows and spend grant tags
        raise TooManyRequests(
            f"you may create at most {settings.creates_per_minute} shares a minute: retry later",
            retry_after=store.creates.retry_after(wait),
        )
    try:
        share = await store.create(principal, kind, target, grantee_kind, grantee, now, expires)
    except ShareLimit as exc:
        raise Unprocessable(
            f"you hold the most live shares allowed ({settings.max_shares_per_owner}): delete some first",
            internal=str(exc),
        ) from None
    except StoreUnavailable as exc:
        raise _unavailable(exc) from None
    log.info("share %s: %s %s with %s %s", share.id, kind, target, grantee_kind, grantee)
    headers = {**NO_STORE, "Location": f"/v1/shares/{share.id}"}
    return web.json_response(share.to_json(), status=201, headers=headers)


def _limit(request: web.Request) -> int:
    values = request.query.getall("limit", [])
    if not values:
        return request.app[appkeys.SETTINGS].sharing.page_size
    if (
        len(values) > 1
        or not values[0].isdigit()
        or not values[0].isascii()
        or not 1 <= int(values[0]) <= MAX_PAGE
    ):
        raise Unprocessable(f"limit must be one whole number from 1 to {MAX_PAGE}")
    return int(values[0])


async def listing(request: web.Request) -> web.Response:
    """The caller's live shares, or with ``?with=me`` the live shares others made for the caller."""
    principal = await _signed_in(request, "list shares")
    store = _store(request)
    with_ = request.query.getall("with", [])
    if with_ not in ([], ["me"]):
        raise Unprocessable("with may only be 'me' (what others shared with you)")
    cursors = request.query.getall("cursor", [])
    if len(cursors) > 1:
        raise Unprocessable("give 'cursor' at most once")
    limit = _limit(request)
    try:
        after = decode_cursor(cursors[0]) if cursors else None
    except BadCursor as exc:
        raise Unprocessable(str(exc)) from None
    now = int(time.time())
    try:
        if with_:
            page = await store.received(principal, now, limit, after)
        else:
            page = await store.owned(principal, now, limit, after)
    except StoreUnavailable as exc:
        raise _unavailable(exc) from None
    return web.json_response(
        {"shares": [share.to_json() for share in page.shares], "next_cursor": page.next_cursor},
        headers=NO_STORE,
    )


async def delete(request: web.Request) -> web.Response:
    """Delete the caller's share; with revocation on, its grants stop at the edge within seconds."""
    principal = await _signed_in(request, "delete a share")
    store = _store(request)
    share_id = request.match_info["id"]
    missing = NotFound("no such share of yours")
    if not ID_PATTERN.match(share_id):
        raise missing
    now = int(time.time())
    try:
        share = await store.delete(principal, share_id, now)
    except StoreUnavailable as exc:
        raise _unavailable(exc) from None
    if share is None:
        raise missing
    revocations = request.app.get(REVOCATIONS)
    if revocations is not None:
        # After the delete: a replica that tags a grant for this share later re-checks the share
        # (handlers/urls.py, cookies.py) and refuses, and every tag made before is revoked here.
        try:
            await revocations.revoke(source=f"share:{share.id}")
        except Exception as exc:  # the share is gone; its grants expire on their own
            log.warning("share %s deleted, its grants not revoked: %s", share.id, exc)
            raise Unavailable(
                "the share is deleted, but the grants already made for it could not be revoked: "
                "they work until they expire",
                internal=repr(exc),
                retry_after=5,
            ) from None
    log.info("share %s deleted by its owner", share.id)
    return web.Response(status=204, headers=NO_STORE)
