"""The verifier applies CloudFront's rules (docs/design.md, "Verification") and its error codes."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from gateway.signing.cloudfront import SignedPolicy, sign_policy
from gateway.signing.crypto import HashAlgorithm, KeySigner
from gateway.signing.encoding import cf_b64encode
from gateway.signing.policy import Policy
from gateway.signing.verify import ErrorCode, ViewerRequest, verify_request
from tests.conftest import load_vector_key

RSA = KeySigner("KRSA", load_vector_key("test-rsa-2048.pem"))
EC = KeySigner("KEC", load_vector_key("test-ecdsa-p256.pem"))
TRUSTED = {"KRSA": RSA.key.public_key(), "KEC": EC.key.public_key()}
HOST = "cdn.example.com"
NOW = 1_800_000_000
EXP = NOW + 3600


def url_request(signed: SignedPolicy, path: str, extra: str = "", ip: str = "192.0.2.7") -> ViewerRequest:
    query = signed.url(f"https://{HOST}{path}" + (f"?{extra}" if extra else "")).split("?", 1)[1]
    return ViewerRequest("https", HOST, path, query, (), ip)


def cookie_request(signed: SignedPolicy, path: str, query: str = "", ip: str = "192.0.2.7") -> ViewerRequest:
    return ViewerRequest("https", HOST, path, query, tuple(signed.cookies().items()), ip)


def code(request: ViewerRequest, now: int = NOW) -> str:
    verdict = verify_request(request, TRUSTED, now)
    return "OK" if verdict.ok else verdict.error.code if verdict.error else "?"


@pytest.mark.parametrize("signer", [RSA, EC], ids=["rsa", "ecdsa"])
@pytest.mark.parametrize("hash_algorithm", list(HashAlgorithm))
def test_accepts_what_the_signer_emits(signer: KeySigner, hash_algorithm: HashAlgorithm) -> None:
    canned = sign_policy(Policy.make_canned(f"https://{HOST}/a/b.png", EXP), signer, hash_algorithm)
    assert code(url_request(canned, "/a/b.png")) == "OK"
    assert code(cookie_request(canned, "/a/b.png")) == "OK"
    custom = sign_policy(
        Policy.make_custom(f"https://{HOST}/a/*", EXP, NOW - 60, "192.0.2.0/24"), signer, hash_algorithm
    )
    assert code(url_request(custom, "/a/b/c.png")) == "OK"
    assert code(cookie_request(custom, "/a/b/c.png", "x=1")) == "OK"


def _tamper(query: str, name: str, change: Callable[[str], str]) -> str:
    parts = []
    for part in query.split("&"):
        key, _, value = part.partition("=")
        parts.append(f"{key}={change(value)}" if key == name else part)
    return "&".join(parts)


def _flip(value: str) -> str:
    return ("B" if value[5] != "B" else "C").join([value[:5], value[6:]])


@pytest.mark.parametrize(
    ("field", "change", "expected"),
    [
        ("Expires", lambda v: str(int(v) + 1), "AccessDenied"),
        ("Expires", lambda v: str(int(v) - 1), "AccessDenied"),
        ("Signature", _flip, "AccessDenied"),
        (
            "Signature",
            lambda v: v.replace("-", "+").replace("~", "/").replace("_", "="),
            "MalformedSignature",
        ),
        ("Signature", lambda v: "", "MalformedSignature"),
        ("Key-Pair-Id", lambda v: "KOTHER", "InvalidKey"),
        ("Key-Pair-Id", lambda v: "../../keys/private.pem", "InvalidKey"),
        ("Key-Pair-Id", lambda v: "", "MissingKey"),
        ("Expires", lambda v: "abc", "AccessDenied"),
        ("Expires", lambda v: "-1", "AccessDenied"),
        ("Expires", lambda v: "1e12", "AccessDenied"),
        ("Expires", lambda v: "99999999999999999999", "AccessDenied"),
    ],
)
def test_tampered_canned_url(field: str, change: Callable[[str], str], expected: str) -> None:
    signed = sign_policy(Policy.make_canned(f"https://{HOST}/a/b.png", EXP), RSA)
    request = url_request(signed, "/a/b.png")
    tampered = ViewerRequest("https", HOST, "/a/b.png", _tamper(request.raw_query, field, change))
    assert code(tampered) == expected


@pytest.mark.parametrize(
    ("query_change", "expected"),
    [
        (lambda q: _tamper(q, "Policy", _flip), "AccessDenied"),
        (lambda q: _tamper(q, "Policy", lambda v: "!!!"), "MalformedPolicy"),
        (lambda q: q + "&Hash-Algorithm=SHA256", "AccessDenied"),  # duplicate parameter
        (lambda q: _tamper(q, "Hash-Algorithm", lambda v: "sha256"), "AccessDenied"),
        (lambda q: _tamper(q, "Hash-Algorithm", lambda v: "MD5"), "AccessDenied"),
        (lambda q: _tamper(q, "Hash-Algorithm", lambda v: "SHA1"), "AccessDenied"),
        (lambda q: q + "&Signature=AAAA", "AccessDenied"),
        (lambda q: "&".join(p for p in q.split("&") if not p.startswith("Key-Pair-Id")), "MissingKey"),
        (lambda q: "&".join(p for p in q.split("&") if not p.startswith("Signature")), "MalformedSignature"),
        (lambda q: "&".join(p for p in q.split("&") if not p.startswith("Policy")), "AccessDenied"),
    ],
)
def test_tampered_custom_url(query_change: Callable[[str], str], expected: str) -> None:
    signed = sign_policy(Policy.make_custom(f"https://{HOST}/a/*", EXP), RSA, HashAlgorithm.SHA256)
    request = url_request(signed, "/a/b.png")
    assert code(ViewerRequest("https", HOST, "/a/b.png", query_change(request.raw_query))) == expected


def test_times_ip_and_keys() -> None:
    signed = sign_policy(Policy.make_custom(f"https://{HOST}/a/*", EXP, NOW, "192.0.2.0/24"), EC)
    assert code(url_request(signed, "/a/x"), now=NOW + 1) == "OK"
    assert code(url_request(signed, "/a/x"), now=EXP) == "AccessDenied"  # expiry is exclusive
    assert code(url_request(signed, "/a/x"), now=NOW) == "AccessDenied"  # "on or before" DateGreaterThan
    assert code(url_request(signed, "/a/x", ip="198.51.100.9"), now=NOW + 1) == "AccessDenied"
    assert code(url_request(signed, "/a/x", ip="2001:db8::1"), now=NOW + 1) == "AccessDenied"
    canned = sign_policy(Policy.make_canned(f"https://{HOST}/a/b.png", EXP), RSA)
    assert code(url_request(canned, "/a/b.png"), now=EXP) == "AccessDenied"
    assert (
        verify_request(url_request(canned, "/a/b.png"), {"KEC": TRUSTED["KEC"]}, NOW).error
        is ErrorCode.INVALID_KEY
    )


@pytest.mark.parametrize(
    "path",
    ["/a/c.png", "/A/b.png", "/a/b.png/", "/a/b%2Epng", "/a//b.png", "/a/../a/b.png"],
)
def test_canned_covers_exactly_one_url(path: str) -> None:
    canned = sign_policy(Policy.make_canned(f"https://{HOST}/a/b.png", EXP), RSA)
    request = url_request(canned, "/a/b.png")
    assert code(ViewerRequest("https", HOST, path, request.raw_query)) == "AccessDenied"
    # A canned cookie is for one URL too; an extra query string changes the URL.
    assert code(cookie_request(canned, path)) == "AccessDenied"
    assert code(cookie_request(canned, "/a/b.png", "x=1")) == "AccessDenied"


@pytest.mark.parametrize(
    ("host", "path", "ok"),
    [
        (HOST, "/users/alice/x.png", True),
        (HOST, "/users/alice/", True),
        (HOST, "/users/alice", False),
        (HOST, "/users/alice2/x.png", False),
        (HOST, "/users/Alice/x.png", False),
        (HOST, "/USERS/alice/x.png", False),
        (HOST, "/users/bob/x.png", False),
        ("cdn.example.com.evil.test", "/users/alice/x.png", False),
        ("other.example.com", "/users/alice/x.png", False),
    ],
)
def test_custom_wildcard_scope(host: str, path: str, ok: bool) -> None:
    signed = sign_policy(Policy.make_custom(f"https://{HOST}/users/alice/*", EXP), RSA)
    request = ViewerRequest("https", host, path, "", tuple(signed.cookies().items()))
    assert (code(request) == "OK") is ok
    assert code(ViewerRequest("http", HOST, "/users/alice/x", "", tuple(signed.cookies().items()))) != "OK"


def test_url_takes_precedence_over_cookies() -> None:
    # Valid cookies do not rescue a request whose query names a signing parameter (security case 20).
    signed = sign_policy(Policy.make_custom(f"https://{HOST}/a/*", EXP), RSA)
    cookies = tuple(signed.cookies().items())
    for query in ["Expires=1&Signature=AAAA&Key-Pair-Id=KRSA", "Key-Pair-Id=KRSA", "Signature=x"]:
        assert code(ViewerRequest("https", HOST, "/a/b", query, cookies)) != "OK"
    assert code(ViewerRequest("https", HOST, "/a/b", "size=2", cookies)) == "OK"


def test_duplicated_cookie_sets_are_judged_one_whole_set_at_a_time() -> None:
    """Grants for nested paths reach the edge as two sets, the more specific path's first."""
    inner = sign_policy(Policy.make_custom(f"https://{HOST}/a/b/*", EXP), EC)
    outer = sign_policy(Policy.make_custom(f"https://{HOST}/a/*", EXP), RSA)
    expired = sign_policy(Policy.make_custom(f"https://{HOST}/a/b/*", NOW - 1), EC)

    def both(first: SignedPolicy, second: SignedPolicy) -> tuple[tuple[str, str], ...]:
        return (*first.cookies().items(), *second.cookies().items())

    assert code(ViewerRequest("https", HOST, "/a/b/c", "", both(inner, outer))) == "OK"
    # The first set no longer works (it expired): the second, whole and valid, still does.
    assert code(ViewerRequest("https", HOST, "/a/b/c", "", both(expired, outer))) == "OK"
    assert code(ViewerRequest("https", HOST, "/a/x", "", both(inner, outer))) == "OK"
    # Never a mix: one grant's policy with another's signature is no set at all.
    mixed = (
        ("CloudFront-Policy", inner.cookies()["CloudFront-Policy"]),
        ("CloudFront-Signature", outer.cookies()["CloudFront-Signature"]),
        ("CloudFront-Key-Pair-Id", "KRSA"),
        ("CloudFront-Policy", outer.cookies()["CloudFront-Policy"]),
        ("CloudFront-Signature", inner.cookies()["CloudFront-Signature"]),
        ("CloudFront-Key-Pair-Id", "KEC"),
    )
    assert code(ViewerRequest("https", HOST, "/a/b/c", "", mixed)) == "AccessDenied"
    # A failing request reports the first set's reason.
    assert code(ViewerRequest("https", HOST, "/z", "", both(expired, outer))) == "AccessDenied"
    # Four sets at most: a fifth costs nothing but a refusal (no signature check per copy).
    flood = tuple(item for _ in range(5) for item in expired.cookies().items()) + tuple(
        outer.cookies().items()
    )
    assert code(ViewerRequest("https", HOST, "/a/b/c", "", flood)) == "AccessDenied"
    assert code(ViewerRequest("https", HOST, "/a/b", "", ())) == "MissingKey"


