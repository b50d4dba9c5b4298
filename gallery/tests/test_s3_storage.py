"""Media in an S3-compatible object store (MEDIA_STORAGE=s3), against a real S3 server the tests start (moto's
server mode, tests/s3.py): upload through the page and the API, the permission-checked media views, the ZIP of a
selection, trash and purge, turning, the renditions sweep, embedded metadata and the folder import; a failed
upload leaves no object behind, and a deletion storage refuses waits in the queue."""

from __future__ import annotations

import io
import threading
import time
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import DatabaseError, connection, connections, transaction
from django.urls import reverse
from PIL import Image

from gallery.files import file_removals_process
from gallery.models import FileRemoval, Photo, PhotoTag
from gallery.services import UploadResult, photo_upload
from tests import images

pytestmark = pytest.mark.django_db


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


def _upload_page(client, family, *files) -> str:
    response = client.post(reverse("gallery:upload"), {"family": family.pk, "files": list(files)},
                           headers={"X-Upload-Script": "1"})
    assert response.status_code == 200
    return response.content.decode()


def _stored(photo) -> list[str]:
    return sorted(name for name in (photo.original.name, photo.thumbnail.name, photo.display.name) if name)


def test_an_upload_is_stored_as_private_objects_and_served_only_through_the_checked_views(
        s3_media, client_for, family, alice, mallory, settings):
    data = images.jpeg(size=(120, 80))
    page = _upload_page(client_for(alice), family, SimpleUploadedFile("beach.jpg", data))
    assert 'data-outcome="saved"' in page
    photo = Photo.objects.get()

    # Original, thumbnail and display rendition are objects under the prefix, and nothing else is.
    assert s3_media.names() == _stored(photo)
    assert [name.split("/")[0] for name in _stored(photo)] == ["displays", "originals", "thumbnails"]
    assert s3_media.read(photo.original.name) == data
    acl = s3_media.client.get_object_acl(Bucket=s3_media.name, Key=f"site/{photo.original.name}")
    assert [grant["Permission"] for grant in acl["Grants"]] == ["FULL_CONTROL"]  # the owner only: not public
    # No file-system path exists; nothing of the app asks for one.
    with pytest.raises(NotImplementedError):
        photo.original.path  # noqa: B018

    settings.MEDIA_ACCEL = "x-accel"  # meaningless for S3: Django streams whatever it says
    client = client_for(alice)
    original = client.get(reverse("gallery:photo_original", args=[photo.pk]) + "?download=1")
    assert original.status_code == 200 and _body(original) == data
    assert "X-Accel-Redirect" not in original and "X-Sendfile" not in original
    assert original["Content-Type"] == "image/jpeg" and original["Content-Length"] == str(len(data))
    assert original["Content-Disposition"] == "attachment; filename*=UTF-8''beach.jpg"
    thumbnail = Image.open(io.BytesIO(_body(client.get(reverse("gallery:photo_thumbnail", args=[photo.pk])))))
    display = Image.open(io.BytesIO(_body(client.get(reverse("gallery:photo_display", args=[photo.pk])))))
    assert thumbnail.format == display.format == "JPEG" and display.size == (120, 80)

    # Another family's member gets the same 404 as for a photo that does not exist.
    other = client_for(mallory)
    for view in ("photo_original", "photo_thumbnail", "photo_display"):
        assert other.get(reverse(f"gallery:{view}", args=[photo.pk])).status_code == 404


def test_a_missing_object_is_a_404_not_a_500(s3_media, client_for, family, alice):
    photo = photo_upload(family=family, uploaded_by=alice, stream=io.BytesIO(images.jpeg()), filename="a.jpg").photo
    s3_media.client.delete_object(Bucket=s3_media.name, Key=f"site/{photo.original.name}")

    response = client_for(alice).get(reverse("gallery:photo_original", args=[photo.pk]))

    assert response.status_code == 404


@pytest.mark.django_db(transaction=True)
def test_two_uploads_of_the_same_bytes_at_once_never_remove_each_others_objects(s3_media, family, alice):
    """The loser of the race (its row refused by the unique constraint) removes what it wrote: that must be its
    own objects, not the winner's under the same name (S3 overwrites a key unless told not to)."""
    data = images.jpeg()
    winner_wrote, release = threading.Event(), threading.Event()
    results = {}

    def winner():
        try:
            with transaction.atomic():  # holds its row uncommitted until the loser waits on it
                results["winner"] = photo_upload(family=family, uploaded_by=alice, stream=io.BytesIO(data),
                                                 filename="a.jpg")
                winner_wrote.set()
                release.wait(30)
        finally:
            connections.close_all()

    def release_when_the_loser_waits():  # once the loser's row insert waits on the winner's uncommitted row
        deadline = time.monotonic() + 30
        try:
            with connection.cursor() as cursor:  # this thread's own connection
                while time.monotonic() < deadline and not release.is_set():
                    cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                   "AND datname = current_database()")
                    if cursor.fetchone()[0]:
                        break
                    time.sleep(0.05)
        finally:
            release.set()
            connections.close_all()

    first = threading.Thread(target=winner)
    first.start()
    assert winner_wrote.wait(30)
    watcher = threading.Thread(target=release_when_the_loser_waits)
    watcher.start()
    loser = photo_upload(family=family, uploaded_by=alice, stream=io.BytesIO(data), filename="b.jpg")
    first.join(30)
    watcher.join(30)

    assert loser.outcome == UploadResult.DUPLICATE
    photo = Photo.objects.get()
    assert photo.pk == results["winner"].photo.pk
    assert s3_media.names() == _stored(photo)  # the winner's three objects, and only those
    assert s3_media.read(photo.original.name) == data


