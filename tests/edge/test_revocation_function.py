"""The CloudFront Function and the local edge refuse and allow the same requests.

``deploy/cloudfront/revocation.js`` runs under node (a shim stands in for ``cloudfront.kvs()``)
against the vectors below, and :func:`gateway.edge.revocation.judge` against the same ones; both
must give each vector's expected answer.  Every grant is really signed, as the gateway signs it.
The function reads the query through ``rawQueryString()`` (runtime 2.0); without it, it falls
back to the parsed ``querystring``, whose names CloudFront may pass decoded or as sent: either
way, that fallback never allows what the edge refuses.
"""

from __future__ import annotations

import base64
import json
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from gateway.common.revocation import MAX_TAG, TAG_EPOCH, RevocationWatcher, Revoked, make_tag, not_before
from gateway.edge.responses import denied
from gateway.edge.revocation import judge
from gateway.signing.cloudfront import sign_policy
from gateway.signing.crypto import HashAlgorithm
from gateway.signing.policy import Policy
from gateway.signing.verify import ErrorCode, ViewerRequest
from tests.edge.conftest import SIGNER

ROOT = Path(__file__).resolve().parents[2]
FUNCTION = ROOT / "deploy/cloudfront/revocation.js"
HARNESS = Path(__file__).parent / "cffunction"
NOW = 1_800_000_000
RESOURCE = "https://cdn.example.com/users/alice/*"
ALICE, BOB, SHARE = make_tag(7, share=False), make_tag(8, share=False), make_tag(9, share=True)
REVOKED = {str(BOB): NOW + 600, str(SHARE): NOW + 600, str(make_tag(10, False)): NOW - 1}


def _signed(not_before_value: int | None, resource: str = RESOURCE) -> dict[str, str]:
    policy = Policy.make_custom(resource, NOW + 3600, not_before_value)
    return dict(sign_policy(policy, SIGNER, HashAlgorithm.SHA256).params())


def _cookies(*grants: dict[str, str]) -> list[tuple[str, str]]:
    return [(f"CloudFront-{name}", value) for grant in grants for name, value in grant.items()]


def _query(grant: dict[str, str], encode: bool = False) -> str:
    return "&".join(f"{name}={quote(value, safe='') if encode else value}" for name, value in grant.items())


def _spelled(name: str, rng: random.Random | None = None) -> str:
    """``name`` with every character (or, given ``rng``, a random choice of them) percent-encoded,
    in upper- or lower-case hex: the same parameter to the edge, which decodes names."""
    out = []
    for char in name:
        if rng is None or rng.random() < 0.5:
            escaped = f"%{ord(char):02X}"
            out.append(escaped.lower() if rng is not None and rng.random() < 0.5 else escaped)
        else:
            out.append(char)
    return "".join(out)


def _renamed(grant: dict[str, str], rng: random.Random | None = None, only: str | None = None) -> str:
    return "&".join(
        f"{_spelled(name, rng) if only in (None, name) else name}={value}" for name, value in grant.items()
    )


def _raw_policy(doc: object) -> str:
    return base64.b64encode(json.dumps(doc).encode()).decode().translate(str.maketrans("+=/", "-_~"))


def _doc(after: object, statements: int = 1) -> dict[str, Any]:
    condition = {"DateLessThan": {"AWS:EpochTime": NOW + 60}, "DateGreaterThan": {"AWS:EpochTime": after}}
    return {"Statement": [{"Resource": RESOURCE, "Condition": condition}] * statements}


UNTAGGED = _signed(NOW - 60)
TAGGED_ALICE, TAGGED_BOB = _signed(not_before(ALICE)), _signed(not_before(BOB))
TAGGED_SHARE, EXPIRED_REVOCATION = _signed(not_before(SHARE)), _signed(not_before(make_tag(10, False)))
CANNED = {"Expires": str(NOW + 60), "Signature": "x", "Key-Pair-Id": SIGNER.key_pair_id}

