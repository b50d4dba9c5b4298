"""In a real browser, as a family member: the favourite heart and the favourites filter; move a photo to the trash
from its page, find it in the family's trash, restore it; an admin empties the trash. Desktop and 390 px."""

from __future__ import annotations

import pytest

from gallery.models import Favourite, Membership, Photo
from tests.browser.conftest import CHROMIUM, HAVE_CHROMIUM, new_page, sign_in
from search.tests.conftest import toy_model  # noqa: F401 (a fixture)
from tests.factories import FamilyFactory, MembershipFactory, UserFactory, photo_factory
from tests.queue import run_queued_tasks

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not HAVE_CHROMIUM, reason=f"chromium is not installed (looked for {CHROMIUM})"),
]


@pytest.fixture
def smiths(transactional_db):
    family = FamilyFactory(name="Smiths")
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    MembershipFactory(family=family, user=alice, role=Membership.Role.ADMIN)
    MembershipFactory(family=family, user=bob)
    photos = [photo_factory(family=family, user=bob, filename=f"garden-{n}.jpg") for n in range(4)]
    return family, alice, bob, photos


def test_favourite_heart_and_filter(live_server, page, artifacts, smiths):
    family, alice, bob, photos = smiths
    sign_in(page, live_server, "bob")
    target = photos[1]
    heart = page.locator(f"#photo-{target.pk} + .heart-form button.heart")
    assert heart.get_attribute("aria-pressed") == "false"
    heart.click()
    page.wait_for_selector(f"#photo-{target.pk} + .heart-form button.heart[aria-pressed=true]")
    assert Favourite.objects.filter(user=bob, photo=target).exists()
    page.screenshot(path=artifacts / "favourite-heart.png", full_page=True)

    page.get_by_role("link", name="Favourites only").click()
    page.wait_for_url("**/?favourite=1")
    assert page.locator("#grid .tile").count() == 1
    assert page.locator(f"#photo-{target.pk}").is_visible()
    page.screenshot(path=artifacts / "favourites-filter.png", full_page=True)

    # On the photo page the heart is on too, and turns off there.
    page.locator(f"#photo-{target.pk}").click()
    page.wait_for_url(f"**/photos/{target.pk}/**")
    photo_heart = page.locator(".photo-favourite button.heart")
    assert photo_heart.get_attribute("aria-pressed") == "true"
    photo_heart.click()
    page.wait_for_selector(".photo-favourite button.heart[aria-pressed=false]")
    assert not Favourite.objects.filter(user=bob, photo=target).exists()
    assert page.js_errors == []


def test_favourite_heart_on_search_results(live_server, page, artifacts, smiths, toy_model):
    family, alice, bob, photos = smiths
    from search.models import SearchPreferences

    SearchPreferences.objects.create(user=bob, min_score=0)  # file-name matches only: show them all
    run_queued_tasks()  # embedded, so the page loads the model once, here rather than on a timer
    sign_in(page, live_server, "bob")
    page.goto(live_server.url + "/search/?q=garden", timeout=60_000)
    target = photos[0]
    heart = page.locator(f"#photo-{target.pk} .heart-form button.heart")
    assert heart.get_attribute("aria-pressed") == "false"
    heart.click()
    page.wait_for_selector(f"#photo-{target.pk} .heart-form button.heart[aria-pressed=true]")
    assert Favourite.objects.filter(user=bob, photo=target).exists()
    page.wait_for_function("() => Array.from(document.querySelectorAll('#results .tile img'))"
                           ".every((i) => i.complete && i.naturalWidth > 0)")
    page.screenshot(path=artifacts / "favourite-search.png", full_page=True)
    page.locator("label.check input[name=favourite]").check(force=True)
    page.wait_for_function("() => document.querySelectorAll('#results .result').length === 1", timeout=30_000)
    assert "favourite=1" in page.url
    assert page.locator(f"#photo-{target.pk}").is_visible()
    assert page.js_errors == []


def test_trash_and_restore(live_server, page, artifacts, smiths):
    family, alice, bob, photos = smiths
    sign_in(page, live_server, "bob")
    doomed = photos[2]
    page.goto(live_server.url + doomed.get_absolute_url())
    # Then on to the next photo of the timeline (the list the viewer walks), with the message.
    following = page.locator("a[data-viewer-step=next]").get_attribute("href")
    page.get_by_role("button", name="Move to trash").click()
    page.wait_for_url(live_server.url + following)
    assert page.get_by_text("to the trash of Smiths").is_visible()
    page.goto(live_server.url + "/")
    assert page.locator(f"#photo-{doomed.pk}").count() == 0
    assert page.locator("#grid .tile").count() == 3

    page.goto(live_server.url + f"/families/{family.pk}/trash/")
    item = page.locator(f"#trashed-{doomed.pk}")
    assert item.is_visible()
    page.wait_for_function(f"() => document.querySelector('#trashed-{doomed.pk} img').naturalWidth > 0")
    page.screenshot(path=artifacts / "trash-page.png", full_page=True)
    item.get_by_role("button", name="Restore").click()
    assert page.get_by_text("Restored 1 photo.").is_visible()
    assert page.get_by_text("The trash is empty.").is_visible()
    assert Photo.objects.filter(pk=doomed.pk).exists()

    page.goto(live_server.url + "/")
    assert page.locator(f"#photo-{doomed.pk}").count() == 1
    assert page.js_errors == []


def test_admin_empties_the_trash_on_a_phone(live_server, browser, artifacts, smiths):
    family, alice, bob, photos = smiths
    from gallery.trash_services import photos_trash

    photos_trash(user=bob, photo_ids=[photos[0].pk, photos[3].pk])
    context, phone = new_page(browser, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                              device_scale_factor=2)
    try:
        sign_in(phone, live_server, "alice")
        phone.wait_for_function("() => Array.from(document.querySelectorAll('.tile img'))"
                                ".every((i) => i.complete && i.naturalWidth > 0)")
        phone.screenshot(path=artifacts / "favourite-hearts-390.png", full_page=True)
        phone.goto(live_server.url + f"/families/{family.pk}/trash/")
        assert phone.locator(".trash-item").count() == 2
        # Nothing wider than the phone.
        assert phone.evaluate("() => document.documentElement.scrollWidth") <= 390
        phone.screenshot(path=artifacts / "trash-page-390.png", full_page=True)
        phone.once("dialog", lambda dialog: dialog.accept())
        phone.get_by_role("button", name="Empty trash").click()
        assert phone.get_by_text("2 photos deleted for good").is_visible()
        assert not Photo.all_objects.filter(pk__in=[photos[0].pk, photos[3].pk]).exists()
        assert phone.js_errors == []
    finally:
        context.close()
