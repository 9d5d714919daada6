"""Malformed requests against the live HTTP surface: always a 4xx problem answer or a closed
connection, never a 500, a traceback or a hang (issue 7; security cases 38, 51, 52, 57)."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable
from typing import Any, TypeAlias

from tests.gateway.conftest import bearer

ENDPOINTS = [
    ("POST", "/v1/cookies"),
    ("POST", "/v1/signed-urls"),
    ("POST", "/v1/uploads"),
    ("POST", "/v1/deletes"),
    ("POST", "/v1/credentials"),
    ("GET", "/v1/signed-url"),
    ("GET", "/v1/r/x"),
    ("DELETE", "/v1/cookies"),
]
Json: TypeAlias = bool | int | float | str | list["Json"] | dict[str, "Json"] | None
FIELDS = ["prefix", "paths", "path", "policy", "content_type", "content_length", "method", "duration_seconds"]


def _value(rng: random.Random, depth: int = 0) -> Json:
    choice = rng.randrange(10 if depth < 3 else 7)
    makers: list[Callable[[], Json]] = [
        lambda: None,
        lambda: rng.choice([True, False]),
        lambda: rng.randint(-(2**70), 2**70),
        lambda: rng.choice([1e308, -0.0, 1.5, 3.0]),
        lambda: "".join(chr(rng.randrange(0, 0x10FFFF)) for _ in range(rng.randrange(0, 20))),
        lambda: rng.choice(["users/alice/a.png", "tiles/", "../x", "a" * 3000, "", "/", "*", "users/alice/"]),
        lambda: rng.choice(["PUT", "POST", "canned", "custom", "image/png"]),
        lambda: [_value(rng, depth + 1) for _ in range(rng.randrange(0, 5))],
        lambda: {rng.choice(FIELDS): _value(rng, depth + 1) for _ in range(rng.randrange(0, 5))},
        lambda: {"paths": [_value(rng, depth + 1) for _ in range(rng.randrange(0, 120))]},
    ]
    return makers[choice]()


async def test_random_json_bodies_never_5xx(client: Any) -> None:
    rng = random.Random(20261123)
    for i in range(600):
        method, path = rng.choice(ENDPOINTS)
        body = _value(rng)
        if isinstance(body, dict) and rng.random() < 0.7:
            body.update({f: _value(rng) for f in rng.sample(FIELDS, 3)})
        data = json.dumps(body, ensure_ascii=rng.random() < 0.5).encode("utf-8", "surrogatepass")
        headers = {"Content-Type": "application/json", **(bearer("alice") if i % 2 else {})}
        response = await client.request(method, path, data=data, headers=headers, allow_redirects=False)
        text = await response.text()
        assert response.status < 500, (method, path, data[:200], text)
        if response.status >= 400:
            assert response.content_type == "application/problem+json" and "Traceback" not in text


async def test_malformed_encodings_types_and_duplicates(client: Any) -> None:
    cases: list[tuple[str, str, bytes, dict[str, str]]] = [
        ("POST", "/v1/cookies", b'{"prefix": "\xff\xfe"}', {}),
        ("POST", "/v1/cookies", b'{"prefix": "a/", "prefix": "b/"}', {}),
        ("POST", "/v1/cookies", b'{"prefix": 1e999}', {}),
        ("POST", "/v1/cookies", b"[" * 100_000 + b"]" * 100_000, {}),
        ("POST", "/v1/cookies", b'{"prefix": "tiles/", "prefix": "users/bob/"}', {}),
        (
            "POST",
            "/v1/uploads",
            b'{"path": "users/alice/a", "content_type": "image/png", "content_length": 1e400}',
            {},
        ),
        (
            "POST",
            "/v1/uploads",
            b'{"path": "users/alice/a", "content_type": "image/png", "content_length": 99999999999999999999999}',
            {},
        ),
        ("GET", "/v1/signed-url?path=public/a&path=public/b", b"", {}),
        ("GET", "/v1/signed-url?path=%FF%FE", b"", {}),
        ("GET", "/v1/r/%FF%FE", b"", {}),
        ("GET", "/v1/signed-url?path=public/a&policy=canned&policy=custom", b"", {}),
    ]
    for method, path, data, extra in cases:
        headers = {"Content-Type": "application/json", **bearer("alice"), **extra}
        response = await client.request(method, path, data=data, headers=headers)
        assert 400 <= response.status < 500, (path, data[:60], response.status, await response.text())


async def _raw(host: str, port: int, payload: bytes, wait: float = 5) -> bytes:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(payload)
    await writer.drain()
    try:
        return await asyncio.wait_for(reader.read(65536), wait)
    finally:
        writer.close()


async def test_raw_protocol_abuse(client: Any) -> None:
    host, port = client.host, client.port
    giant = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n"
    many = (
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(5000)) + b"\r\n"
    )
    for payload in [
        giant,
        many,
        b"GARBAGE\r\n\r\n",
        b"GET /healthz HTTP/9.9\r\n\r\n",
        b"POST /v1/cookies HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        b"POST /v1/cookies HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        b"GET /v1/r/\x00\x01 HTTP/1.1\r\nHost: x\r\n\r\n",
    ]:
        answer = await _raw(host, port, payload)
        status = answer.split(b"\r\n", 1)[0]
        assert answer == b"" or (b" 4" in status and b"Traceback" not in answer), (payload[:40], answer[:120])
