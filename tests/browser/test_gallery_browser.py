"""End to end in a real browser: first-run setup, sign in, upload with the page's script, timeline thumbnails."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from gallery.models import Family, Membership, Photo
from tests import images
from tests.browser.conftest import CHROMIUM, HAVE_CHROMIUM
from tests.factories import FamilyFactory, MembershipFactory, UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not HAVE_CHROMIUM, reason=f"chromium is not installed (looked for {CHROMIUM})"),
]

ALL_IMAGES_LOADED = """(expected) => {
  const imgs = Array.from(document.querySelectorAll('.tile img'));
  return imgs.length === expected && imgs.every((img) => img.complete && img.naturalWidth > 0);
}"""


# Keep this test first in the file: the live server's FirstRunMiddleware remembers, for the rest of the
# session, that accounts exist once it has seen one, so "no users -> redirect" can only be seen before that.
@pytest.mark.django_db(transaction=True)
def test_first_run_creates_the_admin_and_lands_on_the_empty_timeline(live_server, page, artifacts):
    assert not get_user_model().objects.exists()

    page.goto(live_server.url + "/")
    assert page.url == live_server.url + "/setup/"
    assert page.get_by_role("heading", name="Welcome to MediaSearch").is_visible()

    page.fill("#id_username", "grandma")
    page.fill("#id_email", "grandma@example.org")
    page.fill("#id_password", "knitting-by-the-fire-42")
    page.fill("#id_password_again", "knitting-by-the-fire-4")  # typo: the page must say so
    page.fill("#id_family_name", "The Hendersons")
    page.click("button[type=submit]")
    assert page.get_by_text("The two passwords differ.").is_visible()
    page.screenshot(path=artifacts / "first-run-error.png", full_page=True)

    page.fill("#id_password", "knitting-by-the-fire-42")
    page.fill("#id_password_again", "knitting-by-the-fire-42")
    page.screenshot(path=artifacts / "first-run.png", full_page=True)
    page.click("button[type=submit]")

    page.wait_for_url(live_server.url + "/")
    assert page.get_by_text("No photos yet.").is_visible()
    assert page.locator(".who").inner_text() == "grandma"
    assert page.get_by_role("link", name="Admin").is_visible()  # a superuser
    assert page.locator("select[name=family] option", has_text="The Hendersons").count() == 1
    page.screenshot(path=artifacts / "first-run-timeline.png", full_page=True)
    assert page.js_errors == []

    user = get_user_model().objects.get()
    assert user.is_superuser
    assert Membership.objects.get(user=user).family == Family.objects.get(name="The Hendersons")


@pytest.mark.django_db(transaction=True)
def test_member_signs_in_uploads_with_progress_and_sees_thumbnails(live_server, page, artifacts):
    family = FamilyFactory(name="Smiths")
    bob = UserFactory(username="bob")
    MembershipFactory(family=family, user=bob)

    page.goto(live_server.url + "/")
    assert page.url.startswith(live_server.url + "/accounts/login/")
    page.fill("#id_username", "bob")
    page.fill("#id_password", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/")

    page.get_by_role("link", name="Upload", exact=True).click()
    page.wait_for_url(live_server.url + "/upload/")

    # Hold the uploads at the network so the progress rows can be seen before the answers arrive.
    held = []
    page.route("**/upload/", lambda route: held.append(route) if route.request.method == "POST" else route.continue_())
    page.set_input_files("#file-input", files=[
        {"name": "sunset.jpg", "mimeType": "image/jpeg", "buffer": images.jpeg(colour=(240, 120, 40), size=(320, 240))},
        {"name": "meadow.png", "mimeType": "image/png", "buffer": images.image_bytes("PNG", colour=(60, 170, 80), size=(240, 320))},
        {"name": "broken.jpg", "mimeType": "image/jpeg", "buffer": images.truncated_jpeg()},
    ])
    for _ in range(100):
        if len(held) == 3:
            break
        page.wait_for_timeout(50)
    assert len(held) == 3
    assert page.locator("#upload-list progress").count() == 3
    assert sorted(page.locator("#upload-list .filename").all_inner_texts()) == ["broken.jpg", "meadow.png", "sunset.jpg"]
    page.screenshot(path=artifacts / "upload-progress.png", full_page=True)
    for route in held:
        route.continue_()

    page.wait_for_function("() => document.querySelectorAll('#upload-list [data-outcome]').length === 3")
    assert page.locator("#upload-list progress").count() == 0
    saved = page.locator('#upload-list [data-outcome="saved"]')
    rejected = page.locator('#upload-list [data-outcome="rejected"]')
    assert saved.count() == 2 and rejected.count() == 1
    assert sorted(saved.locator(".filename").all_inner_texts()) == ["meadow.png", "sunset.jpg"]
    assert rejected.locator(".filename").inner_text() == "broken.jpg"
    reason = rejected.locator(".reason")
    assert reason.is_visible()
    assert "The image data is damaged or incomplete" in reason.inner_text()
    page.wait_for_function("() => Array.from(document.querySelectorAll('#upload-list img.mini'))"
                           ".every((img) => img.complete && img.naturalWidth > 0)")
    page.screenshot(path=artifacts / "upload.png", full_page=True)

    page.get_by_role("link", name="Photos", exact=True).click()
    page.wait_for_url(live_server.url + "/")
    page.wait_for_function(ALL_IMAGES_LOADED, arg=2)
    page.screenshot(path=artifacts / "timeline.png", full_page=True)
    assert page.js_errors == []

    assert sorted(Photo.objects.filter(family=family, uploaded_by=bob).values_list("original_filename", flat=True)) == [
        "meadow.png", "sunset.jpg"]
