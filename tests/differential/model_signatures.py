"""The model's CloudFront signature rules, written from AWS's documentation, not from gateway/.

Sources (public AWS documentation, CloudFront Developer Guide):
- canned policies, rebuilt from the request URL: .../private-content-creating-signed-url-canned-policy.html
- custom policies, one statement, section-wise wildcards, IPv4 only:
  .../private-content-creating-signed-url-custom-policy.html
- cookies: .../private-content-setting-signed-cookie-custom-policy.html
- URL parameters take precedence over cookies: .../private-content-choosing-signed-urls-cookies.html
(all under https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/).

A credential set is judged whole and answers either "allowed" or the error codes CloudFront could
plausibly give.  Where the documentation does not fix an order between two independent failures,
every code that one of the orders would give is accepted.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

NAMES = ("Expires", "Policy", "Signature", "Key-Pair-Id", "Hash-Algorithm")
ANY_403 = frozenset({"MissingKey", "InvalidKey", "MalformedSignature", "MalformedPolicy", "AccessDenied"})
_CF_B64 = re.compile(r"\A[A-Za-z0-9~_-]*\Z")


@dataclass(frozen=True)
class Judgement:
    allowed: bool
    codes: frozenset[str]  # acceptable CloudFront error codes when not allowed
    why: str


def deny(why: str, *codes: str) -> Judgement:
    return Judgement(False, frozenset(codes) or ANY_403, why)


def cf_b64decode(text: str) -> bytes | None:
    """CloudFront's URL-safe base64 (``-``/``_``/``~`` for ``+``/``=``/``/``), padding kept."""
    if not _CF_B64.match(text):
        return None
    standard = text.replace("-", "+").replace("_", "=").replace("~", "/")
    try:
        return base64.b64decode(standard, validate=True)
    except (binascii.Error, ValueError):
        return None


def _pairs_unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len({k for k, _ in pairs}) != len(pairs):
        raise ValueError("duplicate JSON name")
    return dict(pairs)


def _epoch(value: Any) -> int:
    if type(value) is not dict or set(value) != {"AWS:EpochTime"}:
        raise ValueError("not {AWS:EpochTime: n}")
    number = value["AWS:EpochTime"]
    if type(number) is not int or number < 0:
        raise ValueError("epoch is not a whole number")
    return number


@dataclass(frozen=True)
class Statement:
    resource: str | None  # None: omitted, every URL
    less_than: int
    greater_than: int | None
    source: ipaddress.IPv4Network | None


def parse_statement(data: bytes) -> Statement:
    """The documented template exactly: one statement, known names, integer epochs, IPv4."""
    doc = json.loads(data.decode("utf-8"), object_pairs_hook=_pairs_unique)
    if type(doc) is not dict or set(doc) != {"Statement"}:
        raise ValueError("not {Statement: [...]}")
    statements = doc["Statement"]
    if type(statements) is not list or len(statements) != 1 or type(statements[0]) is not dict:
        raise ValueError("not exactly one statement")
    statement = statements[0]
    if not set(statement) <= {"Resource", "Condition"} or "Condition" not in statement:
        raise ValueError("unknown statement member or no Condition")
    resource = statement.get("Resource")
    if resource is not None and type(resource) is not str:
        raise ValueError("Resource is not a string")
    condition = statement["Condition"]
    if type(condition) is not dict or not set(condition) <= {"DateLessThan", "DateGreaterThan", "IpAddress"}:
        raise ValueError("unknown condition")
    if "DateLessThan" not in condition:
        raise ValueError("DateLessThan is required")
    source = None
    if "IpAddress" in condition:
        body = condition["IpAddress"]
        if type(body) is not dict or set(body) != {"AWS:SourceIp"} or type(body["AWS:SourceIp"]) is not str:
            raise ValueError("not {AWS:SourceIp: cidr}")
        source = ipaddress.IPv4Network(body["AWS:SourceIp"], strict=False)
    greater = _epoch(condition["DateGreaterThan"]) if "DateGreaterThan" in condition else None
    return Statement(resource, _epoch(condition["DateLessThan"]), greater, source)


def glob(pattern: str, text: str) -> bool:
    """``*`` any run of characters, ``?`` exactly one, everything else literal (case-sensitive)."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, text, re.DOTALL) is not None


def _sections(resource: str) -> tuple[str, str, str, str]:
    """``[protocol]://[domain]/[path]?[query]`` with the documented implied wildcards."""
    head, sep, rest = resource.partition("://")
    if not sep or "/" in head:
        protocol, rest = "*", resource  # "*example.com/..." has an implied "*://"
    else:
        protocol = head
    domain, slash, tail = rest.partition("/")
    if not slash:
        # A trailing "*" in the domain implies "*" in the path and the query.
        return (protocol, domain, "/*", "*") if domain.endswith("*") else (protocol, domain, "/", "")
    path, question, query = ("/" + tail).partition("?")
    if not question:
        query = "*" if path.endswith("*") else ""  # a trailing path "*" implies "*" in the query
    return protocol, domain, path, query


