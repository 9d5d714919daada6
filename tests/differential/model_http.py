"""The HTTP half of the model: parse the raw request, find its scheme, authority and path.

Written from RFC 9112 (message syntax; section 3.2 exactly one Host, 3.2.2 absolute-form
targets name the authority), RFC 3986 (section 3.2 host and port, 5.2.4 dot segments) and the
edge's documented rules; nothing here comes from gateway/.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

DEFAULT_PORT = {"http": 80, "https": 443}
_TOKEN = re.compile(rb"\A[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")
_HOST = re.compile(r"\A(?:\[(?P<v6>[^\]]*)\]|(?P<name>[A-Za-z0-9.-]+))(?::(?P<port>[0-9]*))?\Z")
_ABSOLUTE = re.compile(r"\A(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<authority>[^/?]*)(?P<rest>.*)\Z")


class Refused(Exception):
    def __init__(self, statuses: set[int] | int, why: str, codes: frozenset[str] = frozenset()) -> None:
        super().__init__(why)
        self.statuses = frozenset({statuses} if isinstance(statuses, int) else statuses)
        self.codes = codes


def pct_decode(text: str) -> bytes:
    """``%XX`` to its byte; a ``%`` not followed by two hex digits stays literal."""
    out, i, raw = bytearray(), 0, text.encode("latin-1")
    while i < len(raw):
        if raw[i : i + 1] == b"%" and re.fullmatch(rb"[0-9A-Fa-f]{2}", raw[i + 1 : i + 3]):
            out.append(int(raw[i + 1 : i + 3], 16))
            i += 3
        else:
            out.append(raw[i])
            i += 1
    return bytes(out)


def canonical_host(scheme: str, value: str) -> str:
    match = _HOST.match(value)
    if match is None:
        raise Refused(400, f"Host {value!r} is not host[:port]")
    if match["v6"] is not None:
        if "%" in match["v6"]:
            raise Refused(400, "IPv6 zone identifiers are not hosts")
        try:
            host = "[" + ipaddress.IPv6Address(match["v6"]).compressed + "]"
        except ValueError:
            raise Refused(400, f"{match['v6']!r} is not an IPv6 address") from None
    else:
        host = match["name"].lower()
        host = host[:-1] if host.endswith(".") else host
        if any(label == "" for label in host.split(".")):
            raise Refused(400, f"Host {value!r} has an empty label")
    if not match["port"]:  # RFC 3986 3.2.3: an empty port means the scheme's default
        return host
    port = int(match["port"])
    if not 0 < port < 65536:
        raise Refused(400, f"port {port} out of range")
    return host if port == DEFAULT_PORT[scheme] else f"{host}:{port}"


def normalise(decoded: str) -> str:
    """Repeated slashes merged, then dot segments resolved (RFC 3986 5.2.4), trailing "/" kept."""
    out: list[str] = []
    segments = decoded.split("/")
    for segment in segments:
        if segment in ("", "."):
            continue
        if segment == "..":
            out = out[:-1]
        else:
            out.append(segment)
    trailing = bool(out) and segments[-1] in ("", ".", "..")
    return "/" + "/".join(out) + ("/" if trailing else "")


@dataclass(frozen=True)
class Parsed:
    method: str
    target: str
    version: str
    headers: tuple[tuple[str, str], ...]  # names lower-cased, values trimmed

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k == name]


def parse(raw: bytes) -> Parsed:
    head, sep, _ = raw.partition(b"\r\n\r\n")
    if not sep:
        raise Refused(400, "no end of header section")
    lines = head.split(b"\r\n")
    # RFC 9112 section 3 lets a recipient split the request-line on runs of spaces.
    parts = re.split(rb" +", lines[0].strip(b" "))
    if len(parts) != 3 or not _TOKEN.match(parts[0]) or parts[2] not in (b"HTTP/1.1", b"HTTP/1.0"):
        raise Refused({400, 501, 505}, f"bad request line {lines[0][:80]!r}")
    if not re.fullmatch(rb"[\x21-\x7e]+", parts[1]) or b"#" in parts[1]:
        raise Refused(400, "the request-target holds a byte that must be percent-encoded")
    headers = []
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not _TOKEN.match(name):
            raise Refused(400, f"bad header line {line[:80]!r}")
        headers.append((name.decode().lower(), value.strip(b" \t").decode("latin-1")))
    return Parsed(parts[0].decode(), parts[1].decode(), parts[2].decode(), tuple(headers))


def viewer_scheme(request: Parsed, tls: bool, peer_trusted: bool) -> str:
    if tls:
        return "https"
    values = request.all("x-forwarded-proto")
    if not peer_trusted or not values:
        return "http"
    value = ",".join(values).split(",")[-1].strip().lower()
    if value not in DEFAULT_PORT:
        raise Refused(400, f"X-Forwarded-Proto {value!r}")
    return value


def trusted(address: str, networks: tuple[str, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(n, strict=False) for n in networks)


def viewer_ip(request: Parsed, peer: str, networks: tuple[str, ...]) -> str:
    """X-Forwarded-For (all lines, in order) walked from the right past trusted proxies."""
    if not trusted(peer, networks):
        return peer
    hops = [h.strip() for h in ",".join(request.all("x-forwarded-for")).split(",") if h.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return peer
        if not trusted(hop, networks):
            return hop
    return peer


def locate(request: Parsed, scheme: str) -> tuple[str, str]:
    """The authority and the path-and-query a request names (RFC 9112 3.2 and 3.2.2)."""
    hosts = request.all("host")
    if len(hosts) > 1:
        raise Refused(400, "more than one Host field line")
    if request.target.startswith("/"):
        if not hosts:
            raise Refused(400, "no Host")
        return hosts[0], request.target
    absolute = _ABSOLUTE.match(request.target)
    if absolute is None:
        raise Refused({400, 405, 501}, f"request-target form {request.target[:40]!r} is refused")
    if absolute["scheme"].lower() != scheme:
        raise Refused(400, f"absolute-form scheme {absolute['scheme']!r} is not the viewer's {scheme}")
    if "@" in absolute["authority"]:
        raise Refused(400, "userinfo in the request-target")
    if not hosts and request.version == "HTTP/1.1":
        raise Refused(400, "HTTP/1.1 without Host")
    rest = absolute["rest"]
    return absolute["authority"], rest if rest.startswith("/") else "/" + rest
