"""The whole local stack (as ``make run`` starts it) and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, sync_playwright

from gateway.devstack.stack import Stack
from tests.stackutil import ROOT, running_stack

ARTIFACTS = ROOT / "test-artifacts"
# How Chromium must start here (headless, as root, with no background network traffic).
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WINDOW, GRACE = 12, 6  # short cookie windows, so a test sees them roll over


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("stack"), WINDOW, GRACE) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def edge_requests(stack: Stack, path_prefix: str = "/tiles/") -> list[dict[str, Any]]:
    """What the edge actually served, from its JSON access log."""
    lines = (stack.config.local / "logs" / "edge.log").read_text().splitlines()
    records = [json.loads(line) for line in lines if line.startswith("{")]
    return [r for r in records if str(r.get("path", "")).startswith(path_prefix)]
