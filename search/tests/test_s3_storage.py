"""The upload-to-search path with media in an S3-compatible store (a real S3 server the tests start, moto's server
mode: tests/s3.py): photos uploaded through the API are embedded by the worker's own task from the objects,
searched, paired as near-duplicates, served through the API's URLs, deleted for good with their objects, read by
OCR; and a separate process configured by the environment alone
(MEDIA_STORAGE=s3, S3_*) imports a folder into the store."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from gallery.models import Photo
from search.duplicates import duplicate_groups
from search.ocr import photos_read_text
from search.services import embed_photos
from search.tests.conftest import shape_png
from search.tests.test_ocr import rendered
from tests.memory import ROOT, child_env
from tests.queue import run_queued_tasks

pytestmark = pytest.mark.django_db


def _body(response) -> bytes:
    assert response.status_code == 200, response.status_code
    return b"".join(response.streaming_content)


def _copy(png: bytes, size: int) -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(png)).convert("RGB").resize((size, size)).save(out, "JPEG", quality=85)
    return out.getvalue()


def test_uploaded_through_the_api_embedded_by_the_worker_from_the_store_and_found(
        s3_media, toy_model, api, family, alice, mallory, client_for, django_capture_on_commit_callbacks):
    red = shape_png("red", "circle", seed=1)
    uploads = {"IMG_0001.png": red, "IMG_0002.jpg": _copy(red, 192),  # a re-encoded larger copy
               "IMG_0003.png": shape_png("blue", "square", seed=2)}
    with django_capture_on_commit_callbacks(execute=True):
        for name, data in uploads.items():
            response = api.post(reverse("api_photos"), {"family": family.pk, "file": SimpleUploadedFile(name, data)})
            assert response.status_code == 201, response.content
    assert len(s3_media.names()) == 9  # three objects each, in the store only

    run_queued_tasks()  # the worker's tasks: embedding, then the near-duplicate pairing

    photos = {p.original_filename: p for p in Photo.objects.all()}
    assert {p.status for p in photos.values()} == {Photo.Status.READY}, [p.status_reason for p in photos.values()]
    found = api.get(reverse("api_search"), {"q": "blue square"}).json()["results"]
    assert found[0]["id"] == photos["IMG_0003.png"].pk
    circles = [r["id"] for r in api.get(reverse("api_search"), {"q": "red circle"}).json()["results"][:2]]
    assert set(circles) == {photos["IMG_0001.png"].pk, photos["IMG_0002.jpg"].pk}
    # Another family sees none of it.
    assert client_for(mallory).get(reverse("api_search"), {"q": "red circle"}).json()["results"] == []
    groups = duplicate_groups(user=alice, family=family)
    assert [{m.photo.pk for m in g.members} for g in groups] == [{photos["IMG_0001.png"].pk, photos["IMG_0002.jpg"].pk}]

    # The URLs the API gives stream the objects to the token's holder (the script's client, no session).
    square = api.get(reverse("api_photo_detail", args=[photos["IMG_0003.png"].pk])).json()
    assert _body(api.get(square["original_url"])) == uploads["IMG_0003.png"]
    for url in (square["thumbnail_url"], square["display_url"]):
        assert Image.open(io.BytesIO(_body(api.get(url)))).format == "JPEG"
    # Deleted for good: its objects go once the deletion commits; the others' stay.
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(reverse("api_photo_detail", args=[square["id"]])).status_code == 204
        assert api.delete(reverse("api_trash_detail", args=[square["id"]])).status_code == 204
    assert len(s3_media.names()) == 6
    assert square["id"] not in [r["id"] for r in api.get(reverse("api_search"), {"q": "blue square"}).json()["results"]]


@pytest.mark.slow
def test_ocr_reads_the_text_of_a_photo_from_the_store(s3_media, toy_model, settings, api, family):
    settings.OCR_ENABLED, settings.OCR_GATE = True, False
    response = api.post(reverse("api_photos"), {"family": family.pk,
                                                "file": SimpleUploadedFile("IMG_0001.jpg", rendered(["BAKERY OPEN"]))})
    assert response.status_code == 201, response.content
    photo = Photo.objects.get()
    assert embed_photos(photo_ids=[photo.pk]).ready == 1

    assert photos_read_text(photo_ids=[photo.pk]).done == 1
    photo.refresh_from_db()
    assert "BAKERY" in photo.text_in_photo


@pytest.mark.django_db(transaction=True)
def test_a_process_configured_by_the_environment_alone_imports_into_the_store(s3_media, family, alice, tmp_path):
    folder = tmp_path / "Pictures"
    folder.mkdir()
    (folder / "circle.png").write_bytes(shape_png("red", "circle", seed=3))
    env = {**child_env(), **s3_media.env, "MEDIA_ROOT": str(tmp_path / "must-stay-empty")}

    done = subprocess.run([sys.executable, "manage.py", "import_photos", str(folder), "--family", family.name,
                           "--user", alice.username, "--no-progress"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)

    assert done.returncode == 0, done.stderr[-3000:]
    photo = Photo.objects.get()
    assert s3_media.names() == sorted([photo.original.name, photo.thumbnail.name, photo.display.name])
    assert s3_media.read(photo.original.name) == (folder / "circle.png").read_bytes()
    assert not (tmp_path / "must-stay-empty").exists()


def test_a_store_that_does_not_answer_leaves_photos_waiting_not_failed(s3_media, toy_model, settings, add_shape):
    """A network blip or an outage of the store is not a broken photo: the photos wait (pending, no attempt
    counted) and are embedded once the store answers again."""
    photo = add_shape("red", "circle")
    working = settings.STORAGES["default"]
    settings.STORAGES = {**settings.STORAGES, "default": {
        **working, "OPTIONS": {**working["OPTIONS"], "endpoint_url": "http://127.0.0.1:9"}}}  # nothing listens

    embed_photos(photo_ids=[photo.pk])

    photo.refresh_from_db()
    assert photo.status == Photo.Status.PENDING and photo.embed_attempts == 0, (photo.status, photo.status_reason)
    assert "storage" in photo.status_reason

    settings.STORAGES = {**settings.STORAGES, "default": working}
    assert embed_photos(photo_ids=[photo.pk]).ready == 1


def test_ocr_waits_for_a_store_that_does_not_answer(s3_media, toy_model, settings, add_shape):
    settings.OCR_ENABLED, settings.OCR_GATE = True, False
    photo = add_shape("red", "circle")
    assert embed_photos(photo_ids=[photo.pk]).ready == 1
    working = settings.STORAGES["default"]
    settings.STORAGES = {**settings.STORAGES, "default": {
        **working, "OPTIONS": {**working["OPTIONS"], "endpoint_url": "http://127.0.0.1:9"}}}  # nothing listens

    for _ in range(settings.OCR_MAX_ATTEMPTS + 1):
        photos_read_text(photo_ids=[photo.pk])

    photo.refresh_from_db()
    assert photo.ocr_status == Photo.OcrStatus.PENDING and photo.ocr_attempts == 0, (photo.ocr_status, photo.ocr_reason)
    assert "storage" in photo.ocr_reason

    # A reader stopped by the store queues no reader after it (one would try the store again at once, and so on
    # without end): the photo waits for the sweep.
    from search.tasks import read_text_task
    from tests.queue import queued_tasks

    queued_tasks(settings.OCR_CLUSTER)
    read_text_task()
    assert queued_tasks(settings.OCR_CLUSTER) == []
