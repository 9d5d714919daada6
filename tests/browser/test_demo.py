"""The demo, as a user meets it, in a real Chromium: map tiles through the edge with signed
cookies, stable URLs the browser caches, renewals across windows, an upload round trip, and
grants for nested prefixes that never pile up as nested cookie sets (issue 12 item 8: CloudFront's
cookie names are fixed), even after a guest's narrower grant before sign-in has expired."""

from __future__ import annotations

import io
import time

from PIL import Image
from playwright.sync_api import Browser, Cookie, FilePayload, Page, Response

from devstack.stack import Stack
from tests.browser.conftest import ARTIFACTS, GUEST_TILES, GUEST_WINDOW, WINDOW, edge_requests


def _tile_srcs(page: Page) -> list[str]:
    """The tiles of the current zoom level (Leaflet keeps other levels briefly while it animates)."""
    zoom = page.evaluate("demoMap.getZoom()")
    srcs = page.eval_on_selector_all(".leaflet-tile-container img", "els => els.map(e => e.src)")
    return sorted(src for src in srcs if f"/tiles/{zoom}/" in src)


def _wait_tiles_settled(page: Page) -> None:
    page.wait_for_function(
        "() => document.querySelectorAll('.leaflet-tile-container img').length > 0 && "
        "[...document.querySelectorAll('.leaflet-tile-container img')].every(i => i.complete)"
    )
    page.wait_for_timeout(300)


def _open_map(browser: Browser, stack: Stack) -> tuple[Page, list[tuple[int, str]]]:
    page = browser.new_page(viewport={"width": 1024, "height": 768})
    tiles: list[tuple[int, str]] = []
    page.on("response", lambda r: tiles.append((r.status, r.url)) if "/tiles/" in r.url else None)
    page.goto(f"{stack.config.edge_url}/demo/")
    _wait_tiles_settled(page)
    return page, tiles


def test_tiles_are_refused_without_sign_in(browser: Browser, stack: Stack) -> None:
    page, tiles = _open_map(browser, stack)
    assert tiles and {status for status, _ in tiles} == {403}
    assert page.evaluate("demo.tilesLoaded") == 0 and page.evaluate("demo.tileErrors") > 0
    page.close()


def test_sign_in_tiles_load_and_stay_cached(browser: Browser, stack: Stack) -> None:
    page, tiles = _open_map(browser, stack)
    tiles.clear()
    page.click("#signin")
    page.wait_for_function("() => demo.tilesLoaded >= 8")
    _wait_tiles_settled(page)
    assert tiles and {status for status, _ in tiles} == {200}
    assert page.evaluate("demo.tileErrors") == 0
    visible = _tile_srcs(page)
    assert visible and all("Signature" not in src and "Expires" not in src for src in visible)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "map-signed-in.png"))

    served_before = len(edge_requests(stack))
    page.evaluate("demoMap.setView([-60, 150], 4)")  # pan far away...
    _wait_tiles_settled(page)
    page.evaluate("demoMap.setView([20, 0], 2)")  # ...and back
    _wait_tiles_settled(page)
    assert _tile_srcs(page) == visible  # the same URL strings
    again = [
        r
        for r in edge_requests(stack)[served_before:]
        if f"http://{stack.config.host}:{stack.config.edge_port}" + r["path"] in visible
    ]
    assert again == []  # and the browser did not ask the edge for them again
    assert page.evaluate("demo.tileErrors") == 0
    page.close()


def test_cookie_windows_roll_over_without_a_failed_tile(browser: Browser, stack: Stack) -> None:
    page, _ = _open_map(browser, stack)
    page.click("#signin")
    page.wait_for_function("() => demo.tilesLoaded >= 8")
    first_expiry = page.evaluate("demo.grants['tiles/'].expires")
    zooms = [(3, [10, 10]), (4, [40, -60]), (5, [-20, 100]), (3, [-40, -120]), (4, [60, 30])]
    deadline = time.monotonic() + 2.5 * WINDOW
    step = 0
    while time.monotonic() < deadline:
        zoom, center = zooms[step % len(zooms)]
        page.evaluate(f"demoMap.setView({center}, {zoom})")  # new tiles keep being fetched
        _wait_tiles_settled(page)
        step += 1
        page.wait_for_timeout(1000)
    assert page.evaluate("demo.renewals") >= 2
    assert page.evaluate("demo.grants['tiles/'].expires") > first_expiry
    assert page.evaluate("demo.tileErrors") == 0
    assert page.evaluate("demo.tilesLoaded") > 8
    page.close()


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 40, 120)).save(out, format="PNG")
    return out.getvalue()


