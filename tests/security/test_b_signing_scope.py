"""Security catalogue B: signing scope, CloudFront URLs, cookies and policies (cases 8-20)."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import quote

import pytest
from botocore.signers import CloudFrontSigner
from yarl import URL

from gateway.signing.encoding import cf_b64decode
from gateway.signing.policy import Policy, PolicyError
from gateway.signing.verify import ViewerRequest, verify_request
from gateway.signing.wildcard import resource_matches
from tests.conftest import load_vector_key
from tests.edge.conftest import base_url, cookie_header, get, sign
from tests.gateway.conftest import CDN, bearer

TRUSTED = {"K2TESTRSA00001": load_vector_key("test-rsa-2048.pem").public_key()}


async def _policies(client: Any, sub: str, prefixes: list[str], paths: list[str]) -> list[dict[str, Any]]:
    """Every policy the gateway emits for these requests, decoded."""
    found = []
    for prefix in prefixes:
        response = await client.post("/v1/cookies", json={"prefix": prefix}, headers=bearer(sub))
        if response.status == 200:
            found.append(json.loads(cf_b64decode(response.cookies["CloudFront-Policy"].value)))
    answer = await client.post(
        "/v1/signed-urls", json={"paths": paths, "policy": "custom"}, headers=bearer(sub)
    )
    for result in (await answer.json())["results"]:
        if "url" in result:
            found.append(json.loads(cf_b64decode(result["url"].split("Policy=")[1].split("&")[0])))
    return found


async def test_case_8_no_wildcards_from_keys(client: Any) -> None:
    # Attack: object keys that are themselves patterns.
    for path in ["*", "users/alice/*", "users/alice/a?c", "x*/../*", "[a-z]*"]:
        answer = await client.post("/v1/signed-urls", json={"paths": [path]}, headers=bearer("alice"))
        assert "url" not in (await answer.json())["results"][0]
    for prefix in ["*/", "users/*/", "users/alice/*/"]:
        response = await client.post("/v1/cookies", json={"prefix": prefix}, headers=bearer("alice"))
        assert response.status == 422


def test_case_9_a_literal_question_mark_is_never_signed() -> None:
    # botocore appends "&Policy=" after a literal "?" (boto/botocore#3377); we refuse such URLs.
    with pytest.raises(PolicyError):
        Policy.make_canned("https://cdn.test/users/alice/example_202?.zip", 10)
    signer = CloudFrontSigner("K", lambda m: b"sig")
    broken = signer.generate_presigned_url("https://cdn.test/a/example_202?.zip", policy='{"x":1}')
    assert "?.zip&Policy=" in broken  # what we avoid


async def test_case_10_json_injection_is_impossible(client: Any) -> None:
    evil = 'users/alice/a","Resource":"https://cdn.test/*'
    answer = await client.post(
        "/v1/signed-urls", json={"paths": [evil], "policy": "custom"}, headers=bearer("alice")
    )
    result = (await answer.json())["results"][0]
    if "url" in result:  # the quote is percent-encoded, so it stays inside the one Resource
        policy = json.loads(cf_b64decode(result["url"].split("Policy=")[1].split("&")[0]))
        assert len(policy["Statement"]) == 1 and policy["Statement"][0]["Resource"].startswith(
            f"{CDN}/users/alice/"
        )
        assert '"' not in policy["Statement"][0]["Resource"]


async def test_case_11_every_emitted_policy_has_one_scoped_resource(client: Any) -> None:
    policies = await _policies(
        client,
        "alice",
        ["users/alice/", "tiles/", "public/img/"],
        ["users/alice/a.png", "tiles/1/2/3.png", "public/x.png"],
    )
    assert len(policies) == 6
    for policy in policies:
        statement = policy["Statement"]
        assert len(statement) == 1 and statement[0]["Resource"].startswith(f"{CDN}/")
        assert statement[0]["Resource"].split("/")[3] in ("users", "tiles", "public")
        assert statement[0]["Condition"]["DateLessThan"]["AWS:EpochTime"] <= time.time() + 3600 + 600 + 1


async def test_case_12_query_smuggling_does_not_reach_the_origin(edge: Any) -> None:
    cookies = cookie_header(sign(f"{base_url(edge)}/users/alice/*"))
    for query in [
        "response-content-type=text/html&response-content-disposition=inline",
        "x-id=GetObject&versionId=1",
    ]:
        response = await get(edge, f"/users/alice/a.txt?{query}", headers=cookies)
        assert response.status == 200 and response.headers["Content-Type"] == "text/plain"
    canned = sign(f"{base_url(edge)}/users/alice/a.txt", canned=True)
    smuggled = await get(edge, canned.url("/users/alice/a.txt") + "&response-content-type=text/html")
    assert smuggled.status == 403


async def test_case_13_traversal_between_signer_verifier_and_fetcher(edge: Any) -> None:
    alice = cookie_header(sign(f"{base_url(edge)}/users/alice/*"))
    for path in [
        "/users/alice/..%2Fbob/secret.txt",
        "/users/alice/%2e%2e/bob/secret.txt",
        "/users/alice/../bob/secret.txt",
        "/users/alice/%252e%252e/bob/secret.txt",
        "/users//alice/x",
        "/users/alice/a%5C..%5Cbob",
    ]:
        response = await get(edge, path, headers=alice)
        assert response.status in (403, 404) and b"bob's secret" not in await response.read(), path


async def test_case_14_dot_segments_and_double_slashes_on_the_upload_side(client: Any) -> None:
    for path in ["../bob/x", "users/alice/../../bob/x", "./x", "users/alice//b", ".", "", "users/alice/."]:
        response = await client.post(
            "/v1/uploads",
            json={"path": path, "content_type": "image/png", "content_length": 1},
            headers=bearer("alice"),
        )
        assert response.status == 422, path


async def test_case_15_encoding_round_trip(client: Any) -> None:
    # The exact URL the gateway returns is what verifies; a re-encoded one does not.
    keys = ["users/alice/my file.jpg", "users/alice/a+b.jpg", "users/alice/it's.jpg", "users/alice/ü.jpg"]
    for key in keys:
        url = (
            await (await client.get("/v1/signed-url", params={"path": key}, headers=bearer("alice"))).json()
        )["url"]
        path_query = url.split(CDN, 1)[1]
        request = ViewerRequest("https", "cdn.test", path_query.split("?")[0], path_query.split("?")[1])
        assert verify_request(request, TRUSTED, int(time.time())).ok
        re_encoded = path_query.split("?")[0].replace("%20", "+")
        if re_encoded != path_query.split("?")[0]:
            bad = ViewerRequest("https", "cdn.test", re_encoded, path_query.split("?")[1])
            assert not verify_request(bad, TRUSTED, int(time.time())).ok
    nfd = "users/alice/u\u0308.jpg"  # NFD: refused, so one key has one spelling
    assert (await client.get("/v1/signed-url", params={"path": nfd}, headers=bearer("alice"))).status == 422


def test_case_16_case_and_glob_dialect() -> None:
    assert not resource_matches("https://cdn.test/users/alice/*", "https://cdn.test/users/Alice/x")
    assert not resource_matches("https://cdn.test/users/alice/*", "https://cdn.test/USERS/alice/x")
    assert not resource_matches("https://cdn.test/users/[ab]lice/*", "https://cdn.test/users/alice/x")


def test_case_17_no_regex_backtracking_and_signature_first() -> None:
    signed = sign("https://cdn.test/" + "*a" * 300 + "*b")
    request = ViewerRequest(
        "https",
        "cdn.test",
        "/" + "a" * 5000,
        signed.url("https://cdn.test/x").split("?")[1].replace("Signature=", "Signature=A"),
    )
    started = time.perf_counter()
    for _ in range(100):
        assert verify_request(request, TRUSTED, int(time.time())).error is not None
    assert (time.perf_counter() - started) / 100 < 0.01  # < 10 ms each


async def test_case_18_ip_condition_uses_the_socket_peer(edge: Any) -> None:
    from gateway.signing.cloudfront import sign_policy
    from tests.edge.conftest import SIGNER

    signed = sign_policy(
        Policy.make_custom(
            f"{base_url(edge)}/users/alice/*", int(time.time()) + 600, ip_address="203.0.113.7"
        ),
        SIGNER,
    )
    spoofed = await get(
        edge, "/users/alice/a.txt", headers={**cookie_header(signed), "X-Forwarded-For": "203.0.113.7"}
    )
    assert spoofed.status == 403  # the edge trusts no proxy headers by default
    loopback = sign_policy(
        Policy.make_custom(f"{base_url(edge)}/users/alice/*", int(time.time()) + 600, ip_address="127.0.0.1"),
        SIGNER,
    )
    assert (await get(edge, "/users/alice/a.txt", headers=cookie_header(loopback))).status == 200


async def test_case_19_expiry_tampering_fails_closed(edge: Any) -> None:
    canned = sign(f"{base_url(edge)}/users/alice/a.txt", canned=True)
    url = canned.url("/users/alice/a.txt")
    expires = str(canned.policy.date_less_than)
    for value in [str(int(expires) + 1), str(int(expires) - 1), "abc", "", "1e12", "-1", "99999999999999"]:
        assert (await get(edge, url.replace(f"Expires={expires}", f"Expires={value}"))).status == 403
    for duplicate in [f"&Expires={expires}", "&Signature=AAAA", "&Key-Pair-Id=K2TESTRSA00001"]:
        assert (await get(edge, url + duplicate)).status == 403


async def test_case_20_signed_url_parameters_win_over_cookies(edge: Any) -> None:
    cookies = cookie_header(sign(f"{base_url(edge)}/users/alice/*"))
    response = await get(
        edge, "/users/alice/a.txt?Expires=1&Signature=AAAA&Key-Pair-Id=K2TESTRSA00001", headers=cookies
    )
    assert response.status == 403
    target = URL(base_url(edge) + "/users/alice/a.txt?" + quote("Signature") + "=x", encoded=True)
    assert (await edge.session.get(target, headers=cookies)).status == 403
