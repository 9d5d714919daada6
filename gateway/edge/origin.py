"""Origin requests to the private bucket, signed with SigV4 as CloudFront's origin access control
signs them; one shared client session; the object key is sent exactly as given (no re-normalising).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote, unquote

import aiohttp
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials
from yarl import URL

from gateway.edge.settings import EdgeOrigin
from gateway.signing.s3 import S3Location

# Viewer headers that reach the origin; everything else (cookies, authorization) stays at the edge.
FORWARDED_REQUEST_HEADERS = ("Range", "If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since")
# Origin headers the viewer sees.
KEPT_RESPONSE_HEADERS = (
    "Content-Type",
    "Content-Length",
    "ETag",
    "Last-Modified",
    "Cache-Control",
    "Content-Range",
    "Accept-Ranges",
    "Content-Disposition",
    "Content-Encoding",
    "Content-Language",
    "Expires",
)


def aws_query(raw: str) -> str:
    """Re-encode a query the way SigV4 canonicalises it, so what we sign is what S3 recomputes."""
    pairs = []
    for part in raw.split("&"):
        if part:
            name, sep, value = part.partition("=")
            encoded = quote(unquote(name), safe="-_.~")
            pairs.append(f"{encoded}={quote(unquote(value), safe='-_.~')}" if sep else encoded)
    return "&".join(pairs)


def origin_timeout(settings: EdgeOrigin) -> aiohttp.ClientTimeout:
    """``connect`` includes waiting for a pooled connection; ``sock_connect`` is the TCP handshake."""
    return aiohttp.ClientTimeout(
        total=None,
        connect=settings.queue_timeout_seconds,
        sock_connect=settings.connect_timeout_seconds,
        sock_read=settings.read_timeout_seconds,
    )


class S3Origin:
    def __init__(self, settings: EdgeOrigin, session: aiohttp.ClientSession) -> None:
        self._location = S3Location(settings.region, settings.endpoint_url, "path")
        self._bucket = settings.bucket
        self._auth = S3SigV4Auth(
            ReadOnlyCredentials(settings.access_key_id, settings.secret_access_key, None),
            "s3",
            settings.region,
        )
        self._session = session
        self._timeout = origin_timeout(settings)

    def _signed(self, method: str, url: str, headers: Mapping[str, str]) -> dict[str, str]:
        request = AWSRequest(method=method, url=url, headers=dict(headers))
        self._auth.add_auth(request)
        return dict(request.headers.items())

    def request(
        self, method: str, key: str, query: str, viewer_headers: Mapping[str, str]
    ) -> aiohttp.client._RequestContextManager:
        """A signed GET/HEAD for ``key``; use as ``async with origin.request(...) as response``."""
        query = aws_query(query)
        url = self._location.object_url(self._bucket, key) + (f"?{query}" if query else "")
        forwarded = {
            name: viewer_headers[name] for name in FORWARDED_REQUEST_HEADERS if name in viewer_headers
        }
        headers = self._signed(method, url, forwarded)
        # encoded=True: yarl would otherwise resolve dot-segments and re-quote the path.
        return self._session.request(
            method,
            URL(url, encoded=True),
            headers=headers,
            timeout=self._timeout,
            allow_redirects=False,
            auto_decompress=False,
        )
