"""A CloudFront KeyValueStore data plane on loopback (moto has only the control plane): the
REST-JSON routes botocore's ``cloudfront-keyvaluestore`` model names, with the ETag rule the API
enforces (a write whose If-Match is not the current ETag is ConflictException, 409)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

ARN = "arn:aws:cloudfront::123456789012:key-value-store/0123abcd-0000-0000-0000-000000000000"
PAGE = 3  # small pages, so that ListKeys pagination is exercised


@dataclass
class KvsState:
    items: dict[str, str] = field(default_factory=dict)
    version: int = 1
    writes: list[tuple[str, Any]] = field(default_factory=list)
    signed_v4a: list[bool] = field(default_factory=list)
    lists: int = 0  # ListKeys calls
    conflicts: int = 0  # the next writes find that another replica wrote first
    max_bytes: int = 0  # a store quota: a write that would pass it is refused (402), 0 for none

    def other_replica_writes(self, key: str, value: str) -> None:
        self.items[key] = value
        self.version += 1

    @property
    def etag(self) -> str:
        return f"ETAG{self.version}"


class _Handler(BaseHTTPRequestHandler):
    state: KvsState

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def _answer(self, status: int, body: dict[str, Any], etag: bool = False) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if etag:
            self.send_header("ETag", self.state.etag)
        if status >= 400:
            self.send_header("x-amzn-ErrorType", body["__type"])
        self.end_headers()
        self.wfile.write(data)

    def _arn(self) -> str | None:
        parts = urlsplit(self.path).path.split("/")
        if len(parts) < 3 or parts[1] != "key-value-stores" or unquote(parts[2]) != ARN:
            self._answer(404, {"__type": "ResourceNotFoundException", "Message": "no such store"})
            return None
        self.state.signed_v4a.append("AWS4-ECDSA-P256-SHA256" in self.headers.get("Authorization", ""))
        return ARN

    def _sizes(self) -> dict[str, int]:
        size = sum(len(k) + len(v) for k, v in self.state.items.items())
        return {"ItemCount": len(self.state.items), "TotalSizeInBytes": size}

    def do_GET(self) -> None:
        if self._arn() is None:
            return
        url = urlsplit(self.path)
        if url.path.endswith("/keys"):
            self.state.lists += 1
            start = int(parse_qs(url.query).get("NextToken", ["0"])[0])
            keys = sorted(self.state.items)
            page = [{"Key": k, "Value": self.state.items[k]} for k in keys[start : start + PAGE]]
            body: dict[str, Any] = {"Items": page}
            if start + PAGE < len(keys):
                body["NextToken"] = str(start + PAGE)
            self._answer(200, body)
            return
        self._answer(200, {"KvsARN": ARN, "Created": 1.7e9, "Status": "READY", **self._sizes()}, etag=True)

    def do_POST(self) -> None:  # UpdateKeys
        if self._arn() is None:
            return
        if self.state.conflicts:
            self.state.conflicts -= 1
            self.state.other_replica_writes("999999", "1")
        if self.headers.get("If-Match") != self.state.etag:
            self._answer(409, {"__type": "ConflictException", "Message": "ETag mismatch"})
            return
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        after = dict(self.state.items) | {put["Key"]: put["Value"] for put in body.get("Puts", [])}
        for delete in body.get("Deletes", []):
            after.pop(delete["Key"], None)
        if self.state.max_bytes and sum(len(k) + len(v) for k, v in after.items()) > self.state.max_bytes:
            self._answer(402, {"__type": "ServiceQuotaExceededException", "Message": "Limit exceeded."})
            return
        for put in body.get("Puts", []):
            self.state.items[put["Key"]] = put["Value"]
        for delete in body.get("Deletes", []):
            self.state.items.pop(delete["Key"], None)
        self.state.version += 1
        self.state.writes.append(("update", body))
        self._answer(200, self._sizes(), etag=True)


def stub_client(proxy: str) -> Any:
    """A real ``cloudfront-keyvaluestore`` client that reaches the stub as its HTTP proxy: the
    API's endpoint rules put the account id in front of any endpoint's host name
    (``123456789012.kvs.test``), which only a proxy can take on loopback."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "cloudfront-keyvaluestore",
        region_name="us-east-1",
        endpoint_url="http://kvs.test",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="stub-secret",
        config=Config(proxies={"http": proxy}, retries={"max_attempts": 1}),
    )


@contextmanager
def kvs_stub() -> Iterator[tuple[str, KvsState]]:
    """(proxy URL, state) of a stub serving one store, :data:`ARN`."""
    state = KvsState()
    handler = type("Handler", (_Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
