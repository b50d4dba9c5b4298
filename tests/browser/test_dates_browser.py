"""In a real browser, a family spread across zones on New Year's Eve: the timeline's months and its jump, the photo
page and the admin show each photo on its own local day and time; desktop and 390 px."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model

from gallery.models import Membership
from tests import images
from tests.browser.conftest import CHROMIUM, HAVE_CHROMIUM, new_page, sign_in
from tests.factories import FamilyFactory, MembershipFactory, UserFactory, photo_factory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not HAVE_CHROMIUM, reason=f"chromium is not installed (looked for {CHROMIUM})"),
]


@pytest.fixture
def new_year(transactional_db, settings):
    settings.TIME_ZONE = "UTC"
    family = FamilyFactory(name="Smiths")
    bob = UserFactory(username="bob")
    MembershipFactory(family=family, user=bob, role=Membership.Role.MEMBER)
    # 23:30 on New Year's Eve in Los Angeles is 07:30 UTC on the 1st; 00:30 in Sydney is 13:30 UTC on the 31st.
    los_angeles = photo_factory(family=family, user=bob, filename="los-angeles.jpg",
                                data=images.gps_jpeg(34.0522, -118.2437, taken="2023:12:31 23:30:00", colour=(200, 40, 40)))
    sydney = photo_factory(family=family, user=bob, filename="sydney.jpg",
                           data=images.gps_jpeg(-33.8688, 151.2093, taken="2024:01:01 00:30:00", colour=(40, 40, 200)))
    # No offset, no position: read in TIME_ZONE, and the page says that is an assumption.
    photo_factory(family=family, user=bob, filename="no-zone.jpg",
                  data=images.gps_jpeg(None, None, taken="2023:12:31 12:00:00", colour=(40, 160, 40)))
    return los_angeles, sydney


@pytest.mark.parametrize("width", [1280, 390])
def test_the_timeline_and_photo_page_show_local_days(live_server, browser, artifacts, new_year, width):
    los_angeles, sydney = new_year
    context, page = new_page(browser, viewport={"width": width, "height": 900}, is_mobile=width < 500)
    try:
        sign_in(page, live_server, "bob")
        page.goto(live_server.url + "/?month=2023-12")
        assert page.locator("option[value='2023-12']").inner_text() == "December 2023 (2)"
        assert page.locator("option[value='2024-01']").inner_text() == "January 2024 (1)"
        headings = page.locator("h2.month-heading, h3.day-heading").all_inner_texts()
        assert [h.strip().split("\n")[0] for h in headings][:2] == ["December 2023", "Sunday 31 December Select all"]
        assert page.locator("a.tile").first.get_attribute("id") == f"photo-{los_angeles.pk}"
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=artifacts / f"dates-timeline-{width}.png", full_page=True)

        page.goto(live_server.url + los_angeles.get_absolute_url())
        taken = page.locator("dt:text-is('Taken') + dd").inner_text()
        assert re.match(r"31 Dec 2023 23:30 \(America/Los_Angeles\)", taken), taken
        page.screenshot(path=artifacts / f"dates-photo-{width}.png", full_page=True)
        page.goto(live_server.url + "/")
        page.locator("a.tile").last.click()
        taken = page.locator("dt:text-is('Taken') + dd").inner_text()
        assert taken.startswith("31 Dec 2023 12:00 (UTC: assumed"), taken
        page.screenshot(path=artifacts / f"dates-photo-assumed-{width}.png", full_page=True)
    finally:
        context.close()


def test_the_admin_lists_local_times(live_server, browser, artifacts, new_year):
    los_angeles, sydney = new_year
    get_user_model().objects.create_superuser("root", "root@example.org", "correct horse battery")
    for width in (1280, 390):
        context, page = new_page(browser, viewport={"width": width, "height": 900})
        try:
            page.goto(live_server.url + "/admin/login/?next=/admin/gallery/photo/")
            page.fill("#id_username", "root")
            page.fill("#id_password", "correct horse battery")
            page.click("input[type=submit]")
            page.wait_for_url(re.compile(r".*/admin/gallery/photo/$"))
            body = page.locator("#result_list").inner_text()
            assert "31 Dec 2023 23:30 America/Los_Angeles" in body
            assert "01 Jan 2024 00:30 Australia/Sydney" in body
            page.screenshot(path=artifacts / f"dates-admin-{width}.png", full_page=True)
        finally:
            context.close()
