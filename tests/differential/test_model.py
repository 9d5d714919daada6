"""The model on its own, against answers known from the rules (no edge involved).

If the model were wrong in one of these ways, the differential run would call the edge right
where it is wrong; so each rule the run relies on is pinned here by an example.
"""

from __future__ import annotations

import time

import pytest

from gateway.signing.cloudfront import sign_policy
from gateway.signing.crypto import HashAlgorithm
from gateway.signing.policy import Policy
from tests.conftest import CloudFrontVector, cloudfront_vectors
from tests.differential.model import World, canonical_host, expected, normalise
from tests.differential.model_signatures import RequestURL, judge, resource_covers
from tests.differential.world import GRANTED_IP, OTHER_IP, TRUSTED_PEER, UNTRUSTED_PEER, signers, world

NOW = int(time.time())
S = signers()
A, B = world("a"), world("b")
CDN = "https://cdn.example.test"


def raw(target: str, *headers: str, method: str = "GET") -> bytes:
    return "\r\n".join([f"{method} {target} HTTP/1.1", *headers, "", ""]).encode("latin-1")


def cookies(resource: str, not_before: int | None = None, ip_address: str | None = None) -> str:
    signed = sign_policy(Policy.make_custom(resource, NOW + 600, not_before, ip_address), S.rsa)
    return "Cookie: " + "; ".join(f"{k}={v}" for k, v in signed.cookies().items())


def query(url: str, canned: bool = False, expires: int = NOW + 600) -> str:
    policy = Policy.make_canned(url, expires) if canned else Policy.make_custom(url, expires)
    return "&".join(f"{k}={v}" for k, v in sign_policy(policy, S.ecdsa, HashAlgorithm.SHA256).params())


def served(request: bytes, world_: World = A, tls: bool = True, peer: str = UNTRUSTED_PEER) -> object:
    return expected(request, tls, peer, world_, NOW).served


def test_host_header_attack_public_cookies_never_open_another_path() -> None:
    public = cookies(f"{CDN}/public/*")
    assert served(raw("/public/logo.png", "Host: cdn.example.test", public)) == ("s3", "public/logo.png")
    attack = raw("/users/bob/photo.png", "Host: cdn.example.test/public", public)
    verdict = expected(attack, True, UNTRUSTED_PEER, A, NOW)
    assert verdict.served is None and verdict.statuses == {400}
    # The same cookies with the honest Host: signed behaviour, and the policy does not cover it.
    honest = expected(
        raw("/users/bob/photo.png", "Host: cdn.example.test", public), True, UNTRUSTED_PEER, A, NOW
    )
    assert honest.served is None and honest.codes == {"AccessDenied"}


@pytest.mark.parametrize(
    "vector",
    cloudfront_vectors(),
    ids=lambda v: v["name"],
)
def test_model_verifies_the_known_answer_vectors(vector: CloudFrontVector) -> None:
    keys = {s.key_pair_id: s.key.public_key() for s in (S.rsa, S.ecdsa)}
    scheme, rest = vector["url"].split("://")
    authority, _, path = rest.partition("/")
    url = RequestURL(scheme, authority, "/" + path, "")
    creds = {k.removeprefix("CloudFront-"): v for k, v in vector["cookies"].items()}
    viewer = "192.0.2.9"
    before = (vector["not_before"] or 0) + 1
    assert judge(creds, url, keys, viewer, before).allowed
    assert judge(creds, url, keys, viewer, vector["expires"]).codes == {"AccessDenied"}
    tampered = dict(creds, Signature=creds["Signature"][:-4] + "AAA_")
    assert not judge(tampered, url, keys, viewer, before).allowed
    if vector["ip"]:
        assert not judge(creds, url, keys, "198.51.100.1", before).allowed
    if vector["not_before"]:
        assert not judge(creds, url, keys, viewer, before - 1).allowed


def test_url_parameters_take_precedence_over_valid_cookies() -> None:
    valid = cookies(f"{CDN}/users/alice/*")
    assert served(raw("/users/alice/photo.png", "Host: cdn.example.test", valid)) == (
        "s3",
        "users/alice/photo.png",
    )
    for stray in ("Expires=1", "Hash-Algorithm=SHA256", "Key%2DPair-Id=x"):
        assert served(raw(f"/users/alice/photo.png?{stray}", "Host: cdn.example.test", valid)) is None


