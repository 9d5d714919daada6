"""Mutations of the credentials a viewer sends: signed-URL parameters, cookies, other headers."""

from __future__ import annotations

import hashlib
import random
from typing import Any

from tests.differential.case import Case
from tests.differential.world import OBJECTS

SIGNING = ("Expires", "Policy", "Signature", "Key-Pair-Id", "Hash-Algorithm")


def _signing_spots(case: Case) -> list[int]:
    return [i for i, p in enumerate(case.query or []) if p.partition("=")[0] in SIGNING]


def add_param(rng: random.Random, case: Case, _: Any) -> str:
    part = rng.choice(("x=1", "v=1", "v=2", "a=b%20c", "flag", "=", "expires=1", "Signature2=x"))
    query = case.query or []
    query.insert(rng.randrange(len(query) + 1), part)
    case.query = query
    return part


def duplicate_param(rng: random.Random, case: Case, _: Any) -> str:
    spots = _signing_spots(case)
    if not spots:
        return "skip"
    part = case.query[rng.choice(spots)]  # type: ignore[index]
    name, _, value = part.partition("=")
    copy = rng.choice((part, f"{name}={value[:-2]}", f"{name}=", name))
    case.query.insert(rng.randrange(len(case.query) + 1), copy)  # type: ignore[union-attr]
    return copy[:40]


def encode_name(rng: random.Random, case: Case, _: Any) -> str:
    spots = _signing_spots(case)
    if not spots:
        return "skip"
    i = rng.choice(spots)
    name, sep, value = case.query[i].partition("=")  # type: ignore[index]
    j = rng.randrange(len(name))
    encoded = name[:j] + "%" + format(ord(name[j]), "02X") + name[j + 1 :]
    if rng.random() < 0.3:  # the same parameter twice, once spelled plainly
        case.query.append(case.query[i])  # type: ignore[union-attr]
    case.query[i] = encoded + sep + value  # type: ignore[index]
    return encoded


def encode_value(rng: random.Random, case: Case, _: Any) -> str:
    spots = _signing_spots(case)
    if not spots:
        return "skip"
    i = rng.choice(spots)
    name, _, value = case.query[i].partition("=")  # type: ignore[index]
    if not value:
        return "skip"
    j = rng.randrange(len(value))
    case.query[i] = f"{name}={value[:j]}%{ord(value[j]):02X}{value[j + 1 :]}"  # type: ignore[index]
    return f"{name}[{j}]"


def drop_param(rng: random.Random, case: Case, _: Any) -> str:
    spots = _signing_spots(case)
    if not spots:
        return "skip"
    return case.query.pop(rng.choice(spots))[:20]  # type: ignore[union-attr]


def reorder_params(rng: random.Random, case: Case, _: Any) -> None:
    if case.query:
        rng.shuffle(case.query)


def hash_algorithm(rng: random.Random, case: Case, _: Any) -> str:
    value = rng.choice(("SHA1", "SHA256", "sha256", "SHA512", "", "SHA-256"))
    cookie = case.header("Cookie")
    if cookie is not None and not _signing_spots(case):
        kept = [p for p in cookie.split("; ") if not p.startswith("CloudFront-Hash-Algorithm=")]
        case.set_header("Cookie", "; ".join([*kept, f"CloudFront-Hash-Algorithm={value}"]))
        return f"cookie {value!r}"
    case.query = [p for p in case.query or [] if not p.startswith("Hash-Algorithm=")] + [
        f"Hash-Algorithm={value}"
    ]
    return f"url {value!r}"


def empty_parts(rng: random.Random, case: Case, _: Any) -> None:
    query = case.query or []
    query.insert(rng.randrange(len(query) + 1), "")
    case.query = query


def lowercase_name(rng: random.Random, case: Case, _: Any) -> str:
    spots = _signing_spots(case)
    if not spots:
        return "skip"
    i = rng.choice(spots)
    name, sep, value = case.query[i].partition("=")  # type: ignore[index]
    case.query[i] = name.lower() + sep + value  # type: ignore[index]
    return name.lower()


def _replace_signature(case: Case, change: Any) -> str:
    for i, part in enumerate(case.query or []):
        if part.startswith("Signature="):
            case.query[i] = "Signature=" + change(part[10:])  # type: ignore[index]
            return "url"
    cookie = case.header("Cookie")
    if cookie and "CloudFront-Signature=" in cookie:
        head, _, tail = cookie.partition("CloudFront-Signature=")
        value, sep, rest = tail.partition(";")
        case.set_header("Cookie", head + "CloudFront-Signature=" + change(value) + sep + rest)
        return "cookie"
    return "skip"


def corrupt_signature(rng: random.Random, case: Case, _: Any) -> str:
    def change(value: str) -> str:
        if not value:
            return "AAAA"
        j = rng.randrange(len(value))
        return value[:j] + rng.choice("AB-_~+/=%20 ") + value[j + 1 :]

    return _replace_signature(case, change)


def truncate_signature(rng: random.Random, case: Case, _: Any) -> str:
    return _replace_signature(case, lambda v: v[: rng.choice((0, 4, len(v) - 2, len(v) - 4))])


def other_viewers_cookies(rng: random.Random, case: Case, gen: Any) -> str:
    family = rng.choice(("prefix", "prefix", "canned", "expired", "forged", "raw", "odd"))
    grant = rng.choice(gen.grants[family])
    pairs = "; ".join(f"{k}={v}" for k, v in grant.cookie_pairs())
    cookie = case.header("Cookie")
    joined = pairs if cookie is None else rng.choice((f"{pairs}; {cookie}", f"{cookie}; {pairs}"))
    case.set_header("Cookie", joined)
    case.held.append(grant)
    return grant.name


def cookie_sets(rng: random.Random, case: Case, _: Any) -> str:
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


def cookie_spelling(rng: random.Random, case: Case, _: Any) -> str:
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


def move_credentials(rng: random.Random, case: Case, _: Any) -> str:
    spots = _signing_spots(case)
    if spots:
        parts = [case.query[i] for i in spots]  # type: ignore[index]
        case.query = [p for i, p in enumerate(case.query or []) if i not in spots] or None
        cookie = "; ".join("CloudFront-" + p for p in parts)
        case.set_header(
            "Cookie", cookie if not case.header("Cookie") else f"{case.header('Cookie')}; {cookie}"
        )
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


def method(rng: random.Random, case: Case, _: Any) -> str:
    case.method = rng.choice(("HEAD", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "get", "PROPFIND"))
    if case.method in ("POST", "PUT", "PATCH") and rng.random() < 0.7:
        case.body = b"payload"
    return case.method


def http10(rng: random.Random, case: Case, _: Any) -> None:
    case.version = "HTTP/1.0"
    if rng.random() < 0.4:
        case.set_header("Host", None)


def header_case(rng: random.Random, case: Case, _: Any) -> None:
    case.headers = [
        ("".join(c.swapcase() if rng.random() < 0.5 else c for c in k), v) for k, v in case.headers
    ]


def conditional(rng: random.Random, case: Case, _: Any) -> str:
    key = (
        case.path[1:].replace("%20", " ").replace("%C3%BC", "\u00fc").replace("%25", "%").replace("%2B", "+")
    )
    etag = '"' + hashlib.md5(OBJECTS[key]).hexdigest() + '"' if key in OBJECTS else '"nope"'
    name, value = rng.choice(
        (("Range", "bytes=0-9"), ("Range", "bytes=-5"), ("If-None-Match", etag), ("If-None-Match", "*"))
    )
    case.headers.append((name, value))
    return f"{name}: {value}"
