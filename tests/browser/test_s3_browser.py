"""In a real browser with media in an S3-compatible store (moto's S3 server, tests/s3.py): photos uploaded through
the Upload page land in the bucket, and the timeline's thumbnails and the photo page's display rendition load
from it through the permission-checked views; no storage address reaches a page. Screenshots at desktop width
and 390 px go to test-artifacts/ (s3-*.png)."""

from __future__ import annotations

import pytest

from gallery.models import Photo
from tests import images
from tests.browser.conftest import CHROMIUM, HAVE_CHROMIUM, new_page, sign_in
from tests.factories import FamilyFactory, MembershipFactory, UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not HAVE_CHROMIUM, reason=f"chromium is not installed (looked for {CHROMIUM})"),
]

LOADED = "(selector) => Array.from(document.querySelectorAll(selector)).every((img) => img.complete && img.naturalWidth > 0)"


@pytest.mark.django_db(transaction=True)
def test_upload_then_browse_with_media_in_the_store(live_server, browser, artifacts, s3_media, s3_server):
    family = FamilyFactory(name="Smiths")
    MembershipFactory(family=family, user=UserFactory(username="bob"))
    context, page = new_page(browser, viewport={"width": 1280, "height": 800})
    sign_in(page, live_server, "bob")
    page.goto(live_server.url + "/upload/")
    page.set_input_files("#file-input", files=[
        {"name": "sunset.jpg", "mimeType": "image/jpeg", "buffer": images.jpeg(colour=(240, 120, 40), size=(320, 240))},
        {"name": "meadow.png", "mimeType": "image/png",
         "buffer": images.image_bytes("PNG", colour=(60, 170, 80), size=(240, 320))},
    ])
    page.get_by_role("button", name="Upload 2 photos to Smiths").click()
    page.wait_for_function("() => document.querySelectorAll('#upload-list [data-outcome=\"saved\"]').length === 2")
    assert len(s3_media.names()) == 6

    for name, viewport in (("desktop", {"width": 1280, "height": 800}), ("phone", {"width": 390, "height": 844})):
        page.set_viewport_size(viewport)
        page.goto(live_server.url + "/")
        page.wait_for_function(LOADED, arg=".tile img")
        assert page.locator(".tile img").count() == 2
        assert s3_server.split("//")[1] not in page.content() and s3_media.name not in page.content()
        page.screenshot(path=artifacts / f"s3-timeline-{name}.png", full_page=True)
        photo = Photo.objects.get(original_filename="meadow.png")
        page.goto(live_server.url + photo.get_absolute_url())
        assert page.locator("img[src*='/display/']").count() == 1
        page.wait_for_function(LOADED, arg="img[src*='/display/']")
        page.screenshot(path=artifacts / f"s3-photo-{name}.png", full_page=True)
    assert page.js_errors == []
    context.close()
