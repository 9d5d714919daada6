"""The session policy, judged by an independent IAM evaluator (tests/credentials/iam.py), never
allows more than the rules, for random rule sets, principals, keys and listings (security case 30).

The rules' answer for credentials is written here from the README: the most specific rule decides,
and writing also needs that rule's ``credentials_write``.  IAM may only be narrower than that in
two documented places: under a stricter nested prefix (an explicit Deny), a rule that re-allows
deeper cannot be honoured; and a prefix that holds other users' or groups' prefixes is left out.  Listing may show folder names, never a key the rules hide.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gateway.credentials.policy import PolicyTooLarge, scope_for, session_policy
from gateway.rules.access import Action, Principal, Rules
from gateway.rules.load import parse_rules
from tests.credentials import iam

BUCKET = "b"
S3 = {"read": "s3:GetObject", "write": "s3:PutObject", "delete": "s3:DeleteObject"}
ACTIONS: tuple[Action, ...] = ("read", "write", "delete")
SEGMENTS = ["a", "b", "c"]
NAMES = ["alice", "bob", "a", "team"]  # "a" is both a user and a folder: collisions on purpose


@st.composite
def rule(draw: st.DrawFn) -> dict[str, Any]:
    parts = draw(st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=3))
    template = draw(st.sampled_from([None, "{sub}", "{group}"]))
    if template is not None:
        parts.insert(draw(st.integers(0, len(parts))), template)
    audience = st.sampled_from([None, "authenticated"] + ([] if template else ["anyone"]))
    raw: dict[str, Any] = {"prefix": "/".join(parts) + "/"}
    for action in ACTIONS:
        value = draw(audience if action == "read" else st.sampled_from([None, "authenticated"]))
        if value is not None:
            raw[action] = value
    if "write" in raw:
        raw["content_types"] = ["image/png"]
        raw["credentials_write"] = draw(st.booleans())
    return raw


rule_sets = st.lists(rule(), min_size=1, max_size=5, unique_by=lambda r: r["prefix"]).map(
    lambda raws: parse_rules({"rules": raws})
)
principals = st.builds(
    Principal, st.sampled_from(NAMES), st.lists(st.sampled_from(NAMES), max_size=2, unique=True).map(tuple)
)
keys = st.lists(
    st.lists(st.sampled_from([*SEGMENTS, *NAMES, "f.png"]), min_size=1, max_size=5).map("/".join)
    | st.lists(st.sampled_from([*SEGMENTS, *NAMES]), min_size=1, max_size=4).map(lambda p: "/".join(p) + "/"),
    min_size=1,
    max_size=25,
)


def rules_allow(rules: Rules, action: Action, key: str, principal: Principal) -> bool:
    decision = rules.decide(action, key, principal)
    if not decision.allowed or decision.rule is None:
        return False
    return action != "write" or decision.rule.credentials_write


def expanded(rules: Rules, principal: Principal) -> set[str]:
    return {p for r in rules.rules for p in r.expand(principal)}


def below_stricter_nested(rules: Rules, action: Action, key: str, principal: Principal) -> bool:
    """The one place IAM is narrower: ``key`` lies under a refused prefix that sits below an
    allowed one (an explicit Deny cannot be undone deeper down)."""
    prefixes = expanded(rules, principal)
    return any(
        key.startswith(d)
        and not rules_allow(rules, action, d, principal)
        and any(d.startswith(q) and d != q and rules_allow(rules, action, q, principal) for q in prefixes)
        for d in prefixes
    )


def under_a_templated_family(rules: Rules, action: Action, key: str, principal: Principal) -> bool:
    """The other place IAM is narrower: the caller's prefix that would give ``key`` also holds
    other users' or groups' prefixes (a templated rule below it), which no Deny can carve out."""

    def holds_others(q: str) -> bool:
        for r in rules.rules:
            if not r.templated:
                continue
            head, tail = r.prefix.split("{", 1)[0], r.prefix.split("}", 1)[1]
            if head.startswith(q):
                return True
            value = q[len(head) :].split("/", 1)[0] if q.startswith(head) else ""
            if value and (head + value + tail).startswith(q) and head + value + tail != q:
                return True
        return False

    return any(
        key.startswith(q) and rules_allow(rules, action, q, principal) and holds_others(q)
        for q in expanded(rules, principal)
    )


def policy_for(rules: Rules, principal: Principal) -> str:
    try:
        return session_policy(scope_for(rules, principal), BUCKET)
    except PolicyTooLarge:
        assume(False)
        raise


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rule_sets, principals, keys)
def test_objects_never_wider_than_the_rules(rules: Rules, principal: Principal, sample: list[str]) -> None:
    policy = policy_for(rules, principal)
    for key in sample + sorted(expanded(rules, principal)):
        for action in ACTIONS:
            granted = iam.allowed(policy, iam.object_request(BUCKET, S3[action], key))
            expected = rules_allow(rules, action, key, principal)
            assert not granted or expected, (action, key, policy)
            narrower = below_stricter_nested(rules, action, key, principal) or under_a_templated_family(
                rules, action, key, principal
            )
            assert granted or not expected or narrower, (
                action,
                key,
                policy,
            )


def _list_requests(
    rules: Rules, principal: Principal, sample: list[str]
) -> set[tuple[str | None, str | None]]:
    prefixes: set[str | None] = {None, ""}
    for text in sample + sorted(expanded(rules, principal)):
        prefixes.update(text[:i] for i in range(len(text) + 1))
    return {(p, d) for p in prefixes for d in (None, "/", "a")}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rule_sets, principals, keys)
def test_no_listing_shows_a_hidden_key(rules: Rules, principal: Principal, sample: list[str]) -> None:
    policy = policy_for(rules, principal)
    universe = set(sample) | {p + "f.png" for p in expanded(rules, principal)}
    for prefix, delimiter in _list_requests(rules, principal, sample):
        if not iam.allowed(policy, iam.list_request(BUCKET, prefix, delimiter)):
            continue
        contents, _folders = iam.listing(universe, prefix, delimiter)  # folder names may show
        hidden = [k for k in contents if not rules_allow(rules, "read", k, principal)]
        assert not hidden, (prefix, delimiter, hidden, policy)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rule_sets, principals)
def test_every_readable_prefix_can_be_browsed(rules: Rules, principal: Principal) -> None:
    scope = scope_for(rules, principal)
    policy = policy_for(rules, principal)
    hidden = scope.denied.get("read", ())
    for prefix in scope.prefixes.get("read", ()):
        assert iam.allowed(policy, iam.list_request(BUCKET, prefix, "/"))
        plain = not any(d.startswith(prefix) for d in hidden)
        assert iam.allowed(policy, iam.list_request(BUCKET, prefix, None)) == plain
