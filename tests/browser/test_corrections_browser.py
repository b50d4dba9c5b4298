"""In a real browser, as a family member: give a scan its date, shift a photo taken with a wrong clock, set a place
by coordinates, turn a photo; desktop and 390 px."""

from __future__ import annotations

import pytest

from gallery.models import Membership, Photo
from tests import images
from tests.browser.conftest import CHROMIUM, HAVE_CHROMIUM, new_page, sign_in
from tests.factories import FamilyFactory, MembershipFactory, UserFactory, photo_factory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not HAVE_CHROMIUM, reason=f"chromium is not installed (looked for {CHROMIUM})"),
]


@pytest.fixture
def smiths(transactional_db):
    family = FamilyFactory(name="Smiths")
    bob = UserFactory(username="bob")
    MembershipFactory(family=family, user=bob, role=Membership.Role.MEMBER)
    scan = photo_factory(family=family, user=bob, data=images.jpeg(size=(120, 60)), filename="scan-1987.jpg")
    trip = photo_factory(family=family, user=bob, data=images.gps_jpeg(38.7223, -9.1393), filename="trip.jpg")
    return family, scan, trip


def test_correct_date_place_and_rotation(live_server, page, artifacts, smiths):
    family, scan, trip = smiths
    sign_in(page, live_server, "bob")
    page.goto(live_server.url + scan.get_absolute_url())
    corrections = page.locator("#corrections")
    assert corrections.get_by_text("unknown: a scan?").is_visible()
    corrections.get_by_label("Day", exact=True).fill("1987-06-14")
    corrections.get_by_role("button", name="Set date").click()
    assert page.get_by_text("Date taken set to 14 Jun 1987 12:00.").is_visible()
    assert page.locator(".meta .edited").first.is_visible()

    corrections = page.locator("#corrections")
    corrections.get_by_label("Latitude").fill("41.1579")
    corrections.get_by_label("Longitude").fill("-8.6291")
    corrections.get_by_role("button", name="Set place").click()
    assert page.get_by_text("Place set to Porto").is_visible()

    page.get_by_role("button", name="Turn right (clockwise)").click()
    assert page.get_by_text("Turned.").is_visible()
    page.wait_for_function("() => Array.from(document.querySelectorAll('.photo-page img'))"
                           ".every((i) => i.complete && i.naturalWidth > 0)")
    fresh = Photo.objects.get(pk=scan.pk)
    assert (fresh.rotation, fresh.width, fresh.height, fresh.place_city) == (90, 60, 120, "Porto")
    assert fresh.taken_at_source == Photo.DateSource.MEMBER
    page.screenshot(path=artifacts / "corrections.png", full_page=True)

    # A camera an hour ahead: shift the trip photo back.
    before = trip.taken_at
    page.goto(live_server.url + trip.get_absolute_url())
    corrections = page.locator("#corrections")
    corrections.get_by_label("Hours", exact=True).fill("-1")
    corrections.get_by_role("button", name="Shift", exact=True).click()
    assert page.get_by_text("Shifted the date taken of 1 photo.").is_visible()
    assert (before - Photo.objects.get(pk=trip.pk).taken_at).total_seconds() == 3600
    assert page.js_errors == []


def test_corrections_on_a_phone(live_server, browser, artifacts, smiths):
    family, scan, trip = smiths
    context, phone = new_page(browser, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                              device_scale_factor=2)
    try:
        sign_in(phone, live_server, "bob")
        phone.goto(live_server.url + trip.get_absolute_url())
        phone.locator("#corrections").scroll_into_view_if_needed()
        assert phone.evaluate("() => document.documentElement.scrollWidth") <= 390
        phone.locator("#corrections").get_by_label("One of the family's places").select_option(index=1)
        phone.locator("#corrections").get_by_role("button", name="Set place").click()
        assert phone.get_by_text("Place set to Lisbon").is_visible()
        phone.screenshot(path=artifacts / "corrections-390.png", full_page=True)
        assert phone.js_errors == []
    finally:
        context.close()


def test_a_position_typed_with_a_decimal_comma_on_a_phone_sets_the_place(live_server, browser, artifacts, smiths):
    """A grandparent whose phone's keyboard writes a decimal comma typed 38,7223 and -9,1393 into Latitude and
    Longitude: the number fields dropped the commas (387223) and the browser said "Value must be less than or equal
    to 90", a number they never typed. The fields take a comma as the decimal point (and offer a keyboard of digits)."""
    family, scan, trip = smiths
    context, phone = new_page(browser, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                              device_scale_factor=2)
    try:
        sign_in(phone, live_server, "bob")
        phone.goto(live_server.url + scan.get_absolute_url())
        corrections = phone.locator("#corrections")
        corrections.get_by_label("Latitude").tap()
        phone.keyboard.type("38,7223")
        corrections.get_by_label("Longitude").tap()
        phone.keyboard.type("-9,1393")
        corrections.get_by_role("button", name="Set place").tap()
        phone.get_by_text("Place set to Lisbon").wait_for()
        assert corrections.get_by_label("Latitude").get_attribute("inputmode") == "decimal"
        phone.screenshot(path=artifacts / "corrections-decimal-comma-390.png", full_page=True)
        assert phone.js_errors == []
    finally:
        context.close()
    scan.refresh_from_db()
    assert (scan.place_city, round(scan.latitude, 4), round(scan.longitude, 4)) == ("Lisbon", 38.7223, -9.1393)
