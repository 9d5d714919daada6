"""Policy building rules, CloudFront base64, canonical URLs and stable windows."""

from __future__ import annotations

import pytest

from gateway.signing.encoding import (
    EncodingError,
    cf_b64decode,
    cf_b64encode,
    encode_key,
    object_url,
    requote_url,
)
from gateway.signing.policy import Policy, PolicyError, normalize_ipv4
from gateway.signing.window import stable_window


def test_cf_base64_alphabet() -> None:
    data = bytes(range(256))
    text = cf_b64encode(data)
    assert not set(text) & set("+/=") and cf_b64decode(text) == data
    assert cf_b64encode(b"\xfb\xff") == "-~8_"  # standard "+/8=" with CloudFront's swaps
    for bad in ["", "+/8=", "-~8_ ", "-~8", "%2D"]:
        with pytest.raises(EncodingError):
            cf_b64decode(bad)


@pytest.mark.parametrize(
    ("key", "encoded"),
    [
        ("tiles/3/4/2.png", "tiles/3/4/2.png"),
        ("photos/my file.jpg", "photos/my%20file.jpg"),
        ("a+b/it's (1).jpg", "a%2Bb/it%27s%20%281%29.jpg"),
        ("ü.jpg", "%C3%BC.jpg"),
        ("u\u0308.jpg", "u%CC%88.jpg"),  # NFD stays NFD: a different S3 key from NFC
        ("100%/x", "100%25/x"),
        ("a?b*c", "a%3Fb%2Ac"),
    ],
)
def test_encode_key_once(key: str, encoded: str) -> None:
    assert encode_key(key) == encoded
    assert object_url("https://cdn.test/", key) == f"https://cdn.test/{encoded}"


def test_requote_is_idempotent_and_ascii() -> None:
    for url in ["https://h/a b/ü.png", "https://h/a%20b", "https://h/100%", "https://h/x?q=1&r=é"]:
        once = requote_url(url)
        assert once.isascii() and " " not in once and requote_url(once) == once
    assert requote_url("https://h/a%20b/c d") == "https://h/a%20b/c%20d"


def test_canned_refuses_wildcards_and_query_parts_that_are_not_pairs() -> None:
    bad = ["https://h/tiles/*", "https://h/a.png?x=*", "https://h/a?", "https://h/a?x=1&", "https://h/a?&x=1"]
    for url in [
        *bad,
        "https://h/a?x=1&&y=2",
        "https://h/a?.png",
        "https://h/a?=1",
        "https://h/a?v",
        "ftp://h/a",
    ]:
        with pytest.raises(PolicyError):
            Policy.make_canned(url, 10)


def test_canned_signs_the_query_string_as_part_of_the_url() -> None:
    """CloudFront's canned Resource is the URL "including your query strings, if any"."""
    for url in [
        "https://h/a.png?x=1",
        "https://h/a.png?x=1&lang=en%20us",
        "https://h/a?b?c=d",
        "https://h/a?v=",
    ]:
        policy = Policy.make_canned(url, 10)
        assert policy.to_bytes() == (
            b'{"Statement":[{"Resource":"'
            + url.encode()
            + b'","Condition":{"DateLessThan":{"AWS:EpochTime":10}}}]}'
        )


@pytest.mark.parametrize(
    "resource", ['https://h/a","Resource":"https://h/*', "https://h/a b", "https://h/\\x", "https://h/é", ""]
)
def test_resource_must_be_encoded_ascii(resource: str) -> None:
    # Security case 10: a quote can never reach the policy as JSON structure.
    with pytest.raises(PolicyError):
        Policy.make_custom(resource, 10)


def test_times_and_ip() -> None:
    with pytest.raises(PolicyError):
        Policy.make_custom("https://h/*", 10, not_before=10)
    with pytest.raises(PolicyError):
        Policy.make_custom("https://h/*", 2**63)
    assert normalize_ipv4("192.0.2.10") == "192.0.2.10/32"
    assert normalize_ipv4("192.0.2.0/24") == "192.0.2.0/24"
    for bad in ["192.0.2.10/24", "2001:db8::1", "192.0.2.1,10.0.0.1", "010.0.0.1", "any", "192.0.2.0/33"]:
        with pytest.raises(PolicyError):
            normalize_ipv4(bad)


def test_stable_window() -> None:
    a, b = stable_window(7200, 3600, 300), stable_window(10799.9, 3600, 300)
    assert a == b and (a.start, a.end, a.expires) == (7200, 10800, 11100)
    assert a.refresh_after == 10800 < a.expires
    assert stable_window(10800, 3600, 300).start == 10800
    assert a.seconds_left(10000) == 800 and a.seconds_left(20000) == 0
    with pytest.raises(ValueError):
        stable_window(1, 0, 0)
