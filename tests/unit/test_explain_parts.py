"""The pieces an explanation is told with (gateway/signing/describe.py), its encoding and hash
hints, and the agreement of ``explain`` with the edge's verifier on every generated request."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.common.netutil import TrustedProxies, viewer_ip
from gateway.edge.app import parse_cookies
from gateway.signing.cloudfront import sign_policy
from gateway.signing.crypto import KeySigner
from gateway.signing.describe import duration, first_difference, printable
from gateway.signing.explain import explain
from gateway.signing.policy import Policy
from gateway.signing.trace import Trace
from gateway.signing.verify import ViewerRequest, verify_request
from gateway.signing.wildcard import resource_matches
from tests.conftest import load_vector_key
from tests.differential.generator import generate
from tests.differential.world import TRUSTED_PROXIES, signers

NOW = 1_800_000_000


@pytest.mark.parametrize(
    ("pattern", "url", "section", "position"),
    [
        ("https://h/a/b", "https://h/a/c", "path", 12),
        ("https://h/a/*", "https://h/b/x", "path", 10),
        ("https://h/a/*.png", "https://h/a/x.jpg", "path", 14),  # the last place some match could go on
        ("https://h/a/b", "https://h/a/bc", "path", 13),
        ("https://h/a/bc", "https://h/a/b", "path", 13),  # the URL ends where the pattern goes on
        ("https://h/a?x=1", "https://h/a?x=2", "query", 14),
        ("https://h/a", "https://h/a?x=1", "query", 11),  # no query section in the pattern: from the "?"
        ("https://*.example.com/*", "https://example.com/x", "domain", 8),
        ("http*://h/*", "ftp://h/x", "protocol", 0),
    ],
)
def test_first_difference(pattern: str, url: str, section: str, position: int) -> None:
    assert first_difference(pattern, url) == (section, position)


_PIECES = st.sampled_from(["a", "b", "/", "?", "*", "x=1", "&", ".png", "h"])


@given(
    st.sampled_from(["https://", "http://", "*://", "http*://", ""]),
    st.lists(_PIECES, max_size=8).map("".join),
    st.sampled_from(["https", "http"]),
    st.lists(st.sampled_from(["a", "b", "/", "x=1", "&", ".png", "h"]), max_size=8).map("".join),
    st.sampled_from(["", "?x=1", "?y"]),
)
def test_a_difference_is_found_exactly_when_the_resource_does_not_match(
    protocol: str, rest: str, scheme: str, path: str, query: str
) -> None:
    pattern, url = protocol + "h/" + rest, f"{scheme}://h/{path}{query}"
    difference = first_difference(pattern, url)
    assert (difference is None) is resource_matches(pattern, url)
    assert difference is None or difference.position is None or 0 <= difference.position <= len(url)


def test_first_difference_stays_cheap_on_pathological_patterns() -> None:
    pattern = "https://h/" + "*a" * 2000 + "*b"
    assert first_difference(pattern, "https://h/" + "a" * 20000) == ("path", None)


def test_one_line_whatever_the_request_holds() -> None:
    assert printable("a\r\nSet-Cookie: x=1\x1b[31m\u00fc") == "a\\x0d\\x0aSet-Cookie: x=1\\x1b[31m\\xfc"
    assert len(printable("x" * 10_000)) == 400


def test_durations_read_as_people_compare_them() -> None:
    assert [duration(s) for s in (0, 59, 192, 3600, 90061, 400 * 86400)] == [
        "0 s",
        "59 s",
        "3 min 12 s",
        "1 h",
        "1 d 1 h",
        "about 1 year",
    ]


def _viewer_request(case: Any) -> ViewerRequest:
    """The request as the generator meant it: the verifier is judged here, not the target reading."""
    cookies = parse_cookies([value for name, value in case.headers if name.lower() == "cookie"])
    forwarded = ",".join(value for name, value in case.headers if name.lower() == "x-forwarded-for")
    viewer = viewer_ip(case.peer, forwarded, TrustedProxies(TRUSTED_PROXIES))
    query = "&".join(case.query) if case.query is not None else ""
    return ViewerRequest(case.scheme, case.authority, case.path, query, cookies, viewer)


def test_explain_and_the_edge_verifier_agree_on_every_generated_request() -> None:
    chosen = signers()
    trusted = {s.key_pair_id: s.key.public_key() for s in (chosen.rsa, chosen.ecdsa)}
    codes: dict[str, int] = {}
    for case in generate(seed=1313, count=1500, now=NOW):
        request = _viewer_request(case)
        plain = verify_request(request, trusted, NOW)
        trace = Trace()
        assert verify_request(request, trusted, NOW, trace) == plain, case.steps
        told = explain(request, trusted, NOW)
        assert told.verdict == plain, case.steps
        assert (told.failed is None) is plain.ok and told.summary.startswith(told.code)
        codes[told.code] = codes.get(told.code, 0) + 1
    # The sample reaches every answer the verifier gives, so the agreement covers each of them.
    assert set(codes) == {
        "OK",
        "MissingKey",
        "InvalidKey",
        "MalformedSignature",
        "MalformedPolicy",
        "AccessDenied",
    }, codes


def test_encoding_and_hash_algorithm_hints_name_what_to_change() -> None:
    signer = KeySigner("KRSA", load_vector_key("test-rsa-2048.pem"))
    trusted = {"KRSA": signer.key.public_key()}
    cookies = dict(sign_policy(Policy.make_custom("https://h/*", NOW + 60), signer).cookies())

    def told(**change: str) -> list[str]:
        pairs = tuple({**cookies, **change}.items())
        lines = explain(ViewerRequest("https", "h", "/a", "", pairs, None), trusted, NOW).lines
        return [line.text for line in lines if line.status in ("FAIL", "hint")]

    # Signed with SHA-1, announced as SHA-256: the cookie to drop is named.
    assert told(**{"CloudFront-Hash-Algorithm": "SHA256"})[1].endswith(
        "the request announces SHA256 (drop CloudFront-Hash-Algorithm)"
    )
    assert "(character 3 once percent-decoded is '+')" in told(**{"CloudFront-Signature": "ab%2Bc"})[0]
    assert (
        "(its length 3 is not a multiple of 4: padding missing?)" in told(**{"CloudFront-Policy": "e30"})[0]
    )
