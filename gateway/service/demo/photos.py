"""The photo gallery's one extra route (development only): which photos under a prefix may I see?

A gallery must list an album before it can show it, and neither CloudFront nor a presigned URL
lists anything.  ``GET /demo/photos?prefix=users/alice/albums/`` lists the bucket under the prefix
with the gateway's own S3 client and answers only the keys the caller may read: the rules, then a
live share (the same decision a signed URL for that key gets), so a listing reveals no name a grant
would not.  Only key names travel here; the bytes still come through the edge with grants.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp import web
from botocore.exceptions import BotoCoreError, ClientError

from gateway.rules.access import Principal
from gateway.service import appkeys
from gateway.service.errors import Unavailable, Unprocessable
from gateway.service.handlers.common import NO_STORE, caller, checked_path
from gateway.service.shared import shared_object

GALLERY_ROOT = "users/"
MAX_SCANNED = 500  # one S3 page, each key checked: a demo gallery, not an index


async def _readable(request: web.Request, principal: Principal, path: str, now: float) -> bool:
    if request.app[appkeys.RULES].decide("read", path, principal).allowed:
        return True
    return await shared_object(request, principal, path, now) is not None


def _list(client: Any, bucket: str, prefix: str) -> tuple[list[dict[str, Any]], bool]:
    page = client.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=MAX_SCANNED)
    return page.get("Contents", []), bool(page.get("IsTruncated"))


async def list_photos(request: web.Request) -> web.Response:
    principal = await caller(request)
    values = request.query.getall("prefix", [])
    if len(values) != 1:
        raise Unprocessable("give exactly one 'prefix' query parameter")
    prefix = checked_path(values[0], prefix=True)
    if not prefix.startswith(GALLERY_ROOT):
        raise Unprocessable(f"the gallery lists only under {GALLERY_ROOT}")
    app = request.app
    client, bucket = app[appkeys.S3_GRANTS].access.client, app[appkeys.SETTINGS].s3.bucket
    try:
        objects, truncated = await asyncio.to_thread(_list, client, bucket, prefix)
    except (BotoCoreError, ClientError) as exc:
        raise Unavailable("the bucket cannot be listed right now", internal=str(exc), retry_after=5) from None
    now = time.time()
    photos = [
        {"path": item["Key"], "size": item["Size"], "modified": int(item["LastModified"].timestamp())}
        for item in objects
        if await _readable(request, principal, item["Key"], now)
    ]
    return web.json_response({"prefix": prefix, "photos": photos, "truncated": truncated}, headers=NO_STORE)
