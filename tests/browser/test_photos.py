"""The photo app (issue 15) in a real Chromium: Alice uploads into albums and marks photos private,
friends or public and shares an album with Bob; Bob, Carol and a signed-out visitor each see
exactly what is shared with them (and the edge refuses the rest); Alice revokes and Bob's
thumbnails turn 403 within seconds without a reload, while hers and his other shares keep loading."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, FilePayload, Page

from devstack.stack import Stack
from tests.browser.conftest import ARTIFACTS
from tests.browser.gallery import (
    Viewer,
    cards,
    fetch_status,
    open_gallery,
    photo_named,
    png,
    rendered,
    settle,
)
from tests.stackutil import running_stack

TRIP, CLIMB = "users/alice/albums/trip/", "users/alice/albums/climb/"
SEEDED_PUBLIC = "users/alice/albums/holiday/hills.jpg"
REVOKED_WITHIN = 5.0  # seconds, the bound, from the revoke click to Bob's page showing it
# Pages a failing test screenshots into test-artifacts/ (conftest's report hook).
OPEN_PAGES: dict[str, Page] = {}


def _cards(page: Page, section: str, under: tuple[str, ...] = (TRIP, CLIMB)) -> dict[str, tuple[str, str]]:
    """The thumbnails of the albums this test made, unless ``under`` says otherwise (make run
    seeds others)."""
    return cards(page, section, under)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """``make run``'s stack, its demo rules, with long windows: no grant here is renewed during
    the test, so a refused thumbnail can only be the edge refusing the grant it had served."""
    with running_stack(tmp_path_factory.mktemp("photos"), 3600, 600) as running:
        yield running


@pytest.fixture(scope="module")
def alice(browser: Browser, stack: Stack) -> Iterator[Viewer]:
    viewer = open_gallery(browser, stack, OPEN_PAGES, "alice", "alice")
    page = viewer.page
    for album, names in (
        ("trip", ["private.png", "friends.png", "public.png"]),
        ("climb", ["wall.png", "rope.png"]),
    ):
        page.fill("#album", album)
        files = [
            FilePayload(name=n, mimeType="image/png", buffer=png((40 * i, 90, 160)))
            for i, n in enumerate(names)
        ]
        page.set_input_files("#file", files=files)
        rendered(page, "click", "#upload")
    mine = _cards(page, "#albums", (TRIP, CLIMB))
    rendered(
        page,
        "select_option",
        f'select.visibility[data-target="{photo_named(mine, "friends.png")}"]',
        "friends",
    )
    rendered(
        page, "select_option", f'select.visibility[data-target="{photo_named(mine, "public.png")}"]', "public"
    )
    page.fill(f'.album[data-prefix="{CLIMB}"] input.share-user', "bob")
    rendered(page, "click", f'.album[data-prefix="{CLIMB}"] button.share')
    settle(page)
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
            [photo_named(mine, "friends.png"), "group friends"],
            [photo_named(mine, "public.png"), "anyone"],
            [CLIMB, "user bob"],
        ]
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "photos-alice.png"), full_page=True)


def _alice_photos(alice: Viewer) -> dict[str, str]:
    return {path.rsplit("-", 1)[1]: path for path in _cards(alice.page, "#albums", (TRIP, CLIMB))}


@pytest.fixture(scope="module")
def bob(browser: Browser, stack: Stack, alice: Viewer) -> Iterator[Viewer]:
    viewer = open_gallery(browser, stack, OPEN_PAGES, "bob", "bob", "friends")
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
    assert fetch_status(bob.page, f"/{photos['private.png']}") == 403
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
    page = open_gallery(browser, stack, OPEN_PAGES, "switch", "alice").page
    assert fetch_status(page, f"/{photos['private.png']}") == 200  # her cookies for users/alice/
    page.fill("#user", "bob")
    page.fill("#groups", "friends")
    rendered(page, "click", "#signin")
    assert page.inner_text("#status") == "Signed in as bob (groups friends)"
    settle(page)
    assert fetch_status(page, f"/{photos['private.png']}") == 403  # hers were expired first
    assert not _cards(page, "#albums") and photos["private.png"] not in page.content()
    assert _cards(page, "#shared-photos").get(photos["wall.png"]) == ("ok", "200")
    crag = "users/bob/albums/climbing/crag.jpg"
    assert fetch_status(page, f"/{crag}") == 200
    rendered(page, "click", "#signout")
    assert page.is_hidden("#mine") and page.is_hidden("#shared")
    assert fetch_status(page, f"/{crag}") == 403  # signing out expires his cookies too
    page.context.close()


def test_carol_outside_the_group_sees_only_public(browser: Browser, stack: Stack, alice: Viewer) -> None:
    photos = _alice_photos(alice)
    carol = open_gallery(browser, stack, OPEN_PAGES, "carol", "carol")
    assert set(_cards(carol.page, "#shared-photos")) <= {photos["public.png"]}
    assert _cards(carol.page, "#public-photos").get(photos["public.png"]) == ("ok", "200")
    for name in ("private.png", "friends.png", "wall.png"):
        assert fetch_status(carol.page, f"/{photos[name]}") == 403
        assert photos[name] not in carol.page.content()
    carol.context.close()


def test_signed_out_sees_only_public_photos(browser: Browser, stack: Stack, alice: Viewer) -> None:
    photos = _alice_photos(alice)
    guest = open_gallery(browser, stack, OPEN_PAGES, "guest", None)
    public = _cards(guest.page, "#public-photos")
    seeded = _cards(guest.page, "#public-photos", ("users/alice/albums/holiday/",))
    assert seeded == {SEEDED_PUBLIC: ("ok", "200")}  # make run's sample share
    assert public.get(photos["public.png"]) == ("ok", "200")
    assert not any(path.startswith("users/alice/") and path != photos["public.png"] for path in public)
    assert guest.page.is_hidden("#mine") and guest.page.is_hidden("#shared")
    listed = guest.page.request.get(f"{stack.config.edge_url}/demo/photos?prefix={TRIP}").json()
    assert [p["path"] for p in listed["photos"]] == [photos["public.png"]]
    for name in ("private.png", "friends.png", "wall.png"):
        assert fetch_status(guest.page, f"/{photos[name]}") == 403
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
    rendered(alice.page, "click", f"#share-rows tr[data-id='{row.get_attribute('data-id')}'] button.revoke")
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
    settle(bob.page)
    assert _cards(bob.page, "#shared-photos")[photos["friends.png"]] == ("ok", "200")
    settle(alice.page)
    assert alice.page.evaluate("thumbs.loads") > alice_loads
    assert set(_cards(alice.page, "#albums", ("users/",)).values()) == {("ok", "200")}
    ARTIFACTS.mkdir(exist_ok=True)
    bob.page.screenshot(path=str(ARTIFACTS / "photos-bob-revoked.png"), full_page=True)


def test_public_photo_made_private_turns_403_for_signed_out_visitors(
    browser: Browser, stack: Stack, alice: Viewer
) -> None:
    photos = _alice_photos(alice)
    public = photos["public.png"]
    guest = open_gallery(browser, stack, OPEN_PAGES, "guest-revoked", None)
    assert _cards(guest.page, "#public-photos") == {public: ("ok", "200")}
    served = [url for status, url in guest.answers if public in url and status == 200]
    seen = len(guest.answers)
    rendered(alice.page, "select_option", f'select.visibility[data-target="{public}"]', "private")
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
    rendered(alice.page, "select_option", f'select.visibility[data-target="{CLIMB}"]', "public")
    notes = alice.page.eval_on_selector_all(
        f'.album[data-prefix="{CLIMB}"] .photo small', "els => els.map(e => e.textContent.trim())"
    )
    assert notes == ["public with its album"] * 2  # each photo's own setting is still private
    guest = open_gallery(browser, stack, OPEN_PAGES, "guest-album", None)
    assert _cards(guest.page, "#public-photos", (CLIMB,)) == {
        photos["wall.png"]: ("ok", "200"),
        photos["rope.png"]: ("ok", "200"),
    }
    assert fetch_status(guest.page, f"/{photos['private.png']}") == 403  # the other album is not
    guest.context.close()
