"""Issue 12 items 7, 8 and 9: a grant lives no longer than any rule it covers; cookie grants are
never nested (the broadest readable prefix is granted, leftovers below it are expired); cookies a
browser would drop are refused with 422 before anything is set."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pytest_aiohttp import AiohttpClient

from gateway.rules.access import ANONYMOUS, Principal
from gateway.rules.load import parse_rules
from gateway.service.app import create_app
from gateway.service.settings import CookieSettings
from gateway.signing.cloudfront import COOKIE_PREFIX, SIGNING_PARAMS
from gateway.signing.encoding import cf_b64decode
from tests.gateway.conftest import CDN, RULES, bearer, make_settings

NESTED = """
[[rules]]
prefix = "tiles/live/"
read = "authenticated"
grant_seconds = 60

[[rules]]
prefix = "shared/{group}/live/"
read = "authenticated"
grant_seconds = 90

[[rules]]
prefix = "public/news/"
read = "anyone"
grant_seconds = 120
"""


async def _client(aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path, **cookies: Any) -> Any:
    settings = make_settings(tmp_path, keyring_dir, None, "b")
    settings.rules_file.write_text(RULES + NESTED)
    if cookies:
        settings = dataclasses.replace(settings, cookies=CookieSettings(**cookies))
    return await aiohttp_client(create_app(settings))


def _policy_expiry(response: Any) -> int:
    policy = json.loads(cf_b64decode(response.cookies["CloudFront-Policy"].value))
    return int(policy["Statement"][0]["Condition"]["DateLessThan"]["AWS:EpochTime"])


def _set_cookies(response: Any) -> list[tuple[str, str, str]]:
    """(name, value, path) of every Set-Cookie, in order."""
    found = []
    for header in response.headers.getall("Set-Cookie", []):
        pair, *attributes = header.split("; ")
        name, _, value = pair.partition("=")
        path = next(a.split("=", 1)[1] for a in attributes if a.startswith("Path="))
        found.append((name, value, path))
    return found


async def test_a_cookie_lives_no_longer_than_any_rule_below_it(
    aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path
) -> None:
    client = await _client(aiohttp_client, tmp_path, keyring_dir)
    now = time.time()
    # (who: a subject, a subject with groups or a guest; prefix; the longest life any grant may
    # have, None: window + grace)
    cases: list[tuple[str | tuple[str, list[str]] | None, str, int | None]] = [
        ("alice", "tiles/", 60),  # tiles/live/ (60 s) lies below tiles/
        ("alice", "tiles/live/", 60),
        ("alice", "tiles/3/", 60),  # widened to tiles/, so tiles/live/ counts too
        (("carol", ["red"]), "shared/red/", 90),  # a templated rule below it, for any group
        (None, "public/news/", 120),
        (None, "public/img/", 300),  # guests: the guest window
        ("alice", "users/alice/", None),  # nothing shorter below
    ]
    for who, prefix, lifetime in cases:
        headers = {} if who is None else bearer(*who) if isinstance(who, tuple) else bearer(who)
        response = await client.post("/v1/cookies", json={"prefix": prefix}, headers=headers)
        assert response.status == 200, (who, prefix, await response.text())
        body = await response.json()
        assert body["expires"] == _policy_expiry(response)
        longest = lifetime or 3600 + 600
        shortest = min(600, longest // 2)  # at the very end of its window: the grace left
        assert shortest - 1 < body["expires"] - now <= longest + 1, (who, prefix, body["expires"] - now)
    url = await client.get("/v1/signed-url", params={"path": "tiles/live/a.png"}, headers=bearer("alice"))
    assert (await url.json())["expires"] - now <= 120 + 1
    plain = await client.get("/v1/signed-url", params={"path": "tiles/1/a.png"}, headers=bearer("alice"))
    assert (await plain.json())["expires"] - now > 600  # the full window: only wildcards cover rules below


async def test_nested_asks_get_the_broadest_grant_and_clear_leftovers(
    aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path
) -> None:
    client = await _client(aiohttp_client, tmp_path, keyring_dir)
    alice = bearer("alice")
    broad = await client.post("/v1/cookies", json={"prefix": "tiles/"}, headers=alice)
    narrow = await client.post("/v1/cookies", json={"prefix": "tiles/3/"}, headers=alice)
    assert (await broad.json())["prefix"] == (await narrow.json())["prefix"] == "tiles/"
    assert (await narrow.json())["resource"] == f"{CDN}/tiles/*"
    granted = [c for c in _set_cookies(narrow) if c[1]]
    assert granted == _set_cookies(broad) and {path for _, _, path in granted} == {"/tiles/"}
    cleared = [c for c in _set_cookies(narrow) if not c[1]]
    assert {path for _, _, path in cleared} == {"/tiles/3/"}
    assert {name for name, _, _ in cleared} == {f"{COOKIE_PREFIX}{name}" for name in SIGNING_PARAMS}
    assert all("Max-Age=0" in h for h in narrow.headers.getall("Set-Cookie") if "Path=/tiles/3/;" in h)

    # A guest's narrower grant, then sign-in: the user's grant is broader and expires the guest's.
    guest = await client.post("/v1/cookies", json={"prefix": "public/img/x/"})
    assert (await guest.json())["prefix"] == "public/img/"  # public/staff/ keeps guests off public/
    assert {p for _, v, p in _set_cookies(guest) if v} == {"/public/img/"}
    user = await client.post("/v1/cookies", json={"prefix": "public/img/x/"}, headers=alice)
    assert (await user.json())["prefix"] == "public/"
    assert {p for _, v, p in _set_cookies(user) if v} == {"/public/"}
    assert {p for _, v, p in _set_cookies(user) if not v} == {"/public/img/", "/public/img/x/"}
    # The granted set comes last, so a client reading one value per name reads the grant.
    assert user.cookies["CloudFront-Policy"].value

    own = await client.post("/v1/cookies", json={"prefix": "users/alice/photos/"}, headers=alice)
    assert (await own.json())["prefix"] == "users/alice/"  # users/ is not hers as a whole
    for who, prefix, status in [(alice, "users/bob/x/", 403), ({}, "tiles/3/", 401)]:
        refused = await client.post("/v1/cookies", json={"prefix": prefix}, headers=who)
        assert refused.status == status and "Set-Cookie" not in refused.headers


async def test_a_fixed_cookie_path_is_never_cleared_by_a_widened_grant(
    aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path
) -> None:
    client = await _client(aiohttp_client, tmp_path, keyring_dir, path="/")
    response = await client.post("/v1/cookies", json={"prefix": "tiles/3/"}, headers=bearer("alice"))
    assert (await response.json())["prefix"] == "tiles/"
    assert [path for _, value, path in _set_cookies(response)] == ["/"] * 4
    assert all(value for _, value, _ in _set_cookies(response))


@pytest.mark.parametrize("fixed_path", ["", "/"])
async def test_cookies_a_browser_would_drop_are_refused(
    aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path, fixed_path: str
) -> None:
    client = await _client(aiohttp_client, tmp_path, keyring_dir, path=fixed_path)
    # 1,024 bytes of UTF-8, the longest prefix allowed, in one segment: a guest cannot read all of
    # public/ (public/staff/ is for users), so this very prefix is what would be granted.
    longest = "public/é" + "€" * 338 + "/"
    assert len(longest.encode()) == 1024
    response = await client.post("/v1/cookies", json={"prefix": longest})
    assert response.status == 422 and response.content_type == "application/problem+json"
    assert "Set-Cookie" not in response.headers
    body = await response.json()
    assert "signed URLs" in body["detail"] and "shorter prefix" in body["detail"]
    assert body["prefix"] == longest
    # A prefix that fits is granted, and every cookie is within what browsers keep.
    short = "public/" + "€" * 20 + "/"
    fine = await client.post("/v1/cookies", json={"prefix": short})
    assert fine.status == 200 and (await fine.json())["prefix"] == short
    assert all(len(h.encode()) <= 4096 for h in fine.headers.getall("Set-Cookie"))


SEGMENTS = st.sampled_from(["a", "b", "c"])


@st.composite
def _rule_tables(draw: st.DrawFn) -> dict[str, str]:
    """A valid rule over segments a-c, sometimes with one {sub}/{group} (never for "anyone")."""
    segments = draw(st.lists(SEGMENTS, min_size=1, max_size=3))
    placeholder = draw(st.sampled_from([None, "{sub}", "{group}"]))
    if placeholder is not None:
        segments[draw(st.integers(0, len(segments) - 1))] = placeholder
    audiences = ["authenticated"] if placeholder else ["anyone", "authenticated"]
    table = {"prefix": "/".join(segments) + "/"}
    read = draw(st.sampled_from([*audiences, None]))
    return table if read is None else {**table, "read": read}


def _brute_force(rules: Any, prefix: str, principal: Principal) -> str | None:
    bounds = [i + 1 for i, ch in enumerate(prefix) if ch == "/"]
    return next((prefix[:b] for b in bounds if rules.decide_prefix(prefix[:b], principal).allowed), None)


@settings(max_examples=500, deadline=None)
@given(
    tables=st.lists(_rule_tables(), min_size=1, max_size=6, unique_by=lambda t: t["prefix"]),
    sub=st.sampled_from([None, "a", "b"]),
    groups=st.lists(SEGMENTS, max_size=2),
    data=st.data(),
)
def test_broadest_readable_is_the_shortest_allowed_ancestor(
    tables: list[dict[str, str]], sub: str | None, groups: list[str], data: st.DataObject
) -> None:
    rules = parse_rules({"rules": tables})
    principal = ANONYMOUS if sub is None else Principal(sub, tuple(groups))
    # Mostly below some rule (where the answers are), with a few more segments; else anywhere.
    start = data.draw(st.sampled_from([t["prefix"] for t in tables] + [""]))
    start = start.replace("{sub}", sub or "a").replace("{group}", (groups or ["b"])[0])
    path = start + "".join(
        s + "/" for s in data.draw(st.lists(SEGMENTS, min_size=0 if start else 1, max_size=3))
    )
    assert rules.broadest_readable(path, principal) == _brute_force(rules, path, principal)
