"""In a real browser: a file whose keywords, title and caption were written into it by a photo program is
uploaded through the page; its photo page shows them, marks the tags that came from the file, and shows the
time it was taken in its own zone."""

from __future__ import annotations

import pytest

from gallery.models import Photo
from tests import images
from tests.browser.conftest import CHROMIUM, HAVE_CHROMIUM, new_page, photo_edit_open, sign_in, width_options
from tests.factories import FamilyFactory, MembershipFactory, UserFactory, photo_factory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not HAVE_CHROMIUM, reason=f"chromium is not installed (looked for {CHROMIUM})"),
]


@pytest.mark.django_db(transaction=True)
def test_upload_a_file_with_embedded_keywords_and_see_where_each_tag_came_from(live_server, page, artifacts):
    from PIL import Image

    family = FamilyFactory(name="Smiths")
    MembershipFactory(family=family, user=UserFactory(username="bob"))
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = "2023:07:14 19:45:00"
    exif.get_ifd(0x8769)[0x9011] = "+05:30"
    data = images.with_metadata(
        images.jpeg(colour=(230, 180, 40), size=(480, 320), exif=exif),
        xmp={"Xmp.dc.subject": ["Lisbon", "Tram"], "Xmp.dc.title": {'lang="x-default"': "Tram 28 up the hill"},
             "Xmp.dc.description": {'lang="x-default"': "The yellow tram climbing to the castle"}},
    )

    sign_in(page, live_server, "bob")
    page.get_by_role("link", name="Upload", exact=True).click()
    page.set_input_files("#file-input", files=[{"name": "IMG_0042.jpg", "mimeType": "image/jpeg", "buffer": data}])
    page.get_by_role("button", name="Upload 1 photo to Smiths").click()
    page.wait_for_function("() => document.querySelectorAll('#upload-list [data-outcome=\"saved\"]').length === 1")

    photo = Photo.objects.get(family=family)
    page.goto(live_server.url + photo.get_absolute_url())
    page.get_by_role("heading", name="Tram 28 up the hill").wait_for()
    assert page.get_by_text("The yellow tram climbing to the castle").is_visible()
    assert page.locator(".tag-source").count() == 2  # Lisbon and Tram, from the file
    assert "14 Jul 2023 19:45" in page.locator(".meta").inner_text()  # the camera's local time

    # A member adds a tag: it carries no "from the file" marker.
    photo_edit_open(page)
    tags = page.locator("input[name=tags]")
    tags.fill(tags.input_value() + ", Grandma")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("link", name="Grandma").wait_for()
    assert page.locator(".tag-source").count() == 2
    page.screenshot(path=artifacts / "photo-tag-sources.png", full_page=True)
    assert page.js_errors == []


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.django_db(transaction=True)
def test_a_long_tag_and_where_it_came_from_stay_inside_the_photos_card(live_server, browser, artifacts, width):
    """A long name (a person named in Google Photos, a file's keyword: up to 64 characters) with its "from Google
    Photos" beside it ran out of the card, and past the page's edge at 390 px: the source goes under the name then."""
    from gallery.models import PhotoTag
    from gallery.services import photo_tags_add

    family = FamilyFactory(name="Smiths")
    MembershipFactory(family=family, user=UserFactory(username="bob"))
    photo = photo_factory(family=family)
    photo_tags_add(photo=photo, names=["Bartholomew-Alexander-Montgomery-Fitzgerald-Smythe-Worthington", "Tom"],
                   source=PhotoTag.Source.SIDECAR)
    photo_tags_add(photo=photo, names=["Ana María de los Ángeles Fernández y Rodríguez-Castellanos"],
                   source=PhotoTag.Source.EMBEDDED)
    context, page = new_page(browser, **width_options(width))
    sign_in(page, live_server, "bob")
    page.goto(live_server.url + photo.get_absolute_url())

    assert page.locator(".tag-source").count() == 3
    card = page.locator(".tags").bounding_box()
    for pair in page.locator(".tag-pair").all():
        box = pair.bounding_box()
        assert box["x"] + box["width"] <= card["x"] + card["width"] + 0.5, pair.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=artifacts / f"photo-long-tags-{width}.png", full_page=True)
    assert page.js_errors == []
    context.close()
