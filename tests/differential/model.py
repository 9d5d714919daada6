"""An independent model of what the edge must serve for one raw HTTP/1.1 request.

Written from the edge's documented rules (README, issue 12) and from CloudFront's public
documentation (see ``model_signatures``), deliberately without importing anything from gateway/:
its own request parser, host canonicalisation, percent-decoding, path normalisation and globs.
The answer is the object (or custom-origin path) the edge should return, or None, with the
statuses CloudFront could answer and the reasoning that led there.

Behaviours match the percent-decoded, normalised path and the allowed methods are CloudFront's
seven (cache behaviour settings, "Path pattern" and "Allowed HTTP methods":
https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/DownloadDistValuesCacheBehavior.html).
Where the rules are silent the model takes the reading of the RFC it cites (``model_http``), and
for cookies RFC 6265 section 5.2: a cookie's name and value are trimmed of whitespace, and all
Cookie field lines form one list (RFC 9110 section 5.3, RFC 9113 section 8.2.3).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.differential.model_http import (
    Parsed,
    Refused,
    canonical_host,
    locate,
    normalise,
    parse,
    pct_decode,
    trusted,
    viewer_ip,
    viewer_scheme,
)
from tests.differential.model_signatures import NAMES, Judgement, RequestURL, deny, glob, judge

__all__ = [
    "Behaviour",
    "Refused",
    "Verdict",
    "World",
    "canonical_host",
    "expected",
    "normalise",
    "parse",
    "pct_decode",
    "viewer_ip",
]

_COOKIE_NAMES = {"CloudFront-" + name: name for name in NAMES}
MAX_COOKIE_SETS = 4
# The methods a CloudFront behaviour can allow (AllowedMethods); anything else never reaches an origin.
METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"})


@dataclass(frozen=True)
class Behaviour:
    pattern: str  # "*"/"?" glob with an implicit leading "/"
    signed: bool
    origin: str  # "s3" or "custom"


@dataclass(frozen=True)
class World:
    """What the edge under test is configured with, and what the bucket holds."""

    distribution_urls: tuple[str, ...]
    trusted_proxies: tuple[str, ...]
    behaviours: tuple[Behaviour, ...]
    keys: Mapping[str, Any]  # Key-Pair-Id -> public key
    objects: Mapping[str, bytes]  # object key -> body

    @property
    def directories(self) -> frozenset[str]:
        """Every ``prefix/`` of an object: SeaweedFS answers these with an empty directory entry
        (S3 itself would say 404); they are modelled so that answer is not mistaken for a leak."""
        return frozenset(k[: i + 1] for k in self.objects for i, c in enumerate(k) if c == "/")


@dataclass
class Verdict:
    served: tuple[str, ...] | None  # ("s3", key) or ("origin", method, raw path); None: nothing
    statuses: frozenset[int]
    codes: frozenset[str] = frozenset()  # CloudFront error codes acceptable for a 403
    why: list[str] = field(default_factory=list)
    origin_query: str | None = None  # what a custom origin should receive: no signing parameters


def object_key(raw_path: str) -> str | None:
    try:
        key = pct_decode(raw_path[1:]).decode("utf-8")
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


def credential_sets(request: Parsed, raw_query: str) -> tuple[str, list[dict[str, str]]]:
    """URL parameters when any signing name is in the query, else the cookie sets."""
    params: dict[str, str] = {}
    url_mode = False
    for part in raw_query.split("&"):
        name, _, value = part.partition("=")
        decoded = pct_decode(name)
        if decoded in {n.encode() for n in NAMES}:
            url_mode = True
            if decoded.decode() in params:
                raise Refused(403, f"{decoded.decode()} twice in the URL")
            params[decoded.decode()] = pct_decode(value).decode("latin-1")
    if url_mode:
        return "url", [params]
    occurrences: dict[str, list[str]] = {}
    for header in request.all("cookie"):
        for pair in header.split(";"):
            name, eq, value = pair.partition("=")
            if eq and name.strip() in _COOKIE_NAMES:
                value = pct_decode(value.strip()).decode("latin-1")  # values are decoded as in URLs
                occurrences.setdefault(_COOKIE_NAMES[name.strip()], []).append(value)
    count = max((len(v) for v in occurrences.values()), default=0)
    if count > MAX_COOKIE_SETS:
        raise Refused(403, f"{count} occurrences of a CloudFront cookie")
    return "cookie", [{n: v[k] for n, v in occurrences.items() if len(v) > k} for k in range(count)]


def stripped_query(raw_query: str) -> str:
    """The raw query minus the signing parameters (names compared decoded), nothing else changed:
    an empty part stays, since the signature covers the query exactly as the viewer sent it."""
    names = {n.encode() for n in NAMES}
    return "&".join(p for p in raw_query.split("&") if pct_decode(p.partition("=")[0]) not in names)


def verify(request: Parsed, url: RequestURL, raw_query: str, world: World, ip: str, now: int) -> Judgement:
    mode, sets = credential_sets(request, raw_query)
    if not sets:
        return deny("no signed URL parameters and no CloudFront cookies", "MissingKey")
    verdicts = [judge(s, url, world.keys, ip, now) for s in sets]
    for index, verdict in enumerate(verdicts):
        if verdict.allowed:
            return Judgement(True, frozenset(), f"{mode} set {index + 1}: {verdict.why}")
    codes = frozenset().union(*(v.codes for v in verdicts))
    return Judgement(False, codes, f"{mode}: " + " | ".join(v.why for v in verdicts))


def expected(raw: bytes, tls: bool, peer: str, world: World, now: int) -> Verdict:
    why: list[str] = []
    try:
        return _expected(raw, tls, peer, world, now, why)
    except Refused as refusal:
        why.append(f"refused: {refusal}")
        return Verdict(None, refusal.statuses, refusal.codes, why)


def _expected(raw: bytes, tls: bool, peer: str, world: World, now: int, why: list[str]) -> Verdict:
    request = parse(raw)
    if request.method not in METHODS:
        raise Refused({400, 403, 405, 501}, f"method {request.method!r} is not one CloudFront forwards")
    scheme = viewer_scheme(request, tls, trusted(peer, world.trusted_proxies))
    authority_text, rest = locate(request, scheme)
    authority = canonical_host(scheme, authority_text)
    distributions = {
        (u.split("://")[0], canonical_host(u.split("://")[0], u.split("://")[1]))
        for u in world.distribution_urls
    }
    if (scheme, authority) not in distributions:
        raise Refused(403, f"{scheme}://{authority} is not a distribution URL")
    raw_path, _, raw_query = rest.partition("?")
    try:
        path = normalise(pct_decode(raw_path).decode("utf-8"))
    except UnicodeDecodeError:
        raise Refused(400, "path is not UTF-8 once decoded") from None
    behaviour = next(
        b for b in world.behaviours if glob(b.pattern if b.pattern.startswith("/") else "/" + b.pattern, path)
    )
    why.append(
        f"{scheme}://{authority} path {path!r} -> behaviour {behaviour.pattern} ({'signed' if behaviour.signed else 'public'}, {behaviour.origin})"
    )
    s3_method_ok = behaviour.origin != "s3" or request.method in ("GET", "HEAD")
    if behaviour.signed:
        url = RequestURL(scheme, authority, raw_path, stripped_query(raw_query))
        verdict = verify(request, url, raw_query, world, viewer_ip(request, peer, world.trusted_proxies), now)
        why.append(verdict.why)
        if not verdict.allowed:
            return Verdict(None, frozenset({403} if s3_method_ok else {403, 405}), verdict.codes, why)
    if behaviour.origin == "custom":
        served = ("origin", request.method, raw_path)
        return Verdict(served, frozenset({200}), why=why, origin_query=stripped_query(raw_query))
    if not s3_method_ok:
        return Verdict(None, frozenset({405}), why=[*why, f"{request.method} does not reach S3"])
    key = object_key(raw_path)
    if key is None:
        return Verdict(None, frozenset({403}), frozenset({"AccessDenied"}), [*why, "object key refused"])
    if key in world.directories:  # no object bytes: counted as nothing served
        return Verdict(None, frozenset({200, 304, 404, 416}), why=[*why, f"empty directory entry {key!r}"])
    if key not in world.objects:
        # The store answers for keys it does not hold: 404, or 400 for a key it cannot hold.
        return Verdict(None, frozenset({400, 403, 404}), why=[*why, f"no object {key!r}"])
    return Verdict(("s3", key), frozenset({200, 206, 304}), why=[*why, f"object {key!r}"])
