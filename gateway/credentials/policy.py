"""The STS session policy for a principal: exactly what the access rules allow, nothing more.

Object actions are allowed on exactly the caller's prefixes (``arn:aws:s3:::bucket/prefix*``);
``ListBucket`` only with an ``s3:prefix`` condition on the readable ones.  Where a more specific
rule below an allowed prefix would refuse the caller, an explicit Deny keeps IAM's answer equal to
the rules' (IAM has no "most specific wins", but an explicit Deny always wins).  Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from gateway.rules import Action, Principal, Rules

S3_ACTIONS: dict[Action, str] = {"read": "s3:GetObject", "write": "s3:PutObject", "delete": "s3:DeleteObject"}
MAX_POLICY_CHARS = 2048  # STS refuses larger inline session policies (before packing)


class PolicyTooLarge(ValueError):
    pass


@dataclass(frozen=True)
class Scope:
    """The prefixes a principal may touch, per action."""

    prefixes: dict[Action, tuple[str, ...]] = field(default_factory=dict)
    denied: dict[Action, tuple[str, ...]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not any(self.prefixes.values())


def scope_for(rules: Rules, principal: Principal) -> Scope:
    allowed: dict[Action, list[str]] = {"read": [], "write": [], "delete": []}
    denied: dict[Action, list[str]] = {"read": [], "write": [], "delete": []}
    for rule in rules.rules:
        for prefix in rule.expand(principal):
            for action in allowed:
                # The prefix's own governing rule decides (a broader one may be shadowed).
                if rules.decide(action, prefix, principal).allowed:
                    allowed[action].append(prefix)
                else:
                    denied[action].append(prefix)
    for action in allowed:
        allowed[action] = sorted(
            {p for p in allowed[action] if not any(p != q and p.startswith(q) for q in allowed[action])}
        )
        # A Deny matters only when it sits below something allowed.
        denied[action] = sorted({d for d in denied[action] if any(d.startswith(a) for a in allowed[action])})
    return Scope(
        {a: tuple(p) for a, p in allowed.items() if p}, {a: tuple(p) for a, p in denied.items() if p}
    )


def _arn(bucket: str, prefix: str) -> str:
    return f"arn:aws:s3:::{bucket}/{prefix}*"


def session_policy(scope: Scope, bucket: str) -> str:
    statements: list[dict[str, Any]] = []
    for action, prefixes in scope.prefixes.items():
        statements.append(
            {"Effect": "Allow", "Action": S3_ACTIONS[action], "Resource": [_arn(bucket, p) for p in prefixes]}
        )
    if scope.prefixes.get("read"):
        statements.append(
            {
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": f"arn:aws:s3:::{bucket}",
                "Condition": {"StringLike": {"s3:prefix": [f"{p}*" for p in scope.prefixes["read"]]}},
            }
        )
    for action, prefixes in scope.denied.items():
        statements.append(
            {"Effect": "Deny", "Action": S3_ACTIONS[action], "Resource": [_arn(bucket, p) for p in prefixes]}
        )
    text = json.dumps({"Version": "2012-10-17", "Statement": statements}, separators=(",", ":"))
    if len(text) > MAX_POLICY_CHARS:
        raise PolicyTooLarge(
            f"the session policy would be {len(text)} characters (STS allows {MAX_POLICY_CHARS})"
        )
    return text


_UNSAFE_NAME = re.compile(r"[^\w+=,.@-]")
_UNSAFE_TAG = re.compile(r"[^\w .:/=+\-@]")


def session_name(sub: str, limit: int = 64) -> str:
    """A RoleSessionName (2-64 of ``[\\w+=,.@-]``) that names the user and cannot collide."""
    digest = hashlib.sha256(sub.encode("utf-8")).hexdigest()[:10]
    readable = _UNSAFE_NAME.sub("-", sub)[: limit - len(digest) - 4]
    return f"gw-{readable}-{digest}"


def tag_value(value: str) -> str:
    return _UNSAFE_TAG.sub("_", value)[:256] or "_"
