"""The worker decodes the display rendition through the storage API, and falls back to a bounded decode of
the original (issue 8, points 2 and 7)."""

from __future__ import annotations

import io
import threading

import pytest
from django.db import connection
from PIL import Image

from gallery.models import Photo
from search.services import _decode, embed_photos
from tests import images
from tests.factories import photo_factory
from tests.memory import MB, run_child

TARGET = 400 * MB


@pytest.fixture
def storage_without_paths(settings):
    """Files only reachable through the storage API (as with S3): `.path` raises."""
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}


@pytest.mark.django_db
def test_the_worker_reads_the_display_rendition_through_storage(family, alice, storage_without_paths, settings):
    settings.DISPLAY_SIZE = 120
    photo = photo_factory(family=family, user=alice, data=images.rotated_jpeg(), filename="r.jpg")
    photo.original.storage.delete(photo.original.name)  # only the display rendition is left

    [(decoded_photo, image)] = _decode([photo])

    assert isinstance(image, Image.Image), image
    assert image.mode == "RGB" and image.size == (60, 120)  # the display rendition's size: upright, ≤ 120


@pytest.mark.django_db
def test_without_a_display_rendition_the_worker_decodes_the_original_through_storage(family, alice, storage_without_paths):
    photo = photo_factory(family=family, user=alice, data=images.image_bytes("HEIF", size=(900, 600)), filename="a.heic")
    photo.display.storage.delete(photo.display.name)
    Photo.objects.filter(pk=photo.pk).update(display="")
    photo.refresh_from_db()

    [(_, image)] = _decode([photo])

    assert isinstance(image, Image.Image), image
    assert max(image.size) <= 448 and image.size == (448, 299)


@pytest.mark.django_db
def test_a_damaged_display_rendition_is_no_failed_photo_the_worker_decodes_the_original(family, alice,
                                                                                         storage_without_paths):
    """A display rendition cut short or overwritten in storage failed the photo ("Not an image file we can read")
    at every try, though its original was whole: a missing one already fell back to the original."""
    photo = photo_factory(family=family, user=alice, data=images.rotated_jpeg(), filename="r.jpg")
    storage = photo.display.storage
    storage.delete(photo.display.name)
    storage.save(photo.display.name, io.BytesIO(b"not a jpeg any more"))

    [(_, image)] = _decode([photo])

    assert isinstance(image, Image.Image), image
    assert image.size == (100, 200)  # the original's, upright


@pytest.mark.django_db
def test_photos_embed_from_their_display_rendition(toy_model, family, alice, storage_without_paths):
    photo = photo_factory(family=family, user=alice, data=images.image_bytes("HEIF", size=(300, 200)), filename="h.heic")
    report = embed_photos(photo_ids=[photo.pk], fill_to=0)
    assert (report.ready, report.failed) == (1, 0), report.failures


@pytest.mark.django_db(transaction=True)
def test_the_embedding_decode_of_a_tiny_100_megapixel_png_stays_bounded(family, alice):
    photo = photo_factory(family=family, user=alice, data=images.palette_bomb_png(), filename="bomb.png")

    result = run_child(f"""
from gallery.models import Photo
from search.services import _decode
photo = Photo.objects.get(pk={photo.pk})
[(_, from_display)], display_growth = measure(lambda: _decode([photo]))
photo.display = ""  # as for a photo stored before display renditions: the original is decoded
[(_, from_original)], original_growth = measure(lambda: _decode([photo]))
report(display=list(from_display.size), display_growth=display_growth,
       original=list(from_original.size), original_growth=original_growth)
""")

    assert result["display"] == result["original"] == [448, 448]
    assert result["original_growth"] <= TARGET, f"{result['original_growth'] / MB:.0f} MB"
    assert result["display_growth"] <= 50 * MB, f"{result['display_growth'] / MB:.0f} MB"


@pytest.mark.django_db(transaction=True)
def test_a_photo_that_finds_every_decode_slot_taken_waits_as_pending_not_failed(toy_model, family, alice, settings):
    from gallery.decode_slots import decode_slot

    photo = photo_factory(family=family, user=alice)
    Photo.objects.filter(pk=photo.pk).update(display="")  # the worker must decode the original
    settings.DECODE_CONCURRENCY, settings.DECODE_WAIT_SECONDS = 1, 0.2
    taken, release = threading.Event(), threading.Event()

    def hold():
        with decode_slot():
            taken.set()
            release.wait(30)
        connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert taken.wait(10)
        report = embed_photos(photo_ids=[photo.pk], fill_to=0)
    finally:
        release.set()
        thread.join()

    photo.refresh_from_db()
    assert (report.ready, report.failed) == (0, 0)
    assert photo.status == Photo.Status.PENDING and "busy" in photo.status_reason
    assert photo.embed_attempts == 0
    assert embed_photos(photo_ids=[photo.pk], fill_to=0).ready == 1  # once a slot is free