# (name, raw query, cookies, expected: "allow" or 403)
VECTORS: list[tuple[str, str, list[tuple[str, str]], object]] = [
    ("untagged cookie grant", "", _cookies(UNTAGGED), "allow"),
    ("tagged, not revoked", "", _cookies(TAGGED_ALICE), "allow"),
    ("tagged and revoked", "", _cookies(TAGGED_BOB), 403),
    ("share tag revoked", "", _cookies(TAGGED_SHARE), 403),
    ("revocation already over", "", _cookies(EXPIRED_REVOCATION), "allow"),
    ("two cookie sets, the second revoked", "", _cookies(TAGGED_ALICE, TAGGED_BOB), 403),
    ("signed URL, revoked", _query(TAGGED_BOB), [], 403),
    ("signed URL percent-encoded, revoked", _query(TAGGED_BOB, encode=True), [], 403),
    ("signed URL governs over a revoked cookie", _query(TAGGED_ALICE), _cookies(TAGGED_BOB), "allow"),
    ("revoked signed URL beside a good cookie", "a=1&" + _query(TAGGED_BOB), _cookies(TAGGED_ALICE), 403),
    ("canned URL: no policy, no tag", _query(CANNED), _cookies(TAGGED_BOB), "allow"),
    ("any signing parameter makes a URL", "Hash-Algorithm=SHA256", _cookies(TAGGED_BOB), "allow"),
    ("undecodable policy is left to verification", "", [("CloudFront-Policy", "%%%not*base64")], "allow"),
    ("not JSON", "", [("CloudFront-Policy", "bm90IGpzb24_")], "allow"),
    ("two statements", "", [("CloudFront-Policy", _raw_policy(_doc(TAG_EPOCH + BOB, 2)))], "allow"),
    ("tag as a string", "", [("CloudFront-Policy", _raw_policy(_doc(str(TAG_EPOCH + BOB))))], "allow"),
    ("tag out of range", "", [("CloudFront-Policy", _raw_policy(_doc(TAG_EPOCH + MAX_TAG + 1)))], "allow"),
    ("integral float tag", "", [("CloudFront-Policy", _raw_policy(_doc(float(TAG_EPOCH + BOB))))], 403),
    ("encoded Policy name, revoked", _renamed(TAGGED_BOB, only="Policy"), [], 403),
    (
        "every signing name encoded, revoked, beside a good cookie",
        _renamed(TAGGED_BOB),
        _cookies(TAGGED_ALICE),
        403,
    ),
    ("lower-case hex in a name, revoked", "%50%6flicy=" + TAGGED_BOB["Policy"] + "&Signature=x", [], 403),
    (
        "encoded names: the URL governs over a revoked cookie",
        _renamed(TAGGED_ALICE),
        _cookies(TAGGED_BOB),
        "allow",
    ),
    (
        "duplicate Policy, the second revoked",
        f"Policy={TAGGED_ALICE['Policy']}&{_query(TAGGED_BOB)}",
        [],
        403,
    ),
    (
        "double-encoded name is no signing name",
        "%2550olicy=" + TAGGED_ALICE["Policy"],
        _cookies(TAGGED_BOB),
        403,
    ),
    ("malformed escape in a name", "Pol%zzicy=" + TAGGED_ALICE["Policy"], _cookies(TAGGED_BOB), 403),
    ("invalid UTF-8 in a name", "%C0olicy=" + TAGGED_ALICE["Policy"], _cookies(TAGGED_BOB), 403),
    ("encoded name and value, revoked", _renamed({"Policy": quote(TAGGED_BOB["Policy"], safe="")}), [], 403),
    ("empty parts around a revoked URL", "&&" + _query(TAGGED_BOB) + "&", [], 403),
    (
        "unsigned revoked tag is still refused",
        "",
        [("CloudFront-Policy", _raw_policy(_doc(TAG_EPOCH + BOB)))],
        403,
    ),
]


def _entry(values: list[str]) -> dict[str, Any]:
    entry: dict[str, Any] = {"value": values[0]}
    if len(values) > 1:
        entry["multiValue"] = [{"value": v} for v in values]
    return entry


def _decoded(name: str) -> str:
    try:
        return unquote(name, errors="strict")
    except UnicodeDecodeError:
        return name


def _event_request(raw_query: str, cookies: list[tuple[str, str]], names: str = "sent") -> dict[str, Any]:
    """The request as CloudFront Functions presents it: names to ``{value, multiValue}``, the
    query's names as sent or (``names="decoded"``) percent-decoded."""
    query: dict[str, list[str]] = {}
    for part in raw_query.split("&") if raw_query else []:
        name, _, value = part.partition("=")
        query.setdefault(_decoded(name) if names == "decoded" else name, []).append(value)
    jar: dict[str, list[str]] = {}
    for name, value in cookies:
        jar.setdefault(name, []).append(value)
    return {
        "method": "GET",
        "uri": "/users/alice/a.txt",
        "querystring": {name: _entry(values) for name, values in query.items()},
        "headers": {"host": {"value": "cdn.example.com"}},
        "cookies": {name: _entry(values) for name, values in jar.items()},
    }


