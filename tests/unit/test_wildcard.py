"""Section-wise wildcard matching, with the examples of CloudFront's custom-policy docs."""

from __future__ import annotations

import pytest

from gateway.signing.wildcard import glob_match, resource_matches


@pytest.mark.parametrize(
    ("pattern", "url", "ok"),
    [
        ("https://www.example.com/hello*world", "https://www.example.com/helloworld", True),
        ("https://www.example.com/hello*world", "https://www.example.com/hello-world", True),
        ("https://www.example.com/hello*world", "https://www.example.net/hello-world", False),
        # A trailing * in the path implies * in the query.
        ("http://example.com/hello*", "http://example.com/hello.txt?a=1", True),
        ("http://example.com/hello", "http://example.com/hello?a=1", False),
        # A trailing * in the domain implies * in path and query.
        ("http://example.com*", "http://example.com.au/x/y?z", True),
        # No protocol and a leading *: protocol is *.
        ("*example.com/*", "https://www.example.com/x", True),
        ("*example.com/*", "http://example.com/x", True),
        ("*", "https://anything.test/at/all?q", True),
        # * never crosses a section: it cannot swallow the domain/path boundary.
        ("https://cdn.test*/private/x", "https://cdn.test/public/x", False),
        ("https://cdn.test/a*b", "https://cdn.test/a/c?b", False),
        ("https://cdn.test/a/*", "https://cdn.test/a/deep/er/x.png", True),
        # The first "?" after the domain starts the query section (the docs say not to escape it),
        # so "?" is a one-character wildcard only in the domain and the query.
        ("https://cdn.test/a/?.png", "https://cdn.test/a/1.png", False),
        ("https://cdn.test/a/x.jpg?size=l?rge", "https://cdn.test/a/x.jpg?size=large", True),
        ("https://cdn?.test/a", "https://cdn1.test/a", True),
        ("https://cdn?.test/a", "https://cdn12.test/a", False),
        ("https://cdn.test/a/x.jpg\\?size=*", "https://cdn.test/a/x.jpg?size=large", True),
        ("https://cdn.test/a/[ab]*", "https://cdn.test/a/a1", False),  # no character classes
        ("https://cdn.test/a/[ab]*", "https://cdn.test/a/[ab]1", True),
        ("https://cdn.test/A/*", "https://cdn.test/a/x", False),  # case-sensitive
    ],
)
def test_resource_matches(pattern: str, url: str, ok: bool) -> None:
    assert resource_matches(pattern, url) is ok


@pytest.mark.parametrize(
    ("pattern", "text", "ok"),
    [
        ("", "", True),
        ("*", "", True),
        ("?", "", False),
        ("a*", "a", True),
        ("*a", "ba", True),
        ("a*b*c", "abc", True),
        ("a*b*c", "aXbYc", True),
        ("a*b*c", "acb", False),
        ("*ab?d*", "xxabcdyy", True),
        ("*ab?d*", "xxabdyy", False),
        ("a?*?b", "axyb", True),
        ("a?*?b", "axb", False),
        ("*aa*aa", "aaa", False),
        ("*aa*aa", "aaaa", True),
    ],
)
def test_glob(pattern: str, text: str, ok: bool) -> None:
    assert glob_match(pattern, text) is ok
