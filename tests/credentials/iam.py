"""A small, independent evaluator of exactly the IAM features our session policies use (tests only).

Written from the IAM User Guide, not from gateway/credentials:
- "Policy evaluation logic": an explicit Deny wins; otherwise an Allow; otherwise the implicit deny.
- "IAM JSON policy elements: Action / Resource": action names match case-insensitively, both may
  hold the ``*`` (any run of characters) and ``?`` (one character) wildcards; an ARN's resource
  part is case-sensitive and ``*`` runs across ``/``.
- "Condition operators": ``StringEquals`` is exact and case-sensitive, ``StringLike`` takes ``*``
  and ``?``; a key missing from the request context makes the condition false.
- "Conditions with multiple context keys or values": operators and keys are ANDed, the values
  listed for one key are ORed.

It stands for the session policy alone, as if the role's own policy allowed the whole bucket (a
session policy can only narrow that).  Anything else in a policy (NotAction, NotResource, other
operators, policy variables) is refused, so a policy that starts using another feature fails the
tests instead of being misread.  S3's listing is modelled too: what ListObjects returns for a
prefix and a delimiter (S3 User Guide, "Organizing objects using prefixes").
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

_STATEMENT_KEYS = {"Sid", "Effect", "Action", "Resource", "Condition"}
_OPERATORS = {"StringEquals", "StringLike"}


class UnsupportedPolicy(ValueError):
    """The policy uses an IAM feature this evaluator does not model."""


@dataclass(frozen=True)
class Request:
    action: str  # "s3:GetObject"
    resource: str  # "arn:aws:s3:::bucket/key" or "arn:aws:s3:::bucket"
    context: Mapping[str, str] = field(default_factory=dict)  # absent keys are simply not here


def _glob(pattern: str, value: str, *, fold_case: bool = False) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.DOTALL | (re.IGNORECASE if fold_case else 0)) is not None


def _strings(value: Any, where: str) -> list[str]:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise UnsupportedPolicy(f"{where} must be a string or a non-empty list of strings")
    if any("${" in v for v in values):
        raise UnsupportedPolicy(f"{where} holds a policy variable")
    return values


def _condition_holds(condition: Any, context: Mapping[str, str]) -> bool:
    if not isinstance(condition, dict) or not condition:
        raise UnsupportedPolicy("Condition must be a non-empty object")
    for operator, pairs in condition.items():
        if operator not in _OPERATORS or not isinstance(pairs, dict) or not pairs:
            raise UnsupportedPolicy(f"condition operator {operator!r} is not modelled")
        for key, raw in pairs.items():
            values = _strings(raw, f"{operator}.{key}")
            if key not in context:
                return False
            actual = context[key]
            if operator == "StringEquals" and actual not in values:
                return False
            if operator == "StringLike" and not any(_glob(v, actual) for v in values):
                return False
    return True


def _applies(statement: dict[str, Any], request: Request) -> bool:
    actions = _strings(statement.get("Action"), "Action")
    if not any(_glob(a, request.action, fold_case=True) for a in actions):
        return False
    if not any(_glob(r, request.resource) for r in _strings(statement.get("Resource"), "Resource")):
        return False
    return "Condition" not in statement or _condition_holds(statement["Condition"], request.context)


def statements(policy: str) -> list[dict[str, Any]]:
    doc = json.loads(policy)
    if not isinstance(doc, dict) or set(doc) != {"Version", "Statement"} or doc["Version"] != "2012-10-17":
        raise UnsupportedPolicy("a policy is {Version: 2012-10-17, Statement: [...]}")
    found = doc["Statement"]
    if not isinstance(found, list):
        raise UnsupportedPolicy("Statement must be a list")
    for statement in found:
        if not isinstance(statement, dict) or not set(statement) <= _STATEMENT_KEYS:
            raise UnsupportedPolicy(f"statement elements {sorted(statement)} are not modelled")
        if statement.get("Effect") not in ("Allow", "Deny"):
            raise UnsupportedPolicy("Effect must be Allow or Deny")
    return found


def allowed(policy: str, request: Request) -> bool:
    """IAM's decision: an explicit Deny wins, then any Allow, else the implicit deny."""
    matching = [s["Effect"] for s in statements(policy) if _applies(s, request)]
    return "Deny" not in matching and "Allow" in matching


def object_request(bucket: str, action: str, key: str) -> Request:
    return Request(action, f"arn:aws:s3:::{bucket}/{key}")


def list_request(bucket: str, prefix: str | None, delimiter: str | None) -> Request:
    context = {"s3:prefix": prefix, "s3:delimiter": delimiter}
    return Request(
        "s3:ListBucket", f"arn:aws:s3:::{bucket}", {k: v for k, v in context.items() if v is not None}
    )


def listing(keys: Iterable[str], prefix: str | None, delimiter: str | None) -> tuple[set[str], set[str]]:
    """What S3 lists: (keys returned, CommonPrefixes).  A delimiter after the prefix rolls the rest
    of a key up into one common prefix ending with the delimiter."""
    start = prefix or ""
    contents: set[str] = set()
    folders: set[str] = set()
    for key in keys:
        if not key.startswith(start):
            continue
        rest = key[len(start) :]
        if delimiter and delimiter in rest:
            folders.add(start + rest[: rest.index(delimiter) + len(delimiter)])
        else:
            contents.add(key)
    return contents, folders
