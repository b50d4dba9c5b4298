"""A downloaded original is named with the extension of its real format: a PNG uploaded as "photo.jpg" arrives as
"photo.png", a HEIC keeps ".heic", a name with no extension gets one. Both the single download and the ZIP."""

from __future__ import annotations

import io
import struct
import zipfile
from datetime import datetime, timedelta, timezone as dt_timezone

import pytest
from django.urls import reverse

from gallery.models import Photo
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
    (images.image_bytes("JPEG"), ".jpg", "photo-{pk}.jpg"),  # nothing but an extension: no name ("jpg.jpg")
    (images.image_bytes("JPEG"), "..jpg", "photo-{pk}.jpg"),
    (images.image_bytes("JPEG"), " .jpg", "photo-{pk}.jpg"),
], ids=lambda value: value if isinstance(value, str) else "")
def test_the_original_downloads_with_its_real_formats_extension(client_for, family, alice, data, uploaded_as,
                                                                downloaded_as):
    photo = photo_factory(family=family, user=alice, data=data, filename=uploaded_as)

    assert _disposition(client_for(alice), photo) == f"attachment; filename*=UTF-8''{downloaded_as.format(pk=photo.pk)}"


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


def _extra_fields(info: zipfile.ZipInfo) -> dict[int, bytes]:
    fields, extra = {}, info.extra
    while len(extra) >= 4:
        kind, size = struct.unpack("<HH", extra[:4])
        fields[kind], extra = extra[4:4 + size], extra[4 + size:]
    return fields


def _instants(info: zipfile.ZipInfo) -> tuple[datetime | None, datetime | None]:
    """When the entry says it was changed, from its NTFS extra field (0x000a) and its "UT" one (0x5455)."""
    fields = _extra_fields(info)
    ntfs = ut = None
    if 0x000A in fields:
        reserved, tag, size, modified, accessed, created = struct.unpack("<IHHQQQ", fields[0x000A])
        assert (reserved, tag, size) == (0, 1, 24) and modified == accessed == created
        ntfs = datetime(1601, 1, 1, tzinfo=dt_timezone.utc) + timedelta(microseconds=modified // 10)
    if 0x5455 in fields:
        flags, seconds = struct.unpack("<Bi", fields[0x5455])
        assert flags == 1
        ut = datetime.fromtimestamp(seconds, dt_timezone.utc)
    return ntfs, ut


def test_the_zip_says_when_each_photo_was_taken_even_before_1980(client_for, family, alice):
    """ZIP's own dates start in 1980 and name no zone: a scan from 1965 read 1 January 1980. Each entry also carries
    the instant, in the NTFS field (7-Zip: any date) and from 1970 on in the UT one (Info-ZIP's unzip)."""
    taken = {"scan.jpg": datetime(1965, 7, 4, 12, 30, 15, 250000, tzinfo=dt_timezone.utc),
             "slide.jpg": datetime(1975, 3, 2, 8, 0, tzinfo=dt_timezone.utc),
             "phone.jpg": datetime(2023, 8, 1, 9, 15, 20, tzinfo=dt_timezone.utc),
             "daguerreotype.jpg": datetime(1850, 5, 1, tzinfo=dt_timezone.utc)}
    photos = [photo_factory(family=family, user=alice, filename=name) for name in taken]
    for photo in photos:
        Photo.objects.filter(pk=photo.pk).update(taken_at=taken[photo.original_filename], taken_tz="UTC")

    response = client_for(alice).post(reverse("gallery:photos_download"), {"photos": [p.pk for p in photos]})
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))

    assert archive.testzip() is None
    dos = {info.filename: info.date_time for info in archive.infolist()}
    assert dos == {"scan.jpg": (1980, 1, 1, 0, 0, 0), "slide.jpg": (1980, 1, 1, 0, 0, 0),
                   "phone.jpg": (2023, 8, 1, 9, 15, 20), "daguerreotype.jpg": (1980, 1, 1, 0, 0, 0)}
    instants = {info.filename: _instants(info) for info in archive.infolist()}
    assert instants == {"scan.jpg": (taken["scan.jpg"], None),
                        "slide.jpg": (taken["slide.jpg"], taken["slide.jpg"]),
                        "phone.jpg": (taken["phone.jpg"], taken["phone.jpg"]),
                        "daguerreotype.jpg": (taken["daguerreotype.jpg"], None)}
