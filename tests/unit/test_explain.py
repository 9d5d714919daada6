"""``explain`` tells the verifier's own steps: one case per cause of a 403, each naming the check
that refused, CloudFront's code and what differs; hints that look further than the verifier.
(Its agreement with ``verify_request`` on generated requests: test_explain_parts.py.)"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from gateway.signing.cloudfront import SignedPolicy, sign_policy
from gateway.signing.crypto import HashAlgorithm, KeySigner
from gateway.signing.encoding import cf_b64encode
from gateway.signing.explain import Explanation, explain
from gateway.signing.policy import Policy
from gateway.signing.verify import ViewerRequest, verify_request
from tests.conftest import load_vector_key

RSA = KeySigner("KRSA", load_vector_key("test-rsa-2048.pem"))
EC = KeySigner("KEC", load_vector_key("test-ecdsa-p256.pem"))
TRUSTED = {"KRSA": RSA.key.public_key()}
HOST = "cdn.example.com"
NOW = 1_800_000_000
LATER = NOW + 600


def _custom(
    resource: str,
    expires: int = LATER,
    signer: KeySigner = RSA,
    not_before: int | None = None,
    ip_address: str | None = None,
) -> SignedPolicy:
    return sign_policy(Policy.make_custom(resource, expires, not_before, ip_address), signer)


def _cookies(signed: SignedPolicy) -> tuple[tuple[str, str], ...]:
    return tuple(signed.cookies().items())


def _query(params: list[tuple[str, str]]) -> str:
    return "&".join(f"{name}={value}" for name, value in params)


def _raw_policy(document: bytes, hash_algorithm: HashAlgorithm = HashAlgorithm.SHA1) -> str:
    """A policy signed byte for byte by a trusted key, to reach the parser past the signature."""
    signature = cf_b64encode(RSA.sign(document, hash_algorithm))
    return f"Policy={cf_b64encode(document)}&Signature={signature}&Key-Pair-Id=KRSA"


GRANT = _custom(f"https://{HOST}/tiles/*")
PARAMS = dict(GRANT.params())
TWO_STATEMENTS = (
    b'{"Statement":[{"Resource":"https://cdn.example.com/*","Condition":{"DateLessThan":'
    b'{"AWS:EpochTime":1800003600}}},{"Resource":"*","Condition":{"DateLessThan":{"AWS:EpochTime":1}}}]}'
)
SHA256_CANNED = sign_policy(
    Policy.make_canned(f"https://{HOST}/tiles/1.png", LATER), RSA, HashAlgorithm.SHA256
)


def _request(query: str = "", cookies: tuple[tuple[str, str], ...] = (), **change: Any) -> ViewerRequest:
    request = ViewerRequest("https", HOST, "/tiles/1.png", query, cookies, "192.0.2.7")
    return dataclasses.replace(request, **change)


# (name, request, now, code, failing check, words the failing line must hold)
CASES: list[tuple[str, ViewerRequest, int, str, str, str]] = [
    (
        "no Key-Pair-Id",
        _request(cookies=_cookies(GRANT)[:2]),
        NOW,
        "MissingKey",
        "key-pair-id",
        "no Key-Pair-Id",
    ),
    (
        "unknown key",
        _request(cookies=(*_cookies(GRANT)[:2], ("CloudFront-Key-Pair-Id", "KOTHER"))),
        NOW,
        "InvalidKey",
        "key",
        "KOTHER is not a trusted key; trusted: KRSA",
    ),
    (
        "signature not CloudFront base64",
        _request(_query([("Policy", PARAMS["Policy"]), ("Signature", "ab+c"), ("Key-Pair-Id", "KRSA")])),
        NOW,
        "MalformedSignature",
        "signature-encoding",
        "character 3 is '+'",
    ),
    (
        "policy not base64",
        _request(_query([("Policy", "!!!"), ("Signature", PARAMS["Signature"]), ("Key-Pair-Id", "KRSA")])),
        NOW,
        "MalformedPolicy",
        "policy-encoding",
        "Policy is not CloudFront base64",
    ),
    ("policy not JSON", _request(_raw_policy(b"not json")), NOW, "MalformedPolicy", "policy", "not JSON"),
    (
        "two statements",
        _request(_raw_policy(TWO_STATEMENTS)),
        NOW,
        "MalformedPolicy",
        "policy",
        "exactly one statement",
    ),
    (
        "signature over other bytes",
        _request(
            _query(
                [
                    ("Policy", PARAMS["Policy"]),
                    ("Signature", dict(_custom(f"https://{HOST}/*").params())["Signature"]),
                    ("Key-Pair-Id", "KRSA"),
                ]
            )
        ),
        NOW,
        "AccessDenied",
        "signature",
        "does not verify with KRSA (SHA1) over the Policy bytes",
    ),
    (
        "hash algorithm mismatch",
        _request(_query([p for p in SHA256_CANNED.params() if p[0] != "Hash-Algorithm"])),
        NOW,
        "AccessDenied",
        "signature",
        "does not verify with KRSA (SHA1) over the canned policy",
    ),
    (
        "expired",
        _request(cookies=_cookies(GRANT)),
        LATER + 192,
        "AccessDenied",
        "date-less-than",
        "expired 3 min 12 s ago",
    ),
    (
        "not yet valid",
        _request(cookies=_cookies(_custom(f"https://{HOST}/tiles/*", not_before=NOW + 300))),
        NOW,
        "AccessDenied",
        "date-greater-than",
        "valid in 5 min 1 s",
    ),
    (
        "resource differs by one character",
        _request(cookies=_cookies(_custom(f"https://{HOST}/tiles/1.jpg"))),
        NOW,
        "AccessDenied",
        "resource",
        "the path differs at character 33 of the request URL ('p')",
    ),
    (
        "wrong scheme",
        _request(cookies=_cookies(GRANT), scheme="http"),
        NOW,
        "AccessDenied",
        "resource",
        "the protocol differs at character 5 of the request URL (':')",
    ),
    (
        "wrong host",
        _request(cookies=_cookies(GRANT), host="cdn.example.org"),
        NOW,
        "AccessDenied",
        "resource",
        "the domain differs at character 21",
    ),
    (
        "IP not allowed",
        _request(cookies=_cookies(_custom(f"https://{HOST}/tiles/*", ip_address="198.51.100.0/24"))),
        NOW,
        "AccessDenied",
        "ip-address",
        "the viewer 192.0.2.7 is not in 198.51.100.0/24",
    ),
    (
        "stray Expires in the query beside valid cookies",
        _request("Expires=1800000600", _cookies(GRANT)),
        NOW,
        "MissingKey",
        "key-pair-id",
        "no Key-Pair-Id in the URL parameters: it holds Expires",
    ),
]


def _failing_line(told: Explanation) -> str:
    return next(line.text for line in told.lines if line.status == "FAIL")


def _hints(told: Explanation) -> list[str]:
    return [line.text for line in told.lines if line.status == "hint"]


@pytest.mark.parametrize(
    ("request_", "now", "code", "check", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_each_cause_names_the_check_and_the_code(
    request_: ViewerRequest, now: int, code: str, check: str, words: str
) -> None:
    told = explain(request_, TRUSTED, now)
    verdict = verify_request(request_, TRUSTED, now)
    assert verdict.error is not None and verdict.error.code == code  # the edge's own answer
    assert (told.code, told.failed) == (code, check)
    assert words in _failing_line(told)
    assert told.summary.startswith(f"{code}: {check}: ")


def test_hints_look_further_than_the_verifier() -> None:
    by_name = {name: explain(request, TRUSTED, now) for name, request, now, *_ in CASES}
    assert any(
        "it verifies with SHA256" in h and "Hash-Algorithm=SHA256" in h
        for h in _hints(by_name["hash algorithm mismatch"])
    )
    assert "signature was made over other bytes" in " ".join(_hints(by_name["signature over other bytes"]))
    stray = by_name["stray Expires in the query beside valid cookies"]
    assert "the 3 CloudFront-* cookies are ignored" in next(
        line.text for line in stray.lines if line.check == "source"
    )
    assert "without it they would be accepted" in stray.summary
    # A signature by another trusted key than the one named.
    both = {**TRUSTED, "KEC": EC.key.public_key()}
    signed = dict(_custom(f"https://{HOST}/tiles/*", signer=EC).params())
    told = explain(
        _request(
            _query(
                [("Policy", signed["Policy"]), ("Signature", signed["Signature"]), ("Key-Pair-Id", "KRSA")]
            )
        ),
        both,
        NOW,
    )
    assert any("it verifies with trusted key KEC" in h for h in _hints(told))
    # Milliseconds where seconds belong: valid for millennia, so only a hint.
    millis = explain(
        _request(cookies=_cookies(_custom(f"https://{HOST}/tiles/*", expires=NOW * 1000))), TRUSTED, NOW
    )
    assert millis.code == "OK" and any("milliseconds?" in h for h in _hints(millis))


def test_retired_key_is_named_from_the_keyring() -> None:
    request = _request(cookies=(*_cookies(GRANT)[:2], ("CloudFront-Key-Pair-Id", "KOLD")))
    told = explain(request, TRUSTED, NOW, {"KOLD": "retired, rsa-2048, id KOLD"})
    assert (told.code, told.failed) == ("InvalidKey", "key")
    assert "KOLD is not a trusted key (keyring: retired" in _failing_line(told)


def test_a_served_request_tells_every_check_it_passed() -> None:
    told = explain(_request(cookies=_cookies(GRANT)), TRUSTED, NOW)
    assert told.code == "OK" and told.failed is None
    checks = [line.check for line in told.lines if line.status == "ok"]
    assert checks == [
        "source",
        "key-pair-id",
        "key",
        "hash-algorithm",
        "signature-encoding",
        "policy-encoding",
        "signature",
        "policy",
        "resource",
        "date-less-than",
    ]
    signature = next(line for line in told.lines if line.check == "signature")
    assert '      "Resource": "https://cdn.example.com/tiles/*",' in signature.more  # the policy, pretty
    assert "valid for another 10 min" in next(
        line.text for line in told.lines if line.check == "date-less-than"
    )


def test_cookie_sets_are_told_one_by_one_and_the_first_refusal_is_the_answer() -> None:
    expired = _custom(f"https://{HOST}/tiles/*", expires=NOW - 5)
    other = _custom(f"https://{HOST}/maps/*")
    told = explain(_request(cookies=(*_cookies(expired), *_cookies(other))), TRUSTED, NOW)
    assert (told.code, told.failed) == ("AccessDenied", "date-less-than")
    outcomes = [line.text for line in told.lines if line.check == "outcome"]
    assert outcomes == [
        "set 1: AccessDenied (expired)",
        "set 2: AccessDenied (resource does not match the policy)",
    ]


def test_the_summary_is_one_line_whatever_the_request_holds() -> None:
    request = _request(cookies=(*_cookies(GRANT)[:2], ("CloudFront-Key-Pair-Id", "%0D%0ASet-Cookie:%20a=1")))
    summary = explain(request, TRUSTED, NOW).summary
    assert summary.isprintable() and summary.isascii() and "\\x0d\\x0aSet-Cookie" in summary
