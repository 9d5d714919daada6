"""CloudFront's base64 alphabet and the canonical, percent-encoded URL forms we sign.

The signed string must be the emitted string (docs/design.md, "CloudFront signing rules"): every
URL is made pure ASCII here, once, and never re-encoded afterwards.
"""

from __future__ import annotations

import base64
import binascii
import re
import string
from urllib.parse import quote, urlsplit

# CloudFront maps the three characters that are not URL-safe: + -> -, = -> _, / -> ~.
_TO_CF = bytes.maketrans(b"+=/", b"-_~")
_FROM_CF = bytes.maketrans(b"-_~", b"+=/")
_CF_CHARS = re.compile(rb"\A[A-Za-z0-9\-_~]*\Z")

# RFC 3986 unreserved characters: the only ones left as they are in an object-key segment.
_UNRESERVED = string.ascii_letters + string.digits + "-._~"
# Characters allowed unencoded in a URL the caller already wrote (path, query and delimiters).
_URL_SAFE = _UNRESERVED + "!$&'()*+,;=:@/?"
_PCT = re.compile(r"%[0-9A-Fa-f]{2}")


class EncodingError(ValueError):
    """A value cannot be decoded or is not a URL we can sign."""


def cf_b64encode(data: bytes) -> str:
    """Standard base64 with padding kept, then CloudFront's three substitutions."""
    return base64.b64encode(data).translate(_TO_CF).decode("ascii")


def cf_b64decode(text: str) -> bytes:
    """Strict inverse of :func:`cf_b64encode`; anything outside the alphabet is an error."""
    raw = text.encode("ascii", "replace")
    if not raw or not _CF_CHARS.match(raw):
        raise EncodingError("not CloudFront base64")
    try:
        return base64.b64decode(raw.translate(_FROM_CF), validate=True)
    except binascii.Error as exc:
        raise EncodingError("not CloudFront base64") from exc


def encode_key(key: str) -> str:
    """Percent-encode each segment of an object key once (everything but unreserved)."""
    return "/".join(quote(segment, safe=_UNRESERVED) for segment in key.split("/"))


def object_url(base_url: str, key: str) -> str:
    """The canonical URL of an object key under a distribution's base URL."""
    return f"{base_url.rstrip('/')}/{encode_key(key)}"


def requote_url(url: str) -> str:
    """Make a caller-written URL pure ASCII without double-encoding it.

    Existing ``%XX`` escapes are kept as they are; a stray ``%``, spaces, non-ASCII and other
    characters a browser would encode are encoded.  Idempotent: ``requote(requote(u)) ==
    requote(u)``.
    """
    out: list[str] = []
    i = 0
    while i < len(url):
        if _PCT.match(url, i):
            out.append(url[i : i + 3])
            i += 3
            continue
        ch = url[i]
        out.append(ch if ch in _URL_SAFE else quote(ch, safe=""))
        i += 1
    return "".join(out)


def check_http_url(url: str) -> None:
    """Refuse anything that is not an absolute http(s) URL with a host."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
        raise EncodingError("URL must be absolute http:// or https:// with a host and no fragment")