def test_api_upload_then_zip_of_a_selection_streams_the_originals(s3_media, client_for, family, alice):
    client = client_for(alice)
    red, blue = images.jpeg(colour=(220, 0, 0)), images.image_bytes("PNG", colour=(0, 0, 220))
    for name, data in (("red.jpg", red), ("blue.png", blue)):
        response = client.post(reverse("api_photos"), {"family": family.pk, "file": SimpleUploadedFile(name, data)})
        assert response.status_code == 201, response.content
    photos = list(Photo.objects.order_by("pk"))

    response = client.post(reverse("gallery:photos_download"), {"photos": [p.pk for p in photos]})

    archive = zipfile.ZipFile(io.BytesIO(_body(response)))
    assert sorted(archive.read(name) for name in archive.namelist()) == sorted([red, blue])
    assert len(s3_media.names()) == 6


def test_trash_keeps_the_objects_and_delete_for_good_removes_them_after_commit(
        s3_media, client_for, family, alice, django_capture_on_commit_callbacks):
    client = client_for(alice)
    keep = photo_upload(family=family, uploaded_by=alice, stream=io.BytesIO(images.jpeg()), filename="k.jpg").photo
    gone = photo_upload(family=family, uploaded_by=alice, stream=io.BytesIO(images.jpeg(colour=(0, 200, 0))),
                        filename="g.jpg").photo

    assert client.delete(reverse("api_photo_detail", args=[gone.pk])).status_code == 204  # to the trash
    assert s3_media.names() == sorted(_stored(keep) + _stored(gone))  # a trashed photo keeps its files
    with django_capture_on_commit_callbacks(execute=True):
        assert client.delete(reverse("api_trash_detail", args=[gone.pk])).status_code == 204

    assert s3_media.names() == _stored(keep)
    assert not FileRemoval.objects.exists()


def test_a_deletion_the_store_refuses_waits_in_the_queue_and_goes_later(
        s3_media, family, alice, settings, django_capture_on_commit_callbacks):
    from gallery.trash_services import photos_purge, photos_trash

    photo = photo_upload(family=family, uploaded_by=alice, stream=io.BytesIO(images.jpeg()), filename="a.jpg").photo
    photos_trash(user=alice, photo_ids=[photo.pk])
    working = settings.STORAGES["default"]
    # The store is unreachable while the row goes: a port where nothing listens.
    unreachable = {**working["OPTIONS"], "endpoint_url": "http://127.0.0.1:9"}
    settings.STORAGES = {**settings.STORAGES, "default": {**working, "OPTIONS": unreachable}}
    with django_capture_on_commit_callbacks(execute=True):
        photos_purge(user=alice, photo_ids=[photo.pk])
    assert not Photo.all_objects.exists()
    assert FileRemoval.objects.count() == 3 and len(s3_media.names()) == 3

    settings.STORAGES = {**settings.STORAGES, "default": working}  # back
    assert file_removals_process() == 3
    assert s3_media.names() == [] and not FileRemoval.objects.exists()


def test_an_upload_whose_row_fails_leaves_no_object_behind(s3_media, family, alice):
    # A real database fault after the files are written: a trigger refuses the row.
    with connection.cursor() as cursor:
        cursor.execute("CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'disk full'; END $$ "
                       "LANGUAGE plpgsql; CREATE TRIGGER refuse BEFORE INSERT ON gallery_photo "
                       "FOR EACH ROW EXECUTE FUNCTION refuse()")

    with pytest.raises(DatabaseError, match="disk full"):
        photo_upload(family=family, uploaded_by=alice, stream=io.BytesIO(images.jpeg()), filename="a.jpg")

    assert s3_media.names() == []


