"""Upload limits as a person meets them in the browser: with the page's script (one request per file) and without
it (one form post), at desktop width and on a phone."""

from __future__ import annotations

import os

import pytest

from gallery.models import Photo, PhotoTag
from tests import images
from tests.browser.conftest import CHROMIUM, HAVE_CHROMIUM, new_page, sign_in, width_options
from tests.factories import FamilyFactory, MembershipFactory, UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not HAVE_CHROMIUM, reason=f"chromium is not installed (looked for {CHROMIUM})"),
]

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


@pytest.fixture
def bob(transactional_db):
    family = FamilyFactory(name="Smiths")
    user = UserFactory(username="bob")
    MembershipFactory(family=family, user=user)
    return user


def _file(name: str, data: bytes) -> dict:
    return {"name": name, "mimeType": "image/jpeg", "buffer": data}


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_with_the_script_each_refused_file_says_why_and_the_others_are_kept(live_server, browser, bob, settings,
                                                                             artifacts, device):
    settings.UPLOAD_MAX_BYTES = 30_000
    context, page = new_page(browser, **(PHONE if device == "phone" else {"viewport": {"width": 1200, "height": 800}}))
    sign_in(page, live_server, "bob")
    page.goto(live_server.url + "/upload/")

    posts = []
    page.on("request", lambda request: request.method == "POST" and posts.append(request.url))
    page.set_input_files("#file-input", files=[
        _file("kept.jpg", images.jpeg(colour=(20, 120, 200))),
        _file("big.jpg", os.urandom(100_000)),  # over the per-file limit: refused as soon as it is chosen
        _file("huge.jpg", os.urandom(300_000)),
    ])
    for name in ("big.jpg", "huge.jpg"):  # the server's own words, and not sent for nothing (a phone's data)
        row = page.locator("#upload-list li", has=page.locator(".filename", has_text=name))
        assert row.get_attribute("data-outcome") == "rejected"
        assert row.locator(".reason").inner_text() == "File is too large (over 29.3 KB)."
        assert row.locator(".retry").count() == 0  # retrying would not help
    # The count is of every file chosen: the refused ones are named, with why, from the start.
    progress = page.locator("#upload-progress")
    assert progress.inner_text() == "2 refused, over the 29.3 KB limit per file: big.jpg, huge.jpg."
    page.get_by_role("button", name="Upload 1 photo to Smiths").click()
    page.wait_for_function("() => document.getElementById('upload-progress').textContent.includes('1 of 3 done')")
    assert progress.inner_text() == "1 of 3 done; 2 refused, over the 29.3 KB limit per file: big.jpg, huge.jpg."

    assert page.locator('#upload-list [data-outcome="saved"] .filename').all_inner_texts() == ["kept.jpg"]
    assert len(posts) == 1
    page.screenshot(path=artifacts / f"upload-limits-script-{device}.png", full_page=True)
    assert page.js_errors == []
    assert list(Photo.objects.values_list("original_filename", flat=True)) == ["kept.jpg"]
    context.close()


@pytest.mark.parametrize("device", ["phone"])
def test_without_the_script_too_many_files_says_how_many(live_server, browser, bob, settings, artifacts, device):
    settings.UPLOAD_MAX_FILES = 2
    options = PHONE if device == "phone" else {"viewport": {"width": 1200, "height": 800}}
    context, page = new_page(browser, java_script_enabled=False, **options)
    sign_in(page, live_server, "bob")
    page.goto(live_server.url + "/upload/")

    page.set_input_files("#file-input", files=[_file(f"p{n}.jpg", images.jpeg(colour=(n * 60, 90, 30))) for n in range(3)])
    page.get_by_role("button", name="Upload").click()
    page.wait_for_load_state()

    reason = page.locator('#upload-list [data-outcome="rejected"] .reason')
    assert reason.inner_text() == ("At most 2 files per upload; you sent 3. Nothing was uploaded; "
                                   "send them in smaller batches.")
    assert page.locator("#upload-form").is_visible()  # the form is there to try again
    page.screenshot(path=artifacts / f"upload-limits-too-many-{device}.png", full_page=True)
    assert not Photo.objects.exists()
    context.close()


@pytest.mark.parametrize("width", [1280])
def test_typed_tags_and_the_files_keywords_become_one_tag_each_whatever_their_case(live_server, browser, bob,
                                                                                     artifacts, width):
    """Two files of one upload carrying the keywords "beach" and "Lisbon", "Beach" typed: each photo has one tag
    "Beach", the member's, and "Lisbon" from the file (the upload's names read once: TagKeys)."""
    context, page = new_page(browser, **width_options(width))
    sign_in(page, live_server, "bob")
    page.goto(live_server.url + "/upload/")
    page.fill("#upload-tags", "Beach, trip")
    page.set_input_files("#file-input", files=[_file(f"p{n}.jpg", images.with_metadata(
        images.jpeg(colour=(40 * n, 120, 200)), xmp={"Xmp.dc.subject": ["beach", "Lisbon"]})) for n in range(2)])
    page.get_by_role("button", name="Upload 2 photos to Smiths").click()
    page.wait_for_function("() => document.getElementById('upload-progress').textContent.includes('2 of 2 done')")
    page.wait_for_function("() => [...document.querySelectorAll('#upload-list img')]"
                           ".every(img => img.complete && img.naturalWidth > 0)")  # (each thumbnail shown)
    page.screenshot(path=artifacts / f"upload-tags-{width}.png", full_page=True)

    assert page.js_errors == []
    for photo in Photo.objects.all():
        assert sorted(PhotoTag.objects.filter(photo=photo).values_list("tag__name", "source")) == [
            ("Beach", "member"), ("Lisbon", "embedded"), ("trip", "member")]
    context.close()
