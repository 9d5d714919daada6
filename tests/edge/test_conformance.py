"""The edge behaves like CloudFront (docs/design.md, "The edge"; threat model cases 13, 20, 39-43)."""

from __future__ import annotations

from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from gateway.signing.crypto import HashAlgorithm, KeySigner
from tests.conftest import load_vector_key
from tests.edge.conftest import base_url, cookie_header, get, sign

Client = TestClient[Any, Any]


async def _code(response: ClientResponse) -> str:
    text = await response.text()
    assert response.status == 403 and response.content_type == "text/xml", (response.status, text)
    assert (
        "Access-Control-Allow-Origin" not in response.headers and response.headers["Server"] == "CloudFront"
    )
    return text.split("<Code>")[1].split("</Code>")[0]


async def test_each_error_code_from_its_cause(edge: Client) -> None:
    base = base_url(edge)
    good = sign(f"{base}/tiles/*")
    assert await _code(await get(edge, "/tiles/1/0/0.png")) == "MissingKey"
    unknown = sign(f"{base}/tiles/*", signer=KeySigner("KUNKNOWN", load_vector_key("test-rsa-2048.pem")))
    assert await _code(await get(edge, "/tiles/1/0/0.png", headers=cookie_header(unknown))) == "InvalidKey"
    bad_sig = dict(good.cookies(), **{"CloudFront-Signature": "not+base64="})
    header = {"Cookie": "; ".join(f"{k}={v}" for k, v in bad_sig.items())}
    assert await _code(await get(edge, "/tiles/1/0/0.png", headers=header)) == "MalformedSignature"
    bad_policy = dict(good.cookies(), **{"CloudFront-Policy": "%%%"})
    header = {"Cookie": "; ".join(f"{k}={v}" for k, v in bad_policy.items())}
    assert await _code(await get(edge, "/tiles/1/0/0.png", headers=header)) == "MalformedPolicy"
    expired = sign(f"{base}/tiles/*", expires=1_000_000_000)
    assert await _code(await get(edge, "/tiles/1/0/0.png", headers=cookie_header(expired))) == "AccessDenied"
    ok = await get(edge, "/tiles/1/0/0.png", headers=cookie_header(good))
    assert ok.status == 200 and await ok.read() == b"tile-100"


async def test_url_parameters_take_precedence_over_cookies(edge: Client) -> None:
    base = base_url(edge)
    cookies = cookie_header(sign(f"{base}/tiles/*"))
    # Security case 20: a garbage signed URL is judged alone, valid cookies notwithstanding.
    response = await get(
        edge, "/tiles/1/0/0.png?Expires=1&Signature=AAAA&Key-Pair-Id=K2TESTRSA00001", headers=cookies
    )
    assert await _code(response) == "AccessDenied"
    signed_url = sign(f"{base}/tiles/1/0/0.png", canned=True, hash_algorithm=HashAlgorithm.SHA256)
    response = await get(edge, signed_url.url("/tiles/1/0/0.png"))
    assert response.status == 200


async def test_canned_cookie_only_for_its_url(edge: Client) -> None:
    base = base_url(edge)
    canned = cookie_header(sign(f"{base}/tiles/1/0/0.png", canned=True))
    assert (await get(edge, "/tiles/1/0/0.png", headers=canned)).status == 200
    assert await _code(await get(edge, "/tiles/1/0/1.png", headers=canned)) == "AccessDenied"
    assert await _code(await get(edge, "/tiles/1/0/0.png?v=2", headers=canned)) == "AccessDenied"


async def test_custom_wildcard_scope(edge: Client) -> None:
    alice = cookie_header(sign(f"{base_url(edge)}/users/alice/*"))
    response = await get(edge, "/users/alice/a.txt", headers=alice)
    assert response.status == 200 and await response.read() == b"alice's file"
    assert await _code(await get(edge, "/users/bob/secret.txt", headers=alice)) == "AccessDenied"
    assert await _code(await get(edge, "/users/alice2/x", headers=alice)) == "AccessDenied"


async def test_traversal_never_reaches_another_prefix(edge: Client) -> None:
    alice = cookie_header(sign(f"{base_url(edge)}/users/alice/*"))
    for path in [
        "/users/alice/../bob/secret.txt",
        "/users/alice/%2e%2e/bob/secret.txt",
        "/users/alice/%2E%2E/bob/secret.txt",
        "/users/alice/..%2Fbob/secret.txt",
        "/users/alice/%252e%252e/bob/secret.txt",
        "/users/alice//../bob/secret.txt",
        "/users/alice/a%5C..%5C..%5Cbob%5Csecret.txt",
        "/users/alice/./../bob/secret.txt",
    ]:
        response = await get(edge, path, headers=alice)
        body = await response.read()
        assert b"bob's secret" not in body, path
        assert response.status in (403, 404), (path, response.status)


