"""The edge's reading of a request target and Host (pure), by example and by property."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.edge.ranges import Unsatisfiable, parse_range
from gateway.edge.viewer import (
    Refusal,
    canonical_authority,
    distribution_origin,
    normalise,
    object_key,
    read_target,
    viewer_scheme,
)

SERVED = {("https", "cdn.example.com"), ("http", "127.0.0.1:8081"), ("https", "[::1]:8443")}


@pytest.mark.parametrize(
    ("scheme", "host", "canonical"),
    [
        ("https", "CDN.Example.COM", "cdn.example.com"),
        ("https", "cdn.example.com.", "cdn.example.com"),
        ("https", "cdn.example.com:443", "cdn.example.com"),
        ("http", "cdn.example.com:443", "cdn.example.com:443"),
        ("http", "127.0.0.1:8081", "127.0.0.1:8081"),
        ("https", "[0:0::1]:8443", "[::1]:8443"),
        ("https", "cdn.example.com:", "cdn.example.com"),  # an empty port is the default one
        ("https", "cdn.example.com:000443", "cdn.example.com"),
    ],
)
def test_one_spelling_per_authority(scheme: str, host: str, canonical: str) -> None:
    assert canonical_authority(scheme, host) == canonical


@pytest.mark.parametrize(
    "host",
    [
        "",
        "a@b",
        "cdn.example.com/x",
        "cdn.example.com?x",
        "cdn..example.com",
        ".",
        "h:0",
        "h:99999",
        "[zz]",
    ],
)
def test_what_is_not_a_host(host: str) -> None:
    with pytest.raises(ValueError):
        canonical_authority("https", host)


def test_distribution_urls_are_origins_only() -> None:
    assert distribution_origin("https://CDN.example.com/") == ("https", "cdn.example.com")
    for bad in ["ftp://x", "https://x/path", "https://u@x", "https://x?q", "x"]:
        with pytest.raises(ValueError):
            distribution_origin(bad)


def test_targets() -> None:
    origin = read_target("/a%20b/c?x=1", "CDN.example.com.", "https", SERVED)
    assert (origin.host, origin.raw_path, origin.raw_query, origin.path) == (
        "cdn.example.com",
        "/a%20b/c",
        "x=1",
        "/a b/c",
    )
    absolute = read_target("HTTPS://cdn.example.com:443?q", "evil", "https", SERVED)
    assert (absolute.host, absolute.raw_path, absolute.raw_query) == ("cdn.example.com", "/", "q")
    for target, host, scheme, status in [
        ("/a", None, "https", 400),
        ("/a", "evil.example", "https", 403),
        ("/a", "cdn.example.com", "http", 403),  # the host is served, not over http
        ("http://cdn.example.com/a", "cdn.example.com", "https", 400),
        ("*", "cdn.example.com", "https", 400),
        ("cdn.example.com:443", "cdn.example.com", "https", 400),
        ("/a#b", "cdn.example.com", "https", 400),
        ("/a b", "cdn.example.com", "https", 400),
        ("/%ff", "cdn.example.com", "https", 400),
    ]:
        with pytest.raises(Refusal) as refusal:
            read_target(target, host, scheme, SERVED)
        assert refusal.value.status == status, target


def test_scheme() -> None:
    assert viewer_scheme(True, False, ["http"]) == "https"
    assert viewer_scheme(False, False, ["https"]) == "http"
    assert viewer_scheme(False, True, ["https"]) == "https"
    assert viewer_scheme(False, True, ["https", "http"]) == "http"
    with pytest.raises(Refusal):
        viewer_scheme(False, True, ["https, javascript"])


_PATHS = st.text(alphabet="ab/.%2Ef", max_size=24).map(lambda s: "/" + s)


@given(_PATHS)
def test_normalised_paths_are_fixed_points(raw: str) -> None:
    try:
        path = normalise(raw)
    except Refusal:
        return
    assert path.startswith("/") and "//" not in path
    assert not any(segment in (".", "..") for segment in path.split("/"))
    # Decoding again may change a path that held "%25"; the segments never come back.
    assert normalise(path.replace("%", "%25")) == path


@given(_PATHS)
def test_an_object_key_is_its_own_normalised_path(raw: str) -> None:
    key = object_key(raw)
    if key is not None:
        assert normalise(raw) == "/" + key


@given(st.text(max_size=40), st.sampled_from(["http", "https"]))
def test_no_host_string_reaches_an_unserved_distribution(host: str, scheme: str) -> None:
    try:
        target = read_target("/x", host, scheme, SERVED)
    except Refusal:
        return
    assert (target.scheme, target.host) in SERVED


@given(st.text(alphabet="bytes=0123456789-, ", max_size=20), st.integers(min_value=0, max_value=50))
def test_a_parsed_range_is_always_inside_the_object(header: str, size: int) -> None:
    try:
        part = parse_range(header, size)
    except Unsatisfiable:
        return
    if part is not None:
        assert 0 <= part.start <= part.end < size