def run_function(vectors: list[dict[str, Any]], tmp: Path) -> list[object]:
    """Every vector through the real function source under node, the shim as ``cloudfront``."""
    node = shutil.which("node") or "/usr/bin/node"
    tmp.mkdir(parents=True, exist_ok=True)
    package = tmp / "node_modules/cloudfront"
    package.mkdir(parents=True)
    shutil.copy(HARNESS / "kvs-shim.mjs", package / "index.mjs")
    (package / "package.json").write_text('{"name": "cloudfront", "type": "module", "main": "index.mjs"}')
    (tmp / "function.mjs").write_text(FUNCTION.read_text() + "\nexport { handler };\n")
    shutil.copy(HARNESS / "run-vectors.mjs", tmp / "run-vectors.mjs")
    done = subprocess.run(
        [node, "run-vectors.mjs"],
        cwd=tmp,
        input=json.dumps(vectors),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    answers = json.loads(done.stdout)
    refusal = denied(ErrorCode.ACCESS_DENIED)  # what the edge answers: CloudFront's own XML
    for answer in answers:
        if answer not in ("allow", "error"):
            assert answer == {"status": 403, "type": refusal.content_type, "body": refusal.text}
    return [answer if answer in ("allow", "error") else answer["status"] for answer in answers]


async def _local(raw_query: str, cookies: list[tuple[str, str]], revoked: Revoked) -> object:
    async def read(floor: int = 0) -> Revoked:
        return revoked

    watcher = RevocationWatcher(read)
    await watcher.refresh()
    request = ViewerRequest("https", "cdn.example.com", "/users/alice/a.txt", raw_query, tuple(cookies))
    verdict, _ = judge(request, watcher, NOW)
    return "allow" if verdict == "ok" else 403


STORE = {tag: str(until) for tag, until in REVOKED.items()}


def _events(vectors: list[tuple[str, str, list[tuple[str, str]], object]], mode: str) -> list[dict[str, Any]]:
    """``mode``: "raw" (rawQueryString() present, as in production), else the names passed to the
    parsed querystring ("sent" or "decoded") with no rawQueryString()."""
    return [
        {"request": _event_request(q, c, mode), "store": STORE, "now": NOW}
        | ({"raw": q} if mode == "raw" else {})
        for _, q, c, _ in vectors
    ]


async def _check_vectors(vectors: list[tuple[str, str, list[tuple[str, str]], object]], tmp: Path) -> None:
    revoked = {int(tag): until for tag, until in REVOKED.items()}
    names = [name for name, *_ in vectors]
    expected = dict(zip(names, [answer for *_, answer in vectors], strict=True))
    local = [await _local(q, c, revoked) for _, q, c, _ in vectors]
    assert dict(zip(names, local, strict=True)) == expected
    for mode in ("raw", "sent", "decoded"):
        from_node = dict(zip(names, run_function(_events(vectors, mode), tmp / mode), strict=True))
        if mode == "raw":
            assert from_node == expected
            continue
        # The fallback refuses whatever the edge refuses, and decides plainly named queries alike.
        assert {n for n, a in from_node.items() if a != 403} <= {
            n for n, a in expected.items() if a != 403
        }, mode
        plain = {n for n, q, *_ in vectors if "%" not in q}
        assert {n: from_node[n] for n in plain} == {n: expected[n] for n in plain}, mode


async def test_function_and_edge_agree_on_every_vector(tmp_path: Path) -> None:
    await _check_vectors(VECTORS, tmp_path)


async def test_function_and_edge_agree_on_generated_name_encodings(tmp_path: Path) -> None:
    """Each signing name spelled with a random choice of its characters percent-encoded: a revoked
    URL is refused, with or without a good cookie; a good URL beside a revoked cookie is served."""
    rng = random.Random(15)
    vectors: list[tuple[str, str, list[tuple[str, str]], object]] = []
    for i in range(40):
        vectors.append((f"revoked {i}", _renamed(TAGGED_BOB, rng), _cookies(TAGGED_ALICE) * (i % 2), 403))
        vectors.append((f"good URL {i}", _renamed(TAGGED_ALICE, rng), _cookies(TAGGED_BOB), "allow"))
    await _check_vectors(vectors, tmp_path)


async def test_a_missing_store_entry_and_an_empty_store_allow(tmp_path: Path) -> None:
    events = [{"request": _event_request("", _cookies(TAGGED_BOB)), "store": {}, "now": NOW}]
    assert run_function(events, tmp_path) == ["allow"]


async def test_a_store_the_function_cannot_read_fails_the_request(tmp_path: Path) -> None:
    """Fail closed: a tagged grant with the store unreadable is an error, not a pass; an untagged
    grant never asks the store."""
    events = [
        {"request": _event_request("", _cookies(TAGGED_ALICE)), "store": None, "now": NOW},
        {"request": _event_request("", _cookies(UNTAGGED)), "store": None, "now": NOW},
    ]
    assert run_function(events, tmp_path) == ["error", "allow"]
