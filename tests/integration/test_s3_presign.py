"""S3 presigning: the AWS documentation vector, and real requests against SeaweedFS.

moto checks no request signature unless told to (moto documentation, "IAM-like Access Control":
without INITIAL_NO_AUTH_ACTION_COUNT it never authenticates), so it is not used here.
"""

from __future__ import annotations

import json
import time
from typing import Any, TypedDict
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from devstack.seaweed import SeaweedFS
from gateway.service.s3client import S3Access
from gateway.signing.s3 import (
    MAX_PRESIGN_SECONDS,
    AwsCredentials,
    PresignError,
    S3Location,
    presign_delete,
    presign_get,
    presign_post,
    presign_put,
    presign_request,
)
from tests.conftest import VECTORS, stored


class _PostScope(TypedDict, total=False):
    """What presign_post's key and prefix arguments may be given as."""

    key: str
    prefix: str


def test_aws_documentation_vector() -> None:
    v = json.loads((VECTORS / "s3.json").read_text())
    creds = AwsCredentials(v["access_key"], v["secret_key"])
    location = S3Location(v["region"], v["endpoint_url"], "virtual")
    signed = presign_request(
        creds, location, "GET", v["bucket"], v["key"], now=v["now"], expires=v["now"] + v["expires_in"]
    )
    assert signed.url == v["url"]


def test_expiry_is_capped_at_7_days_and_at_the_credentials() -> None:
    location = S3Location()
    now = 1_800_000_000
    long = presign_get(AwsCredentials("AK", "SK"), location, "b", "k", now=now, expires=now + 10**7)
    assert long.expires == now + MAX_PRESIGN_SECONDS
    assert parse_qs(urlsplit(long.url).query)["X-Amz-Expires"] == [str(MAX_PRESIGN_SECONDS)]
    temporary = AwsCredentials("AK", "SK", "TOKEN", expires_at=now + 600)
    short = presign_get(temporary, location, "b", "k", now=now, expires=now + 3600)
    assert short.expires == now + 540 and "X-Amz-Security-Token=TOKEN" in short.url
    with pytest.raises(PresignError):
        presign_get(
            AwsCredentials("AK", "SK", "T", expires_at=now + 30),
            location,
            "b",
            "k",
            now=now,
            expires=now + 60,
        )


@pytest.fixture
def signer(seaweed: SeaweedFS) -> tuple[AwsCredentials, S3Location]:
    presigner = S3Access(S3Location(endpoint_url=seaweed.endpoint), seaweed.access_key, seaweed.secret_key)
    return presigner.credentials(), presigner.location


def _code(response: requests.Response) -> str:
    return response.text.split("<Code>", 1)[1].split("</Code>", 1)[0] if "<Code>" in response.text else ""


def test_put_get_delete_round_trip(seaweed: SeaweedFS, bucket: str, signer: Any) -> None:
    creds, location = signer
    now = int(time.time())
    key = "users/alice/my photo ü.png"
    put = presign_put(
        creds, location, bucket, key, now=now, expires=now + 300, content_type="image/png", content_length=5
    )
    assert set(parse_qs(urlsplit(put.url).query)["X-Amz-SignedHeaders"][0].split(";")) == {
        "content-length",
        "content-type",
        "host",
        "if-none-match",
    }
    assert requests.put(put.url, data=b"hello", headers=put.headers, timeout=10).status_code == 200
    # A replay cannot overwrite (security case 22).
    replay = requests.put(put.url, data=b"evil!", headers=put.headers, timeout=10)
    assert replay.status_code == 412
    get = presign_get(
        creds,
        location,
        bucket,
        key,
        now=now,
        expires=now + 300,
        content_disposition='attachment; filename="a.png"',
    )
    got = requests.get(get.url, timeout=10)
    assert got.content == b"hello" and got.headers["Content-Disposition"] == 'attachment; filename="a.png"'
    delete = presign_delete(creds, location, bucket, key, now=now, expires=now + 300)
    assert requests.delete(delete.url, timeout=10).status_code == 204
    assert stored(seaweed, bucket, key) is None


