"""Access rules: which key prefixes a principal may read, write and delete (docs/design.md).

A rule's prefix may hold ``{sub}`` (the caller's own id) or ``{group}`` (each of the caller's
groups); values are substituted only when they are safe path segments.  The most specific
(longest) matching prefix decides; no matching rule means deny.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from gateway.rules.paths import validate_segment

Action = Literal["read", "write", "delete"]
Audience = Literal["anyone", "authenticated"]


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
    """One ``[[rules]]`` table of the rules file: who may read, write and delete under a prefix.

    Attributes:
        prefix: Required: a key prefix ending in ``/``.  It may hold one ``{sub}`` (the caller's
            own id) or ``{group}`` (each of the caller's groups), used only for values that are safe
            path segments.  The longest prefix holding a path decides; no rule means deny.
        read: Who may read (cookies, signed URLs, credentials): ``anyone`` (guests too) or
            ``authenticated``.  Unset: nobody.
        write: Who may upload (presigned PUT or POST): ``authenticated``.  Unset: nobody.
        delete: Who may delete (presigned DELETE): ``authenticated``.  Unset: nobody.
        max_upload_bytes: Largest upload, 1 byte to 5 GiB.
        content_types: The exact media types an upload may have (no wildcards); required with
            ``write``.
        grant_seconds: Longest life (window and grace together) of a grant under this prefix; a
            cookie grant for a broader prefix that covers it lives no longer.  Unset: the window's.
        credentials_write: Also allow ``PutObject`` through temporary AWS credentials (needs
            ``write``).  Off by default: IAM cannot enforce ``content_types``,
            ``max_upload_bytes`` or no-overwrite.
        shareable: Callers who may write under this prefix may share a prefix or an object under
            it with other users, a group or anyone (``POST /v1/shares``, read only; needs
            ``write`` and ``[sharing] enabled``).  A share stops at any more specific rule below
            it.  Off by default.
    """

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
    shareable: bool = False

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


@dataclass(frozen=True, slots=True)
class Match:
    """A rule holding a path: its concrete prefix there, and whether that prefix is the caller's."""

    rule: Rule
    prefix: str
    own: bool  # always True for a plain rule; for a templated one, the value is the caller's


@dataclass(frozen=True)
class Rules:
    rules: tuple[Rule, ...] = field(default_factory=tuple)

    @staticmethod
    def _instance(rule: Rule, path: str) -> str | None:
        """The prefix of ``rule`` that holds ``path``, whatever value a placeholder takes there."""
        if not rule.templated:
            return rule.prefix if path.startswith(rule.prefix) else None
        head, _, rest = rule.prefix.partition("{")
        tail = rest.split("}", 1)[1]
        if not path.startswith(head):
            return None
        value = path[len(head) :].split("/", 1)[0]  # a placeholder is never more than a segment
        concrete = head + value + tail
        return concrete if value and path.startswith(concrete) else None

    def matching(self, path: str, principal: Principal) -> Match | None:
        """The most specific rule holding ``path``; a plain rule wins a tie with a templated one.

        A templated rule holds *every* user's or group's prefix, not only the caller's: under
        ``shared/{group}/``, ``shared/finance/`` belongs to that rule even for a caller outside
        finance, who is then refused by it (never by a broader ``shared/`` rule).
        """
        best: Match | None = None
        for rule in self.rules:
            concrete = self._instance(rule, path)
            if concrete is None:
                continue
            if best is None or (len(concrete), not rule.templated) > (
                len(best.prefix),
                not best.rule.templated,
            ):
                own = not rule.templated or concrete in set(rule.expand(principal))
                best = Match(rule, concrete, own)
        return best

    def governing(self, path: str, principal: Principal) -> Rule | None:
        match = self.matching(path, principal)
        return match.rule if match is not None else None

    def decide(self, action: Action, path: str, principal: Principal) -> Decision:
        match = self.matching(path, principal)
        if match is None:
            return Decision(None, False)
        return Decision(match.rule, match.own and match.rule.allows(action, principal))

    def below(self, prefix: str, principal: Principal) -> Iterator[Match]:
        """Every rule prefix strictly below ``prefix`` that a wildcard grant over it would open.

        A templated rule whose fixed part lies below ``prefix`` stands for every value of its
        placeholder, so it is reported once as not the caller's (``own`` False); one whose fixed
        part lies above is reported for the one value ``prefix`` itself names.
        """
        for rule in self.rules:
            if not rule.templated:
                if rule.prefix.startswith(prefix) and rule.prefix != prefix:
                    yield Match(rule, rule.prefix, True)
                continue
            head = rule.static_prefix
            if head.startswith(prefix):
                yield Match(rule, head, False)
                continue
            if prefix.startswith(head):
                value = prefix[len(head) :].split("/", 1)[0]
                concrete = head + value + rule.prefix.split("}", 1)[1]
                if value and concrete.startswith(prefix) and concrete != prefix:
                    yield Match(rule, concrete, concrete in set(rule.expand(principal)))

    def decide_prefix(self, prefix: str, principal: Principal) -> Decision:
        """May ``principal`` read everything under ``prefix`` (a wildcard grant)?

        Refused when any more specific rule below the prefix would not let this caller read,
        including templated rules, which stand for other users' prefixes too.
        """
        decision = self.decide("read", prefix, principal)
        if not decision.allowed:
            return decision
        for match in self.below(prefix, principal):
            if not (match.own and match.rule.allows("read", principal)):
                return Decision(decision.rule, False)
        return decision

    def broadest_readable(self, prefix: str, principal: Principal) -> str | None:
        """The shortest segment-boundary ancestor of ``prefix`` (itself included) that
        ``principal`` may read as a whole (:meth:`decide_prefix`), or None.

        Cookie names are fixed, so a browser must never hold nested grants: asking for
        ``tiles/3/`` after ``tiles/`` has to give the same ``tiles/`` grant.
        """
        for end in (i + 1 for i, ch in enumerate(prefix) if ch == "/"):
            if self.decide_prefix(prefix[:end], principal).allowed:
                return prefix[:end]
        return None

    def shortest_grant(self, path: str, principal: Principal, *, wildcard: bool) -> int | None:
        """The shortest ``grant_seconds`` among the rules a grant for ``path`` covers.

        That is the governing rule and, for a wildcard grant (``path`` is a prefix), every rule
        below it: a cookie for ``tiles/`` also opens ``tiles/live/``, so it must not outlive that
        rule's shorter lifetime.  None: no limit.
        """
        covered = [self.governing(path, principal)]
        if wildcard:
            covered += [match.rule for match in self.below(path, principal)]
        limits = [rule.grant_seconds for rule in covered if rule is not None and rule.grant_seconds]
        return min(limits) if limits else None

    # Shares (docs/design.md, "Sharing"): the store says who shared what; the rules say whether
    # it could be shared and how far a share reaches.

    def may_share(self, target: str, owner: Principal) -> Decision:
        """May ``owner`` share ``target`` (a prefix or a key)?  Only what a shareable rule lets
        the owner write: the governing rule, at the owner's own concrete prefix."""
        match = self.matching(target, owner)
        if match is None:
            return Decision(None, False)
        allowed = match.own and match.rule.shareable and match.rule.allows("write", owner)
        return Decision(match.rule, allowed)

    def share_opens(self, target: str, path: str, *, wildcard: bool) -> bool:
        """Does a share of ``target`` (a prefix ending in ``/``, or one key) let its grantee read
        ``path`` (a key, or with ``wildcard`` a prefix to read as a whole)?

        Only within the rule that governs the target, while that rule is still shareable: a
        share stops at any more specific rule below it, as :meth:`decide_prefix` does, so
        sharing ``users/alice/`` never opens a stricter ``users/alice/private/`` rule.
        """
        if not (path.startswith(target) if target.endswith("/") else path == target and not wildcard):
            return False
        at_target, at_path = self.matching(target, ANONYMOUS), self.matching(path, ANONYMOUS)
        if at_target is None or at_path is None or not at_target.rule.shareable:
            return False
        if (at_path.rule, at_path.prefix) != (at_target.rule, at_target.prefix):
            return False
        return not (wildcard and any(True for _ in self.below(path, ANONYMOUS)))
