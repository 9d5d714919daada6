"""Which URL the viewer asked for, decided as CloudFront decides it, before any signature check.

CloudFront picks the distribution by the request's Host (or, for an absolute-form target, by the
target's own authority: RFC 9112 section 3.2.2) and checks a signature against the URL that was
requested on *that* distribution's domain.  The edge therefore serves only the ``scheme://host``
pairs it is configured with and verifies against the configured spelling of the one that matched:
a Host it does not serve never reaches the verifier, and nothing else a viewer sends (a path or
userinfo inside Host, X-Forwarded-Host, Forwarded) can change the URL a signature is checked for.

Behaviours match a decoded, normalised path (CloudFront normalises the URI path before it matches
path patterns, and sends the raw path on), decoded exactly as the object key is, so that
``/%75sers/...`` cannot take a behaviour meant for another path.  Pure: no I/O.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from gateway.signing.cloudfront import SIGNING_PARAMS

DEFAULT_PORTS = {"http": 80, "https": 443}
_AUTHORITY = re.compile(
    r"\A(?:\[(?P<ip6>[0-9A-Fa-f:.]+)\]|(?P<name>[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9.])?))"
    r"(?::(?P<port>[0-9]{0,10}))?\Z"
)
_ABSOLUTE = re.compile(r"\A(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<authority>[^/?#]*)(?P<rest>.*)\Z", re.S)
# What a request-target may hold once it is on the wire: printable ASCII, no space, no fragment.
_TARGET_CHARS = re.compile(r"\A[\x21\x22\x24-\x7e]*\Z")


class Refusal(Exception):
    """The request names no distribution this edge serves, or names one in a malformed way."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


@dataclass(frozen=True, slots=True)
class ViewerTarget:
    scheme: str  # the viewer's protocol: TLS here, or what a trusted proxy says
    host: str  # the served authority the request matched, as configured (canonical)
    raw_path: str  # as received, still percent-encoded: what signatures cover
    raw_query: str
    path: str  # decoded and normalised: what behaviours match

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}{self.raw_path}"


@functools.lru_cache(maxsize=1024)  # a handful of Host spellings arrive, again and again
def canonical_authority(scheme: str, value: str) -> str:
    """``host[:port]`` in one spelling: lower case, one trailing dot dropped, default port left out."""
    match = _AUTHORITY.match(value)
    if match is None:
        raise ValueError("not a host[:port]")
    if match["ip6"] is not None:
        try:
            host = f"[{ipaddress.IPv6Address(match['ip6']).compressed}]"
        except ValueError:
            raise ValueError("not an IPv6 address") from None
    else:
        host = match["name"].lower()
        host = host[:-1] if host.endswith(".") else host
        if not host or ".." in host or host.endswith("."):
            raise ValueError("empty DNS label")
    if not match["port"]:  # none, or empty: the default (RFC 3986 section 3.2.3)
        return host
    port = int(match["port"])  # leading zeros spell the same port
    if not 0 < port < 65536:
        raise ValueError("port out of range")
    return host if port == DEFAULT_PORTS[scheme] else f"{host}:{port}"


def distribution_origin(url: str) -> tuple[str, str]:
    """A configured distribution URL as (scheme, canonical authority)."""
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS:
        raise ValueError("must start with http:// or https://")
    if parts.path not in ("", "/") or parts.query or parts.fragment or "@" in parts.netloc:
        raise ValueError("must be scheme://host[:port] with nothing after the host")
    return parts.scheme, canonical_authority(parts.scheme, parts.netloc)


def viewer_scheme(tls: bool, trusted_peer: bool, forwarded_proto: Sequence[str]) -> str:
    """The viewer's protocol: this connection's, or the nearest trusted proxy's X-Forwarded-Proto."""
    if tls:
        return "https"
    if not trusted_peer or not forwarded_proto:
        return "http"
    # The rightmost value is the one the proxy next to us wrote; earlier ones came from further out.
    value = ",".join(forwarded_proto).rsplit(",", 1)[-1].strip().lower()
    if value not in DEFAULT_PORTS:
        raise Refusal(400, "X-Forwarded-Proto must be http or https")
    return value


def normalise(raw_path: str) -> str:
    """Percent-decoded, dot segments resolved, repeated slashes merged (for behaviour matching)."""
    if "%" not in raw_path and "/." not in raw_path and "//" not in raw_path:
        return raw_path  # already normal: nearly every request
    try:
        decoded = unquote(raw_path, errors="strict")
    except UnicodeDecodeError:
        raise Refusal(400, "the path is not percent-encoded UTF-8") from None
    out: list[str] = []
    for segment in decoded.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if out:
                out.pop()
            continue
        out.append(segment)
    trailing = "/" if out and decoded.endswith(("/", "/.", "/..")) else ""
    return "/" + "/".join(out) + trailing


def read_target(
    raw_target: str, host_header: str | None, scheme: str, served: Collection[tuple[str, str]]
) -> ViewerTarget:
    """The distribution URL and path a request names; :class:`Refusal` when it names none."""
    if raw_target.startswith("/"):
        if host_header is None:
            raise Refusal(400, "a request without Host names no distribution")
        authority_text, rest = host_header, raw_target
    else:
        absolute = _ABSOLUTE.match(raw_target)
        if absolute is None:
            raise Refusal(400, "the request-target must be a path or an absolute URL")
        if absolute["scheme"].lower() != scheme:
            raise Refusal(400, "the request-target's scheme is not the connection's")
        authority_text, rest = absolute["authority"], absolute["rest"]
        rest = rest if rest.startswith("/") else "/" + rest  # "http://host?q" asks for "/?q"
    if not _TARGET_CHARS.match(rest):
        raise Refusal(400, "the request-target holds a character that must be percent-encoded")
    try:
        authority = canonical_authority(scheme, authority_text)
    except ValueError:
        raise Refusal(400, "Host is not a valid host[:port]") from None
    if (scheme, authority) not in served:
        if any(host == authority for _, host in served):
            raise Refusal(403, f"this distribution does not serve {scheme}")
        raise Refusal(403, "no distribution is configured for this host")
    raw_path, _, raw_query = rest.partition("?")
    return ViewerTarget(scheme, authority, raw_path, raw_query, normalise(raw_path))


def object_key(raw_path: str) -> str | None:
    """The object a path names: decoded once, or None where a normalising hop could read it otherwise.

    Exactly one leading ``/`` is the URL's; empty, ``.`` and ``..`` segments and backslashes are
    refused rather than resolved (security case 13), so the key is always the normalised path.
    """
    try:
        key = unquote(raw_path[1:], errors="strict")
    except UnicodeDecodeError:
        return None
    segments = key.split("/")
    if (
        not key
        or "\\" in key
        or any(s in ("", ".", "..") for s in segments[:-1])
        or segments[-1] in (".", "..")
    ):
        return None
    return key


def origin_query(raw_query: str) -> str:
    """The viewer query without CloudFront's signing parameters (which CloudFront removes before
    it forwards a URL to an origin), every other part as sent and in its order, empty ones too."""
    if not raw_query:
        return ""
    kept = [part for part in raw_query.split("&") if unquote(part.partition("=")[0]) not in SIGNING_PARAMS]
    return "&".join(kept)
