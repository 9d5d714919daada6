"""Grants to start requests from: made with the project's signer, plus hand-signed odd policies.

Valid grants are what the gateway hands out (custom-policy prefixes, canned URLs for one object,
RSA and ECDSA, SHA-1 and SHA-256); the rest are what a viewer could hold or craft: grants for
someone else's prefix or another distribution URL, expired or not yet valid ones, IP-bound ones,
policies CloudFront documents but the gateway never writes (omitted Resource, ``*``, implied
protocol, a trailing ``*`` in the domain, ``?`` in the domain, a query section), policies that
break the template, and forgeries under a trusted or an unknown Key-Pair-Id.
"""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from gateway.signing.cloudfront import sign_policy
from gateway.signing.crypto import HashAlgorithm, KeySigner
from gateway.signing.policy import Policy
from tests.differential.world import DISTRIBUTION_URLS, GRANTED_IP, KEYS, Signers

PREFIXES = ("users/alice/", "users/bob/", "public/", "tiles/", "users/alice", "hooks/")
Pick = Callable[[], tuple[KeySigner, HashAlgorithm]]


@dataclass(frozen=True)
class Grant:
    name: str
    params: tuple[tuple[str, str], ...]  # signing parameters, in the order a signer emits them
    dist: str
    path: str | None = None  # canned grants: the raw path (and query) they were signed for
    prefix: str | None = None  # prefix grants: the raw path prefix they cover
    resource: str | None = None  # what the policy names (None: omitted, every URL)
    valid: bool = True  # a trusted key signed a well-formed policy that is valid now
    ip: str | None = None  # the only viewer address it is valid for

    def cookie_pairs(self) -> list[tuple[str, str]]:
        return [("CloudFront-" + k, v) for k, v in self.params]


def cf_b64(data: bytes) -> str:
    return base64.b64encode(data).decode().translate(str.maketrans("+=/", "-_~"))


def url_path(key: str) -> str:
    return "/" + quote(key, safe="/")


def _signed(
    name: str, dist: str, policy: Policy, signer: KeySigner, digest: HashAlgorithm, **scope: Any
) -> Grant:
    signed = sign_policy(policy, signer, digest)
    return Grant(name, tuple(signed.params()), dist, resource=policy.resource, **scope)


def _raw(name: str, dist: str, document: bytes, pick: Pick, **scope: Any) -> Grant:
    """A policy document signed byte for byte as written (the project's Policy would refuse it)."""
    signer, digest = pick()
    params = [("Policy", cf_b64(document)), ("Signature", cf_b64(signer.sign(document, digest)))]
    params.append(("Key-Pair-Id", signer.key_pair_id))
    if digest is HashAlgorithm.SHA256:
        params.append(("Hash-Algorithm", "SHA256"))
    return Grant(name, tuple(params), dist, **scope)


def _epoch(seconds: int | str) -> str:
    return '{"AWS:EpochTime":' + str(seconds) + "}"


def _statement(resource: str | None, condition: str) -> str:
    named = f'"Resource":{json.dumps(resource)},' if resource is not None else ""
    return "{" + named + '"Condition":' + condition + "}"


def _prefix_and_canned(s: Signers, dist: str, later: int, pick: Pick) -> dict[str, list[Grant]]:
    prefix = [
        _signed(
            f"custom {dist}/{p}* {signer.key_pair_id} {digest.value}",
            dist,
            Policy.make_custom(f"{dist}/{p}*", later),
            signer,
            digest,
            prefix="/" + p,
        )
        for p in PREFIXES
        for signer in (s.rsa, s.ecdsa)
        for digest in HashAlgorithm
    ]
    canned = []
    for key in KEYS:
        for suffix in ("", "?v=1"):  # the second: a viewer's own query string, signed with the URL
            path = url_path(key) + suffix
            policy = Policy(dist + path, later, canned=True)
            policy.validate()
            canned.append(_signed(f"canned {dist}{path}", dist, policy, *pick(), path=path))
    return {"prefix": prefix, "canned": canned}


def _timed(dist: str, now: int, later: int, pick: Pick) -> dict[str, list[Grant]]:
    resource = f"{dist}/users/alice/*"
    policies = {
        "expired": (Policy.make_custom(resource, now - 3600), False, None),
        "not-yet": (Policy.make_custom(resource, later, not_before=now + 600), False, None),
        "started": (Policy.make_custom(resource, later, not_before=now - 600), True, None),
        "ip-granted": (Policy.make_custom(resource, later, ip_address=GRANTED_IP), True, GRANTED_IP),
        "ip-other-net": (Policy.make_custom(resource, later, ip_address="192.0.2.0/24"), False, None),
    }
    return {
        family: [_signed(f"{family} {resource}", dist, policy, *pick(), valid=valid, ip=ip)]
        for family, (policy, valid, ip) in policies.items()
    }


