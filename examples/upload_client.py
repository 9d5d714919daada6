#!/usr/bin/env python3
"""Upload one file through cdn-gateway with a presigned PUT, and survive a lost answer.

    python examples/upload_client.py --gateway http://127.0.0.1:8081 --token "$TOKEN" \\
        --path users/demo/photo.png --file photo.png --content-type image/png

A PUT whose answer never arrives (a timeout, a dropped connection) may still have landed.  The
gateway's presigned PUT signs ``If-None-Match: *``, so retrying it then gets 412 Precondition
Failed: the key is taken, but by whom?  This client asks the gateway for a signed URL, HEADs the
object through the CDN and compares its size and ETag (for a single-part PUT, the hex MD5 of the
bytes) with its own file.  The same: its first attempt landed, the upload is done.  Different:
someone else's object is there, which it reports as a conflict and never overwrites.

Exit status: 0 uploaded, 3 conflict, 1 anything else (one line on stderr).  Standard library only.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from email.message import Message
from pathlib import Path
from typing import Any

# The request may or may not have reached S3: only these are worth one retry.
OUTCOME_UNKNOWN = (TimeoutError, ConnectionError)


class Conflict(Exception):
    """Another object already holds the key."""


def call(method: str, url: str, timeout: float, **kw: Any) -> tuple[int, Message, bytes]:
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):  # never file: or ftp:
        raise ValueError(f"not an http(s) URL: {url[:80]}")
    request = urllib.request.Request(url, method=method, **kw)  # noqa: S310 - checked above
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()
    except urllib.error.URLError as error:  # raised while sending: unwrap what really happened
        if isinstance(error.reason, OUTCOME_UNKNOWN):
            raise error.reason from None
        raise


def gateway_call(args: argparse.Namespace, method: str, endpoint: str, body: Any = None) -> Any:
    headers = {"Authorization": f"Bearer {args.token}"}
    data = None
    if body is not None:
        headers["Content-Type"] = "application/json"
        data = json.dumps(body).encode("utf-8")
    status, _, raw = call(
        method, args.gateway.rstrip("/") + endpoint, args.timeout, data=data, headers=headers
    )
    if status != 200:
        raise RuntimeError(f"{method} {endpoint} answered {status}: {raw[:300].decode(errors='replace')}")
    return json.loads(raw)


def is_mine(args: argparse.Namespace, data: bytes) -> bool:
    """Whether the object now at ``args.path`` holds exactly ``data``, seen through the CDN."""
    query = urllib.parse.urlencode({"path": args.path})
    url = gateway_call(args, "GET", f"/v1/signed-url?{query}")["url"]
    status, headers, _ = call("HEAD", url, args.timeout)
    if status != 200:
        raise RuntimeError(f"cannot check {args.path}: HEAD answered {status}")
    etag = (headers.get("ETag") or "").strip('"')
    if not re.fullmatch(r"[0-9a-f]{32}", etag):  # multipart or SSE-KMS: not an MD5, compare bytes
        status, _, stored = call("GET", url, args.timeout)
        return status == 200 and stored == data
    md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
    return headers.get("Content-Length") == str(len(data)) and etag == md5


def upload(args: argparse.Namespace, data: bytes) -> None:
    checksum = base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")
    put = gateway_call(
        args,
        "POST",
        "/v1/uploads",
        {
            "path": args.path,
            "content_type": args.content_type,
            "content_length": len(data),
            "checksum_sha256": checksum,  # S3 refuses other bytes under this URL
        },
    )
    for attempt in (1, 2):
        try:
            status, _, answer = call("PUT", put["url"], args.timeout, data=data, headers=put["headers"])
        except OUTCOME_UNKNOWN:
            if attempt == 2:
                raise
            continue  # the same URL stays valid until put["expires"]; If-None-Match keeps it safe
        if status == 200:
            return
        if status == 412:  # taken: by our own first attempt, or by someone else?
            if is_mine(args, data):
                return
            raise Conflict(f"{args.path} already holds other bytes; nothing was overwritten")
        raise RuntimeError(f"S3 refused the upload: {status} {answer[:300].decode(errors='replace')}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--gateway", required=True, help="the gateway (or the CDN routing /v1/* to it)")
    parser.add_argument("--token", required=True, help="a bearer token for the gateway")
    parser.add_argument("--path", required=True, help="the object key, e.g. users/demo/photo.png")
    parser.add_argument("--file", required=True, type=Path)
    parser.add_argument("--content-type", default="image/png")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    args = parser.parse_args(argv)
    try:
        upload(args, args.file.read_bytes())
    except Conflict as exc:
        print(f"conflict: {exc}", file=sys.stderr)
        return 3
    except (RuntimeError, OSError, ValueError) as exc:
        print(f"error: {exc!r}", file=sys.stderr)
        return 1
    print(f"uploaded {args.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
