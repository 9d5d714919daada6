"""Property tests (hypothesis): what the signer emits verifies for exactly its URL; path
validation never admits a key that could widen a policy; canonicalisation is idempotent."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.rules.paths import PathError, validate_key
from gateway.signing.cloudfront import sign_policy
from gateway.signing.crypto import HashAlgorithm, KeySigner
from gateway.signing.encoding import encode_key, object_url, requote_url
from gateway.signing.policy import Policy
from gateway.signing.verify import ViewerRequest, verify_request
from gateway.signing.wildcard import resource_matches
from tests.conftest import load_vector_key

SIGNERS = [
    KeySigner("KRSA", load_vector_key("test-rsa-2048.pem")),
    KeySigner("KEC", load_vector_key("test-ecdsa-p256.pem")),
]
TRUSTED = {s.key_pair_id: s.key.public_key() for s in SIGNERS}
NOW = 1_800_000_000
BASE = "https://cdn.test"

segment = st.text(
    st.characters(
        codec="utf-8", exclude_categories=("Cc", "Cf", "Cs", "Zl", "Zp"), exclude_characters="/*?\\%"
    ),
    min_size=1,
    max_size=12,
).filter(lambda s: s not in (".", ".."))
keys = st.lists(segment, min_size=1, max_size=4).map("/".join).filter(lambda k: _valid(k))


def _valid(key: str) -> bool:
    try:
        validate_key(key)
    except PathError:
        return False
    return True


def _request(url: str) -> ViewerRequest:
    rest = url.removeprefix("https://cdn.test")
    path, _, query = rest.partition("?")
    return ViewerRequest("https", "cdn.test", path, query)


def _mutations(url: str, start: int) -> list[str]:
    out = []
    for i in range(start, len(url)):
        for replacement in ("A", "0", "%", "-"):
            if url[i] != replacement:
                out.append(url[:i] + replacement + url[i + 1 :])
                break
    return out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    key=keys,
    signer=st.sampled_from(SIGNERS),
    hash_algorithm=st.sampled_from(list(HashAlgorithm)),
    canned=st.booleans(),
)
def test_signed_url_verifies_for_exactly_itself(
    key: str, signer: KeySigner, hash_algorithm: HashAlgorithm, canned: bool
) -> None:
    url = object_url(BASE, key)
    policy = Policy.make_canned(url, NOW + 600) if canned else Policy.make_custom(url, NOW + 600)
    signed_url = sign_policy(policy, signer, hash_algorithm).url(url)
    assert verify_request(_request(signed_url), TRUSTED, NOW).ok
    # Every single-character change of the path, the query or a signing parameter fails.
    for mutated in _mutations(signed_url, len(BASE)):
        assert not verify_request(_request(mutated), TRUSTED, NOW).ok, mutated


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_validation_never_admits_a_widening_key(text: str) -> None:
    try:
        key = validate_key(text)
    except PathError:
        return
    segments = key.split("/")
    inner = segments[:-1] if key.endswith("/") else segments  # "a/" names a folder object
    assert not any(s in (".", "..", "") for s in inner)
    assert "*" not in key and "?" not in key and "\\" not in key and not key.startswith("/")
    url = object_url(BASE, key)
    assert "*" not in url and "?" not in url  # a resource built from it has no wildcard
    assert not resource_matches(url, object_url(BASE, key + "x"))
    assert not resource_matches(url, object_url(BASE, key) + "/x")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_canonicalisation_is_idempotent(text: str) -> None:
    url = "https://cdn.test/" + text
    once = requote_url(url)
    assert requote_url(once) == once and once.isascii()
    encoded = encode_key(text)
    assert encoded.isascii() and requote_url(encoded) == encoded
