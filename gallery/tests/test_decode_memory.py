"""Memory per upload is bounded whatever the file (issue 8, point 2), measured in child processes."""

from __future__ import annotations

import io
import subprocess
import sys
import threading

import pytest
from django.db import connection
from django.urls import reverse
from PIL import Image

from gallery.models import Photo
from gallery.services import UploadResult, photo_upload
from tests import images
from tests.memory import MB, child_env, run_child, run_together

TARGET = 400 * MB  # peak RSS growth allowed for one file

UPLOAD = '''
from django.contrib.auth import get_user_model
from gallery.models import Family
from gallery.services import photo_upload
family, user = Family.objects.get(pk={family}), get_user_model().objects.get(pk={user})
with open({path!r}, "rb") as stream:
    result, growth = measure(lambda: photo_upload(family=family, uploaded_by=user, stream=stream, filename="f"))
photo = result.photo
report(outcome=result.outcome, reason=result.reason, growth=growth, size=[photo.width, photo.height] if photo else None)
'''


@pytest.fixture(scope="session")
def jpeg_200mp(tmp_path_factory):
    """A 200-megapixel JPEG (16,000×12,500, like a Samsung phone's), flat so that it is only ~3 MB; made in
    a child process, which alone pays the 800 MB of making it."""
    path = tmp_path_factory.mktemp("big") / "200mp.jpg"
    subprocess.run([sys.executable, "-c", "from PIL import Image; Image.MAX_IMAGE_PIXELS = None; "
                    f"Image.new('RGB', (16000, 12500), (40, 120, 200)).save({str(path)!r}, quality=90)"], check=True)
    return path


def _upload_in_child(path, family, user, **env) -> dict:
    return run_child(UPLOAD.format(family=family.pk, user=user.pk, path=str(path)), env=child_env(**env))


@pytest.mark.django_db(transaction=True)
def test_a_tiny_palette_png_of_100_megapixels_uploads_with_bounded_memory(family, alice, tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(images.palette_bomb_png())
    assert path.stat().st_size < 20_000

    result = _upload_in_child(path, family, alice)

    assert result["outcome"] == UploadResult.SAVED, result["reason"]
    assert result["size"] == [10_000, 9_999]
    assert result["growth"] <= TARGET, f"peak RSS grew {result['growth'] / MB:.0f} MB"
    photo = Photo.objects.get()
    with photo.display.open("rb") as f:
        display = Image.open(f)
        assert display.format == "JPEG" and max(display.size) == 2048


@pytest.mark.django_db(transaction=True)
def test_a_200_megapixel_phone_jpeg_is_accepted_with_bounded_memory(family, alice, jpeg_200mp):
    result = _upload_in_child(jpeg_200mp, family, alice)

    assert result["outcome"] == UploadResult.SAVED, result["reason"]
    assert result["size"] == [16_000, 12_500]
    assert result["growth"] <= TARGET, f"peak RSS grew {result['growth'] / MB:.0f} MB"


@pytest.mark.django_db(transaction=True)
def test_eight_bomb_uploads_at_once_decode_at_most_decode_concurrency_at_a_time(family, alice, tmp_path):
    codes = []
    for n in range(8):
        path = tmp_path / f"bomb{n}.png"
        path.write_bytes(images.palette_bomb_png(colour=(200, 30, n)))  # distinct bytes: no duplicates
        codes.append(UPLOAD.format(family=family.pk, user=alice.pk, path=str(path)))

    peak, results = run_together(codes, env=child_env(DECODE_CONCURRENCY="2", DECODE_WAIT_SECONDS="120"))

    assert [r["outcome"] for r in results] == [UploadResult.SAVED] * 8, [r["reason"] for r in results]
    single = max(r["growth"] for r in results)
    assert single <= TARGET
    # Two decodes at a time (plus a moment's overlap as one child hands over to the next), never eight.
    assert peak <= 3 * single, f"together {peak / MB:.0f} MB, one alone up to {single / MB:.0f} MB"
    assert Photo.objects.count() == 8


def test_the_decode_budget_counts_bytes_per_pixel_of_the_mode(family, alice, settings):
    """The same pixels cost four times as much as RGBA as they do as a palette image."""
    settings.DISPLAY_SIZE = 256
    settings.DECODE_MAX_MEMORY = 20 * MB
    rgba = photo_upload(family=family, uploaded_by=alice, stream=io.BytesIO(images.image_bytes("PNG", size=(2000, 2000))),
                        filename="rgba.png")
    palette = photo_upload(family=family, uploaded_by=alice,
                           stream=io.BytesIO(images.palette_bomb_png(2000, 2000)), filename="palette.png")

    assert rgba.outcome == UploadResult.REJECTED
    assert "too large to decode safely" in rgba.reason and "20.0 MB" in rgba.reason
    assert palette.outcome == UploadResult.SAVED, palette.reason


def test_a_progressive_jpeg_is_budgeted_at_full_size(family, alice, settings):
    """Draft mode doesn't help a progressive JPEG: libjpeg keeps every coefficient of the full image."""
    settings.DISPLAY_SIZE = 256
    settings.DECODE_MAX_MEMORY = 30 * MB
    big = Image.new("RGB", (4000, 3000), (10, 20, 30))
    baseline, progressive = io.BytesIO(), io.BytesIO()
    big.save(baseline, "JPEG")
    big.save(progressive, "JPEG", progressive=True)

    ok = photo_upload(family=family, uploaded_by=alice, stream=io.BytesIO(baseline.getvalue()), filename="b.jpg")
    refused = photo_upload(family=family, uploaded_by=alice, stream=io.BytesIO(progressive.getvalue()), filename="p.jpg")

    assert ok.outcome == UploadResult.SAVED, ok.reason
    assert refused.outcome == UploadResult.REJECTED and "too large to decode safely" in refused.reason


@pytest.fixture
def slots_taken(settings):
    """Every decode slot held by another database session (as by another process) while the test runs."""
    from gallery.decode_slots import decode_slot

    settings.DECODE_CONCURRENCY = 1
    settings.DECODE_WAIT_SECONDS = 0.3
    taken, release = threading.Event(), threading.Event()

    def hold():
        try:
            with decode_slot():
                taken.set()
                release.wait(30)
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=hold)
    thread.start()
    assert taken.wait(10)
    yield
    release.set()
    thread.join()