def test_duplicated_signing_parameters_are_refused_even_when_spelled_differently() -> None:
    signed = query(f"{CDN}/users/alice/*")
    assert served(raw(f"/users/alice/photo.png?{signed}", "Host: cdn.example.test")) == (
        "s3",
        "users/alice/photo.png",
    )
    twice = signed + "&Key%2DPair-Id=" + S.ecdsa.key_pair_id
    assert served(raw(f"/users/alice/photo.png?{twice}", "Host: cdn.example.test")) is None


def test_cookie_sets_are_judged_whole_and_capped_at_four() -> None:
    mine = cookies(f"{CDN}/users/alice/*").removeprefix("Cookie: ")
    expired = "; ".join(
        f"{k}={v}"
        for k, v in sign_policy(Policy.make_custom(f"{CDN}/users/*", NOW - 1), S.rsa).cookies().items()
    )
    two = raw("/users/alice/photo.png", "Host: cdn.example.test", f"Cookie: {expired}; {mine}")
    assert served(two) == ("s3", "users/alice/photo.png")
    five = raw(
        "/users/alice/photo.png", "Host: cdn.example.test", "Cookie: " + "; ".join([expired] * 4 + [mine])
    )
    assert served(five) is None
    # A set missing its signature does not borrow one from the next set.
    policy_only = mine.split("; ")[0]
    mixed = raw("/users/bob/photo.png", "Host: cdn.example.test", f"Cookie: {expired}; {policy_only}")
    assert served(mixed) is None


@pytest.mark.parametrize(
    ("target", "behaviour_signed", "key"),
    [
        ("/public/..%2Fusers/bob/secret.txt", True, None),  # resolves into the signed default; key refused
        ("/public/%2e%2e/users/bob/secret.txt", True, None),
        ("/public//logo.png", False, None),  # an empty segment is never an object key
        ("/%70ublic/logo.png", False, "public/logo.png"),
        ("/public/logo.png/.", False, None),
    ],
)
def test_paths_are_decoded_and_normalised_for_behaviours_but_keys_are_never_resolved(
    target: str, behaviour_signed: bool, key: str | None
) -> None:
    verdict = expected(raw(target, "Host: cdn.example.test"), True, UNTRUSTED_PEER, A, NOW)
    assert ("signed" in verdict.why[0]) is behaviour_signed
    assert verdict.served == (("s3", key) if key else None)


def test_encoded_path_selects_the_signed_behaviour_in_layout_b() -> None:
    assert served(raw("/misc/item.txt", "Host: cdn.example.test"), B) == ("s3", "misc/item.txt")
    assert served(raw("/%75sers/alice/photo.png", "Host: cdn.example.test"), B) is None
    assert served(raw("/tiles/readme.txt", "Host: cdn.example.test"), B) == ("s3", "tiles/readme.txt")
    assert served(raw("/tiles/1/0/0.png", "Host: cdn.example.test"), B) is None


@pytest.mark.parametrize(
    ("scheme", "value", "canonical"),
    [
        ("https", "CDN.Example.Test.", "cdn.example.test"),
        ("https", "cdn.example.test:443", "cdn.example.test"),
        ("https", "cdn.example.test:", "cdn.example.test"),
        ("http", "cdn.example.test:08080", "cdn.example.test:8080"),
        ("http", "[2001:DB8:0:0:0:0:0:7]:80", "[2001:db8::7]"),
    ],
)
def test_host_canonical_spelling(scheme: str, value: str, canonical: str) -> None:
    assert canonical_host(scheme, value) == canonical


@pytest.mark.parametrize(
    "host",
    [
        "user@cdn.example.test",
        "cdn.example.test/public",
        "cdn.example.test..",
        "[2001:db8::7%25eth0]",
        "cdn .example.test",
    ],
)
def test_malformed_host_is_400(host: str) -> None:
    verdict = expected(raw("/public/logo.png", f"Host: {host}"), True, UNTRUSTED_PEER, A, NOW)
    assert verdict.served is None and verdict.statuses == {400}