async def test_signed_parameters_stripped_and_cache_never_bypasses_verification(edge: Client) -> None:
    base = base_url(edge)
    first = sign(f"{base}/tiles/1/0/0.png", canned=True)
    second = sign(f"{base}/tiles/1/0/0.png", canned=True, expires=first.policy.date_less_than + 5)
    miss = await get(edge, first.url("/tiles/1/0/0.png"))
    assert miss.headers["X-Cache"] == "Miss from cloudfront"
    hit = await get(edge, second.url("/tiles/1/0/0.png"))  # a different signature: same cache entry
    assert hit.headers["X-Cache"] == "Hit from cloudfront" and "Age" in hit.headers
    assert await hit.read() == b"tile-100"
    # Security case 39: the cached object is not served without a valid signature.
    assert await _code(await get(edge, "/tiles/1/0/0.png")) == "MissingKey"
    expired = sign(f"{base}/tiles/1/0/0.png", canned=True, expires=1_000_000_000)
    assert await _code(await get(edge, expired.url("/tiles/1/0/0.png"))) == "AccessDenied"
    bob = cookie_header(sign(f"{base}/users/bob/*"))
    assert await _code(await get(edge, "/tiles/1/0/0.png", headers=bob)) == "AccessDenied"


async def test_viewer_query_not_forwarded_unless_configured(edge: Client) -> None:
    cookies = cookie_header(sign(f"{base_url(edge)}/users/alice/*"))
    response = await get(
        edge, "/users/alice/a.txt?response-content-type=text/html&x-id=GetObject", headers=cookies
    )
    assert response.status == 200 and response.headers["Content-Type"] == "text/plain"
    forwarded = cookie_header(sign(f"{base_url(edge)}/query/*"))
    response = await get(edge, "/query/q.txt?response-content-type=text/csv", headers=forwarded)
    assert response.headers["Content-Type"] == "text/csv"


async def test_headers_ranges_and_conditionals(edge: Client) -> None:
    cookies = cookie_header(sign(f"{base_url(edge)}/users/alice/*"))
    full = await get(edge, "/users/alice/a.txt", headers=cookies)
    etag = full.headers["ETag"]
    for name in ("Last-Modified", "Content-Type", "Cache-Control"):
        assert name in full.headers
    assert (
        full.headers["X-Content-Type-Options"] == "nosniff"
        and "sandbox" in full.headers["Content-Security-Policy"]
    )
    part = await get(edge, "/users/alice/a.txt", headers={**cookies, "Range": "bytes=0-4"})
    assert (
        part.status == 206
        and await part.read() == b"alice"
        and part.headers["Content-Range"].startswith("bytes 0-4/")
    )
    for _ in range(2):  # from the origin, then from the cache
        same = await get(edge, "/users/alice/a.txt", headers={**cookies, "If-None-Match": etag})
        assert same.status == 304
    head = await edge.session.head(base_url(edge) + "/users/alice/a.txt", headers=cookies)
    assert head.status == 200 and int(head.headers["Content-Length"]) == len(b"alice's file")


async def test_public_behavior_and_missing_objects(edge: Client) -> None:
    response = await get(edge, "/public/logo.png")
    assert response.status == 200 and await response.read() == b"logo"
    missing = await get(edge, "/public/none.png")
    assert missing.status in (403, 404) and missing.headers.get("X-Cache") != "Hit from cloudfront"
    again = await get(edge, "/public/none.png")
    assert again.headers.get("X-Cache") != "Hit from cloudfront"  # errors are not cached as objects
    assert (await edge.post("/public/logo.png")).status == 405


async def test_large_objects_stream_without_caching(edge: Client) -> None:
    cookies = cookie_header(sign(f"{base_url(edge)}/big/*"))
    for _ in range(2):
        response = await get(edge, "/big/blob.bin", headers=cookies)
        assert response.status == 200 and response.headers["X-Cache"] == "Miss from cloudfront"
        assert len(await response.read()) == 3_000_000


async def test_html_is_sandboxed(edge: Client) -> None:
    # Security case 36: uploaded HTML must not run script in the CDN origin.
    response = await get(edge, sign(f"{base_url(edge)}/page.html", canned=True).url("/page.html"))
    assert response.status == 200 and "sandbox" in response.headers["Content-Security-Policy"]
