"""Our SHA-1 RSA URLs are byte-identical to botocore's CloudFrontSigner."""

from __future__ import annotations

import datetime as dt

from botocore.signers import CloudFrontSigner
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from gateway.signing.cloudfront import sign_policy
from gateway.signing.crypto import KeySigner
from gateway.signing.encoding import object_url
from gateway.signing.policy import Policy
from tests.conftest import load_vector_rsa_key

KEY = load_vector_rsa_key("test-rsa-2048.pem")
BASE = "https://d111111abcdef8.cloudfront.net"


def _botocore() -> CloudFrontSigner:
    return CloudFrontSigner("K2TESTRSA00001", lambda m: KEY.sign(m, padding.PKCS1v15(), hashes.SHA1()))


def _utc(epoch: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).replace(tzinfo=None)


def test_canned_url_matches_botocore() -> None:
    ours = KeySigner("K2TESTRSA00001", KEY)
    for key in ["tiles/3/4/2.png", "photos/my file.jpg", "users/alice/ü+x.png", "a/b'c(1).png"]:
        url = object_url(BASE, key)
        expected = _botocore().generate_presigned_url(url, date_less_than=_utc(1893456000))
        assert sign_policy(Policy.make_canned(url, 1893456000), ours).url(url) == expected


def test_canned_url_with_a_query_string_matches_botocore() -> None:
    """Issue 12 item 11: botocore signs a canned URL with its query; so do we, byte for byte."""
    ours = KeySigner("K2TESTRSA00001", KEY)
    for query in ["v=3", "v=3&lang=en%20us", "a=1?b=2", "flag=", "x=%2A"]:
        url = object_url(BASE, "tiles/3/4/2.png") + "?" + query
        expected = _botocore().generate_presigned_url(url, date_less_than=_utc(1893456000))
        assert sign_policy(Policy.make_canned(url, 1893456000), ours).url(url) == expected


def test_custom_url_matches_botocore() -> None:
    ours = KeySigner("K2TESTRSA00001", KEY)
    url = object_url(BASE, "tiles/3/4/2.png")
    cases = [
        (f"{BASE}/tiles/*", None, None),
        (f"{BASE}/tiles/*", 1861920000, None),
        (f"{BASE}/tiles/*", None, "192.0.2.10"),
        (f"{BASE}/users/alice/*", 1861920000, "198.51.100.0/24"),
    ]
    for resource, not_before, ip in cases:
        signer = _botocore()
        policy = signer.build_policy(resource, _utc(1893456000), _utc(not_before) if not_before else None, ip)
        expected = signer.generate_presigned_url(url, policy=policy)
        ours_url = sign_policy(Policy.make_custom(resource, 1893456000, not_before, ip), ours).url(url)
        assert ours_url == expected
