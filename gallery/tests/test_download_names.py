"""A downloaded original is named with the extension of its real format: a PNG uploaded as "photo.jpg" arrives as
"photo.png", a HEIC keeps ".heic", a name with no extension gets one. Both the single download and the ZIP."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.urls import reverse

from tests import images
from tests.factories import photo_factory

pytestmark = pytest.mark.django_db


def _disposition(client, photo) -> str:
    response = client.get(photo.original_url, {"download": "1"})
    assert response.status_code == 200
    b"".join(response.streaming_content)
    return response["Content-Disposition"]


@pytest.mark.parametrize(("data", "uploaded_as", "downloaded_as"), [
    (images.image_bytes("PNG"), "photo.jpg", "photo.png"),
    (images.image_bytes("PNG"), "photo.JPEG", "photo.png"),
    (images.image_bytes("JPEG"), "scan.png", "scan.jpg"),
    (images.image_bytes("JPEG"), "IMG_0001.JPG", "IMG_0001.JPG"),  # right already: left exactly as it was
    (images.image_bytes("JPEG"), "IMG_0002.jpeg", "IMG_0002.jpeg"),
    (images.image_bytes("HEIF"), "IMG_0003.HEIC", "IMG_0003.HEIC"),
    (images.image_bytes("HEIF"), "IMG_0004.jpg", "IMG_0004.heic"),
    (images.image_bytes("TIFF"), "page.tiff", "page.tiff"),
    (images.image_bytes("WEBP"), "holiday", "holiday.webp"),
    (images.image_bytes("PNG"), "holiday.2024", "holiday.2024.png"),  # not an image extension: kept, one added
], ids=lambda value: value if isinstance(value, str) else "")
def test_the_original_downloads_with_its_real_formats_extension(client_for, family, alice, data, uploaded_as,
                                                                downloaded_as):
    photo = photo_factory(family=family, user=alice, data=data, filename=uploaded_as)

    assert _disposition(client_for(alice), photo) == f"attachment; filename*=UTF-8''{downloaded_as}"


def test_the_original_viewed_in_the_browser_carries_its_name_for_save_as(client_for, family, alice):
    """Opened inline ("View original"), the browser's "Save image as" offered the stored file's hash as its name."""
    photo = photo_factory(family=family, user=alice, data=images.image_bytes("PNG"), filename="Grandma's garden.jpg")
    response = client_for(alice).get(photo.original_url)
    b"".join(response.streaming_content)
    assert response["Content-Disposition"] == "inline; filename*=UTF-8''Grandma%27s%20garden.png"


def test_the_zip_names_each_original_by_its_real_format(client_for, family, alice):
    png = photo_factory(family=family, user=alice, data=images.image_bytes("PNG", colour=(1, 2, 3)), filename="a.jpg")
    jpeg = photo_factory(family=family, user=alice, data=images.image_bytes("JPEG", colour=(9, 9, 9)), filename="a.jpg")
    bare = photo_factory(family=family, user=alice, data=images.image_bytes("GIF"), filename="noext")
    also_png = photo_factory(family=family, user=alice, data=images.image_bytes("PNG", colour=(4, 5, 6)),
                             filename="a.png")

    response = client_for(alice).post(reverse("gallery:photos_download"),
                                      {"photos": [png.pk, jpeg.pk, bare.pk, also_png.pk]})
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))

    # The renamed PNG and the real "a.png" still get one name each.
    assert archive.namelist() == ["a.png", "a.jpg", "noext.gif", "a (2).png"]
