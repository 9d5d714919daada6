"""Access rules (DESIGN 5): which key prefixes a principal may read, write and delete.

A rule's prefix may hold ``{sub}`` (the caller's own id) or ``{group}`` (each of the caller's
groups); values are substituted only when they are safe path segments.  The most specific
(longest) matching prefix decides; no matching rule means deny.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from gateway.paths import PathError, validate_key, validate_segment

Action = Literal["read", "write", "delete"]
Audience = Literal["anyone", "authenticated"]
_AUDIENCES = ("anyone", "authenticated")


class RulesError(Exception):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid rules: " + "; ".join(problems))


@dataclass(frozen=True)
class Principal:
    sub: str | None  # None: the anonymous principal
    groups: tuple[str, ...] = ()
    issuer: str = ""

    @property
    def authenticated(self) -> bool:
        return self.sub is not None


ANONYMOUS = Principal(None)


@dataclass(frozen=True)
class Rule:
    prefix: str
    read: Audience | None = None
    write: Audience | None = None
    delete: Audience | None = None
    max_upload_bytes: int = 10 * 1024 * 1024
    content_types: tuple[str, ...] = ()
    grant_seconds: int | None = None  # a shorter lifetime for this prefix (e.g. guests)
    # IAM cannot enforce content_types, max_upload_bytes or no-overwrite, so STS credentials get
    # PutObject here only when the operator opts in.
    credentials_write: bool = False

    @property
    def templated(self) -> bool:
        return "{" in self.prefix

    @property
    def static_prefix(self) -> str:
        return self.prefix.split("{", 1)[0]

    def allows(self, action: Action, principal: Principal) -> bool:
        audience = getattr(self, action)
        if audience is None:
            return False
        return audience == "anyone" or principal.authenticated

    def expand(self, principal: Principal) -> Iterator[str]:
        """The concrete prefixes this rule gives ``principal`` (none for unsafe values)."""
        if not self.templated:
            yield self.prefix
            return
        if "{sub}" in self.prefix:
            sub = validate_segment(principal.sub)
            if sub is not None:
                yield self.prefix.replace("{sub}", sub)
            return
        for group in principal.groups:
            value = validate_segment(group)
            if value is not None:
                yield self.prefix.replace("{group}", value)


@dataclass(frozen=True)
class Decision:
    rule: Rule | None
    allowed: bool


@dataclass(frozen=True)
class Rules:
    rules: tuple[Rule, ...] = field(default_factory=tuple)

    def governing(self, path: str, principal: Principal) -> Rule | None:
        """The most specific rule whose expanded prefix contains ``path``."""
        best: tuple[int, Rule] | None = None
        for rule in self.rules:
            for prefix in rule.expand(principal):
                if path.startswith(prefix) and (best is None or len(prefix) > best[0]):
                    best = (len(prefix), rule)
        return best[1] if best else None

    def decide(self, action: Action, path: str, principal: Principal) -> Decision:
        rule = self.governing(path, principal)
        return Decision(rule, rule is not None and rule.allows(action, principal))

    def decide_prefix(self, prefix: str, principal: Principal) -> Decision:
        """May ``principal`` read everything under ``prefix`` (a wildcard grant)?

        Refused when any more specific rule below the prefix would not let this caller read,
        including templated rules, which stand for other users' prefixes too.
        """
        decision = self.decide("read", prefix, principal)
        if not decision.allowed:
            return decision
        for rule in self.rules:
            if rule.templated:
                nested = rule.static_prefix.startswith(prefix) and not any(
                    prefix.startswith(p) for p in rule.expand(principal)
                )
                if nested:
                    return Decision(decision.rule, False)
            elif (
                rule.prefix.startswith(prefix)
                and rule.prefix != prefix
                and not rule.allows("read", principal)
            ):
                return Decision(decision.rule, False)
        return decision

    def broadest_readable(self, prefix: str, principal: Principal) -> str | None:
        """The shortest segment-boundary ancestor of ``prefix`` (itself included) that
        ``principal`` may read as a whole (:meth:`decide_prefix`), or None.

        Cookie names are fixed, so a browser must never hold nested grants: asking for
        ``tiles/3/`` after ``tiles/`` has to give the same ``tiles/`` grant.  Only the boundaries
        where ``decide_prefix`` can change are tried: each rule prefix (as expanded for this
        principal) above ``prefix``, and, per rule, the first boundary that no longer lies above
        the rule's prefix.  Between two of them the answer stays the same.
        """
        bounds = [i + 1 for i, ch in enumerate(prefix) if ch == "/"]
        tried: set[int] = set()
        for rule in self.rules:
            tried.update(len(p) for p in rule.expand(principal) if prefix.startswith(p))
            below = rule.static_prefix if rule.templated else rule.prefix
            pairs = zip(below, prefix, strict=False)
            shared = next((i for i, (a, b) in enumerate(pairs) if a != b), min(len(below), len(prefix)))
            tried.add(next((b for b in bounds if b > shared), len(prefix)))
        for length in sorted(tried.intersection(bounds)):
            if self.decide_prefix(prefix[:length], principal).allowed:
                return prefix[:length]
        return None

    def shortest_grant(self, path: str, principal: Principal, *, wildcard: bool) -> int | None:
        """The shortest ``grant_seconds`` among the rules a grant for ``path`` covers.

        That is the governing rule and, for a wildcard grant (``path`` is a prefix), every rule
        at or below it: a cookie for ``tiles/`` also opens ``tiles/live/``, so it must not outlive
        that rule's shorter lifetime.  A templated rule counts when any value of its placeholder
        puts it below ``path`` (the grant opens other users' prefixes too).  None: no limit.
        """
        covered = [self.governing(path, principal)]
        if wildcard:
            covered += [rule for rule in self.rules if self._could_lie_below(rule, path)]
        limits = [rule.grant_seconds for rule in covered if rule is not None and rule.grant_seconds]
        return min(limits) if limits else None

    @staticmethod
    def _could_lie_below(rule: Rule, prefix: str) -> bool:
        """Whether the rule's prefix, for some value of its placeholder, is at or below ``prefix``."""
        if not rule.templated:
            return rule.prefix.startswith(prefix)
        head, _, tail = rule.prefix.partition("{")
        tail = tail.split("}", 1)[1]
        if head.startswith(prefix):
            return True
        if not prefix.startswith(head):
            return False
        value = prefix[len(head) :].split("/", 1)[0]  # the one segment that could put it below
        return (head + value + tail).startswith(prefix)


def _rule(raw: Any, index: int, problems: list[str]) -> Rule | None:
    where = f"rules[{index}]"
    if not isinstance(raw, dict):
        problems.append(f"{where} must be a table")
        return None
    known = {
        "prefix",
        "read",
        "write",
        "delete",
        "max_upload_bytes",
        "content_types",
        "grant_seconds",
        "credentials_write",
    }
    if set(raw) - known:
        problems.append(f"{where} has unknown fields {sorted(set(raw) - known)}")
        return None
    prefix = raw.get("prefix")
    if not isinstance(prefix, str):
        problems.append(f"{where}.prefix is required")
        return None
    placeholders = prefix.count("{")
    if placeholders > 1 or (placeholders == 1 and "{sub}" not in prefix and "{group}" not in prefix):
        problems.append(f"{where}.prefix may hold one {{sub}} or {{group}}")
        return None
    try:
        validate_key(prefix.replace("{sub}", "x").replace("{group}", "x"), prefix=True)
    except PathError as exc:
        problems.append(f"{where}.prefix {prefix!r}: {exc}")
        return None
    for action in ("read", "write", "delete"):
        if raw.get(action) not in (None, *_AUDIENCES):
            problems.append(f"{where}.{action} must be 'anyone' or 'authenticated'")
    if placeholders and any(raw.get(a) == "anyone" for a in ("read", "write", "delete")):
        problems.append(f"{where}: a {{sub}}/{{group}} prefix is for its owner or members, not 'anyone'")
    for action in ("write", "delete"):
        if raw.get(action) == "anyone":
            problems.append(f"{where}.{action} = 'anyone' would let strangers change the bucket")
    size = raw.get("max_upload_bytes", Rule.max_upload_bytes)
    if isinstance(size, bool) or not isinstance(size, int) or not 0 < size <= 5 * 1024**3:
        problems.append(f"{where}.max_upload_bytes must be 1 byte to 5 GiB")
    types = raw.get("content_types", [])
    if not isinstance(types, list) or not all(
        isinstance(t, str) and "/" in t and "*" not in t for t in types
    ):
        problems.append(f"{where}.content_types must list exact media types (no wildcards)")
        types = []
    if raw.get("write") and not types:
        problems.append(f"{where}: a writable prefix must list its allowed content_types")
    grant = raw.get("grant_seconds")
    if grant is not None and (isinstance(grant, bool) or not isinstance(grant, int) or grant <= 0):
        problems.append(f"{where}.grant_seconds must be a positive integer")
    credentials_write = raw.get("credentials_write", False)
    if not isinstance(credentials_write, bool):
        problems.append(f"{where}.credentials_write must be true or false")
    elif credentials_write and not raw.get("write"):
        problems.append(f"{where}.credentials_write needs write (it only widens an existing write)")
    return Rule(
        prefix,
        raw.get("read"),
        raw.get("write"),
        raw.get("delete"),
        size,
        tuple(types),
        grant,
        credentials_write is True,
    )


def parse_rules(doc: dict[str, Any]) -> Rules:
    problems: list[str] = []
    raw_rules = doc.get("rules")
    if not isinstance(raw_rules, list) or set(doc) - {"rules"}:
        raise RulesError(["the rules file must hold only [[rules]] tables"])
    rules = [r for i, raw in enumerate(raw_rules) if (r := _rule(raw, i, problems))]
    prefixes = [r.prefix for r in rules]
    if len(prefixes) != len(set(prefixes)):
        problems.append("a prefix is listed twice")
    if problems:
        raise RulesError(problems)
    return Rules(tuple(rules))


def load_rules(path: Path) -> Rules:
    try:
        doc = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RulesError([f"{path} cannot be read as TOML: {exc}"]) from None
    return parse_rules(doc)
