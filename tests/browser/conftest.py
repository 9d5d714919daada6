"""The whole local stack (as ``make run`` starts it) and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import json
from collections.abc import Generator, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from devstack.stack import RULES as DEMO_RULES
from devstack.stack import Stack
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


GUEST_WINDOW = 4  # guest grants expire within seconds, so a test sees one run out
# The demo rules plus one prefix guests may read below a signed-in one: nested grants.
GUEST_TILES = "tiles/0/"
EXTRA_RULES = f"""
[[rules]]
prefix = "{GUEST_TILES}"
read = "anyone"
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    local = tmp_path_factory.mktemp("stack")
    rules = local / "browser-rules.toml"
    rules.write_text(DEMO_RULES + EXTRA_RULES)
    with pytest.MonkeyPatch.context() as env:
        # Settings overrides the gateway process reads at start (GATEWAY_<SECTION>_<NAME>).
        env.setenv("GATEWAY_RULES_FILE", str(rules))
        env.setenv("GATEWAY_SIGNING_GUEST_WINDOW_SECONDS", str(GUEST_WINDOW))
        with running_stack(local, WINDOW, GRACE) as running:
            yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed test screenshots the pages its module lists in ``OPEN_PAGES`` (name -> Page)."""
    report = yield
    pages: dict[str, Page] = getattr(getattr(item, "module", None), "OPEN_PAGES", {})
    if report.when == "call" and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        for name, page in pages.items():
            if not page.is_closed():
                try:
                    page.screenshot(path=str(ARTIFACTS / f"{item.name}-{name}.png"), full_page=True)
                except Exception as exc:  # a screenshot must never hide the failure itself
                    report.sections.append(("screenshot", f"{name}: {exc}"))
    return report


def edge_requests(stack: Stack, path_prefix: str = "/tiles/") -> list[dict[str, Any]]:
    """What the edge actually served, from its JSON access log."""
    lines = (stack.config.local / "logs" / "edge.log").read_text().splitlines()
    records = [json.loads(line) for line in lines if line.startswith("{")]
    return [r for r in records if str(r.get("path", "")).startswith(path_prefix)]
