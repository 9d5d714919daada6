"""examples/upload_client.py, run as a user runs it, against the whole local stack (``make run``:
SeaweedFS, gateway, edge), issue 12 item 18.

Its traffic goes through a forward proxy (``http_proxy``) that can lose one answer: it sends the
first PUT on to S3, lets S3 store the object, and never answers the client, which times out.  The
client's retry then gets 412; it must see that the object is its own (success), and report a
conflict, overwriting nothing, when another object holds the key.
"""

from __future__ import annotations

import http.client
import http.server
import os
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from devstack.stack import BUCKET, Stack
from tests.stackutil import ROOT, running_stack

CLIENT = ROOT / "examples" / "upload_client.py"
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding"}
MINE = b"\x89PNG\r\n\x1a\n" + b"mine" * 64
OTHER = b"\x89PNG\r\n\x1a\n" + b"them" * 64  # the same size: only the ETag tells them apart


class LosingProxy(http.server.ThreadingHTTPServer):
    """A forward proxy that relays every request, except that it swallows the answer to the next
    PUT after ``lose_next_put`` is set (the request itself still reaches S3)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Relay)
        self.lose_next_put = False
        self.seen: list[tuple[str, str, int]] = []  # (method, path, status the origin gave)
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Relay(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: LosingProxy

    def _relay(self) -> None:
        target = urllib.parse.urlsplit(self.path)  # absolute-form: the client asked a proxy
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        upstream = http.client.HTTPConnection(target.hostname or "", target.port or 80, timeout=30)
        path = target.path + (f"?{target.query}" if target.query else "")
        upstream.request(self.command, path, body=body or None, headers=headers)
        answer = upstream.getresponse()
        payload = answer.read()
        upstream.close()
        with self.server.lock:
            self.server.seen.append((self.command, target.path, answer.status))
            lose = self.command == "PUT" and self.server.lose_next_put
            self.server.lose_next_put = self.server.lose_next_put and not lose
        self.close_connection = True
        if lose:  # stored upstream, but the client never hears of it
            time.sleep(4)
            return
        self.send_response_only(answer.status, answer.reason)
        for name, value in answer.getheaders():
            if name.lower() not in HOP_BY_HOP | {"content-length"}:
                self.send_header(name, value)
        self.send_header("Content-Length", answer.getheader("Content-Length") or str(len(payload)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_HEAD = do_POST = do_PUT = _relay

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("upload-client")) as started:
        yield started


@pytest.fixture
def proxy() -> Iterator[LosingProxy]:
    server = LosingProxy()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _run(
    stack: Stack, proxy: LosingProxy, key: str, data: bytes, tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    edge = stack.config.edge_url
    token = requests.post(f"{edge}/demo/token", json={"sub": "demo"}, timeout=5).json()["token"]
    upload = tmp_path / "upload.png"
    upload.write_bytes(data)
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env["http_proxy"] = proxy.url
    argv = ["--gateway", edge, "--token", token, "--path", key, "--file", str(upload), "--timeout", "2"]
    return subprocess.run(
        [sys.executable, str(CLIENT), *argv], capture_output=True, text=True, env=env, timeout=60, check=False
    )


def _stored(stack: Stack, key: str) -> bytes:
    body: bytes = stack.s3.client().get_object(Bucket=BUCKET, Key=key)["Body"].read()
    return body


def test_a_lost_answer_then_412_is_resolved_as_our_own_upload(
    stack: Stack, proxy: LosingProxy, tmp_path: Path
) -> None:
    key = "users/demo/lost-answer.png"
    proxy.lose_next_put = True
    done = _run(stack, proxy, key, MINE, tmp_path)
    assert (done.returncode, done.stdout.strip()) == (0, f"uploaded {key}"), done.stderr
    object_path = f"/{BUCKET}/{key}"
    puts = [status for method, path, status in proxy.seen if method == "PUT" and path == object_path]
    assert puts == [200, 412]  # the first landed unseen; the retry found the key taken
    assert ("HEAD", f"/{key}", 200) in proxy.seen  # checked through the CDN, not S3 directly
    assert _stored(stack, key) == MINE


def test_412_over_someone_elses_object_is_a_conflict(
    stack: Stack, proxy: LosingProxy, tmp_path: Path
) -> None:
    key = "users/demo/taken.png"
    stack.s3.client().put_object(Bucket=BUCKET, Key=key, Body=OTHER, ContentType="image/png")
    proxy.lose_next_put = True  # even after a lost answer, the same verdict
    done = _run(stack, proxy, key, MINE, tmp_path)
    assert done.returncode == 3 and done.stdout == "", (done.stdout, done.stderr)
    assert done.stderr.strip() == f"conflict: {key} already holds other bytes; nothing was overwritten"
    assert [s for m, p, s in proxy.seen if m == "PUT"] == [412, 412]
    assert _stored(stack, key) == OTHER


def test_a_plain_upload_and_a_rerun_with_the_same_file(
    stack: Stack, proxy: LosingProxy, tmp_path: Path
) -> None:
    key = "users/demo/twice.png"
    first = _run(stack, proxy, key, MINE, tmp_path)
    assert (first.returncode, first.stdout.strip()) == (0, f"uploaded {key}"), first.stderr
    again = _run(stack, proxy, key, MINE, tmp_path)  # no loss: 412 at once, and it is ours
    assert (again.returncode, again.stdout.strip()) == (0, f"uploaded {key}"), again.stderr
    assert [s for m, p, s in proxy.seen if m == "PUT"] == [200, 412]
    assert _stored(stack, key) == MINE
