"""Known-answer vectors (tests/vectors/cloudfront.json, made by openssl and python-ecdsa)."""

from __future__ import annotations

import pytest

from gateway.signing.cloudfront import sign_policy
from gateway.signing.crypto import HashAlgorithm, KeySigner
from gateway.signing.policy import Policy
from gateway.signing.verify import ViewerRequest, verify_request
from tests.conftest import CloudFrontVector, load_vector_key


def _policy(v: CloudFrontVector) -> Policy:
    if v["kind"] == "canned":
        return Policy.make_canned(v["url"], v["expires"])
    return Policy.make_custom(v["resource"], v["expires"], v["not_before"], v["ip"])


def _ids(vectors: list[CloudFrontVector]) -> list[str]:
    return [v["name"] for v in vectors]


def test_every_combination_is_covered(cf_vectors: list[CloudFrontVector]) -> None:
    combos = {(v["key_file"], v["hash"], v["kind"]) for v in cf_vectors}
    assert len(combos) == 8  # canned/custom x RSA/ECDSA x SHA-1/SHA-256


def test_policy_signature_url_and_cookies(cf_vectors: list[CloudFrontVector]) -> None:
    for v in cf_vectors:
        signer = KeySigner(v["key_pair_id"], load_vector_key(v["key_file"]))
        signed = sign_policy(_policy(v), signer, HashAlgorithm(v["hash"]))
        assert signed.policy_bytes.decode() == v["policy"], v["name"]
        assert signed.signature == v["signature"], v["name"]
        assert signed.url(v["url"]) == v["signed_url"], v["name"]
        assert signed.cookies() == v["cookies"], v["name"]


@pytest.mark.parametrize("mode", ["url", "cookie"])
def test_vectors_verify(cf_vectors: list[CloudFrontVector], mode: str) -> None:
    for v in cf_vectors:
        key = load_vector_key(v["key_file"]).public_key()
        scheme, rest = v["signed_url"].split("://", 1)
        host, _, path_query = rest.partition("/")
        path, _, query = ("/" + path_query).partition("?")
        if mode == "cookie":
            request = ViewerRequest(scheme, host, path, "", tuple(v["cookies"].items()), "192.0.2.7")
        else:
            request = ViewerRequest(scheme, host, path, query, (), "192.0.2.7")
        verdict = verify_request(request, {v["key_pair_id"]: key}, now=v["expires"] - 10)
        assert verdict.ok, (v["name"], verdict.detail)
