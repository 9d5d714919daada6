"""Mutations of the credentials a viewer sends: signed-URL parameters, cookies, other headers."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from typing import TYPE_CHECKING

from tests.differential.case import Case
from tests.differential.grants import Grant
from tests.differential.world import OBJECTS

if TYPE_CHECKING:  # the generator imports the mutations
    from tests.differential.generator import Generator

SIGNING = ("Expires", "Policy", "Signature", "Key-Pair-Id", "Hash-Algorithm")


def _signing_spots(case: Case) -> tuple[list[str], list[int]]:
    """The query's parts (the case's own list whenever it has one) and where the signing ones are."""
    query = case.query if case.query is not None else []
    return query, [i for i, p in enumerate(query) if p.partition("=")[0] in SIGNING]


def add_param(rng: random.Random, case: Case, _gen: Generator) -> str:
    part = rng.choice(("x=1", "v=1", "v=2", "a=b%20c", "flag", "=", "expires=1", "Signature2=x"))
    query = case.query or []
    query.insert(rng.randrange(len(query) + 1), part)
    case.query = query
    return part


def duplicate_param(rng: random.Random, case: Case, _gen: Generator) -> str:
    query, spots = _signing_spots(case)
    if not spots:
        return "skip"
    part = query[rng.choice(spots)]
    name, _, value = part.partition("=")
    copy = rng.choice((part, f"{name}={value[:-2]}", f"{name}=", name))
    query.insert(rng.randrange(len(query) + 1), copy)
    return copy[:40]


def encode_name(rng: random.Random, case: Case, _gen: Generator) -> str:
    query, spots = _signing_spots(case)
    if not spots:
        return "skip"
    i = rng.choice(spots)
    name, sep, value = query[i].partition("=")
    j = rng.randrange(len(name))
    encoded = name[:j] + "%" + format(ord(name[j]), "02X") + name[j + 1 :]
    if rng.random() < 0.3:  # the same parameter twice, once spelled plainly
        query.append(query[i])
    query[i] = encoded + sep + value
    return encoded


def encode_value(rng: random.Random, case: Case, _gen: Generator) -> str:
    query, spots = _signing_spots(case)
    if not spots:
        return "skip"
    i = rng.choice(spots)
    name, _, value = query[i].partition("=")
    if not value:
        return "skip"
    j = rng.randrange(len(value))
    query[i] = f"{name}={value[:j]}%{ord(value[j]):02X}{value[j + 1 :]}"
    return f"{name}[{j}]"


def drop_param(rng: random.Random, case: Case, _gen: Generator) -> str:
    query, spots = _signing_spots(case)
    if not spots:
        return "skip"
    return query.pop(rng.choice(spots))[:20]


def reorder_params(rng: random.Random, case: Case, _gen: Generator) -> None:
    if case.query:
        rng.shuffle(case.query)


def hash_algorithm(rng: random.Random, case: Case, _gen: Generator) -> str:
    value = rng.choice(("SHA1", "SHA256", "sha256", "SHA512", "", "SHA-256"))
    cookie = case.header("Cookie")
    if cookie is not None and not _signing_spots(case)[1]:
        kept = [p for p in cookie.split("; ") if not p.startswith("CloudFront-Hash-Algorithm=")]
        case.set_header("Cookie", "; ".join([*kept, f"CloudFront-Hash-Algorithm={value}"]))
        return f"cookie {value!r}"
    case.query = [p for p in case.query or [] if not p.startswith("Hash-Algorithm=")] + [
        f"Hash-Algorithm={value}"
    ]
    return f"url {value!r}"


def empty_parts(rng: random.Random, case: Case, _gen: Generator) -> None:
    query = case.query or []
    query.insert(rng.randrange(len(query) + 1), "")
    case.query = query


def lowercase_name(rng: random.Random, case: Case, _gen: Generator) -> str:
    query, spots = _signing_spots(case)
    if not spots:
        return "skip"
    i = rng.choice(spots)
    name, sep, value = query[i].partition("=")
    query[i] = name.lower() + sep + value
    return name.lower()


def _replace_signature(case: Case, change: Callable[[str], str]) -> str:
    query = case.query if case.query is not None else []
    for i, part in enumerate(query):
        if part.startswith("Signature="):
            query[i] = "Signature=" + change(part[10:])
            return "url"
    cookie = case.header("Cookie")
    if cookie and "CloudFront-Signature=" in cookie:
        head, _, tail = cookie.partition("CloudFront-Signature=")
        value, sep, rest = tail.partition(";")
        case.set_header("Cookie", head + "CloudFront-Signature=" + change(value) + sep + rest)
        return "cookie"
    return "skip"


def corrupt_signature(rng: random.Random, case: Case, _gen: Generator) -> str:
    def change(value: str) -> str:
        if not value:
            return "AAAA"
        j = rng.randrange(len(value))
        return value[:j] + rng.choice("AB-_~+/=%20 ") + value[j + 1 :]

    return _replace_signature(case, change)


def truncate_signature(rng: random.Random, case: Case, _gen: Generator) -> str:
    return _replace_signature(case, lambda v: v[: rng.choice((0, 4, len(v) - 2, len(v) - 4))])


def other_viewers_cookies(rng: random.Random, case: Case, gen: Generator) -> str:
    family = rng.choice(("prefix", "prefix", "canned", "expired", "forged", "raw", "odd"))
    grant: Grant = rng.choice(gen.grants[family])
    pairs = "; ".join(f"{k}={v}" for k, v in grant.cookie_pairs())
    cookie = case.header("Cookie")
    joined = pairs if cookie is None else rng.choice((f"{pairs}; {cookie}", f"{cookie}; {pairs}"))
    case.set_header("Cookie", joined)
    case.held.append(grant)
    return grant.name


def cookie_sets(rng: random.Random, case: Case, _gen: Generator) -> str:
    cookie = case.header("Cookie")
    if not cookie:
        return "skip"
    pairs = cookie.split("; ")
    roll = rng.random()
    if roll < 0.3:
        result = pairs + pairs
    elif roll < 0.5:
        result = pairs * rng.choice((4, 5))
    elif roll < 0.75:
        dropped = rng.choice(pairs)
        result = [p for p in pairs if p != dropped]
    else:
        result = [*pairs, rng.choice(pairs)]
    if len("; ".join(result)) > 8000:  # CloudFront cookies never need this much; not the subject
        return "skip"
    case.set_header("Cookie", "; ".join(result))
    return f"{len(pairs)}->{len(result)} pairs"


def cookie_spelling(rng: random.Random, case: Case, _gen: Generator) -> str:
    cookie = case.header("Cookie")
    if not cookie:
        return "skip"
    pairs = cookie.split("; ")
    i = rng.randrange(len(pairs))
    name, _, value = pairs[i].partition("=")
    style = rng.choice(("lower", "spaces", "quoted", "split", "noise", "comma", "tab"))
    if style == "lower":
        pairs[i] = f"{name.lower()}={value}"
    elif style == "spaces":
        pairs[i] = f"{name} = {value} "
    elif style == "quoted":
        pairs[i] = f'{name}="{value}"'
    elif style == "noise":
        pairs.insert(i, rng.choice(("session=abc", "CloudFront-Other=1", "=x", "junk")))
    elif style == "comma":
        pairs[i] = f"{name}={value}, x=y"
    elif style == "tab":
        pairs[i] = f"\t{name}={value}"
    if style == "split":
        case.set_header("Cookie", "; ".join(pairs[:i]) or "a=b")
        case.headers.append(("Cookie", "; ".join(pairs[i:])))
    else:
        case.set_header("Cookie", ";".join(pairs) if rng.random() < 0.2 else "; ".join(pairs))
    return style


def move_credentials(rng: random.Random, case: Case, _gen: Generator) -> str:
    query, spots = _signing_spots(case)
    if spots:
        parts = [query[i] for i in spots]
        case.query = [p for i, p in enumerate(query) if i not in spots] or None
        moved = "; ".join("CloudFront-" + p for p in parts)
        case.set_header("Cookie", moved if not case.header("Cookie") else f"{case.header('Cookie')}; {moved}")
        return "url->cookie"
    cookie = case.header("Cookie")
    if cookie and rng.random() < 0.5:
        parts = [p[len("CloudFront-") :] for p in cookie.split("; ") if p.startswith("CloudFront-")]
        case.query = (case.query or []) + parts
        return "cookie->url (cookies kept)"
    case.query = (case.query or []) + [
        rng.choice(("Expires=1", "Key-Pair-Id=", "Hash-Algorithm=SHA1", "Policy=x"))
    ]
    return "stray URL parameter"


def method(rng: random.Random, case: Case, _gen: Generator) -> str:
    case.method = rng.choice(("HEAD", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "get", "PROPFIND"))
    if case.method in ("POST", "PUT", "PATCH") and rng.random() < 0.7:
        case.body = b"payload"
    return case.method


def http10(rng: random.Random, case: Case, _gen: Generator) -> None:
    case.version = "HTTP/1.0"
    if rng.random() < 0.4:
        case.set_header("Host", None)


def header_case(rng: random.Random, case: Case, _gen: Generator) -> None:
    case.headers = [
        ("".join(c.swapcase() if rng.random() < 0.5 else c for c in k), v) for k, v in case.headers
    ]


def conditional(rng: random.Random, case: Case, _gen: Generator) -> str:
    key = (
        case.path[1:].replace("%20", " ").replace("%C3%BC", "\u00fc").replace("%25", "%").replace("%2B", "+")
    )
    etag = '"' + hashlib.md5(OBJECTS[key]).hexdigest() + '"' if key in OBJECTS else '"nope"'
    name, value = rng.choice(
        (("Range", "bytes=0-9"), ("Range", "bytes=-5"), ("If-None-Match", etag), ("If-None-Match", "*"))
    )
    case.headers.append((name, value))
    return f"{name}: {value}"