def test_turning_writes_new_renditions_and_removes_the_old_objects(
        s3_media, client_for, family, alice, django_capture_on_commit_callbacks):
    data = images.jpeg(size=(80, 40))
    photo = photo_upload(family=family, uploaded_by=alice, stream=io.BytesIO(data), filename="a.jpg").photo
    before = _stored(photo)

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(alice).patch(reverse("api_photo_detail", args=[photo.pk]), {"rotation": 90},
                                           content_type="application/json")
    assert response.status_code == 200, response.content

    photo.refresh_from_db()
    assert photo.rotation == 90 and s3_media.names() == _stored(photo)
    assert set(before) & set(_stored(photo)) == {photo.original.name}  # the original is never touched
    assert s3_media.read(photo.original.name) == data
    with photo.display.open("rb") as stream:
        assert Image.open(stream).size == (40, 80)


def test_the_renditions_sweep_makes_a_missing_display_rendition_in_the_store(s3_media, family, alice):
    photo = photo_upload(family=family, uploaded_by=alice, stream=io.BytesIO(images.image_bytes("PNG", size=(90, 60))),
                         filename="a.png").photo
    s3_media.client.delete_object(Bucket=s3_media.name, Key=f"site/{photo.display.name}")
    Photo.objects.filter(pk=photo.pk).update(display="")  # as if stored before renditions existed

    call_command("make_renditions", "--no-progress", stdout=io.StringIO())

    photo.refresh_from_db()
    assert photo.display and s3_media.names() == _stored(photo)
    assert Image.open(io.BytesIO(s3_media.read(photo.display.name))).size == (90, 60)


def test_embedded_metadata_of_a_stored_photo_is_read_from_the_store(s3_media, family, alice, settings):
    settings.EMBEDDED_METADATA = False
    data = images.with_metadata(images.jpeg(), iptc={"Iptc.Application2.Keywords": ["tram", "Holiday"]})
    photo = photo_upload(family=family, uploaded_by=alice, stream=io.BytesIO(data), filename="a.jpg").photo
    settings.EMBEDDED_METADATA = True

    call_command("read_embedded", "--no-progress", stdout=io.StringIO())

    assert set(PhotoTag.objects.filter(photo=photo).values_list("tag__name", "source")) == {
        ("tram", "embedded"), ("Holiday", "embedded")}


def test_import_photos_copies_a_local_folder_into_the_store(s3_media, family, alice, tmp_path):
    folder = tmp_path / "Pictures"
    (folder / "2019").mkdir(parents=True)
    (folder / "2019" / "beach.jpg").write_bytes(images.jpeg(colour=(220, 0, 0)))
    (folder / "garden.png").write_bytes(images.image_bytes("PNG", colour=(0, 220, 0)))

    call_command("import_photos", str(folder), "--family", family.name, "--user", alice.username, "--no-progress",
                 stdout=io.StringIO(), stderr=io.StringIO())

    photos = Photo.objects.order_by("original_filename")
    assert [p.original_filename for p in photos] == ["beach.jpg", "garden.png"]
    assert s3_media.names() == sorted(name for p in photos for name in _stored(p))
    assert s3_media.read(photos[0].original.name) == (folder / "2019" / "beach.jpg").read_bytes()


def test_media_accel_with_the_store_is_a_start_up_warning(s3_media, settings):
    from django.core import checks

    assert not [m for m in checks.run_checks() if m.id == "gallery.W001"]
    settings.MEDIA_ACCEL = "x-accel"
    assert [m.id for m in checks.run_checks() if m.id == "gallery.W001"] == ["gallery.W001"]


def test_the_storage_settings_refuse_what_cannot_work():
    from django.core.exceptions import ImproperlyConfigured

    from mediasearch.settings import media_storage

    assert media_storage({})["BACKEND"] == "gallery.storage.MediaFileSystemStorage"
    with pytest.raises(ImproperlyConfigured, match="S3_BUCKET"):
        media_storage({"MEDIA_STORAGE": "s3"})
    with pytest.raises(ImproperlyConfigured, match="'filesystem' or 's3'"):
        media_storage({"MEDIA_STORAGE": "ftp"})
    options = media_storage({"MEDIA_STORAGE": "S3", "S3_BUCKET": "b", "S3_PREFIX": "/photos/"})["OPTIONS"]
    assert options["location"] == "photos" and options["default_acl"] is None
    assert options["querystring_auth"] is False and options["file_overwrite"] is False


def test_a_store_that_does_not_answer_gets_a_plain_503_not_a_500(s3_media, client_for, family, alice, settings):
    photo = photo_upload(family=family, uploaded_by=alice, stream=io.BytesIO(images.jpeg()), filename="a.jpg").photo
    working = settings.STORAGES["default"]
    settings.STORAGES = {**settings.STORAGES, "default": {
        **working, "OPTIONS": {**working["OPTIONS"], "endpoint_url": "http://127.0.0.1:9"}}}  # nothing listens

    response = client_for(alice).get(reverse("gallery:photo_thumbnail", args=[photo.pk]))

    assert response.status_code == 503 and response["Retry-After"]
    assert "storage is not answering" in response.content.decode()