def _odd(dist: str, later: int, pick: Pick) -> list[Grant]:
    scheme, authority = dist.split("://")
    resources = [
        f"*://{authority}/users/alice/*",
        f"*{authority}/users/alice/*",
        f"{dist}*",
        f"{scheme}://{authority[:-1]}?/users/alice/*",
        f"{dist}/users/*/photo.png",
        f"{dist}/users/alice/photo.png?v=*",
        f"{dist}/users/alice/*?v=1",
        f"{dist}/users/alice/photo.png",
        "*",
    ]
    return [_signed(f"odd {r}", dist, Policy.make_custom(r, later), *pick()) for r in resources]


def _hand_written(dist: str, now: int, later: int, pick: Pick) -> list[Grant]:
    resource, until = f"{dist}/users/alice/*", '{"DateLessThan":' + _epoch(later) + "}"
    one = _statement(resource, until)
    # Documents that parse as the documented template (a duplicated name: under one reading).
    good = {
        "no Resource": (_statement(None, until), None, None),
        "spaces": (
            f'{{ "Statement" : [ {{ "Resource" : "{resource}" , "Condition" : {until} }} ] }}',
            resource,
            None,
        ),
        "reordered": ('{"Condition":' + until + ',"Resource":' + json.dumps(resource) + "}", resource, None),
        "ip bare": (
            _statement(
                resource,
                '{"IpAddress":{"AWS:SourceIp":"' + GRANTED_IP + '"},"DateLessThan":' + _epoch(later) + "}",
            ),
            resource,
            GRANTED_IP,
        ),
        "duplicate key": (
            _statement(
                resource, '{"DateLessThan":' + _epoch(now - 60) + ',"DateLessThan":' + _epoch(later) + "}"
            ),
            resource,
            None,
        ),
    }
    bad = {
        "two statements": f"{one},{one}",
        "no DateLessThan": _statement(resource, '{"DateGreaterThan":' + _epoch(now - 60) + "}"),
        "string epoch": _statement(resource, '{"DateLessThan":' + _epoch(f'"{later}"') + "}"),
        "float epoch": _statement(resource, '{"DateLessThan":' + _epoch(f"{later}.0") + "}"),
        "extra member": one[:-1] + ',"Effect":"Allow"}',
    }

    def document(body: str) -> bytes:
        return body.encode() if body.startswith("{ ") else ('{"Statement":[' + body + "]}").encode()

    grants = [
        _raw(f"raw {n} {dist}", dist, document(b), pick, resource=r, ip=ip) for n, (b, r, ip) in good.items()
    ]
    grants += [_raw(f"raw {n} {dist}", dist, document(b), pick, valid=False) for n, b in bad.items()]
    grants.append(
        _raw(f"raw statement object {dist}", dist, ('{"Statement":' + one + "}").encode(), pick, valid=False)
    )
    grants.append(_raw(f"raw not json {dist}", dist, b"{Statement:", pick, valid=False))
    return grants


def catalogue(s: Signers, now: int, rng: random.Random) -> dict[str, list[Grant]]:
    """Grants by family; every family lists grants for each distribution URL."""
    out: dict[str, list[Grant]] = {}
    later = now + 3600

    def pick() -> tuple[KeySigner, HashAlgorithm]:
        return rng.choice((s.rsa, s.ecdsa)), rng.choice(tuple(HashAlgorithm))

    for dist in DISTRIBUTION_URLS:
        families = {**_prefix_and_canned(s, dist, later, pick), **_timed(dist, now, later, pick)}
        families["odd"] = _odd(dist, later, pick)
        families["raw"] = _hand_written(dist, now, later, pick)
        forged = Policy.make_custom(f"{dist}/users/*", later)
        families["forged"] = [
            _signed(
                f"forged trusted-id {dist}", dist, forged, s.rogue_same_id, HashAlgorithm.SHA256, valid=False
            ),
            _signed(
                f"forged unknown-id {dist}", dist, forged, s.rogue_unknown, HashAlgorithm.SHA1, valid=False
            ),
        ]
        for family, grants in families.items():
            out.setdefault(family, []).extend(grants)
    return out