@pytest.mark.django_db(transaction=True)
def test_when_every_decode_slot_stays_taken_the_file_is_refused_as_busy(family, alice, slots_taken):
    result = photo_upload(family=family, uploaded_by=alice, stream=io.BytesIO(images.jpeg()), filename="a.jpg")

    assert result.outcome == UploadResult.REJECTED
    assert "busy" in result.reason and "try" in result.reason
    assert not Photo.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_busy_server_is_a_plain_message_on_the_upload_page_and_the_api(client_for, family, alice, slots_taken):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = client_for(alice)
    page = client.post(reverse("gallery:upload"), {"family": family.pk, "files": [SimpleUploadedFile("a.jpg", images.jpeg())]})
    api = client.post(reverse("api_photos"), {"family": family.pk, "file": SimpleUploadedFile("b.jpg", images.jpeg())})

    assert page.status_code == 200 and 'data-outcome="rejected"' in page.content.decode()
    assert "busy" in page.content.decode()
    assert api.status_code == 400 and "busy" in api.json()["file"][0]


def test_a_jpeg_of_thousands_of_scans_is_refused_before_it_is_decoded(family, alice):
    """Time, not memory: a progressive JPEG of thousands of tiny scans, each of which libjpeg walks over every block
    of the image again, took a minute to decode per 700 KB (holding one of the site's DECODE_CONCURRENCY slots and
    a web thread all along), and was stored. A JPEG of more scans than any encoder writes is refused unread; a
    progressive photo of its usual ten is not."""
    import time

    bomb = images.jpeg_scan_bomb(4000, scans=3000)
    started = time.monotonic()
    refused = photo_upload(family=family, uploaded_by=alice, stream=io.BytesIO(bomb), filename="scans.jpg")
    assert refused.outcome == UploadResult.REJECTED and "scans" in refused.reason, refused.reason
    assert time.monotonic() - started < 3
    progressive = io.BytesIO()
    Image.new("RGB", (800, 600), (10, 120, 30)).save(progressive, "JPEG", progressive=True)
    saved = photo_upload(family=family, uploaded_by=alice, stream=io.BytesIO(progressive.getvalue()), filename="p.jpg")
    assert saved.outcome == UploadResult.SAVED, saved.reason
