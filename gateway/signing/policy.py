"""CloudFront policy statements: the exact bytes we sign, and a strict parser for the verifier.

Canned policy bytes are fixed by CloudFront, which rebuilds them from the request (CloudFront
Developer Guide, "Create a signed URL using a canned policy").  Custom policies keep botocore's
``build_policy`` key order (``DateLessThan``, ``IpAddress``, ``DateGreaterThan``) so that our
output is byte-identical to it.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass
from typing import Any

MAX_EPOCH = 2**63 - 1  # CloudFront documents a 64-bit integer
# Printable ASCII without space, quote and backslash: what a percent-encoded URL or pattern holds.
_RESOURCE = re.compile(r"\A[\x21\x23-\x5b\x5d-\x7e]+\Z")
_CANNED = '{{"Statement":[{{"Resource":{},"Condition":{{"DateLessThan":{{"AWS:EpochTime":{}}}}}}}]}}'
_CONDITIONS = frozenset({"DateLessThan", "DateGreaterThan", "IpAddress"})


class PolicyError(ValueError):
    """A policy that must not be signed, or a policy document that is malformed."""


def normalize_ipv4(value: str) -> str:
    """One IPv4 address or CIDR, as CloudFront takes it: a bare address becomes ``/32``."""
    text = value if "/" in value else f"{value}/32"
    try:
        network = ipaddress.IPv4Network(text, strict=True)
    except ValueError:
        raise PolicyError(f"IpAddress must be one IPv4 address or IPv4 CIDR, not {value!r}") from None
    if str(network) != text:  # refuse leading zeros and other spellings that parse loosely
        raise PolicyError(f"IpAddress must be written canonically, e.g. {network}")
    return text


def _check_epoch(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_EPOCH:
        raise PolicyError(f"{name} must be an integer number of seconds since the epoch")


@dataclass(frozen=True, slots=True)
class Policy:
    """One statement.  ``canned`` policies are never transmitted; CloudFront rebuilds them."""

    resource: str
    date_less_than: int
    date_greater_than: int | None = None
    ip_address: str | None = None
    canned: bool = False

    @classmethod
    def make_canned(cls, url: str, expires: int) -> Policy:
        """One exact URL, its query string included: CloudFront's canned Resource is "the base URL
        including your query strings, if any" (CloudFront Developer Guide, "Create a signed URL
        using a canned policy"), and botocore's CloudFrontSigner signs it so.
        """
        if "*" in url:  # never a wildcard in a canned policy, so a '*' signals a mistake
            raise PolicyError("a canned policy covers one exact URL: no '*' (use a custom policy)")
        _, question, query = url.partition("?")  # the first '?' starts the query; later ones are data
        # Only name=value parts: an empty part would be dropped from the viewer's URL (so never
        # match what was signed), and a bare one such as "example_202?.zip" is a file name whose
        # '?' should have been %3F, which would otherwise sign a URL for another object.
        if question and not all(part.partition("=")[0] and "=" in part for part in query.split("&")):
            raise PolicyError(
                "a canned URL's query must be name=value pairs joined by '&' (send a '?' in a path as %3F)"
            )
        if not url.startswith(("http://", "https://")):
            raise PolicyError("a canned policy resource must start with http:// or https://")
        policy = cls(url, expires, canned=True)
        policy.validate()
        return policy

    @classmethod
    def make_custom(
        cls,
        resource: str,
        expires: int,
        not_before: int | None = None,
        ip_address: str | None = None,
    ) -> Policy:
        ip = normalize_ipv4(ip_address) if ip_address is not None else None
        policy = cls(resource, expires, not_before, ip)
        policy.validate()
        return policy

    def validate(self) -> None:
        if not _RESOURCE.match(self.resource):
            raise PolicyError("resource must be percent-encoded printable ASCII without quotes")
        if not self.resource.startswith(("http://", "https://", "*")):
            raise PolicyError("resource must start with http://, https://, *:// or *")
        _check_epoch("DateLessThan", self.date_less_than)
        if self.date_greater_than is not None:
            _check_epoch("DateGreaterThan", self.date_greater_than)
            if self.date_greater_than >= self.date_less_than:
                raise PolicyError("DateGreaterThan must be before DateLessThan")

    def to_bytes(self) -> bytes:
        if self.canned:
            return canned_policy_bytes(self.resource, str(self.date_less_than))
        condition: dict[str, Any] = {"DateLessThan": {"AWS:EpochTime": self.date_less_than}}
        if self.ip_address is not None:
            condition["IpAddress"] = {"AWS:SourceIp": self.ip_address}
        if self.date_greater_than is not None:
            condition["DateGreaterThan"] = {"AWS:EpochTime": self.date_greater_than}
        statement = {"Statement": [{"Resource": self.resource, "Condition": condition}]}
        return json.dumps(statement, separators=(",", ":")).encode("ascii")


def canned_policy_bytes(resource: str, expires: str) -> bytes:
    """The canned statement CloudFront reconstructs from a request (``expires`` as sent)."""
    return _CANNED.format(json.dumps(resource), expires).encode("ascii")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise PolicyError("duplicate key in policy")
    return dict(pairs)


def _epoch_field(condition: dict[str, Any], name: str) -> int | None:
    if name not in condition:
        return None
    body = condition[name]
    if not isinstance(body, dict) or set(body) != {"AWS:EpochTime"}:
        raise PolicyError(f"{name} must be {{'AWS:EpochTime': int}}")
    value = body["AWS:EpochTime"]
    _check_epoch(name, value)
    return int(value)


def parse_policy(data: bytes) -> Policy:
    """Parse a custom policy strictly: one statement, known conditions, integer times."""
    try:
        doc = json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise PolicyError("policy is not JSON") from exc
    if not isinstance(doc, dict) or set(doc) != {"Statement"}:
        raise PolicyError("policy must hold exactly one Statement list")
    statements = doc["Statement"]
    if not isinstance(statements, list) or len(statements) != 1:
        raise PolicyError("policy must hold exactly one statement")
    statement = statements[0]
    if not isinstance(statement, dict) or not set(statement) <= {"Resource", "Condition"}:
        raise PolicyError("statement may hold only Resource and Condition")
    resource = statement.get("Resource", "*")  # CloudFront: no Resource means every URL
    if not isinstance(resource, str) or not resource:
        raise PolicyError("Resource must be a non-empty string")
    condition = statement.get("Condition")
    if not isinstance(condition, dict) or not set(condition) <= _CONDITIONS:
        raise PolicyError("Condition may hold only DateLessThan, DateGreaterThan, IpAddress")
    date_less_than = _epoch_field(condition, "DateLessThan")
    if date_less_than is None:
        raise PolicyError("DateLessThan is required")
    ip: str | None = None
    if "IpAddress" in condition:
        body = condition["IpAddress"]
        if not isinstance(body, dict) or set(body) != {"AWS:SourceIp"}:
            raise PolicyError("IpAddress must be {'AWS:SourceIp': cidr}")
        if not isinstance(body["AWS:SourceIp"], str):
            raise PolicyError("AWS:SourceIp must be a string")
        ip = normalize_ipv4(body["AWS:SourceIp"])
    return Policy(resource, date_less_than, _epoch_field(condition, "DateGreaterThan"), ip)
