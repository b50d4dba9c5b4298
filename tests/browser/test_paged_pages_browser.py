"""Pages that were missing things a person needs, in a real browser at 390 px and 1280 px: the error pages carry the
site's menu (and it opens on a phone), an album and the near-duplicates page load their next page as they are
scrolled. Screenshots go to test-artifacts/ (errors-*.png, album-pages-*.png, duplicates-pages-*.png)."""

from __future__ import annotations

import pytest

from gallery.album_services import album_add_photos, album_create
from search.models import DuplicatePair
from tests.browser.conftest import CHROMIUM, HAVE_CHROMIUM, new_page, sign_in
from tests.factories import MembershipFactory, UserFactory, photo_factory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not HAVE_CHROMIUM, reason=f"chromium is not installed (looked for {CHROMIUM})"),
    pytest.mark.django_db(transaction=True),
]

DEVICES = {
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
    "desktop": {"viewport": {"width": 1280, "height": 800}},
}
TILES = "() => document.querySelectorAll('#grid .tile').length"


def _no_sideways_scroll(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("device", DEVICES)
def test_a_missing_photo_page_has_the_menu_and_the_way_back(live_server, browser, artifacts, family, alice, device):
    context, page = new_page(browser, **DEVICES[device])
    sign_in(page, live_server, "alice")
    response = page.goto(live_server.url + "/photos/999999/")
    assert response.status == 404
    assert page.get_by_role("heading", name="Not found").is_visible() and _no_sideways_scroll(page)
    page.screenshot(path=artifacts / f"errors-404-{device}.png", full_page=True)
    if device == "phone":
        page.get_by_text("Menu", exact=True).click()
        page.screenshot(path=artifacts / f"errors-404-{device}-menu.png", full_page=True)
    albums = page.get_by_role("navigation", name="Main").get_by_role("link", name="Albums")
    assert albums.is_visible()
    albums.click()
    page.wait_for_url(live_server.url + "/albums/")
    # Signed out: a way to sign in instead of the menu.
    page.context.clear_cookies()
    page.goto(live_server.url + "/no-such-page/")
    assert page.get_by_role("link", name="Sign in").is_visible()
    page.screenshot(path=artifacts / f"errors-404-signed-out-{device}.png", full_page=True)
    assert page.js_errors == []
    context.close()


@pytest.mark.parametrize("device", DEVICES)
def test_the_403_and_500_pages_have_the_menu(live_server, browser, artifacts, family, alice, settings, device):
    settings.ROOT_URLCONF = "tests.error_urls"  # the site's URLs and /fail/, a view that raises
    bob = UserFactory(username="bob")
    MembershipFactory(family=family, user=bob)
    album = album_create(user=alice, family=family, name="Alice's")
    context, page = new_page(browser, **DEVICES[device])
    sign_in(page, live_server, "bob")
    for path, status, heading, name in ((f"/albums/{album.pk}/shares/", 403, "Not allowed", "403"),
                                        ("/fail/", 500, "Something went wrong", "500")):
        response = page.goto(live_server.url + path)
        assert response.status == status
        assert page.get_by_role("heading", name=heading).is_visible() and _no_sideways_scroll(page)
        page.screenshot(path=artifacts / f"errors-{name}-{device}.png", full_page=True)
        if device == "phone":
            page.get_by_text("Menu", exact=True).click()
            page.screenshot(path=artifacts / f"errors-{name}-{device}-menu.png", full_page=True)
        assert page.get_by_role("navigation", name="Main").get_by_role("link", name="Photos").is_visible()
    assert page.js_errors == []
    context.close()


@pytest.mark.parametrize("device", DEVICES)
def test_an_album_loads_its_next_page_when_scrolled_to_the_end(live_server, browser, artifacts, family, alice, settings,
                                                                device):
    settings.GALLERY_PAGE_SIZE = 6
    photos = [photo_factory(family=family, user=alice, filename=f"a{n}.jpg") for n in range(9)]
    album = album_create(user=alice, family=family, name="Seaside")
    album_add_photos(user=alice, album=album, photo_ids=[p.pk for p in photos])
    context, page = new_page(browser, **DEVICES[device])
    sign_in(page, live_server, "alice")
    page.goto(live_server.url + album.get_absolute_url())
    assert page.get_by_text("9 photos").is_visible()
    page.screenshot(path=artifacts / f"album-pages-first-{device}.png", full_page=True)
    # Scroll to the end (on a wide screen the first page is short, and HTMX may have loaded the next one already).
    page.evaluate("() => window.scrollTo(0, document.documentElement.scrollHeight)")
    page.wait_for_function(f"() => ({TILES})() === 9")
    assert page.locator("a.more").count() == 0 and _no_sideways_scroll(page)
    ids = page.evaluate("() => Array.from(document.querySelectorAll('#grid .tile')).map((a) => Number(a.dataset.photo))")
    assert ids == [p.pk for p in photos]
    page.screenshot(path=artifacts / f"album-pages-all-{device}.png", full_page=True)
    assert page.js_errors == []
    context.close()


@pytest.mark.parametrize("device", DEVICES)
def test_near_duplicates_load_their_next_page_when_scrolled_to_the_end(live_server, browser, artifacts, family, alice,
                                                                       settings, device):
    settings.DUPLICATE_GROUPS_PAGE_SIZE = 2
    for n in range(3):
        a, b = (photo_factory(family=family, user=alice, filename=f"g{n}{side}.jpg") for side in "ab")
        DuplicatePair.objects.create(family=family, photo_a=a, photo_b=b, hash_distance=0)
    context, page = new_page(browser, **DEVICES[device])
    sign_in(page, live_server, "alice")
    page.goto(live_server.url + f"/families/{family.pk}/duplicates/")
    assert page.get_by_text("3 groups.").is_visible()
    page.evaluate("() => window.scrollTo(0, document.documentElement.scrollHeight)")
    page.wait_for_function("() => document.querySelectorAll('.duplicate-group').length === 3")
    assert _no_sideways_scroll(page)
    page.screenshot(path=artifacts / f"duplicates-pages-{device}.png", full_page=True)
    assert page.js_errors == []
    context.close()
