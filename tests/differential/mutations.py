"""Mutations of everything a viewer controls.  Each returns a short note for the case record."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TYPE_CHECKING

from tests.differential import mutations_credentials as cred
from tests.differential.case import Case
from tests.differential.world import DISTRIBUTION_URLS, GRANTED_IP, OTHER_IP, TRUSTED_PEER, UNTRUSTED_PEER

if TYPE_CHECKING:  # the generator imports the mutations
    from tests.differential.generator import Generator

AUTHORITIES = [u.split("://")[1] for u in DISTRIBUTION_URLS]
Mutation = Callable[[random.Random, Case, "Generator"], str | None]


def _split_port(authority: str) -> tuple[str, str]:
    host, sep, port = authority.rpartition(":")
    return (host, ":" + port) if sep and "]" not in port and host else (authority, "")


def authority_variant(rng: random.Random, authority: str, scheme: str) -> str:
    host, port = _split_port(authority)
    default = ":443" if scheme == "https" else ":80"
    choices: list[Callable[[], str]] = [
        lambda: "".join(c.upper() if rng.random() < 0.5 else c for c in authority),
        lambda: host + "." + port,
        lambda: host + ".." + port,
        lambda: (
            host
            + rng.choice(
                (default, ":0" + default[1:], ":000" + default[1:], ":", ":0", ":65536", ":8080", ":8443")
            )
        ),
        lambda: rng.choice(("user@", "user:pw@", "@")) + authority,
        lambda: authority + rng.choice(("/public", "/users/bob/", "/", "?x=1", "#f", "/public/..")),
        lambda: rng.choice((" ", "\t")) + authority + rng.choice(("", " ")),
        lambda: host[:3] + " " + host[3:] + port,
        lambda: rng.choice(AUTHORITIES),
        lambda: rng.choice(("evil.example", "cdn.example.test.evil.example", "127.0.0.1", "localhost", "")),
        lambda: authority.replace(".", "%2E", 1),
        lambda: authority + ",evil.example",
        lambda: (
            "["
            + rng.choice(
                ("2001:DB8::7", "2001:db8:0:0:0:0:0:7", "2001:db8::0:7", "2001:db8::7%25eth0", "2001:db8::8")
            )
            + "]"
        ),
        lambda: "2001:db8::7",
    ]
    return rng.choice(choices)()


def host_variant(rng: random.Random, case: Case, _gen: Generator) -> str:
    value = authority_variant(rng, case.header("Host") or case.authority, case.scheme)
    case.set_header("Host", value)
    return repr(value)


def host_smuggle(rng: random.Random, case: Case, _gen: Generator) -> str:
    """Move the start of a held grant's prefix into Host, as the issue-12 attack did."""
    prefixes = [g.prefix for g in case.held if getattr(g, "prefix", None)]
    prefix = rng.choice(prefixes) if prefixes else rng.choice(("/public", "/users/alice"))
    value = (case.header("Host") or case.authority) + prefix.rstrip("/")
    case.set_header("Host", value)
    return repr(value)


def host_missing(rng: random.Random, case: Case, _gen: Generator) -> None:
    case.set_header("Host", None)


def host_duplicate(rng: random.Random, case: Case, _gen: Generator) -> str:
    value = rng.choice((case.authority, *AUTHORITIES, "evil.example"))
    position = rng.choice((0, len(case.headers)))
    case.headers.insert(position, ("Host", value))
    return f"{value!r} at {position}"


def forwarding_headers(rng: random.Random, case: Case, _gen: Generator) -> str:
    other = rng.choice((*AUTHORITIES, "evil.example"))
    name, value = rng.choice(
        (
            ("X-Forwarded-Host", other),
            ("Forwarded", f"host={other};proto=https"),
            ("Forwarded", f'for=203.0.113.7;host="{other}"'),
            ("X-Original-URL", "/users/bob/secret.txt"),
            ("X-Rewrite-URL", "/users/bob/secret.txt"),
        )
    )
    case.headers.append((name, value))
    return f"{name}: {value}"


def forwarded_proto(rng: random.Random, case: Case, _gen: Generator) -> str:
    value = rng.choice(("https", "http", "HTTPS", "http, https", "https, http", "wss", "", None))
    case.set_header("X-Forwarded-Proto", value)
    if rng.random() < 0.3:
        case.headers.append(("X-Forwarded-Proto", rng.choice(("http", "https"))))
    return repr(value)


def flip_peer(rng: random.Random, case: Case, _gen: Generator) -> str:
    case.peer = UNTRUSTED_PEER if case.peer == TRUSTED_PEER else TRUSTED_PEER
    return case.peer


def forwarded_for(rng: random.Random, case: Case, _gen: Generator) -> str:
    value = rng.choice(
        (
            GRANTED_IP,
            OTHER_IP,
            f"{GRANTED_IP}, {OTHER_IP}",
            f"{OTHER_IP}, {GRANTED_IP}",
            f"{GRANTED_IP}, 127.0.0.2",
            "garbage",
            "2001:db8::1",
        )
    )
    if rng.random() < 0.3:
        case.headers.append(("X-Forwarded-For", value))  # a second field line
    else:
        case.set_header("X-Forwarded-For", value)
    return repr(value)


def absolute_form(rng: random.Random, case: Case, _gen: Generator) -> str:
    case.form = "absolute"
    case.target_scheme = rng.choice(
        (case.scheme, case.scheme, case.scheme.upper(), "https" if case.scheme == "http" else "http", "ftp")
    )
    if rng.random() < 0.4:
        case.authority = authority_variant(rng, case.authority, case.scheme)
    roll = rng.random()
    if roll < 0.3:
        case.set_header("Host", rng.choice((*AUTHORITIES, "evil.example", "x/y")))
    elif roll < 0.4:
        case.set_header("Host", None)
    if rng.random() < 0.1:
        case.path = ""
    return f"{case.target_scheme}://{case.authority} Host={case.header('Host')!r}"


