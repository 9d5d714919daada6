"""The session policy is exactly the rules, for each rule set (security case 30)."""

from __future__ import annotations

import json
import tomllib

import pytest

from gateway.credentials.policy import PolicyTooLarge, scope_for, session_name, session_policy, tag_value
from gateway.rules import Principal, parse_rules
from tests.gateway.conftest import RULES


def _rules(text: str) -> object:
    return parse_rules(tomllib.loads(text))


def test_policy_for_the_standard_rules() -> None:
    rules = parse_rules(tomllib.loads(RULES))
    policy = json.loads(session_policy(scope_for(rules, Principal("alice", ("team",))), "media"))
    assert policy == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": [
                    "arn:aws:s3:::media/public/*",
                    "arn:aws:s3:::media/shared/team/*",
                    "arn:aws:s3:::media/tiles/*",
                    "arn:aws:s3:::media/users/alice/*",
                ],
            },
            {"Effect": "Allow", "Action": "s3:PutObject", "Resource": ["arn:aws:s3:::media/users/alice/*"]},
            {
                "Effect": "Allow",
                "Action": "s3:DeleteObject",
                "Resource": ["arn:aws:s3:::media/users/alice/*"],
            },
            {
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": "arn:aws:s3:::media",
                "Condition": {
                    "StringLike": {"s3:prefix": ["public/*", "shared/team/*", "tiles/*", "users/alice/*"]}
                },
            },
        ],
    }


def test_a_stricter_nested_rule_becomes_an_explicit_deny() -> None:
    rules = _rules(
        '[[rules]]\nprefix = "media/"\nread = "authenticated"\n[[rules]]\nprefix = "media/drafts/"\n'
    )
    policy = json.loads(session_policy(scope_for(rules, Principal("bob")), "b"))
    assert {
        "Effect": "Deny",
        "Action": "s3:GetObject",
        "Resource": ["arn:aws:s3:::b/media/drafts/*"],
    } in policy["Statement"]


def test_no_other_users_and_no_wildcards() -> None:
    rules = _rules(
        '[[rules]]\nprefix = "users/{sub}/"\nread = "authenticated"\nwrite = "authenticated"\n'
        'content_types = ["image/png"]\n'
    )
    text = session_policy(scope_for(rules, Principal("alice")), "b")
    assert "users/alice/" in text and "users/*" not in text and '"s3:*"' not in text
    for sub in ["../bob", "*", "a/b", "."]:
        assert scope_for(rules, Principal(sub)).empty  # unsafe subs expand to nothing


def test_oversized_policy_is_refused() -> None:
    many = "".join(f'[[rules]]\nprefix = "p{i:03d}-{"x" * 30}/"\nread = "authenticated"\n' for i in range(80))
    with pytest.raises(PolicyTooLarge):
        session_policy(scope_for(_rules(many), Principal("a")), "b")


def test_names_and_tags_are_safe() -> None:
    assert session_name("alice").startswith("gw-alice-") and len(session_name("x" * 300)) <= 64
    assert session_name("a/b c") != session_name("a-b-c")  # a digest keeps distinct users distinct
    assert all(ch.isalnum() or ch in "+=,.@-_" for ch in session_name("../évil|user"))
    assert len(session_name("x" * 300, limit=32)) <= 32
    assert tag_value("a<b>") == "a_b_" and tag_value("") == "_"
