"""The Python client of docs/configuration.md ("Asking again at refresh_after"), run as written
against a real ``cdn-gateway serve`` process: it keeps a prefix's cookies with no gap between two
windows, and asking again before ``refresh_after`` changes nothing."""

from __future__ import annotations

import base64
import json
import re
import time
from pathlib import Path
from typing import Any

import requests

from tests.gateway.conftest import gateway_process, token, write_config

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
WINDOW, GRACE = 4, 2


def _snippet() -> dict[str, Any]:
    section = DOC.read_text("utf-8").split("## Asking again at `refresh_after`", 1)[1].split("\n## ", 1)[0]
    code = re.findall(r"```python\n(.*?)```", section, re.S)[0]
    namespace: dict[str, Any] = {}
    exec(compile(code, str(DOC), "exec"), namespace)  # noqa: S102 - the documentation's own example
    return namespace


def _policy(session: requests.Session) -> dict[str, Any]:
    value = session.cookies.get("CloudFront-Policy", path="/tiles/")
    assert value, "the cookies were not kept for the granted prefix"
    raw = base64.b64decode(value.translate(str.maketrans("-_~", "+=/")))
    statement: dict[str, Any] = json.loads(raw)["Statement"][0]
    return statement


def test_the_documented_client_keeps_cookies_without_a_gap(tmp_path: Path, keyring_dir: Path) -> None:
    config = write_config(tmp_path, keyring_dir)
    text = config.read_text().replace(
        "[signing]\n", f"[signing]\nwindow_seconds = {WINDOW}\ngrace_seconds = {GRACE}\n"
    )
    config.write_text(text + "[cookies]\nsecure = false\n")  # plain http on loopback
    grant = _snippet()["grant"]
    alice = token("alice")
    with gateway_process(config) as (base, _):
        time.sleep(-time.time() % WINDOW + 0.05)  # start early in a window: the early ask stays in it
        session = requests.Session()
        ask_at = grant(session, base, "tiles/", alice)
        first = _policy(session)
        expires = first["Condition"]["DateLessThan"]["AWS:EpochTime"]
        assert first["Resource"].endswith("/tiles/*")
        # Ask again at refresh_after (the window's end), with at most a tenth of the grace on top.
        assert expires - GRACE <= ask_at <= expires - GRACE + GRACE / 10
        assert time.time() < ask_at

        assert grant(session, base, "tiles/", alice) <= expires  # early: the same cookies
        assert _policy(session) == first

        time.sleep(max(0.0, ask_at - time.time()))
        assert time.time() < expires  # the old cookies still work when the client asks again
        grant(session, base, "tiles/", alice)
        second = _policy(session)
        assert second["Condition"]["DateLessThan"]["AWS:EpochTime"] == expires + WINDOW
        assert second["Resource"] == first["Resource"]
