"""The photo app (issue 15) in a real Chromium: Alice uploads into albums and marks photos private,
friends or public and shares an album with Bob; Bob, Carol and a signed-out visitor each see
exactly what is shared with them (and the edge refuses the rest); Alice revokes and Bob's
thumbnails turn 403 within seconds without a reload, while hers and his other shares keep loading."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, FilePayload, Page, Response

from devstack.stack import Stack
from tests.browser.conftest import ARTIFACTS
from tests.stackutil import running_stack

TRIP, CLIMB = "users/alice/albums/trip/", "users/alice/albums/climb/"
SEEDED_PUBLIC = "users/alice/albums/holiday/hills.jpg"
REVOKED_WITHIN = 5.0  # seconds, the bound, from the revoke click to Bob's page showing it
# Pages a failing test screenshots into test-artifacts/ (conftest's report hook).
OPEN_PAGES: dict[str, Page] = {}


@dataclass
class Viewer:
    """One person's browser context on the gallery, with every answer the edge gave its photos."""

    context: BrowserContext
    page: Page
    answers: list[tuple[int, str]] = field(default_factory=list)

    def record(self, response: Response) -> None:
        if "/users/" in response.url and "/demo/" not in response.url:
            self.answers.append((response.status, response.url))


def _png(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(out, format="PNG")
    return out.getvalue()


def _open(browser: Browser, stack: Stack, name: str, user: str | None, groups: str = "") -> Viewer:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    viewer = Viewer(context, page)
    page.on("response", viewer.record)
    OPEN_PAGES[name] = page
    page.goto(f"{stack.config.edge_url}/demo/photos.html")
    page.wait_for_function("() => gallery.renders >= 1")
    if user is not None:
        page.fill("#user", user)
        page.fill("#groups", groups)
        rendered = page.evaluate("gallery.renders")
        page.click("#signin")
        page.wait_for_function(f"() => gallery.renders > {rendered}")
        assert page.inner_text("#status").startswith(f"Signed in as {user}")
    _settle(page)
    return viewer


def _settle(page: Page) -> None:
    """Wait for a full refresh round after the last render: every thumbnail has an answer."""
    ticks = page.evaluate("thumbs.ticks")
    page.wait_for_function(f"() => thumbs.ticks > {ticks} + 1")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.photo')].every(f => f.dataset.state !== 'loading')"
    )


def _cards(page: Page, section: str, under: tuple[str, ...] = (TRIP, CLIMB)) -> dict[str, tuple[str, str]]:
    """path -> (state, last HTTP status) of the thumbnails in one section of the page, of the
    albums this test made unless ``under`` says otherwise (make run seeds others)."""
    found = page.eval_on_selector_all(
        f"{section} .photo", "els => els.map(e => [e.dataset.path, e.dataset.state, e.dataset.status])"
    )
    return {path: (state, status) for path, state, status in found if path.startswith(under)}


def _photo(cards: dict[str, tuple[str, str]], name: str) -> str:
    """The one uploaded photo called ``name`` (the page puts a time stamp before the file name)."""
    matches = [path for path in cards if path.endswith(f"-{name}")]
    assert len(matches) == 1, (name, cards)
    return matches[0]


def _fetch_status(page: Page, url: str) -> int:
    return int(
        page.evaluate("u => fetch(u, {cache: 'no-store', credentials: 'include'}).then(r => r.status)", url)
    )


def _rendered(page: Page, action: str, *args: str) -> None:
    before = page.evaluate("gallery.renders")
    getattr(page, action)(*args)
    page.wait_for_function(f"() => gallery.renders > {before}")
    assert "error" not in (page.get_attribute("#status", "class") or "")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """``make run``'s stack with its own rules and long windows: no grant here is renewed during
    the test, so a refused thumbnail can only be the edge refusing the grant it had served."""
    with running_stack(tmp_path_factory.mktemp("photos"), 3600, 600) as running:
        yield running


@pytest.fixture(scope="module")
def alice(browser: Browser, stack: Stack) -> Iterator[Viewer]:
    viewer = _open(browser, stack, "alice", "alice")
    page = viewer.page
    for album, names in (
        ("trip", ["private.png", "friends.png", "public.png"]),
        ("climb", ["wall.png", "rope.png"]),
    ):
        page.fill("#album", album)
        files = [
            FilePayload(name=n, mimeType="image/png", buffer=_png((40 * i, 90, 160)))
            for i, n in enumerate(names)
        ]
        page.set_input_files("#file", files=files)
        _rendered(page, "click", "#upload")
    mine = _cards(page, "#albums", (TRIP, CLIMB))
    _rendered(
        page, "select_option", f'select.visibility[data-target="{_photo(mine, "friends.png")}"]', "friends"
    )
    _rendered(
        page, "select_option", f'select.visibility[data-target="{_photo(mine, "public.png")}"]', "public"
    )
    page.fill(f'.album[data-prefix="{CLIMB}"] input.share-user', "bob")
    _rendered(page, "click", f'.album[data-prefix="{CLIMB}"] button.share')
    _settle(page)
    yield viewer
    viewer.context.close()


