"""The STS session policy for a principal: never more than the access rules allow.

Object actions are allowed on the caller's prefixes (``arn:aws:s3:::bucket/prefix*``).  Where a
more specific rule below an allowed prefix would refuse the caller, an explicit Deny keeps IAM's
answer within the rules' (IAM has no "most specific wins", but an explicit Deny always wins).
IAM can only narrow from there: a prefix that a rule re-allows below such a Deny stays denied,
and a prefix holding other users' or groups' prefixes (a templated rule below it) is left out.

``PutObject`` appears only under rules with ``credentials_write``: IAM cannot enforce a rule's
content types, size limit or no-overwrite, which the gateway's own presigned uploads sign.

``ListBucket`` is allowed with an ``s3:prefix`` condition on the readable prefixes.  Under a
readable prefix that holds a stricter nested one, listing also needs ``s3:delimiter`` "/", so
S3 rolls the nested prefix's keys up into one folder name; a Deny on ``s3:prefix`` keeps the
nested prefix itself from being listed.  A condition key missing from the request never matches
(IAM User Guide, "Condition operators"), so a listing without a prefix is denied.

Shares add ``GetObject`` only (and listing of a shared prefix): on a shared prefix that no rule
below it narrows, or on one shared object's exact ARN (docs/design.md, "Sharing").  Pure: no I/O.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from gateway.rules.access import Action, Principal, Rules

S3_ACTIONS: dict[Action, str] = {"read": "s3:GetObject", "write": "s3:PutObject", "delete": "s3:DeleteObject"}
MAX_POLICY_CHARS = 2048  # STS refuses larger inline session policies (before packing)


class PolicyTooLarge(ValueError):
    pass


@dataclass(frozen=True)
class Scope:
    """The prefixes a principal may touch, per action."""

    prefixes: dict[Action, tuple[str, ...]] = field(default_factory=dict)
    denied: dict[Action, tuple[str, ...]] = field(default_factory=dict)
    shared: tuple[str, ...] = ()  # read only, through shares: prefixes (ending in /) and keys

    @property
    def empty(self) -> bool:
        return not any(self.prefixes.values()) and not self.shared


def with_shares(scope: Scope, rules: Rules, targets: Iterable[str]) -> Scope:
    """``scope`` plus reading the share ``targets`` that a share reaches whole
    (:meth:`Rules.share_opens`: no rule below a shared prefix); the others are left out, as IAM
    cannot carve a stricter nested rule out of a prefix it allows (narrower, never wider)."""
    readable = scope.prefixes.get("read", ())
    kept = {
        target
        for target in targets
        if "${" not in target  # an IAM policy variable, never a literal in a Resource
        and rules.share_opens(target, target, wildcard=target.endswith("/"))
        and not any(target.startswith(prefix) for prefix in readable)
    }
    under = {t for t in kept if any(t != q and q.endswith("/") and t.startswith(q) for q in kept)}
    return dataclasses.replace(scope, shared=tuple(sorted(kept - under)))


def _grants(rules: Rules, action: Action, prefix: str, principal: Principal) -> bool:
    decision = rules.decide(action, prefix, principal)
    if not decision.allowed or decision.rule is None:
        return False
    if action == "write" and not decision.rule.credentials_write:
        return False
    # Other users' or groups' prefixes below (a templated rule) cannot be carved out with a Deny:
    # IAM has no "every value but mine".  Such a prefix is left out (narrower, never wider).
    return not any(m.rule.templated and not m.own for m in rules.below(prefix, principal))


def scope_for(rules: Rules, principal: Principal) -> Scope:
    allowed: dict[Action, list[str]] = {"read": [], "write": [], "delete": []}
    denied: dict[Action, list[str]] = {"read": [], "write": [], "delete": []}
    for rule in rules.rules:
        for prefix in rule.expand(principal):
            for action in allowed:
                # The prefix's own governing rule decides (a broader one may be shadowed).
                if _grants(rules, action, prefix, principal):
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


def _list(bucket: str, effect: str, prefixes: list[str], folders_only: bool = False) -> dict[str, Any]:
    condition: dict[str, Any] = {"StringLike": {"s3:prefix": [f"{p}*" for p in prefixes]}}
    if folders_only:
        condition["StringEquals"] = {"s3:delimiter": "/"}
    return {
        "Effect": effect,
        "Action": "s3:ListBucket",
        "Resource": f"arn:aws:s3:::{bucket}",
        "Condition": condition,
    }


def session_policy(scope: Scope, bucket: str) -> str:
    statements: list[dict[str, Any]] = []
    for action, prefixes in scope.prefixes.items():
        statements.append(
            {"Effect": "Allow", "Action": S3_ACTIONS[action], "Resource": [_arn(bucket, p) for p in prefixes]}
        )
    if scope.shared:
        shared = [_arn(bucket, t) if t.endswith("/") else f"arn:aws:s3:::{bucket}/{t}" for t in scope.shared]
        statements.append({"Effect": "Allow", "Action": S3_ACTIONS["read"], "Resource": shared})
        if folders := [t for t in scope.shared if t.endswith("/")]:
            statements.append(_list(bucket, "Allow", folders))
    readable = scope.prefixes.get("read", ())
    hidden = scope.denied.get("read", ())
    holding = [p for p in readable if any(d.startswith(p) for d in hidden)]
    plain = [p for p in readable if p not in holding]
    if plain:
        statements.append(_list(bucket, "Allow", plain))
    if holding:
        statements.append(_list(bucket, "Allow", holding, folders_only=True))
    for action, prefixes in scope.denied.items():
        statements.append(
            {"Effect": "Deny", "Action": S3_ACTIONS[action], "Resource": [_arn(bucket, p) for p in prefixes]}
        )
    if hidden:
        statements.append(_list(bucket, "Deny", list(hidden)))
    text = json.dumps({"Version": "2012-10-17", "Statement": statements}, separators=(",", ":"))
    if len(text) > MAX_POLICY_CHARS:
        raise PolicyTooLarge(
            f"the session policy would be {len(text)} characters (STS allows {MAX_POLICY_CHARS})"
        )
    return text


_UNSAFE_NAME = re.compile(r"[^\w+=,.@-]", re.ASCII)  # STS names are ASCII only
_UNSAFE_TAG = re.compile(r"[^\w .:/=+\-@]")


def session_name(sub: str, limit: int = 64) -> str:
    """A RoleSessionName (2-64 of ``[\\w+=,.@-]``) that names the user and cannot collide."""
    digest = hashlib.sha256(sub.encode("utf-8")).hexdigest()[:10]
    readable = _UNSAFE_NAME.sub("-", sub)[: limit - len(digest) - 4]
    return f"gw-{readable}-{digest}"


def tag_value(value: str) -> str:
    return _UNSAFE_TAG.sub("_", value)[:256] or "_"