def test_upload_page_round_trip(browser: Browser, stack: Stack) -> None:
    page = browser.new_page()
    posts: list[Response] = []
    page.on("response", lambda r: posts.append(r) if r.request.method == "POST" else None)
    page.goto(f"{stack.config.edge_url}/demo/upload.html")
    page.click("#signin")
    page.wait_for_function("() => !document.getElementById('upload').disabled")
    photo = FilePayload(name="my photo.png", mimeType="image/png", buffer=_png())
    page.set_input_files("#file", files=[photo])
    page.click("#upload")
    page.wait_for_function(
        "() => { const i = document.getElementById('uploaded'); return i && i.complete && i.naturalWidth > 0 }"
    )
    assert page.eval_on_selector("#uploaded", "i => i.naturalWidth") == 64
    assert "-my-photo.png" in page.eval_on_selector("#uploaded", "i => i.src")
    s3_post = [r for r in posts if f":{stack.config.s3_port}/" in r.url]
    assert s3_post and s3_post[0].status == 204  # straight to S3, not through the gateway
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "upload-result.png"))
    page.close()


def _status(page: Page, path: str) -> int:
    """A fresh request (never the browser cache), with the cookies the browser chooses to send."""
    return int(page.evaluate("p => fetch(p, {cache: 'no-store'}).then(r => r.status)", path))


def _signing_cookies(page: Page) -> list[Cookie]:
    return [c for c in page.context.cookies() if c["name"].startswith("CloudFront-")]


def test_grants_for_a_prefix_and_below_it_are_one_cookie_set(browser: Browser, stack: Stack) -> None:
    page = browser.new_page()
    page.goto(f"{stack.config.edge_url}/demo/")
    page.evaluate("signIn('nina')")
    granted = [page.evaluate(f"grant('{prefix}').then(b => b.prefix)") for prefix in ("tiles/", "tiles/3/")]
    assert granted == ["tiles/", "tiles/"]
    cookies = _signing_cookies(page)
    assert {c["path"] for c in cookies} == {"/tiles/"} and len(cookies) == 4  # one set, no nesting
    assert [_status(page, f"/tiles/3/{x}/{y}.png") for x, y in [(0, 0), (3, 5), (7, 7)]] == [200] * 3
    page.close()


def test_guest_then_signed_in_with_nested_prefixes_keeps_loading(browser: Browser, stack: Stack) -> None:
    page = browser.new_page()
    page.goto(f"{stack.config.edge_url}/demo/")
    tile = f"/{GUEST_TILES}0/0.png"
    # A guest may read tiles/0/ only: that narrower grant is what the browser holds first.
    assert page.evaluate(f"grant('{GUEST_TILES}').then(b => b.prefix)") == GUEST_TILES
    assert _status(page, tile) == 200
    guest_expires = page.evaluate(f"demo.grants['{GUEST_TILES}'].expires")

    # Sign in; the map asks for tiles/, so the guest's set stays beside it (the page no longer
    # renews the guest grant) and runs out.
    page.evaluate(f"signIn('olga').then(() => clearTimeout(grant.timers['{GUEST_TILES}']))")
    assert page.evaluate("grant('tiles/').then(b => b.prefix)") == "tiles/"
    assert {c["path"] for c in _signing_cookies(page)} == {"/tiles/", f"/{GUEST_TILES}"}
    now = page.evaluate("Date.now() / 1000")
    assert guest_expires - now <= 2 * GUEST_WINDOW + 1
    page.wait_for_timeout(int((guest_expires - now + 1) * 1000))
    assert _status(page, tile) == 200  # the expired guest set, sent first, does not shadow hers

    # Asking for the guest's prefix now widens to tiles/ and expires the leftover set.
    assert page.evaluate(f"grant('{GUEST_TILES}').then(b => b.prefix)") == "tiles/"
    cookies = _signing_cookies(page)
    assert {c["path"] for c in cookies} == {"/tiles/"} and len(cookies) == 4
    assert _status(page, tile) == 200 and _status(page, "/tiles/2/1/1.png") == 200
    page.close()