def test_alice_uploads_and_marks_private_friends_public(alice: Viewer) -> None:
    page = alice.page
    mine = _cards(page, "#albums", (TRIP, CLIMB))
    assert len(mine) == 5
    assert set(_cards(page, "#albums", ("users/",)).values()) == {("ok", "200")}  # hers, via the edge
    levels = page.eval_on_selector_all(
        ".photo select.visibility", "els => els.map(e => [e.dataset.target, e.value])"
    )
    assert sorted(level for path, level in levels if path in mine) == [
        "friends",
        "private",
        "private",
        "private",
        "public",
    ]
    rows = page.eval_on_selector_all(
        "#share-rows tr", "rows => rows.map(r => [...r.cells].slice(0, 2).map(c => c.textContent))"
    )
    assert sorted(rows) == sorted(
        [
            [SEEDED_PUBLIC, "anyone"],
            [_photo(mine, "friends.png"), "group friends"],
            [_photo(mine, "public.png"), "anyone"],
            [CLIMB, "user bob"],
        ]
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "photos-alice.png"), full_page=True)


def _alice_photos(alice: Viewer) -> dict[str, str]:
    return {path.rsplit("-", 1)[1]: path for path in _cards(alice.page, "#albums", (TRIP, CLIMB))}


@pytest.fixture(scope="module")
def bob(browser: Browser, stack: Stack, alice: Viewer) -> Iterator[Viewer]:
    viewer = _open(browser, stack, "bob", "bob", "friends")
    yield viewer
    viewer.context.close()