def test_put_rejections_store_nothing(seaweed: SeaweedFS, bucket: str, signer: Any) -> None:
    creds, location = signer
    now = int(time.time())
    put = presign_put(
        creds,
        location,
        bucket,
        "users/alice/a.png",
        now=now,
        expires=now + 300,
        content_type="image/png",
        content_length=5,
    )
    cases = [
        (
            put.url,
            dict(put.headers, **{"Content-Type": "text/html"}),
            b"<b>!"[:5].ljust(5),
            "SignatureDoesNotMatch",
        ),
        (put.url, put.headers, b"x" * 50, ""),  # size differs from the signed Content-Length
        (
            put.url.replace("users/alice/a.png", "users/bob/a.png"),
            put.headers,
            b"hello",
            "SignatureDoesNotMatch",
        ),
        (put.url[:-1] + ("0" if put.url[-1] != "0" else "1"), put.headers, b"hello", "SignatureDoesNotMatch"),
        (put.url, dict(put.headers, **{"x-amz-acl": "public-read"}), b"hello", ""),
    ]
    for url, headers, body, code in cases:
        response = requests.put(url, data=body, headers=headers, timeout=10)
        assert response.status_code in (400, 403), (response.status_code, response.text)
        if code:
            assert _code(response) == code
    assert stored(seaweed, bucket, "users/alice/a.png") is None
    assert stored(seaweed, bucket, "users/bob/a.png") is None


def test_expired_urls_are_refused(seaweed: SeaweedFS, bucket: str, signer: Any) -> None:
    creds, location = signer
    seaweed.client().put_object(Bucket=bucket, Key="k.txt", Body=b"keep")
    then = int(time.time()) - 120
    get = presign_get(creds, location, bucket, "k.txt", now=then, expires=then + 60)
    delete = presign_delete(creds, location, bucket, "k.txt", now=then, expires=then + 60)
    assert requests.get(get.url, timeout=10).status_code == 403
    assert requests.delete(delete.url, timeout=10).status_code == 403
    assert stored(seaweed, bucket, "k.txt") == b"keep"


def test_post_form_exact_key_and_prefix(seaweed: SeaweedFS, bucket: str, signer: Any) -> None:
    creds, location = signer
    now = int(time.time())
    exact = presign_post(
        creds,
        location,
        bucket,
        now=now,
        expires=now + 300,
        content_type="image/png",
        max_size=10,
        key="users/alice/exact.png",
    )

    def post(form: Any, body: bytes, **overrides: str) -> requests.Response:
        return requests.post(
            form.url,
            data=dict(form.fields, **overrides),
            files={"file": ("f.png", body, overrides.get("Content-Type", "image/png"))},
            timeout=10,
        )

    assert post(exact, b"12345").status_code == 204
    assert stored(seaweed, bucket, "users/alice/exact.png") == b"12345"
    rejected = [
        (post(exact, b"x" * 11), 400, "EntityTooLarge"),
        (post(exact, b""), 400, "EntityTooSmall"),
        (post(exact, b"123", key="users/bob/x.png"), 403, "AccessDenied"),
        (post(exact, b"123", **{"Content-Type": "image/svg+xml"}), 403, "AccessDenied"),
        (post(exact, b"123", acl="public-read"), 403, "AccessDenied"),
        (post(exact, b"123", **{"x-amz-meta-foo": "bar"}), 403, "AccessDenied"),
        (post(exact, b"123", **{"x-amz-signature": "0" * 64}), 403, "SignatureDoesNotMatch"),
    ]
    for response, status, code in rejected:
        assert (response.status_code, _code(response)) == (status, code)
    assert stored(seaweed, bucket, "users/bob/x.png") is None

    prefixed = presign_post(
        creds,
        location,
        bucket,
        now=now,
        expires=now + 300,
        content_type="image/png",
        max_size=10,
        prefix="users/alice/",
    )
    assert post(prefixed, b"abc").status_code == 204
    assert stored(seaweed, bucket, "users/alice/f.png") == b"abc"
    outside = post(prefixed, b"abc", key="users/alice2/x.png")
    assert (outside.status_code, _code(outside)) == (403, "AccessDenied")
    old = int(time.time()) - 120
    expired = presign_post(
        creds,
        location,
        bucket,
        now=old,
        expires=old + 60,
        content_type="image/png",
        max_size=10,
        key="users/alice/late.png",
    )
    assert post(expired, b"abc").status_code == 403
    assert stored(seaweed, bucket, "users/alice/late.png") is None


def test_post_refuses_wide_policies() -> None:
    creds, location = AwsCredentials("AK", "SK"), S3Location()
    scopes: list[_PostScope] = [
        {"prefix": ""},
        {"prefix": "users"},
        {"prefix": "/"},
        {},
        {"key": "a", "prefix": "b/"},
    ]
    for kwargs in scopes:
        with pytest.raises(PresignError):
            presign_post(
                creds, location, "b", now=0, expires=60, content_type="image/png", max_size=1, **kwargs
            )