def test_absolute_form_names_the_authority_and_must_match_the_scheme() -> None:
    target = "https://cdn.example.test/public/logo.png"
    assert served(raw(target, "Host: evil.example")) == ("s3", "public/logo.png")
    assert served(raw("https://evil.example/public/logo.png", "Host: cdn.example.test")) is None
    assert served(raw("http://cdn.example.test/public/logo.png", "Host: cdn.example.test")) is None
    assert served(raw("*", "Host: cdn.example.test", method="OPTIONS")) is None


def test_forwarded_proto_counts_only_from_a_trusted_peer() -> None:
    request = raw("/public/logo.png", "Host: cdn.example.test", "X-Forwarded-Proto: https")
    assert served(request, tls=False, peer=TRUSTED_PEER) == ("s3", "public/logo.png")
    assert served(request, tls=False, peer=UNTRUSTED_PEER) is None  # http://cdn.example.test is not served
    both = raw(
        "/public/logo.png", "Host: cdn.example.test", "X-Forwarded-Proto: https", "X-Forwarded-Proto: http"
    )
    assert served(both, tls=False, peer=TRUSTED_PEER) is None  # the rightmost value is the proxy's


def test_ip_bound_policy_uses_the_address_the_trusted_proxy_appended_last() -> None:
    bound = cookies("http://cdn.example.test:8080/users/alice/*", ip_address=GRANTED_IP)

    def request(*xff: str) -> bytes:
        return raw(
            "/users/alice/photo.png",
            "Host: cdn.example.test:8080",
            bound,
            *(f"X-Forwarded-For: {v}" for v in xff),
        )

    assert served(request(GRANTED_IP), tls=False, peer=TRUSTED_PEER) == ("s3", "users/alice/photo.png")
    assert served(request(GRANTED_IP), tls=False, peer=UNTRUSTED_PEER) is None
    assert served(request(f"{GRANTED_IP}, {OTHER_IP}"), tls=False, peer=TRUSTED_PEER) is None
    assert (
        served(request(GRANTED_IP, OTHER_IP), tls=False, peer=TRUSTED_PEER) is None
    )  # two field lines: one list


@pytest.mark.parametrize(
    ("resource", "url", "covers"),
    [
        ("https://cdn.example.test/users/alice/*", "https://cdn.example.test/users/alice/a?x=1", True),
        ("https://cdn.example.test/users/alice/*", "https://cdn.example.test/users/alicex/p.txt", False),
        (
            "https://cdn.example.test/users/alice/p.txt",
            "https://cdn.example.test/users/alice/p.txt?x=1",
            False,
        ),
        ("https://cdn.example.test*", "https://cdn.example.test:8443/any/path?q", True),
        ("*cdn.example.test/users/*", "http://cdn.example.test/users/x", True),
        ("https://cdn.example.tes?/users/*", "https://cdn.example.test/users/x", True),
        ("https://cdn.example.test/users/*/photo.png", "https://cdn.example.test/users/a/b/photo.png", True),
        (
            "https://cdn.example.test/users/*/photo.png",
            "https://cdn.example.test/users/a/photo.png?v=1",
            False,
        ),
        ("https://cdn.example.test/p.png?v=*", "https://cdn.example.test/p.png?v=2", True),
        ("*", "http://anything.example/x", True),
    ],
)
def test_resource_wildcards_are_section_wise(resource: str, url: str, covers: bool) -> None:
    scheme, rest = url.split("://")
    authority, _, path_query = rest.partition("/")
    path, _, query_ = ("/" + path_query).partition("?")
    assert resource_covers(resource, scheme, authority, path, query_) is covers


def test_normalise_merges_slashes_before_resolving_dot_segments() -> None:
    assert normalise("/a//../b") == "/b"
    assert normalise("/users/alice/..") == "/users/"
    assert normalise("/../../x") == "/x"


def test_methods_outside_cloudfronts_set_reach_no_origin() -> None:
    assert served(raw("/api/x", "Host: cdn.example.test", method="POST")) == ("origin", "POST", "/api/x")
    assert served(raw("/api/x", "Host: cdn.example.test", method="PROPFIND")) is None
    assert expected(
        raw("/public/logo.png", "Host: cdn.example.test", method="POST"), True, UNTRUSTED_PEER, A, NOW
    ).statuses == {405}