def odd_form(rng: random.Random, case: Case, _gen: Generator) -> str:
    case.form = rng.choice(("asterisk", "authority"))
    case.method = rng.choice(("GET", "OPTIONS", "CONNECT"))
    return f"{case.method} {case.form}"


def fragment(rng: random.Random, case: Case, _gen: Generator) -> None:
    case.fragment = rng.choice(("#x", "#", "#/../../users/bob/secret.txt"))


def pct_encode_byte(rng: random.Random, case: Case, _gen: Generator) -> str:
    if len(case.path) < 2:
        return "skip"
    i = rng.randrange(1, len(case.path))
    encoded = "%" + format(ord(case.path[i]) & 0xFF, "02X" if rng.random() < 0.7 else "02x")
    case.path = case.path[:i] + encoded + case.path[i + 1 :]
    return f"{i}->{encoded}"


def pct_decode_one(rng: random.Random, case: Case, _gen: Generator) -> str:
    spots = [i for i in range(len(case.path) - 2) if case.path[i] == "%"]
    if not spots:
        return "skip"
    i = rng.choice(spots)
    try:
        char = chr(int(case.path[i + 1 : i + 3], 16))
    except ValueError:
        return "skip"
    case.path = case.path[:i] + char + case.path[i + 3 :]
    return f"{i}->{char!r}"


def _at_slash(rng: random.Random, path: str, insert: str) -> str:
    slashes = [i for i, c in enumerate(path) if c == "/"] or [0]
    i = rng.choice(slashes)
    return path[:i] + insert + path[i:]


def dot_segments(rng: random.Random, case: Case, _gen: Generator) -> str:
    insert = rng.choice(("/.", "/x/..", "/%2e", "/%2E%2E", "/..", "/x/%2e%2e", "/x%2F..", "/.%2e"))
    case.path = _at_slash(rng, case.path, insert)
    return insert


def double_slash(rng: random.Random, case: Case, _gen: Generator) -> None:
    case.path = _at_slash(rng, case.path, rng.choice(("/", "//", "%2F")))


def traverse(rng: random.Random, case: Case, _gen: Generator) -> str:
    start = rng.choice(("/public/", "/users/alice/", "/api/", "/api/v1/", "/tiles/", "/hooks/", "/users/"))
    up = rng.choice(("../", "..%2F", "%2E%2E/", "%2e%2e%2f", "..%5C", "..\\"))
    case.path = start + up + case.path.lstrip("/")
    return start + up


def swap_owner(rng: random.Random, case: Case, _gen: Generator) -> None:
    for old, new in (
        ("alice", rng.choice(("bob", "alicex", "Alice"))),
        ("bob", "alice"),
        ("public", "users"),
    ):
        if old in case.path:
            case.path = case.path.replace(old, new, 1)
            return


def raw_bytes(rng: random.Random, case: Case, _gen: Generator) -> str:
    insert = rng.choice(("\xc3\xa9", "\xff", " ", "\x00", "\x7f", '"', "<"))
    i = rng.randrange(min(1, len(case.path)), len(case.path) + 1)
    case.path = case.path[:i] + insert + case.path[i:]
    return repr(insert)


def backslash(rng: random.Random, case: Case, _gen: Generator) -> None:
    case.path = _at_slash(rng, case.path, rng.choice(("\\", "%5C", "%5c..")))


def path_case(rng: random.Random, case: Case, _gen: Generator) -> None:
    second = case.path[1:2]
    case.path = case.path[:1] + (second.upper() if second.isascii() else second) + case.path[2:]


def trailing(rng: random.Random, case: Case, _gen: Generator) -> str:
    suffix = rng.choice(("/", "/.", "/..", "%00", ";x=1", "?", "%3Fv=1", "%23x", "%2F"))
    if suffix == "?":
        case.query = case.query or []
    else:
        case.path += suffix
    return suffix


# (name, mutation), with weights by repetition: credentials and paths are where bugs hide.
MUTATIONS: list[tuple[str, Mutation]] = [
    (f.__name__, f)
    for f, weight in (
        (host_variant, 4),
        (host_smuggle, 2),
        (host_missing, 1),
        (host_duplicate, 1),
        (forwarding_headers, 1),
        (forwarded_proto, 2),
        (flip_peer, 1),
        (forwarded_for, 2),
        (absolute_form, 3),
        (odd_form, 1),
        (fragment, 1),
        (pct_encode_byte, 4),
        (pct_decode_one, 2),
        (dot_segments, 3),
        (double_slash, 2),
        (traverse, 3),
        (swap_owner, 3),
        (raw_bytes, 1),
        (backslash, 1),
        (path_case, 1),
        (trailing, 2),
        (cred.add_param, 2),
        (cred.duplicate_param, 2),
        (cred.encode_name, 2),
        (cred.encode_value, 2),
        (cred.drop_param, 1),
        (cred.reorder_params, 1),
        (cred.hash_algorithm, 2),
        (cred.empty_parts, 1),
        (cred.lowercase_name, 1),
        (cred.corrupt_signature, 2),
        (cred.truncate_signature, 1),
        (cred.other_viewers_cookies, 4),
        (cred.cookie_sets, 3),
        (cred.cookie_spelling, 3),
        (cred.move_credentials, 2),
        (cred.method, 2),
        (cred.http10, 1),
        (cred.header_case, 1),
        (cred.conditional, 2),
    )
    for _ in range(weight)
]
