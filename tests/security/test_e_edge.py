"""Security catalogue E: the edge's verification and caching (cases 39-44)."""

from __future__ import annotations

import time
from typing import Any

from tests.edge.conftest import base_url, cookie_header, get, sign
from tests.edge.test_conformance import _code


async def test_case_39_the_cache_never_bypasses_verification(edge: Any) -> None:
    base = base_url(edge)
    valid = sign(f"{base}/users/alice/a.txt", canned=True)
    first = await get(edge, valid.url("/users/alice/a.txt"))
    assert first.status == 200 and first.headers["X-Cache"] == "Miss from cloudfront"
    bob = cookie_header(sign(f"{base}/users/bob/*"))
    expired = sign(f"{base}/users/alice/a.txt", canned=True, expires=int(time.time()) - 1)
    assert await _code(await get(edge, "/users/alice/a.txt")) == "MissingKey"
    assert await _code(await get(edge, expired.url("/users/alice/a.txt"))) == "AccessDenied"
    assert await _code(await get(edge, "/users/alice/a.txt", headers=bob)) == "AccessDenied"


async def test_case_40_cache_key_excludes_signatures_and_cookies(edge: Any) -> None:
    base = base_url(edge)
    one = sign(f"{base}/tiles/*")
    two = sign(f"{base}/tiles/*", expires=int(time.time()) + 900)
    assert (
        (await get(edge, "/tiles/1/0/0.png", headers=cookie_header(one)))
        .headers["X-Cache"]
        .startswith("Miss")
    )
    hit = await get(
        edge, "/tiles/1/0/0.png", headers={**cookie_header(two), "X-Forwarded-Host": "evil.example"}
    )
    assert hit.headers["X-Cache"].startswith("Hit") and int(hit.headers["Age"]) >= 0
    assert "evil.example" not in str(hit.headers)  # unkeyed headers are never reflected
    missing = sign(f"{base}/nothing/*")
    for _ in range(2):  # errors are not cached as objects
        response = await get(edge, "/nothing/here.png", headers=cookie_header(missing))
        assert response.status in (403, 404) and response.headers.get("X-Cache") != "Hit from cloudfront"


async def test_case_41_key_pair_id_handling(edge: Any) -> None:
    base = base_url(edge)
    good = sign(f"{base}/tiles/*").cookies()
    for value, code in [
        ("", "MissingKey"),
        ("UNKNOWN", "InvalidKey"),
        ("../../keys/private.pem", "InvalidKey"),
        ("K" * 4_000, "InvalidKey"),
    ]:
        cookies = dict(good, **{"CloudFront-Key-Pair-Id": value})
        header = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
        assert await _code(await get(edge, "/tiles/1/0/0.png", headers=header)) == code
    huge = {"Cookie": f"CloudFront-Key-Pair-Id={'K' * 10_000}"}
    assert (await get(edge, "/tiles/1/0/0.png", headers=huge)).status == 400  # refused by the parser


async def test_case_42_hash_algorithm_and_encoding_strictness(edge: Any) -> None:
    base = base_url(edge)
    signed = sign(f"{base}/users/alice/a.txt", canned=True)
    url = signed.url("/users/alice/a.txt")
    for suffix in [
        "&Hash-Algorithm=MD5",
        "&Hash-Algorithm=none",
        "&Hash-Algorithm=sha256",
        "&Hash-Algorithm=SHA256%20",
    ]:
        assert (await get(edge, url + suffix)).status == 403
    standard = url.replace("~", "/").replace("-", "+").replace("_", "=")
    assert (await get(edge, standard)).status == 403
    truncated = (
        url.replace("Signature=", "Signature=").split("&Key-Pair-Id")[0][:-8] + "&Key-Pair-Id=K2TESTRSA00001"
    )
    assert (await get(edge, truncated)).status == 403


async def test_case_43_expiry_is_checked_on_every_request_including_ranges(edge: Any) -> None:
    base = base_url(edge)
    soon = sign(f"{base}/users/alice/*", expires=int(time.time()) + 2)
    cookies = cookie_header(soon)
    assert (await get(edge, "/users/alice/a.txt", headers={**cookies, "Range": "bytes=0-3"})).status == 206
    time.sleep(2.5)
    assert (
        await _code(await get(edge, "/users/alice/a.txt", headers={**cookies, "Range": "bytes=4-7"}))
        == "AccessDenied"
    )
    assert await _code(await get(edge, "/users/alice/a.txt", headers=cookies)) == "AccessDenied"


def test_case_44_no_local_disk_bucket() -> None:
    # The edge keeps no files: objects come from S3 and small ones are cached in memory, so there
    # is no path on disk to traverse or symlink.  The key is decoded once and refused if it holds
    # a dot-segment, an empty segment or a backslash (test_case_13).
    from gateway.edge.viewer import object_key

    for raw in ["/a/../b", "/a/%2e%2e/b", "/a//b", "/a%5Cb", "/./a", "/a/.."]:
        assert object_key(raw) is None
    assert object_key("/users/alice/my%20file.png") == "users/alice/my file.png"
