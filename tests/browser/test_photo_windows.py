"""The gallery across grant windows (issue 15): its thumbnails are fetched again every few seconds
for as long as the page is open, so the page must renew every grant before it runs out, its own
cookies (session.js) and the signed URLs of shared and public photos (thumbs.js), or a user would
see thumbnails turn 403 an hour after opening it.  Here windows last seconds (conftest)."""

from __future__ import annotations

import time

from playwright.sync_api import Browser, Response

from devstack.demo_data import SAMPLE_PHOTOS, SAMPLE_SHARES
from devstack.stack import Stack
from tests.browser.conftest import GRACE, GUEST_WINDOW, WINDOW

OWN = "users/alice/albums/holiday/beach.jpg"
SHARED = str(SAMPLE_SHARES[1][1]["prefix"]) + "crag.jpg"  # bob's album, shared with alice
PUBLIC = str(SAMPLE_SHARES[0][1]["path"])  # one of alice's, shared with anyone


def test_thumbnails_keep_loading_across_windows(browser: Browser, stack: Stack) -> None:
    assert {OWN, SHARED, PUBLIC} <= set(SAMPLE_PHOTOS)
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    answers: list[tuple[float, int, str]] = []

    def record(response: Response) -> None:
        if "/users/" in response.url and "/demo/" not in response.url:
            answers.append((time.monotonic(), response.status, response.url))

    page.on("response", record)
    page.goto(f"{stack.config.edge_url}/demo/photos.html")
    page.fill("#user", "alice")
    page.click("#signin")
    page.wait_for_function("() => gallery.renders >= 2 && thumbs.ticks >= 2")
    started = time.monotonic()
    page.wait_for_timeout(int(2 * (WINDOW + GRACE) * 1000))
    states = page.eval_on_selector_all(".photo", "els => els.map(e => [e.dataset.path, e.dataset.state])")
    page.close()

    later = [(status, url) for at, status, url in answers if at >= started]
    assert later and {status for status, _ in later} == {200}, [a for a in later if a[0] != 200]
    for path in (OWN, SHARED, PUBLIC):
        assert sum(1 for _, url in later if f"/{path}" in url) >= (WINDOW + GRACE) / 2  # every ~2 s
    # The signed URLs were renewed (new windows), the cookie-borne one never changes.
    assert len({url for _, url in later if f"/{SHARED}?" in url}) >= 2
    assert len({url for _, url in later if f"/{PUBLIC}?" in url}) >= 2 * (WINDOW + GRACE) / (2 * GUEST_WINDOW)
    assert {url for _, url in later if f"/{OWN}" in url} == {f"{stack.config.edge_url}/{OWN}"}
    assert all(state == "ok" for _, state in states), states
