"""Verify a viewer request the way CloudFront does (docs/design.md, "Verification").

Pure: the caller passes the request parts, the trusted public keys and ``now``.  The signature
is checked over the exact policy bytes *before* the policy is parsed or matched, so garbage
policies cost one signature check and nothing more.

Duplicated signing cookies: a browser holding grants for nested paths (``/tiles/`` and
``/tiles/3/``) sends both sets, the longer path's first (RFC 6265 section 5.4).  The k-th
occurrence of each ``CloudFront-*`` name forms set k; at most four sets are tried, in order, and
the first that verifies wins.  Every set is judged whole, so no mix of two grants is accepted.
CloudFront does not document this case; the gateway never gives one principal nested grants.
Duplicated signing parameters in a URL are refused: a URL has no reason to carry two.

A caller may pass a :class:`~gateway.signing.trace.Trace`: each decision is then recorded where it
is taken, with its facts, for ``cdn-gateway explain`` and the edge's development header.  Without
one, a step costs one ``is not None`` test (the edge verifies every request).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, ip_address
from typing import Any
from urllib.parse import unquote

from gateway.signing.cloudfront import COOKIE_PREFIX, SIGNING_PARAMS
from gateway.signing.crypto import HashAlgorithm, PublicKey, verify_signature
from gateway.signing.encoding import EncodingError, cf_b64decode
from gateway.signing.policy import MAX_EPOCH, PolicyError, canned_policy_bytes, parse_policy
from gateway.signing.trace import Trace
from gateway.signing.wildcard import resource_matches

_EPOCH = re.compile(r"\A[0-9]{1,19}\Z")
MAX_COOKIE_SETS = 4
_HASHES = ("SHA1", "SHA256")
_PREFIX_LENGTH = len(COOKIE_PREFIX)


class ErrorCode(enum.Enum):
    MISSING_KEY = ("MissingKey", "Missing Key-Pair-Id query parameter or cookie value")
    INVALID_KEY = ("InvalidKey", "Unknown Key")
    MALFORMED_SIGNATURE = ("MalformedSignature", "Could not unencode Signature")
    MALFORMED_POLICY = ("MalformedPolicy", "Malformed Policy")
    ACCESS_DENIED = ("AccessDenied", "Access denied")

    @property
    def code(self) -> str:
        return self.value[0]

    @property
    def message(self) -> str:
        return self.value[1]


@dataclass(frozen=True)
class ViewerRequest:
    """What CloudFront sees: the raw (still percent-encoded) path and query, and the cookies."""

    scheme: str
    host: str
    raw_path: str
    raw_query: str = ""
    cookies: Sequence[tuple[str, str]] = ()
    client_ip: str | None = None


@dataclass(frozen=True)
class Verdict:
    error: ErrorCode | None
    detail: str  # internal: for logs and tests, never for the viewer
    source: str | None = None  # "url" or "cookie"
    key_pair_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class _Denied(Exception):
    def __init__(self, error: ErrorCode, detail: str) -> None:
        super().__init__(detail)
        self.error, self.detail = error, detail


def _decode_name(name: str) -> str:
    try:
        return unquote(name, errors="strict")
    except UnicodeDecodeError:
        return name


def _collect(pairs: Sequence[tuple[str, str]], prefix: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in pairs:
        if name.startswith(prefix) and name[len(prefix) :] in SIGNING_PARAMS:
            short = name[len(prefix) :]
            if short in found:
                raise _Denied(ErrorCode.ACCESS_DENIED, f"duplicate {name}")
            found[short] = value
    return found


def _query_pairs(raw_query: str) -> list[tuple[str, str, str]]:
    """(decoded name, raw value, raw part) for each ``&``-separated part, empty parts kept: the
    URL a signature covers is the query as sent, minus the signing parameters, nothing else."""
    if not raw_query:
        return []
    out = []
    for part in raw_query.split("&"):
        name, _, value = part.partition("=")
        out.append((_decode_name(name), value, part))
    return out


def _decode(value: str, error: ErrorCode, what: str, trace: Trace | None) -> bytes:
    try:
        decoded = cf_b64decode(unquote(value, errors="strict"))
    except (EncodingError, UnicodeDecodeError):
        if trace is not None:
            trace.add(f"{what.lower()}-encoding", False, value=value)
        raise _Denied(error, f"{what} is not CloudFront base64") from None
    if trace is not None:
        trace.add(f"{what.lower()}-encoding", True, length=len(decoded))
    return decoded


def _ip_allowed(cidr: str, client_ip: str | None) -> bool:
    if client_ip is None:
        return False
    try:
        address = ip_address(client_ip)
    except ValueError:
        return False
    return isinstance(address, IPv4Address) and address in IPv4Network(cidr)


def _cookie_sets(pairs: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    """Signing cookies grouped by occurrence: the k-th of each name belongs to set k."""
    sets: list[dict[str, str]] = [{}]
    for name, value in pairs:
        if not name.startswith(COOKIE_PREFIX) or name[_PREFIX_LENGTH:] not in SIGNING_PARAMS:
            continue
        short = name[_PREFIX_LENGTH:]
        if short not in sets[0]:  # the usual case: one set
            sets[0][short] = value
            continue
        index = next((i for i, found in enumerate(sets) if short not in found), len(sets))
        if index == MAX_COOKIE_SETS:
            raise _Denied(ErrorCode.ACCESS_DENIED, f"more than {MAX_COOKIE_SETS} sets of signing cookies")
        if index == len(sets):
            sets.append({})
        sets[index][short] = value
    return sets


def _check(
    request: ViewerRequest,
    params: Mapping[str, str],
    source: str,
    kept: Sequence[str],
    trusted: Mapping[str, PublicKey],
    now: int,
    trace: Trace | None,
) -> Verdict:
    key_pair_id = unquote(params.get("Key-Pair-Id", ""))
    if trace is not None:
        trace.add("key-pair-id", bool(key_pair_id), key_pair_id=key_pair_id, names=list(params))
    if not key_pair_id:
        raise _Denied(ErrorCode.MISSING_KEY, f"no Key-Pair-Id in the {source}")
    public_key = trusted.get(key_pair_id)
    if trace is not None:
        trace.add("key", public_key is not None, key_pair_id=key_pair_id, trusted=sorted(trusted))
    if public_key is None:
        raise _Denied(ErrorCode.INVALID_KEY, "Key-Pair-Id is not a trusted key")
    hash_name = unquote(params.get("Hash-Algorithm", "SHA1"))
    if trace is not None:
        trace.add("hash-algorithm", hash_name in _HASHES, name=hash_name, sent="Hash-Algorithm" in params)
    if hash_name not in _HASHES:
        raise _Denied(ErrorCode.ACCESS_DENIED, "unsupported Hash-Algorithm")
    hash_algorithm = HashAlgorithm(hash_name)
    if "Signature" not in params:
        if trace is not None:
            trace.add("signature-encoding", False, value=None)
        raise _Denied(ErrorCode.MALFORMED_SIGNATURE, "no Signature")
    signature = _decode(params["Signature"], ErrorCode.MALFORMED_SIGNATURE, "Signature", trace)

    resource = f"{request.scheme}://{request.host}{request.raw_path}"
    query = "&".join(kept)
    if query:  # "?" only before a non-empty query (CloudFront: "omit the question mark")
        resource += "?" + query
    if "Policy" in params:
        policy_bytes = _decode(params["Policy"], ErrorCode.MALFORMED_POLICY, "Policy", trace)
    elif "Expires" in params:
        expires = unquote(params["Expires"])
        well_formed = bool(_EPOCH.match(expires)) and int(expires) <= MAX_EPOCH
        if trace is not None:
            trace.add("expires", well_formed, value=expires)
        if not well_formed:
            raise _Denied(ErrorCode.ACCESS_DENIED, "Expires is not an epoch integer")
        policy_bytes = canned_policy_bytes(resource, expires)
    else:
        if trace is not None:
            trace.add("policy-encoding", False, value=None)
        raise _Denied(ErrorCode.ACCESS_DENIED, "neither Policy nor Expires")

    verified = verify_signature(public_key, signature, policy_bytes, hash_algorithm)
    if trace is not None:
        facts = {"key": public_key, "signature": signature, "message": policy_bytes, "url": resource}
        trace.add("signature", verified, hash=hash_algorithm, **facts)
    if not verified:
        raise _Denied(ErrorCode.ACCESS_DENIED, "signature does not verify")

    if "Policy" not in params:
        if trace is not None:
            trace.add("date-less-than", now < int(expires), now=now, value=int(expires))
        if now >= int(expires):
            raise _Denied(ErrorCode.ACCESS_DENIED, "expired")
        return Verdict(None, "canned policy ok", source, key_pair_id)
    try:
        policy = parse_policy(policy_bytes)
    except PolicyError as exc:
        if trace is not None:
            trace.add("policy", False, problem=str(exc), message=policy_bytes)
        raise _Denied(ErrorCode.MALFORMED_POLICY, str(exc)) from None
    if trace is not None:
        trace.add("policy", True, message=policy_bytes)
    matches = resource_matches(policy.resource, resource)
    if trace is not None:
        trace.add("resource", matches, pattern=policy.resource, url=resource)
    if not matches:
        raise _Denied(ErrorCode.ACCESS_DENIED, "resource does not match the policy")
    if trace is not None:
        trace.add("date-less-than", now < policy.date_less_than, now=now, value=policy.date_less_than)
    if now >= policy.date_less_than:
        raise _Denied(ErrorCode.ACCESS_DENIED, "expired")
    if policy.date_greater_than is not None:
        if trace is not None:
            trace.add(
                "date-greater-than", now > policy.date_greater_than, now=now, value=policy.date_greater_than
            )
        if now <= policy.date_greater_than:
            raise _Denied(ErrorCode.ACCESS_DENIED, "not yet valid")
    if policy.ip_address is not None:
        allowed = _ip_allowed(policy.ip_address, request.client_ip)
        if trace is not None:
            trace.add("ip-address", allowed, cidr=policy.ip_address, viewer=request.client_ip)
        if not allowed:
            raise _Denied(ErrorCode.ACCESS_DENIED, "viewer IP not allowed")
    return Verdict(None, "custom policy ok", source, key_pair_id)


def _source_facts(request: ViewerRequest, parts: Sequence[tuple[str, str, str]]) -> dict[str, Any]:
    return {
        "query_names": [name for name, _, _ in parts if name in SIGNING_PARAMS],
        "cookie_names": [name for name, _ in request.cookies if name.startswith(COOKIE_PREFIX)],
    }


def verify_request(
    request: ViewerRequest, trusted: Mapping[str, PublicKey], now: int, trace: Trace | None = None
) -> Verdict:
    """``Verdict.ok`` or the CloudFront error code CloudFront would answer with."""
    parts = _query_pairs(request.raw_query)
    source = "url" if any(name in SIGNING_PARAMS for name, _, _ in parts) else "cookie"
    try:
        if source == "url":
            kept = [raw for name, _, raw in parts if name not in SIGNING_PARAMS]
            candidates = [_collect([(n, v) for n, v, _ in parts], "")]
        else:
            kept = [raw for _, _, raw in parts]
            candidates = _cookie_sets(request.cookies)
    except _Denied as denied:
        if trace is not None:
            trace.add("source", False, source=source, problem=denied.detail, **_source_facts(request, parts))
            trace.add("outcome", False, error=denied.error, detail=denied.detail)
        return Verdict(denied.error, denied.detail)
    if trace is not None:
        trace.add("source", True, source=source, sets=len(candidates), **_source_facts(request, parts))
    first: Verdict | None = None
    for index, params in enumerate(candidates):
        if trace is not None and len(candidates) > 1:
            trace.add("cookie-set", True, index=index, count=len(candidates))
        try:
            verdict = _check(request, params, source, kept, trusted, now, trace)
        except _Denied as denied:
            if trace is not None:
                trace.add("outcome", False, error=denied.error, detail=denied.detail)
            first = first or Verdict(denied.error, denied.detail)
            continue
        if trace is not None:
            trace.add("outcome", True, error=None, detail=verdict.detail)
        return verdict
    assert first is not None  # candidates is never empty
    return first
