"""The rules' side of sharing, pure: the ``shareable`` field, who may share what, how far a share
reaches (docs/design.md, "Sharing")."""

from __future__ import annotations

import tomllib

import pytest

from gateway.rules.access import ANONYMOUS, Principal
from gateway.rules.load import RulesError, parse_rules

RULES = parse_rules(
    tomllib.loads(
        """
[[rules]]
prefix = "users/{sub}/"
read = "authenticated"
write = "authenticated"
content_types = ["image/png"]
shareable = true

[[rules]]
prefix = "users/{sub}/private/"
read = "authenticated"
write = "authenticated"
content_types = ["image/png"]

[[rules]]
prefix = "teams/{group}/"
read = "authenticated"
write = "authenticated"
content_types = ["image/png"]
shareable = true

[[rules]]
prefix = "public/"
read = "anyone"
"""
    )
)
ALICE = Principal("alice", ("blue",), "idp")


@pytest.mark.parametrize(
    ("target", "allowed"),
    [
        ("users/alice/", True),
        ("users/alice/album/", True),
        ("users/alice/p.png", True),
        ("teams/blue/plan.png", True),  # a group's prefix, shared by a member
        ("teams/red/plan.png", False),  # not her group
        ("users/bob/p.png", False),
        ("users/alice/private/", False),  # a nested rule that is not shareable
        ("users/", False),
        ("public/p.png", False),  # readable, not writable
    ],
)
def test_only_a_writer_under_a_shareable_rule_may_share(target: str, allowed: bool) -> None:
    assert RULES.may_share(target, ALICE).allowed is allowed
    assert RULES.may_share(target, ANONYMOUS).allowed is False


@pytest.mark.parametrize(
    ("target", "path", "wildcard", "opens"),
    [
        ("users/alice/", "users/alice/p.png", False, True),
        ("users/alice/", "users/alice/a/b/p.png", False, True),
        ("users/alice/", "users/alice/private/p.png", False, False),  # stops at the nested rule
        ("users/alice/", "users/alice/", True, False),  # as a whole it would hold private/
        ("users/alice/", "users/alice/a/", True, True),
        ("users/alice/a/", "users/alice/ab/p.png", False, False),  # a longer name, not below
        ("users/alice/p.png", "users/alice/p.png", False, True),
        ("users/alice/p.png", "users/alice/p.png.bak", False, False),
        ("users/alice/p.png", "users/alice/p.png", True, False),  # one object is no prefix
        ("public/", "public/p.png", False, False),  # not shareable, whoever made the row
        ("users/alice/private/", "users/alice/private/p.png", False, False),
    ],
)
def test_how_far_a_share_reaches(target: str, path: str, wildcard: bool, opens: bool) -> None:
    assert RULES.share_opens(target, path, wildcard=wildcard) is opens


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        ('shareable = "yes"', "shareable must be true or false"),
        ("shareable = 1", "shareable must be true or false"),
    ],
)
def test_shareable_is_checked(extra: str, problem: str) -> None:
    with pytest.raises(RulesError) as raised:
        parse_rules(tomllib.loads(f'[[rules]]\nprefix = "a/"\nread = "anyone"\n{extra}\n'))
    assert any(problem in p for p in raised.value.problems)


def test_shareable_needs_write() -> None:
    with pytest.raises(RulesError) as raised:
        parse_rules(tomllib.loads('[[rules]]\nprefix = "a/"\nread = "anyone"\nshareable = true\n'))
    assert any("shareable needs write" in p for p in raised.value.problems)
    (rule,) = parse_rules(tomllib.loads('[[rules]]\nprefix = "a/"\nread = "anyone"\n')).rules
    assert rule.shareable is False  # off by default