def test_bob_sees_exactly_what_is_shared_with_him(alice: Viewer, bob: Viewer, stack: Stack) -> None:
    photos = _alice_photos(alice)
    shared = _cards(bob.page, "#shared-photos")
    expected = {photos[name] for name in ("friends.png", "wall.png", "rope.png")}
    assert expected <= set(shared) <= expected | {photos["public.png"]}
    assert all(shared[path] == ("ok", "200") for path in shared)
    assert photos["private.png"] not in bob.page.content()  # not even its name
    # Straight to the edge with whatever his browser holds (his own cookies only): refused.
    assert _fetch_status(bob.page, f"/{photos['private.png']}") == 403
    # And the gateway grants him nothing for it either.
    token = bob.page.evaluate("demo.token")
    asked = bob.page.request.get(
        f"{stack.config.edge_url}/v1/signed-url?path={photos['private.png']}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert asked.status == 403
    refused = [status for status, url in bob.answers if photos["private.png"] in url]
    assert refused == [403]
    ARTIFACTS.mkdir(exist_ok=True)
    bob.page.screenshot(path=str(ARTIFACTS / "photos-bob.png"), full_page=True)


def test_switching_user_in_one_page_leaves_nothing_of_the_last(
    browser: Browser, stack: Stack, alice: Viewer
) -> None:
    photos = _alice_photos(alice)
    page = _open(browser, stack, "switch", "alice").page
    assert _fetch_status(page, f"/{photos['private.png']}") == 200  # her cookies for users/alice/
    page.fill("#user", "bob")
    page.fill("#groups", "friends")
    _rendered(page, "click", "#signin")
    assert page.inner_text("#status") == "Signed in as bob (groups friends)"
    _settle(page)
    assert _fetch_status(page, f"/{photos['private.png']}") == 403  # hers were expired first
    assert not _cards(page, "#albums") and photos["private.png"] not in page.content()
    assert _cards(page, "#shared-photos").get(photos["wall.png"]) == ("ok", "200")
    crag = "users/bob/albums/climbing/crag.jpg"
    assert _fetch_status(page, f"/{crag}") == 200
    _rendered(page, "click", "#signout")
    assert page.is_hidden("#mine") and page.is_hidden("#shared")
    assert _fetch_status(page, f"/{crag}") == 403  # signing out expires his cookies too
    page.context.close()


def test_carol_outside_the_group_sees_only_public(browser: Browser, stack: Stack, alice: Viewer) -> None:
    photos = _alice_photos(alice)
    carol = _open(browser, stack, "carol", "carol")
    assert set(_cards(carol.page, "#shared-photos")) <= {photos["public.png"]}
    assert _cards(carol.page, "#public-photos").get(photos["public.png"]) == ("ok", "200")
    for name in ("private.png", "friends.png", "wall.png"):
        assert _fetch_status(carol.page, f"/{photos[name]}") == 403
        assert photos[name] not in carol.page.content()
    carol.context.close()


def test_signed_out_sees_only_public_photos(browser: Browser, stack: Stack, alice: Viewer) -> None:
    photos = _alice_photos(alice)
    guest = _open(browser, stack, "guest", None)
    public = _cards(guest.page, "#public-photos")
    seeded = _cards(guest.page, "#public-photos", ("users/alice/albums/holiday/",))
    assert seeded == {SEEDED_PUBLIC: ("ok", "200")}  # make run's sample share
    assert public.get(photos["public.png"]) == ("ok", "200")
    assert not any(path.startswith("users/alice/") and path != photos["public.png"] for path in public)
    assert guest.page.is_hidden("#mine") and guest.page.is_hidden("#shared")
    listed = guest.page.request.get(f"{stack.config.edge_url}/demo/photos?prefix={TRIP}").json()
    assert [p["path"] for p in listed["photos"]] == [photos["public.png"]]
    for name in ("private.png", "friends.png", "wall.png"):
        assert _fetch_status(guest.page, f"/{photos[name]}") == 403
    ARTIFACTS.mkdir(exist_ok=True)
    guest.page.screenshot(path=str(ARTIFACTS / "photos-signed-out.png"), full_page=True)
    guest.context.close()


def test_revoked_album_turns_403_on_bobs_page_within_seconds(alice: Viewer, bob: Viewer) -> None:
    photos = _alice_photos(alice)
    climb = [photos["wall.png"], photos["rope.png"]]
    bob.page.evaluate("window.notReloaded = true")
    granted = {path: [url for status, url in bob.answers if path in url and status == 200] for path in climb}
    assert all(granted.values())
    alice_loads = alice.page.evaluate("thumbs.loads")
    seen = len(bob.answers)

    row = alice.page.locator("#share-rows tr", has_text=CLIMB).filter(has_text="user bob")
    _rendered(alice.page, "click", f"#share-rows tr[data-id='{row.get_attribute('data-id')}'] button.revoke")
    revoked_at = time.monotonic()
    refused = " && ".join(
        f"document.querySelector('#shared-photos .photo[data-path=\"{path}\"]').dataset.status === '403'"
        for path in climb
    )
    bob.page.wait_for_function(f"() => {refused}", timeout=REVOKED_WITHIN * 1000)
    took = time.monotonic() - revoked_at
    assert took < REVOKED_WITHIN
    assert bob.page.evaluate("window.notReloaded") is True  # the same page, never reloaded
    # The edge refused the very URLs it had served: the grant was revoked, not replaced.
    after = bob.answers[seen:]
    for path in climb:
        assert (403, granted[path][-1]) in after
        assert _cards(bob.page, "#shared-photos")[path] == ("refused", "403")
    # Bob's other share (friends) and Alice's own thumbnails keep loading.
    _settle(bob.page)
    assert _cards(bob.page, "#shared-photos")[photos["friends.png"]] == ("ok", "200")
    _settle(alice.page)
    assert alice.page.evaluate("thumbs.loads") > alice_loads
    assert set(_cards(alice.page, "#albums", ("users/",)).values()) == {("ok", "200")}
    ARTIFACTS.mkdir(exist_ok=True)
    bob.page.screenshot(path=str(ARTIFACTS / "photos-bob-revoked.png"), full_page=True)


def test_public_photo_made_private_turns_403_for_signed_out_visitors(
    browser: Browser, stack: Stack, alice: Viewer
) -> None:
    photos = _alice_photos(alice)
    public = photos["public.png"]
    guest = _open(browser, stack, "guest-revoked", None)
    assert _cards(guest.page, "#public-photos") == {public: ("ok", "200")}
    served = [url for status, url in guest.answers if public in url and status == 200]
    seen = len(guest.answers)
    _rendered(alice.page, "select_option", f'select.visibility[data-target="{public}"]', "private")
    made_private = time.monotonic()
    guest.page.wait_for_function(
        f"() => document.querySelector('#public-photos .photo[data-path=\"{public}\"]').dataset.status === '403'",
        timeout=REVOKED_WITHIN * 1000,
    )
    assert time.monotonic() - made_private < REVOKED_WITHIN
    # A guest's share grant carries the share's tag too: the edge refuses the URL it had served.
    assert (403, served[-1]) in guest.answers[seen:]
    guest.context.close()


def test_an_album_made_public_shows_all_its_photos_signed_out(
    browser: Browser, stack: Stack, alice: Viewer
) -> None:
    photos = _alice_photos(alice)
    _rendered(alice.page, "select_option", f'select.visibility[data-target="{CLIMB}"]', "public")
    notes = alice.page.eval_on_selector_all(
        f'.album[data-prefix="{CLIMB}"] .photo small', "els => els.map(e => e.textContent.trim())"
    )
    assert notes == ["public with its album"] * 2  # each photo's own setting is still private
    guest = _open(browser, stack, "guest-album", None)
    assert _cards(guest.page, "#public-photos", (CLIMB,)) == {
        photos["wall.png"]: ("ok", "200"),
        photos["rope.png"]: ("ok", "200"),
    }
    assert _fetch_status(guest.page, f"/{photos['private.png']}") == 403  # the other album is not
    guest.context.close()
