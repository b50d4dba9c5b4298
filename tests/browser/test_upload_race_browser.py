"""The upload page's script sends three files at once; with new tags typed, those requests race to create the
same tags. Every file must be saved (issue 8, point 1: 2 of 6 failed with "The server answered 500")."""

from __future__ import annotations

import pytest

from gallery.models import Membership, Photo, Tag
from tests import images
from tests.browser.conftest import CHROMIUM, HAVE_CHROMIUM, sign_in
from tests.factories import FamilyFactory, MembershipFactory, UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not HAVE_CHROMIUM, reason=f"chromium is not installed (looked for {CHROMIUM})"),
]


@pytest.mark.django_db(transaction=True)
def test_six_files_with_new_tags_all_save_when_the_script_sends_them_three_at_a_time(live_server, page, artifacts):
    family = FamilyFactory(name="Smiths")
    MembershipFactory(family=family, user=UserFactory(username="bob"), role=Membership.Role.ADMIN)
    sign_in(page, live_server, "bob")
    page.goto(live_server.url + "/upload/")

    # Hold each wave of three requests at the network and release it at once, so they reach the server together.
    held = []
    page.route("**/upload/", lambda route: held.append(route) if route.request.method == "POST" else route.continue_())
    page.fill("input[name=tags]", "Summer 2026, beach, Grandma, brand new tag")
    page.set_input_files("#file-input", files=[
        {"name": f"photo{i}.jpg", "mimeType": "image/jpeg", "buffer": images.jpeg(colour=(40 * i, 200 - 30 * i, 90))}
        for i in range(6)
    ])
    page.get_by_role("button", name="Upload 6 photos to Smiths").click()
    released = 0
    for _ in range(400):
        if len(held) - released == 3 or (released == 3 and len(held) == 6):
            for route in held[released:]:
                route.continue_()
            released = len(held)
        if released == 6:
            break
        page.wait_for_timeout(25)
    assert released == 6

    page.wait_for_function("() => document.querySelectorAll('#upload-list [data-outcome]').length === 6")
    page.screenshot(path=artifacts / "upload-race.png", full_page=True)
    outcomes = page.locator("#upload-list [data-outcome]").evaluate_all("rows => rows.map(r => r.dataset.outcome)")
    assert outcomes == ["saved"] * 6, page.locator("#upload-list").inner_text()
    assert Photo.objects.filter(family=family).count() == 6
    assert sorted(Tag.objects.filter(family=family).values_list("name", flat=True)) == [
        "Grandma", "Summer 2026", "beach", "brand new tag"]
    assert all(photo.tags.count() == 4 for photo in Photo.objects.all())
    assert page.js_errors == []
