#!/usr/bin/env python3
"""A device (mobile app, IoT box, batch job) using cdn-gateway's temporary AWS credentials with boto3.

    TOKEN=$(.venv/bin/cdn-gateway dev-token --sub alice)
    .venv/bin/python examples/device_credentials.py --token "$TOKEN" --denied users/bob/

It asks the gateway (``POST /v1/credentials``) for credentials scoped to what the access rules give
the caller, talks to S3 directly with an ordinary boto3 client, and lets botocore fetch new ones
from the gateway before they expire (``RefreshableCredentials``: 15 minutes before the expiry the
next request refreshes, 10 minutes before it must).  Then it lists the caller's own prefix and shows
that another user's prefix is refused by S3 itself (AccessDenied), not by this script.

Exit status: 0 when both happened as described, 1 otherwise (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import CredentialProvider, CredentialResolver, RefreshableCredentials
from botocore.exceptions import ClientError


class Gateway:
    """Fetches credentials from the gateway; keeps its last answer (bucket, endpoint, prefixes)."""

    def __init__(self, url: str, token: str, duration: int) -> None:
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):  # never file: or ftp:
            raise ValueError(f"not an http(s) URL: {url[:80]}")
        self.url, self.token, self.duration = url.rstrip("/"), token, duration
        self.answer: dict[str, Any] = {}

    def fetch(self) -> dict[str, str]:
        """botocore's metadata for RefreshableCredentials (called again to refresh)."""
        request = urllib.request.Request(  # noqa: S310 - scheme checked above
            f"{self.url}/v1/credentials",
            data=json.dumps({"duration_seconds": self.duration}).encode(),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            self.answer = json.load(response)
        return {
            "access_key": self.answer["access_key_id"],
            "secret_key": self.answer["secret_access_key"],
            "token": self.answer["session_token"],
            "expiry_time": self.answer["expiration"],
        }


class GatewayProvider(CredentialProvider):  # type: ignore[misc]
    METHOD = CANONICAL_NAME = "cdn-gateway"

    def __init__(self, gateway: Gateway) -> None:
        super().__init__()
        self.gateway = gateway

    def load(self) -> RefreshableCredentials:
        return RefreshableCredentials.create_from_metadata(
            self.gateway.fetch(), self.gateway.fetch, self.METHOD
        )


def s3_client(gateway: Gateway) -> Any:
    """A boto3 S3 client whose only credentials are the gateway's, refreshed by botocore."""
    session = botocore.session.Session()
    session.register_component("credential_provider", CredentialResolver([GatewayProvider(gateway)]))
    session.get_credentials()  # the first fetch: it tells where S3 is
    answer = gateway.answer
    return boto3.Session(botocore_session=session).client(
        "s3",
        endpoint_url=answer["endpoint_url"],  # None on AWS: the regional endpoint
        region_name=answer["region"],
        config=Config(s3={"addressing_style": "path"} if answer["endpoint_url"] else {}),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--gateway", default="http://127.0.0.1:8081", help="the gateway (or the CDN in front)"
    )
    parser.add_argument("--token", default=os.environ.get("GATEWAY_TOKEN", ""), help="bearer token")
    parser.add_argument("--prefix", help="what to list (default: the first writable, else readable prefix)")
    parser.add_argument("--denied", default="users/bob/", help="another user's prefix, which S3 must refuse")
    parser.add_argument("--duration", type=int, default=3600, help="seconds the credentials should live")
    args = parser.parse_args(argv)
    gateway = Gateway(args.gateway, args.token, args.duration)
    try:
        s3 = s3_client(gateway)
    except (OSError, KeyError, ValueError) as exc:  # HTTPError included: 401, 404 (vending off), 503
        print(f"no credentials from {args.gateway}: {exc}", file=sys.stderr)
        return 1
    bucket, prefixes = gateway.answer["bucket"], gateway.answer["prefixes"]
    mine = args.prefix or (prefixes.get("write") or prefixes["read"])[0]
    print(f"credentials until {gateway.answer['expiration']}; bucket {bucket}; own prefix {mine}")
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=mine):
        for item in page.get("Contents", []):
            print(f"  {item['Key']}  {item['Size']} bytes")
    other = args.denied
    try:
        s3.list_objects_v2(Bucket=bucket, Prefix=other)
    except ClientError as exc:
        code = exc.response["Error"]["Code"]
        print(f"{other}: {code} (S3 refused another user's prefix)")
        return 0 if code == "AccessDenied" else 1
    print(f"{other}: listed, but it should have been refused", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
