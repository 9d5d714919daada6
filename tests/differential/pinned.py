"""Minimal requests kept from the differential runs, each with the answer the rules give.

``EXPECTED_TO_HOLD`` are attacks the edge already resists.  ``EDGE_DISAGREES`` are the cases where
the edge and the rules part (found by the differential run, reduced by hand); their tests fail
until the edge follows the rule, which each entry cites.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from gateway.signing.cloudfront import sign_policy
from gateway.signing.crypto import HashAlgorithm
from gateway.signing.policy import Policy
from tests.differential.case import Case
from tests.differential.grants import Grant
from tests.differential.world import GRANTED_IP, OTHER_IP, TRUSTED_PEER, UNTRUSTED_PEER, signers

HTTPS, HTTP = "https://cdn.example.test", "http://cdn.example.test:8080"


@dataclass(frozen=True)
class Pinned:
    name: str
    build: Callable[[], Case]
    served: tuple[str, ...] | None
    why: str


def _grant(resource: str, canned: bool = False, ip: str | None = None) -> Grant:
    expires = int(time.time()) + 3600
    policy = (
        Policy.make_canned(resource, expires)
        if canned
        else Policy.make_custom(resource, expires, ip_address=ip)
    )
    signed = sign_policy(policy, signers().rsa, HashAlgorithm.SHA256)
    return Grant(
        f"pinned {resource}", tuple(signed.params()), resource.split("/")[2], resource=resource, ip=ip
    )


def _cookie(grant: Grant) -> str:
    return "; ".join(f"{k}={v}" for k, v in grant.cookie_pairs())


def _query(grant: Grant) -> list[str]:
    return [f"{k}={v}" for k, v in grant.params]


def _tls(path: str, *headers: tuple[str, str], grant: Grant | None = None, edge: str = "a-tls") -> Case:
    case = Case(
        edge,
        UNTRUSTED_PEER,
        "GET",
        path,
        None,
        [("Host", "cdn.example.test"), *headers],
        "https",
        "cdn.example.test",
    )
    case.held = [grant] if grant else []
    return case


def _http(path: str, *headers: tuple[str, str], grant: Grant | None = None) -> Case:
    authority = "cdn.example.test:8080"
    case = Case("a", UNTRUSTED_PEER, "GET", path, None, [("Host", authority), *headers], "http", authority)
    case.held = [grant] if grant else []
    return case


def host_with_path() -> Case:
    """Issue 12: the signature was checked against ``http://{Host}{path}``, so anonymous cookies
    for ``/public/*`` plus ``Host: cdn.example.test:8080/public`` read ``/users/bob/photo.png``."""
    public = _grant(f"{HTTP}/public/*")
    case = _http("/users/bob/photo.png", ("Cookie", _cookie(public)), grant=public)
    case.set_header("Host", "cdn.example.test:8080/public")
    return case


def forwarded_host() -> Case:
    public = _grant(f"{HTTP}/public/*")
    headers = (("X-Forwarded-Host", "cdn.example.test:8080/public"), ("Cookie", _cookie(public)))
    return _http("/users/bob/photo.png", *headers, grant=public)


def encoded_traversal() -> Case:
    alice = _grant(f"{HTTPS}/users/alice/*")
    return _tls("/users/alice/..%2Fbob/secret.txt", ("Cookie", _cookie(alice)), grant=alice)


def empty_segment() -> Case:
    alice = _grant(f"{HTTPS}/users/alice/*")
    return _tls("/users/alice//../bob/secret.txt", ("Cookie", _cookie(alice)), grant=alice)


def second_forwarded_for_line() -> Case:
    bound = _grant(f"{HTTP}/users/alice/*", ip=GRANTED_IP)
    case = Case(
        "a",
        TRUSTED_PEER,
        "GET",
        "/users/alice/photo.png",
        None,
        [("Host", "cdn.example.test:8080")],
        "http",
        "cdn.example.test:8080",
    )
    # The viewer sent the first line; the trusted proxy (the peer) added the second (RFC 9110 5.3).
    case.headers += [
        ("X-Forwarded-For", GRANTED_IP),
        ("X-Forwarded-For", OTHER_IP),
        ("Cookie", _cookie(bound)),
    ]
    case.held = [bound]
    return case


def second_cookie_line() -> Case:
    alice = _grant(f"{HTTPS}/users/alice/*")
    return _tls("/users/alice/photo.png", ("Cookie", "theme=dark"), ("Cookie", _cookie(alice)), grant=alice)


def cookie_whitespace() -> Case:
    alice = _grant(f"{HTTPS}/users/alice/*")
    return _tls("/users/alice/photo.png", ("Cookie", _cookie(alice).replace("=", " = ", 1)), grant=alice)


def empty_query_part() -> Case:
    canned = _grant(f"{HTTPS}/users/alice/photo.png?v=1", canned=True)
    case = _tls("/users/alice/photo.png", grant=canned)
    case.query = ["v=1", "", *_query(canned)]
    return case


def unknown_method_to_origin() -> Case:
    case = _tls("/api/v1/echo")
    case.method = "PROPFIND"
    return case


def empty_port() -> Case:
    case = _tls("/public/logo.png")
    case.set_header("Host", "cdn.example.test:")
    return case


EXPECTED_TO_HOLD = [
    Pinned(
        "host-with-path", host_with_path, None, "issue 12: Host 'cdn/public' must not widen public cookies"
    ),
    Pinned("x-forwarded-host", forwarded_host, None, "X-Forwarded-Host is ignored"),
    Pinned("encoded-traversal", encoded_traversal, None, "a key with a '..' segment is refused"),
    Pinned("empty-segment", empty_segment, None, "a key with an empty segment is refused"),
]
EDGE_DISAGREES = [
    Pinned(
        "second-x-forwarded-for-line",
        second_forwarded_for_line,
        None,
        "RFC 9110 5.3: field lines of one name form one list; the edge reads only the first "
        "X-Forwarded-For line, which the viewer wrote, so an IP-bound grant opens for a spoofed address",
    ),
    Pinned(
        "second-cookie-line",
        second_cookie_line,
        ("s3", "users/alice/photo.png"),
        "RFC 9113 8.2.3 / RFC 9110 5.3: cookie lines combine; the edge reads only the first",
    ),
    Pinned(
        "cookie-whitespace",
        cookie_whitespace,
        ("s3", "users/alice/photo.png"),
        "RFC 6265 5.2: cookie names and values are trimmed of whitespace",
    ),
    Pinned(
        "empty-query-part",
        empty_query_part,
        None,
        "the signature covers the raw query minus the signing parameters; '?v=1&' is not the "
        "signed '?v=1' (the edge drops empty parts and accepts a URL that was not signed)",
    ),
    Pinned(
        "unknown-method-to-origin",
        unknown_method_to_origin,
        None,
        "CloudFront forwards only GET, HEAD, OPTIONS, PUT, PATCH, POST, DELETE (AllowedMethods)",
    ),
    Pinned(
        "empty-port",
        empty_port,
        ("s3", "public/logo.png"),
        "RFC 3986 3.2.3 / RFC 9110 4.2.3: an empty port is the scheme's default",
    ),
]
