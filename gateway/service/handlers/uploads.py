"""``POST /v1/uploads`` and ``POST /v1/deletes``: S3 presigned requests scoped by the rules."""

from __future__ import annotations

import base64
import binascii
import time

from aiohttp import web

from gateway.service import appkeys
from gateway.service.errors import PayloadTooLarge, Unprocessable, UnsupportedMedia
from gateway.service.handlers.common import NO_STORE, allowed_rule, caller, checked_path, field, read_json


def _sha256(value: str) -> str:
    """A base64 SHA-256 digest, exactly as S3's ``x-amz-checksum-sha256`` compares it."""
    try:
        digest = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        digest = b""
    if len(digest) != 32 or base64.b64encode(digest).decode("ascii") != value:
        raise Unprocessable("checksum_sha256 must be the base64 SHA-256 of the bytes (44 characters)")
    return value


async def upload(request: web.Request) -> web.Response:
    principal = await caller(request)
    body = await read_json(request)
    path = checked_path(field(body, "path", str))
    content_type = field(body, "content_type", str)
    method = field(body, "method", str, default="PUT")
    if method not in ("PUT", "POST"):
        raise Unprocessable("method must be PUT or POST")
    length = field(body, "content_length", int)
    # Optional: pins the bytes, so a replayed POST form can only write the same ones (README).
    checksum = _sha256(field(body, "checksum_sha256", str)) if "checksum_sha256" in body else None
    rule = allowed_rule(
        request.app[appkeys.RULES].decide("write", path, principal), principal, "write this path"
    )
    if content_type not in rule.content_types:
        raise UnsupportedMedia(f"content_type must be one of {', '.join(rule.content_types)}")
    if length > rule.max_upload_bytes:
        raise PayloadTooLarge(f"uploads here are at most {rule.max_upload_bytes} bytes")
    if length < 1:
        raise Unprocessable("content_length must be positive")
    grants, now = request.app[appkeys.S3_GRANTS], int(time.time())
    if method == "PUT":
        put = grants.put(path, now, content_type, length, checksum)
        answer = {"method": "PUT", "url": put.url, "headers": put.headers, "expires": put.expires}
    else:
        form = grants.post(path, now, content_type, length, checksum)
        answer = {"method": "POST", "url": form.url, "fields": form.fields, "expires": form.expires}
    return web.json_response(answer, headers=NO_STORE)


async def delete(request: web.Request) -> web.Response:
    principal = await caller(request)
    body = await read_json(request)
    path = checked_path(field(body, "path", str))
    allowed_rule(request.app[appkeys.RULES].decide("delete", path, principal), principal, "delete this path")
    signed = request.app[appkeys.S3_GRANTS].delete(path, int(time.time()))
    return web.json_response(
        {"method": "DELETE", "url": signed.url, "expires": signed.expires}, headers=NO_STORE
    )
