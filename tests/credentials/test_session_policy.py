"""The session policy never gives more than the rules, for each rule set (security case 30)."""

from __future__ import annotations

import json
import re
import tomllib

import pytest

from gateway.credentials.policy import PolicyTooLarge, scope_for, session_name, session_policy, tag_value
from gateway.rules.access import Principal, Rules
from gateway.rules.load import RulesError, parse_rules
from tests.credentials import iam
from tests.gateway.conftest import RULES


def _rules(text: str) -> Rules:
    return parse_rules(tomllib.loads(text))


def test_policy_for_the_standard_rules() -> None:
    rules = parse_rules(tomllib.loads(RULES))
    policy = json.loads(session_policy(scope_for(rules, Principal("alice", ("team",))), "media"))
    # users/{sub}/ is writable through the gateway, but not credentials_write: no PutObject.
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


NESTED = """
[[rules]]
prefix = "tiles/"
read = "authenticated"
[[rules]]
prefix = "tiles/secret/"
[[rules]]
prefix = "maps/"
read = "authenticated"
"""


def test_a_stricter_nested_rule_hides_its_keys_from_listing() -> None:
    """Issue 12 item 10: ``tiles/*`` used to list every key under ``tiles/secret/``."""
    policy = json.loads(session_policy(scope_for(_rules(NESTED), Principal("bob")), "b"))
    assert policy["Statement"] == [
        {
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": ["arn:aws:s3:::b/maps/*", "arn:aws:s3:::b/tiles/*"],
        },
        {  # no nested rule below maps/: plain listing
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": "arn:aws:s3:::b",
            "Condition": {"StringLike": {"s3:prefix": ["maps/*"]}},
        },
        {  # tiles/ holds tiles/secret/: only folder by folder, so tiles/secret/ is one name
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": "arn:aws:s3:::b",
            "Condition": {"StringLike": {"s3:prefix": ["tiles/*"]}, "StringEquals": {"s3:delimiter": "/"}},
        },
        {"Effect": "Deny", "Action": "s3:GetObject", "Resource": ["arn:aws:s3:::b/tiles/secret/*"]},
        {
            "Effect": "Deny",
            "Action": "s3:ListBucket",
            "Resource": "arn:aws:s3:::b",
            "Condition": {"StringLike": {"s3:prefix": ["tiles/secret/*"]}},
        },
    ]
    text = json.dumps(policy)
    keys = ["tiles/1.png", "tiles/secret/plan.png", "tiles/secret/deep/x.png", "maps/a/b.png"]
    assert iam.listing(keys, "tiles/", "/") == ({"tiles/1.png"}, {"tiles/secret/"})
    seen = {
        (prefix, delimiter): iam.allowed(text, iam.list_request("b", prefix, delimiter))
        for prefix in [
            None,
            "",
            "tiles",
            "tiles/",
            "tiles/secret",
            "tiles/secret/",
            "tiles/secret/deep/",
            "maps/",
        ]
        for delimiter in [None, "/"]
    }
    assert {k for k, ok in seen.items() if ok} == {
        ("tiles/", "/"),
        ("tiles/secret", "/"),  # shows the folder name tiles/secret/ only
        ("maps/", None),
        ("maps/", "/"),
    }
    assert not iam.allowed(text, iam.object_request("b", "s3:GetObject", "tiles/secret/plan.png"))
    assert iam.allowed(text, iam.object_request("b", "s3:GetObject", "tiles/1.png"))


WRITABLE = """
[[rules]]
prefix = "users/{sub}/"
read = "authenticated"
write = "authenticated"
delete = "authenticated"
content_types = ["image/png"]
credentials_write = true
[[rules]]
prefix = "users/{sub}/avatar/"
read = "authenticated"
write = "authenticated"
content_types = ["image/png"]
[[rules]]
prefix = "inbox/"
write = "authenticated"
content_types = ["image/png"]
"""


def test_put_object_only_where_a_rule_says_credentials_may_write() -> None:
    policy = json.loads(session_policy(scope_for(_rules(WRITABLE), Principal("alice")), "b"))
    puts = [s for s in policy["Statement"] if s["Action"] == "s3:PutObject"]
    assert puts == [
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": ["arn:aws:s3:::b/users/alice/*"]},
        # avatar/ keeps its limits (no credentials_write): only the gateway's presigned uploads.
        {"Effect": "Deny", "Action": "s3:PutObject", "Resource": ["arn:aws:s3:::b/users/alice/avatar/*"]},
    ]
    assert "inbox/" not in json.dumps(puts)
    # Delete stays as the rules say: avatar/ has no delete, so a Deny below users/alice/.
    assert {
        "Effect": "Deny",
        "Action": "s3:DeleteObject",
        "Resource": ["arn:aws:s3:::b/users/alice/avatar/*"],
    } in policy["Statement"]


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        ("credentials_write = 1", "credentials_write must be true or false"),
        ('credentials_write = "yes"', "credentials_write must be true or false"),
    ],
)
def test_credentials_write_must_be_a_boolean(extra: str, needle: str) -> None:
    text = f'[[rules]]\nprefix = "u/"\nwrite = "authenticated"\ncontent_types = ["image/png"]\n{extra}\n'
    with pytest.raises(RulesError) as caught:
        _rules(text)
    assert any(needle in p for p in caught.value.problems)


def test_credentials_write_needs_write() -> None:
    with pytest.raises(RulesError) as caught:
        _rules('[[rules]]\nprefix = "u/"\nread = "authenticated"\ncredentials_write = true\n')
    assert caught.value.problems == [
        "rule 1 (prefix 'u/'): credentials_write needs write (it only widens an existing write)"
    ]


def test_the_evaluator_follows_the_iam_documentation() -> None:
    """The evaluator itself, on hand-made policies: explicit Deny wins, default deny, wildcards,
    missing condition keys never match, values OR and keys AND."""
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::b/p?/*"},
                {"Effect": "Deny", "Action": "s3:GetObject", "Resource": ["arn:aws:s3:::b/p1/x*"]},
                {
                    "Effect": "Allow",
                    "Action": "s3:ListBucket",
                    "Resource": "arn:aws:s3:::b",
                    "Condition": {
                        "StringLike": {"s3:prefix": ["p1/*", "q/*"]},
                        "StringEquals": {"s3:delimiter": "/"},
                    },
                },
            ],
        }
    )

    def get(key: str) -> bool:
        return iam.allowed(policy, iam.object_request("b", "S3:GETOBJECT", key))

    assert get("p1/a/b.png") and get("p2/c") and not get("p12/c") and not get("P1/a")
    assert not get("p1/x/secret") and not get("q/a")
    assert not iam.allowed(policy, iam.object_request("b", "s3:PutObject", "p1/a"))

    def listed(prefix: str | None, delimiter: str | None) -> bool:
        return iam.allowed(policy, iam.list_request("b", prefix, delimiter))

    assert listed("q/", "/") and listed("p1/", "/") and not listed("q/", None) and not listed(None, "/")
    assert not listed("r/", "/") and not listed("q/", "//")
    with pytest.raises(iam.UnsupportedPolicy):
        iam.allowed(
            policy.replace('"Action"', '"NotAction"', 1), iam.object_request("b", "s3:GetObject", "p1/a")
        )
    with pytest.raises(iam.UnsupportedPolicy):
        iam.allowed(policy.replace("StringLike", "ForAnyValue:StringLike"), iam.list_request("b", "q/", "/"))


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
    # STS takes ASCII only ([\w+=,.@-] in its ASCII sense; str.isalnum would accept "é").
    for sub in ["../évil|user", "李雷", "alİce", "Müller"]:
        assert re.fullmatch(r"[A-Za-z0-9_+=,.@-]{2,64}", session_name(sub)), sub
        assert re.fullmatch(r"[A-Za-z0-9_+=,.@-]{2,32}", session_name(sub, limit=32)), sub
    assert session_name("élodie") != session_name("-lodie") != session_name("elodie")
    assert len(session_name("x" * 300, limit=32)) <= 32
    assert tag_value("a<b>") == "a_b_" and tag_value("") == "_"
