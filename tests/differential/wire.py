"""Raw bytes over a TCP socket (optionally TLS, from a chosen loopback source address), and a
small HTTP/1.1 response reader: nothing between the generator's bytes and the edge's parser."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass

READ_TIMEOUT = 10.0


@dataclass(frozen=True)
class Answer:
    status: int  # 0: the connection closed (or timed out) without a status line
    headers: tuple[tuple[str, str], ...]
    body: bytes
    error: str = ""

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def describe(self) -> dict[str, object]:
        return {
            "status": self.status,
            "headers": [list(h) for h in self.headers],
            "body_head": self.body[:300].decode("latin-1"),
            "error": self.error,
        }


def client_tls() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the edge's throwaway self-signed certificate
    return context


def _dechunk(data: bytes) -> bytes:
    out = bytearray()
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out += data[:size]
        data = data[size + 2 :]
    return bytes(out)


def parse_answer(raw: bytes, head_request: bool) -> Answer:
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep or not head.startswith(b"HTTP/1."):
        return Answer(0, (), raw, "no HTTP response" if raw else "closed without a response")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = tuple((k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in lines[1:]))
    answer = Answer(status, headers, b"")
    if head_request or status in (204, 304):
        return Answer(status, headers, b"")
    if (answer.header("Transfer-Encoding") or "").lower() == "chunked":
        body = _dechunk(body)
    elif answer.header("Content-Length") is not None:
        body = body[: int(answer.header("Content-Length") or 0)]
    return Answer(status, headers, body)


async def exchange(port: int, data: bytes, peer: str, tls: ssl.SSLContext | None, head: bool) -> Answer:
    try:
        async with asyncio.timeout(READ_TIMEOUT):
            reader, writer = await asyncio.open_connection(
                "127.0.0.1",
                port,
                local_addr=(peer, 0),
                ssl=tls,
                server_hostname="cdn.example.test" if tls else None,
            )
            try:
                writer.write(data)
                await writer.drain()
                raw = await reader.read()
            finally:
                writer.close()
                with contextlib.suppress(ConnectionError, ssl.SSLError, OSError):
                    await writer.wait_closed()
    except TimeoutError:
        return Answer(0, (), b"", "timed out: the edge neither answered nor closed")
    except (ConnectionError, ssl.SSLError, OSError) as exc:
        return Answer(0, (), b"", f"{type(exc).__name__}: {exc}")
    return parse_answer(raw, head)
