"""The display rendition (issue 8, point 7): an upright JPEG every browser shows, made at upload, shown on
the photo page, backfilled for older photos; the original stays a download."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.urls import reverse
from PIL import Image

from gallery.models import Photo
from tests import images
from tests.factories import photo_factory

pytestmark = pytest.mark.django_db


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _image(response) -> Image.Image:
    return Image.open(io.BytesIO(_body(response)))


@pytest.fixture
def heic_photo(family, alice):
    return photo_factory(family=family, user=alice, data=images.image_bytes("HEIF", size=(640, 480), colour=(9, 200, 9)),
                         filename="IMG_0001.HEIC")


def test_a_heic_upload_gets_a_jpeg_display_rendition(heic_photo):
    assert heic_photo.mime_type == "image/heif"
    with heic_photo.display.open("rb") as f:
        display = Image.open(f)
        display.load()
    assert display.format == "JPEG" and display.size == (640, 480)
    r, g, b = display.convert("RGB").getpixel((320, 240))
    assert g > 150 and r < 60 and b < 60


def test_the_photo_page_shows_the_display_rendition_and_offers_the_original_as_a_download(client_for, bob, heic_photo):
    body = client_for(bob).get(heic_photo.get_absolute_url()).content.decode()

    assert f'<img src="{heic_photo.display_url}"' in body
    assert f'src="{heic_photo.original_url}"' not in body
    assert f'href="{heic_photo.original_url}?download=1">Download original</a>' in body


def test_the_display_url_answers_a_jpeg_to_family_members_only(client, client_for, bob, mallory, heic_photo):
    response = client_for(bob).get(heic_photo.display_url)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert _image(response).format == "JPEG"
    assert "private" in response["Cache-Control"] and response["X-Content-Type-Options"] == "nosniff"

    client.logout()
    assert client_for(mallory).get(heic_photo.display_url).status_code == 404


def test_the_download_link_answers_the_original_as_an_attachment(client_for, bob, heic_photo):
    response = client_for(bob).get(heic_photo.download_url)

    assert response.status_code == 200 and response["Content-Type"] == "image/heif"
    assert response["Content-Disposition"] == "attachment; filename*=UTF-8''IMG_0001.HEIC"
    with heic_photo.original.open("rb") as f:
        assert _body(response) == f.read()


def test_the_display_rendition_is_upright_and_fits_display_size(family, alice, settings):
    settings.DISPLAY_SIZE = 120
    photo = photo_factory(family=family, user=alice, data=images.rotated_jpeg(), filename="r.jpg")

    with photo.display.open("rb") as f:
        display = Image.open(f).convert("RGB")
    assert display.size == (60, 120)  # 100×200 upright, shrunk to fit 120²
    top, bottom = display.getpixel((30, 5)), display.getpixel((30, 114))
    assert top[0] > 200 and top[2] < 60, top  # red on top, as for the thumbnail
    assert bottom[2] > 200 and bottom[0] < 60, bottom


def test_the_api_gives_the_display_url(client_for, alice, heic_photo):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(alice)
    body = api.get(reverse("api_photo_detail", args=[heic_photo.pk])).json()
    assert body["display_url"] == f"http://testserver{heic_photo.display_url}"


def _forget_display(photo: Photo) -> None:
    """As for a photo stored before display renditions existed."""
    photo.display.storage.delete(photo.display.name)
    Photo.objects.filter(pk=photo.pk).update(display="")


def test_before_its_rendition_exists_a_photo_shows_its_original_if_browsers_can_else_its_thumbnail(
    client_for, alice, family, heic_photo
):
    jpeg_photo = photo_factory(family=family, user=alice)
    for photo in (jpeg_photo, heic_photo):
        _forget_display(photo)
    client = client_for(alice)

    assert client.get(jpeg_photo.display_url)["Content-Type"] == "image/jpeg"
    assert _body(client.get(jpeg_photo.display_url)) == jpeg_photo.original.open("rb").read()
    heic = client.get(heic_photo.display_url)
    assert heic.status_code == 200 and heic["Content-Type"] == "image/jpeg"  # the thumbnail, never the HEIC


def test_make_renditions_fills_what_is_missing_and_resumes(family, alice, heic_photo):
    others = [photo_factory(family=family, user=alice) for _ in range(3)]
    kept = others[0]
    kept_name = kept.display.name
    for photo in [heic_photo, *others[1:]]:
        _forget_display(photo)
    out = io.StringIO()

    call_command("make_renditions", "--no-progress", stdout=out)

    assert "Made 3 display rendition(s); 0 photo(s)" in out.getvalue()
    assert not Photo.objects.filter(display="").exists()
    assert Photo.objects.get(pk=kept.pk).display.name == kept_name  # untouched
    fresh = Photo.objects.get(pk=heic_photo.pk)
    with fresh.display.open("rb") as f:
        assert Image.open(f).format == "JPEG"

    out = io.StringIO()
    call_command("make_renditions", "--no-progress", stdout=out)  # nothing left to do
    assert "Made 0 display rendition(s)" in out.getvalue()


def test_make_renditions_reports_an_unreadable_original_and_carries_on(family, alice):
    broken, fine = photo_factory(family=family, user=alice), photo_factory(family=family, user=alice)
    for photo in (broken, fine):
        _forget_display(photo)
    with broken.original.storage.open(broken.original.name, "wb") as f:
        f.write(images.truncated_jpeg())
    out = io.StringIO()

    call_command("make_renditions", "--no-progress", stdout=out)

    assert "Made 1 display rendition(s); 1 photo(s) could not be read." in out.getvalue()
    assert Photo.objects.get(pk=fine.pk).display
    assert not Photo.objects.get(pk=broken.pk).display


def test_the_sweep_fills_missing_renditions_in_bounded_batches(family, alice, settings):
    from gallery.services import photos_display_sweep

    settings.RENDITION_SWEEP_LIMIT = 2
    photos = [photo_factory(family=family, user=alice) for _ in range(3)]
    for photo in photos:
        _forget_display(photo)

    assert photos_display_sweep().made == 2
    assert Photo.objects.filter(display="").count() == 1
    assert photos_display_sweep().made == 1
    assert not Photo.objects.filter(display="").exists()


def test_deleting_a_photo_for_good_removes_its_display_rendition(client_for, alice, heic_photo,
                                                                 django_capture_on_commit_callbacks):
    storage, name = heic_photo.display.storage, heic_photo.display.name
    assert storage.exists(name)
    client_for(alice).post(reverse("gallery:photo_delete", args=[heic_photo.pk]))  # to the trash
    assert storage.exists(name)
    with django_capture_on_commit_callbacks(execute=True):
        client_for(alice).post(reverse("gallery:trash_delete", args=[heic_photo.family_id]), {"photo": heic_photo.pk})
    assert not storage.exists(name)


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_a_16_bit_greyscale_scan_keeps_its_tones_in_the_renditions(family, alice, fmt):
    # Scanners write 16-bit greyscale PNG and TIFF (Pillow's I;16). Converted straight to RGB every value
    # above 255 of 65535 clipped to white: the thumbnail, the display rendition and what the worker embeds
    # were blank. Mid-grey must stay mid-grey.
    image = Image.new("I;16", (80, 60), 30000)  # 30000 / 65535: 46% grey
    image.paste(Image.new("I;16", (40, 60), 60000), (0, 0))  # left half near white
    out = io.BytesIO()
    image.save(out, fmt)
    photo = photo_factory(family=family, user=alice, data=out.getvalue(), filename=f"scan.{fmt.lower()}")

    for rendition in (photo.thumbnail, photo.display):
        with rendition.open("rb") as f:
            shown = Image.open(f).convert("L")
        assert 225 <= shown.getpixel((10, 30)) <= 240, shown.getpixel((10, 30))
        assert 110 <= shown.getpixel((70, 30)) <= 125, shown.getpixel((70, 30))


@pytest.mark.parametrize(("mode", "light", "mid", "shown_light"), [
    ("F", 0.9, 0.45, 229),  # 32-bit float, 0 to 1 (scientific scanners, HDR tools' greyscale exports)
    ("I", 60000, 30000, 233),  # 32-bit whole numbers holding 16-bit values: as 16-bit (of 65535)
    ("F", 900.0, 450.0, 255),  # anything larger: scaled by its brightest value
    ("I", 900_000, 450_000, 255),
])
def test_a_32_bit_greyscale_tiff_keeps_its_tones_in_the_renditions(family, alice, mode, light, mid, shown_light):
    # Pillow converts 32-bit greyscale (modes F and I) to RGB by clipping each value to 0-255: floats of 0 to 1 came
    # out black, larger numbers white.
    image = Image.new(mode, (80, 60), mid)
    image.paste(Image.new(mode, (40, 60), light), (0, 0))
    out = io.BytesIO()
    image.save(out, "TIFF")
    photo = photo_factory(family=family, user=alice, data=out.getvalue(), filename="scan.tif")

    for rendition in (photo.thumbnail, photo.display):
        with rendition.open("rb") as f:
            shown = Image.open(f).convert("L")
        assert abs(shown.getpixel((10, 30)) - shown_light) <= 6, shown.getpixel((10, 30))
        assert abs(shown.getpixel((70, 30)) - shown_light / 2) <= 6, shown.getpixel((70, 30))  # half as bright


def _profile(colour_space: bytes) -> bytes:
    """An ICC profile's bytes as they travel in files: a 128-byte header naming its colour space, then its tags."""
    from PIL import ImageCms

    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return srgb[:16] + colour_space + srgb[20:]


