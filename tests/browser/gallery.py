"""Driving the photo gallery (/demo/photos.html) from Playwright: a viewer per browser context,
the state of each thumbnail as the page shows it, and waits for the page's renders and refreshes."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, Response

from devstack.stack import Stack


@dataclass
class Viewer:
    """One person's browser context on the gallery, with every answer the edge gave its photos."""

    context: BrowserContext
    page: Page
    answers: list[tuple[int, str]] = field(default_factory=list)

    def record(self, response: Response) -> None:
        if "/users/" in response.url and "/demo/" not in response.url:
            self.answers.append((response.status, response.url))


def png(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(out, format="PNG")
    return out.getvalue()


def open_gallery(
    browser: Browser, stack: Stack, pages: dict[str, Page], name: str, user: str | None, groups: str = ""
) -> Viewer:
    """A new context on the gallery, signed in as ``user`` (None: signed out); its page is kept in
    ``pages`` under ``name`` (screenshots of a failed test)."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    viewer = Viewer(context, page)
    page.on("response", viewer.record)
    pages[name] = page
    page.goto(f"{stack.config.edge_url}/demo/photos.html")
    page.wait_for_function("() => gallery.renders >= 1")
    if user is not None:
        page.fill("#user", user)
        page.fill("#groups", groups)
        rendered = page.evaluate("gallery.renders")
        page.click("#signin")
        page.wait_for_function(f"() => gallery.renders > {rendered}")
        assert page.inner_text("#status").startswith(f"Signed in as {user}")
    settle(page)
    return viewer


def settle(page: Page) -> None:
    """Wait for a full refresh round after the last render: every thumbnail has an answer."""
    ticks = page.evaluate("thumbs.ticks")
    page.wait_for_function(f"() => thumbs.ticks > {ticks} + 1")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.photo')].every(f => f.dataset.state !== 'loading')"
    )


def cards(page: Page, section: str, under: tuple[str, ...] = ("users/",)) -> dict[str, tuple[str, str]]:
    """path -> (state, last HTTP status) of the thumbnails under ``under`` in one section."""
    found = page.eval_on_selector_all(
        f"{section} .photo", "els => els.map(e => [e.dataset.path, e.dataset.state, e.dataset.status])"
    )
    return {path: (state, status) for path, state, status in found if path.startswith(under)}


def photo_named(cards: dict[str, tuple[str, str]], name: str) -> str:
    """The one uploaded photo called ``name`` (the page puts a time stamp before the file name)."""
    matches = [path for path in cards if path.endswith(f"-{name}")]
    assert len(matches) == 1, (name, cards)
    return matches[0]


def fetch_status(page: Page, url: str) -> int:
    return int(
        page.evaluate("u => fetch(u, {cache: 'no-store', credentials: 'include'}).then(r => r.status)", url)
    )


def rendered(page: Page, action: str, *args: str) -> None:
    before = page.evaluate("gallery.renders")
    getattr(page, action)(*args)
    page.wait_for_function(f"() => gallery.renders > {before}")
    assert "error" not in (page.get_attribute("#status", "class") or "")
