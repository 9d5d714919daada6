"""Operational endpoints: public keys, liveness, readiness, metrics and the OpenAPI document."""

from __future__ import annotations

import asyncio
import time

from aiohttp import web
from botocore.exceptions import ClientError
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway.keys.keyring import KeyState
from gateway.service import appkeys
from gateway.service.openapi import openapi_document

_S3_CHECK_SECONDS = 5.0


async def keys(request: web.Request) -> web.Response:
    keyring = request.app[appkeys.KEYRING].current
    listed = [
        {
            "id": e.id,
            "key_pair_id": e.key_pair_id,
            "algorithm": e.algorithm,
            "state": e.state,
            "created": e.created,
            "public_key": e.public_key,
        }
        for e in keyring.entries
        if e.state is not KeyState.RETIRED
    ]
    # What this replica signs with, so that an operator (``keys retire --replica``) can tell a
    # replica that has not loaded the current keyring.
    serving = {
        "key_id": keyring.active_id,
        "key_pair_id": keyring.active.key_pair_id,
        "keyring_version": keyring.version,
    }
    return web.json_response({"active": keyring.active.key_pair_id, "keys": listed, "serving": serving})


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _s3_state(app: web.Application) -> str:
    """Reachability of the bucket, cached briefly; presigning works without it."""
    state = app[appkeys.READINESS]
    if time.monotonic() - state.checked < _S3_CHECK_SECONDS:
        return state.s3
    client, bucket = app[appkeys.S3_GRANTS].access.client, app[appkeys.SETTINGS].s3.bucket
    try:
        await asyncio.wait_for(asyncio.to_thread(client.head_bucket, Bucket=bucket), timeout=3)
        result = "ok"
    except ClientError as exc:
        result = _answered(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode"))
    except Exception as exc:  # no answer (connection, timeout): down; the reason is for the log only
        result = f"down ({type(exc).__name__})"
    state.s3, state.checked = result, time.monotonic()
    return result


def _answered(status: object) -> str:
    """S3 answered HeadBucket with an error.  403 still proves it reachable: a role that may only
    write under a prefix is not allowed HeadBucket, which needs s3:ListBucket (S3 API Reference,
    "HeadBucket"); presigning needs no S3 call at all.  404 says the bucket does not exist, so
    every presigned request would fail."""
    if status == 403:
        return "ok"
    if status == 404:
        return "down (no such bucket)"
    return f"down (HTTP {status})" if isinstance(status, int) else "down (ClientError)"


async def readyz(request: web.Request) -> web.Response:
    """503 only when nothing can be signed; a stale keyring or S3 outage is reported, not fatal."""
    holder = request.app[appkeys.KEYRING]
    checks = {
        "keyring": "ok"
        if holder.error is None
        else "stale: last reload failed, serving the last good keyring",
        "active_key": holder.current.active.key_pair_id,
        "s3": await _s3_state(request.app),
    }
    signing = holder.current.signer is not None
    healthy = signing and holder.error is None and checks["s3"] == "ok"
    status = "ok" if healthy else "degraded" if signing else "unavailable"
    return web.json_response({"status": status, "checks": checks}, status=200 if signing else 503)


async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[appkeys.METRICS].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document(request.app[appkeys.SETTINGS]))