def test_the_renditions_keep_the_colour_profile_of_an_rgb_original(family, alice):
    """A camera's Adobe RGB or an iPhone's Display P3 photo carries an ICC profile; the thumbnail and the display
    rendition were written without it, so browsers took their numbers for sRGB and showed the colours washed out.
    They carry the original's RGB profile now (copied, never interpreted), turned or not."""
    from gallery.correction_services import photo_rotate

    profile = _profile(b"RGB ")
    out = io.BytesIO()
    Image.new("RGB", (120, 80), (200, 30, 30)).save(out, "JPEG", icc_profile=profile)
    photo = photo_factory(family=family, user=alice, data=out.getvalue(), filename="adobe-rgb.jpg")

    for rendition in (photo.thumbnail, photo.display):
        with rendition.open("rb") as f:
            assert Image.open(f).info.get("icc_profile") == profile
    photo = photo_rotate(photo=photo, quarter_turns=1)
    for rendition in (photo.thumbnail, photo.display):
        with rendition.open("rb") as f:
            assert Image.open(f).info.get("icc_profile") == profile


def test_a_profile_of_another_colour_space_is_not_put_on_the_rgb_renditions(family, alice):
    out = io.BytesIO()
    Image.new("CMYK", (120, 80), (0, 200, 200, 0)).save(out, "JPEG", icc_profile=_profile(b"CMYK"))
    photo = photo_factory(family=family, user=alice, data=out.getvalue(), filename="print.jpg")

    for rendition in (photo.thumbnail, photo.display):
        with rendition.open("rb") as f:
            assert Image.open(f).info.get("icc_profile") is None  # an RGB image under a CMYK profile is garbage


def test_a_display_rendition_lost_from_storage_is_shown_from_the_rest_and_made_again(client_for, family, alice, caplog):
    """A display file gone from storage (lost, a restore without it) answered 404 for good: the photo page showed a
    broken image, and nothing made it again (found by helper upl23). The photo is shown from its original (or its
    thumbnail) meanwhile, and the sweep makes the rendition again."""
    from gallery.services import photos_display_sweep

    photo = photo_factory(family=family, user=alice, data=images.jpeg(colour=(10, 80, 160), size=(64, 48)))
    lost = photo.display.name
    photo.display.storage.delete(lost)
    response = client_for(alice).get(reverse("gallery:photo_display", args=[photo.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    with photo.original.open("rb") as original:
        assert b"".join(response.streaming_content) == original.read()
    assert Photo.objects.get(pk=photo.pk).display == "" and "is missing from storage" in caplog.text
    photos_display_sweep()
    again = Photo.objects.get(pk=photo.pk)
    assert again.display and again.display.storage.exists(again.display.name)