def test_duplicated_signing_parameters_in_a_url_are_refused() -> None:
    signed = sign_policy(Policy.make_canned(f"https://{HOST}/a/b", EXP), RSA)
    query = signed.url(f"https://{HOST}/a/b").split("?", 1)[1]
    assert code(ViewerRequest("https", HOST, "/a/b", query, ())) == "OK"
    assert code(ViewerRequest("https", HOST, "/a/b", query + "&Key-Pair-Id=KRSA", ())) == "AccessDenied"


def test_percent_encoded_expires_is_judged_not_crashed() -> None:
    signed = sign_policy(Policy.make_canned(f"https://{HOST}/a/b", EXP), RSA)
    query = signed.url(f"https://{HOST}/a/b").split("?", 1)[1].replace("Expires=1", "Expires=%31", 1)
    assert code(ViewerRequest("https", HOST, "/a/b", query, ())) == "OK"
    assert code(ViewerRequest("https", HOST, "/a/b", query, ()), now=EXP) == "AccessDenied"


class _RawSigner:
    """Signs arbitrary policy bytes with a trusted key, to reach the parser past the signature."""

    key_pair_id = "KRSA"

    def __init__(self, policy: bytes) -> None:
        self.policy = policy

    def query(self) -> str:
        return (
            f"Policy={cf_b64encode(self.policy)}&Signature="
            f"{cf_b64encode(RSA.sign(self.policy, HashAlgorithm.SHA1))}&Key-Pair-Id=KRSA"
        )


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        # Duplicate Resource: a parser keeping the last one would widen the grant (case 10).
        (
            b'{"Statement":[{"Resource":"https://cdn.example.com/a/*","Resource":"https://cdn.example.com/*",'
            b'"Condition":{"DateLessThan":{"AWS:EpochTime":1800003600}}}]}',
            "MalformedPolicy",
        ),
        (
            b'{"Statement":[{"Resource":"https://cdn.example.com/*","Condition":{"DateLessThan":'
            b'{"AWS:EpochTime":1800003600}}},{"Resource":"*","Condition":{}}]}',
            "MalformedPolicy",
        ),
        (
            b'{"Statement":[{"Resource":"https://cdn.example.com/*","Condition":{"DateLessThan":'
            b'{"AWS:EpochTime":"1800003600"}}}]}',
            "MalformedPolicy",
        ),
        (
            b'{"Statement":[{"Resource":"https://cdn.example.com/*","Condition":{"DateLessThan":'
            b'{"AWS:EpochTime":1800003600000.5}}}]}',
            "MalformedPolicy",
        ),
        (
            b'{"Statement":[{"Resource":"https://cdn.example.com/*","Condition":{"DateLessThan":'
            b'{"AWS:EpochTime":1800003600},"StringLike":{}}}]}',
            "MalformedPolicy",
        ),
        (b'{"Statement":[{"Resource":"https://cdn.example.com/*","Condition":{}}]}', "MalformedPolicy"),
        (b"not json", "MalformedPolicy"),
        (
            b'{"Statement":[{"Resource":"https://cdn.example.com/*","Condition":{"DateLessThan":'
            b'{"AWS:EpochTime":1800003600},"IpAddress":{"AWS:SourceIp":"2001:db8::/32"}}}]}',
            "MalformedPolicy",
        ),
        # CloudFront: no Resource means every URL.  Verified as such; our signer never emits it.
        (b'{"Statement":[{"Condition":{"DateLessThan":{"AWS:EpochTime":1800003600}}}]}', "OK"),
    ],
)
def test_signed_but_malformed_policies(policy: bytes, expected: str) -> None:
    query = _RawSigner(policy).query()
    assert code(ViewerRequest("https", HOST, "/a/b", query)) == expected


def test_pathological_wildcard_is_fast() -> None:
    # Security case 17: "*a*a*a...b" against a long run of "a" must not backtrack exponentially,
    # whether or not the signature is valid.
    resource = f"https://{HOST}/" + "*a" * 200 + "*b"
    path = "/" + "a" * 20000
    signed = sign_policy(Policy.make_custom(resource, EXP), RSA)
    forged = url_request(signed, path).raw_query.replace("Signature=", "Signature=AAAA")
    for query in [url_request(signed, path).raw_query, forged]:
        started = time.perf_counter()
        assert code(ViewerRequest("https", HOST, path, query)) == "AccessDenied"
        assert time.perf_counter() - started < 0.25