def resource_covers(resource: str | None, scheme: str, authority: str, path: str, query: str) -> bool:
    if resource is None or resource == "*":
        return True
    protocol, domain, path_pattern, query_pattern = _sections(resource)
    return (
        glob(protocol, scheme)
        and glob(domain, authority)
        and glob(path_pattern, path)
        and glob(query_pattern, query)
    )


def canned_bytes(url: str, expires: str) -> bytes:
    return (
        '{"Statement":[{"Resource":"'
        + url
        + '","Condition":{"DateLessThan":{"AWS:EpochTime":'
        + expires
        + "}}}]}"
    ).encode()


def signature_holds(key: Any, signature: bytes, message: bytes, digest: hashes.HashAlgorithm) -> bool:
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, message, padding.PKCS1v15(), digest)
        else:
            key.verify(signature, message, ec.ECDSA(digest))
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass(frozen=True)
class RequestURL:
    """What a signature is checked against: the served distribution URL and the raw path."""

    scheme: str
    authority: str
    raw_path: str
    query: str  # the raw query without the signing parameters

    def __str__(self) -> str:
        base = f"{self.scheme}://{self.authority}{self.raw_path}"
        return f"{base}?{self.query}" if self.query else base


def judge(
    creds: Mapping[str, str], url: RequestURL, keys: Mapping[str, Any], viewer_ip: str, now: int
) -> Judgement:
    kpid = creds.get("Key-Pair-Id", "")
    if not kpid:
        return deny("no Key-Pair-Id", "MissingKey")
    problems: list[tuple[str, str]] = []
    key = keys.get(kpid)
    if key is None:
        problems.append(("InvalidKey", f"Key-Pair-Id {kpid!r} is not trusted"))
    hash_name = creds.get("Hash-Algorithm", "SHA1")
    digest = {"SHA1": hashes.SHA1(), "SHA256": hashes.SHA256()}.get(hash_name)
    if digest is None:
        problems.append(("", f"Hash-Algorithm {hash_name!r} is neither SHA1 nor SHA256"))
    signature = cf_b64decode(creds["Signature"]) if "Signature" in creds else None
    if signature is None:
        problems.append(("MalformedSignature", "Signature missing or not CloudFront base64"))
    elif not signature:  # decodes (to nothing) or does not: either reading is CloudFront's
        problems += [("MalformedSignature", "empty Signature"), ("AccessDenied", "")]
    canned = "Policy" not in creds
    if not canned:
        policy = cf_b64decode(creds["Policy"])
        if not policy:
            problems.append(("MalformedPolicy", "Policy empty or not CloudFront base64"))
    elif "Expires" in creds and re.fullmatch(r"[0-9]+", creds["Expires"]):
        policy = canned_bytes(str(url), creds["Expires"])
    else:
        problems.append(("", "neither Policy nor a numeric Expires"))
    if problems:
        codes = {code for code, _ in problems}
        return deny("; ".join(why for _, why in problems), *([] if "" in codes else codes))
    assert key is not None and digest is not None and signature is not None and policy is not None
    if not signature_holds(key, signature, policy, digest):
        return deny(f"signature does not verify over {policy[:200]!r}", "AccessDenied")
    if canned:
        if int(creds["Expires"]) <= now:
            return deny("canned policy expired", "AccessDenied")
        return Judgement(True, frozenset(), f"canned policy for {url}")
    try:
        statement = parse_statement(policy)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        return deny(f"policy malformed: {exc}", "MalformedPolicy")
    if not resource_covers(statement.resource, url.scheme, url.authority, url.raw_path, url.query):
        return deny(f"Resource {statement.resource!r} does not cover {url}", "AccessDenied")
    if not now < statement.less_than:
        return deny("DateLessThan passed", "AccessDenied")
    if statement.greater_than is not None and not now > statement.greater_than:
        return deny("DateGreaterThan not yet passed", "AccessDenied")
    if statement.source is not None:
        try:
            address = ipaddress.ip_address(viewer_ip)
        except ValueError:
            return deny("viewer address unknown", "AccessDenied")
        if address.version != 4 or address not in statement.source:
            return deny(f"viewer {viewer_ip} outside {statement.source}", "AccessDenied")
    return Judgement(True, frozenset(), f"custom policy {statement.resource!r} covers {url}")
