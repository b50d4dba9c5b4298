"""Storage faults: a photo is stored whole or not at all, and deleted files are never forgotten.

Tests run as root, which ignores permission bits, so faults are made with a regular file where storage
needs a directory."""

from __future__ import annotations

import io
import random
import subprocess
from pathlib import Path

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from gallery.models import Family, FileRemoval, Photo
from gallery.files import file_removals_process
from gallery.services import UploadResult, photo_upload
from gallery.trash_services import photos_trash
from tests import images
from tests.disk import disk_full_past
from tests.factories import photo_factory
from tests.queue import run_queued_tasks

pytestmark = pytest.mark.django_db


@pytest.fixture
def media(settings) -> Path:
    root = Path(settings.MEDIA_ROOT)
    root.mkdir(parents=True, exist_ok=True)
    return root


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def _block(media: Path, folder: str) -> Path:
    """Make `folder` unwritable: move it aside (if it exists) and put a regular file in its place."""
    aside = media / f"{folder}.aside"
    if (media / folder).exists():
        (media / folder).rename(aside)
    (media / folder).write_text("a file where a directory should be")
    return aside


def _unblock(media: Path, folder: str, aside: Path) -> None:
    (media / folder).unlink()
    if aside.exists():
        aside.rename(media / folder)


def test_a_failed_thumbnail_write_keeps_neither_the_original_nor_a_row(family, alice, media):
    _block(media, "thumbnails")

    result = photo_upload(family=family, uploaded_by=alice, stream=io.BytesIO(images.jpeg()), filename="a.jpg")

    assert result.outcome == UploadResult.REJECTED
    assert result.reason.startswith("Could not store the file")
    assert not Photo.objects.exists()
    assert _files(media) == ["thumbnails"]  # the original written first is gone again
    assert not FileRemoval.objects.exists()


def test_an_import_interrupted_between_a_photos_files_leaves_none_of_them(family, alice, media, monkeypatch):
    """Ctrl-C during import_photos, after the original and the thumbnail were written and before the display
    rendition: both stayed in storage with no photo (QA: "originals 1235, thumbnails 1235, displays 1234" after one
    Ctrl-C), for the daily sweep, though a photo is stored whole or not at all. The interruption goes on up as one."""
    from gallery.storage import MediaFileSystemStorage

    save = MediaFileSystemStorage._save

    def interrupted_at_the_display(self, name, content):
        if name.startswith("displays/"):
            raise KeyboardInterrupt
        return save(self, name, content)

    monkeypatch.setattr(MediaFileSystemStorage, "_save", interrupted_at_the_display)
    with pytest.raises(KeyboardInterrupt):
        photo_upload(family=family, uploaded_by=alice, stream=io.BytesIO(images.jpeg()), filename="a.jpg")

    assert not Photo.objects.exists()
    assert _files(media) == []
    assert not FileRemoval.objects.exists()


def test_the_upload_page_reports_a_storage_fault_per_file_and_keeps_nothing(client_for, family, alice, media):
    _block(media, "thumbnails")
    response = client_for(alice).post(reverse("gallery:upload"), {
        "family": family.pk, "files": [SimpleUploadedFile("a.jpg", images.jpeg()), SimpleUploadedFile("b.png", images.image_bytes("PNG"))],
    }, headers={"X-Upload-Script": "1"})

    assert response.status_code == 200
    body = response.content.decode()
    assert body.count('data-outcome="rejected"') == 2 and "Could not store the file" in body
    assert not Photo.objects.exists()
    assert _files(media) == ["thumbnails"]


def test_the_api_answers_a_storage_fault_with_a_plain_400(client_for, family, alice, media):
    _block(media, "originals")
    response = client_for(alice).post(reverse("api_photos"), {"family": family.pk, "file": SimpleUploadedFile("a.jpg", images.jpeg())})

    assert response.status_code == 400
    assert response.json()["file"][0].startswith("Could not store the file")
    assert not Photo.objects.exists()


def test_delete_while_storage_refuses_removes_the_row_and_queues_the_files_until_storage_is_back(
        client_for, family, alice, media, django_capture_on_commit_callbacks):
    photo = photo_factory(family=family, user=alice)
    original, thumbnail = photo.original.name, photo.thumbnail.name
    aside = _block(media, "thumbnails")

    client_for(alice).post(reverse("gallery:photo_delete", args=[photo.pk]))  # to the trash: files stay
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(alice).post(reverse("gallery:trash_delete", args=[family.pk]), {"photo": photo.pk})

    assert response.status_code == 302
    assert not Photo.all_objects.filter(pk=photo.pk).exists()
    assert not (media / original).exists()  # what storage allowed went at once
    queued = FileRemoval.objects.get()
    assert queued.storage_name == thumbnail and queued.attempts == 1 and "NotADirectoryError" in queued.last_error

    assert file_removals_process() == 0  # still refused: stays queued
    assert FileRemoval.objects.get().attempts == 2

    _unblock(media, "thumbnails", aside)
    assert (media / thumbnail).exists()
    assert file_removals_process() == 1
    assert not (media / thumbnail).exists()
    assert not FileRemoval.objects.exists()


def test_a_rolled_back_delete_keeps_the_files_and_queues_nothing(family, alice, media, django_capture_on_commit_callbacks):
    from django.db import transaction

    from gallery.trash_services import photos_purge, photos_trash

    photo = photo_factory(family=family, user=alice)
    photos_trash(user=alice, photo_ids=[photo.pk])
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                assert photos_purge(user=alice, photo_ids=[photo.pk])[0].ok
                raise RuntimeError("something later in the same transaction failed")
        except RuntimeError:
            pass

    assert not callbacks
    assert Photo.all_objects.filter(pk=photo.pk).exists()
    assert (media / photo.original.name).exists() and (media / photo.thumbnail.name).exists()
    assert not FileRemoval.objects.exists()


def test_the_queue_never_deletes_a_file_a_photo_stored_since_uses(family, alice, media):
    photo = photo_factory(family=family, user=alice)
    FileRemoval.objects.create(storage_name=photo.original.name)

    file_removals_process()

    assert (media / photo.original.name).exists()
    assert not FileRemoval.objects.exists()


def test_deleting_photos_in_the_django_admin_trashes_them_and_deleting_families_removes_their_files(
        client, family, alice, other_family, mallory, media, django_capture_on_commit_callbacks):
    superuser = get_user_model().objects.create_superuser("root", "root@example.org", "admin-password-123")
    client.force_login(superuser)
    mine = photo_factory(family=family, user=alice)
    theirs = photo_factory(family=other_family, user=mallory)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:gallery_photo_changelist"),
                               {"action": "delete_selected", ACTION_CHECKBOX_NAME: [mine.pk], "post": "yes"})
    assert response.status_code == 302
    assert not Photo.objects.filter(pk=mine.pk).exists()
    assert Photo.all_objects.get(pk=mine.pk).trashed_by == superuser  # in the trash, restorable
    assert (media / mine.original.name).exists()
    photos_trash(user=mallory, photo_ids=[theirs.pk])  # a family's trash goes with the family too

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:gallery_family_delete", args=[other_family.pk]), {"post": "yes"})
    with django_capture_on_commit_callbacks(execute=True):
        run_queued_tasks()  # the worker deletes its photos, files too (gallery.services.family_delete_start)
    assert response.status_code == 302
    assert not Family.objects.filter(pk=other_family.pk).exists()
    assert not (media / theirs.original.name).exists() and not (media / theirs.thumbnail.name).exists()
    assert _files(media) == sorted(name for name in (mine.original.name, mine.thumbnail.name, mine.display.name))
    assert not FileRemoval.objects.exists()


def test_the_periodic_sweep_retries_queued_removals(family, alice, media, settings):
    from search.services import embed_missing

    photo = photo_factory(family=family, user=alice)
    name = photo.thumbnail.name
    Photo.objects.filter(pk=photo.pk).update(thumbnail="")  # as if the row no longer pointed at it
    FileRemoval.objects.create(storage_name=name, attempts=1, last_error="earlier failure")
    (media / "model.bin").write_text("")
    settings.SEARCH_MODEL = str(media / "model.bin")  # the sweep's embedding part finds no model: fine here

    embed_missing()

    assert not (media / name).exists()
    assert not FileRemoval.objects.exists()


def test_the_remove_queued_files_command_reports_what_is_left(family, alice, media, capsys):
    from django.core.management import call_command

    gone = photo_factory(family=family, user=alice)
    Photo.objects.filter(pk=gone.pk).update(original="", thumbnail="")
    FileRemoval.objects.create(storage_name=gone.original.name)
    aside = _block(media, "thumbnails")
    FileRemoval.objects.create(storage_name=gone.thumbnail.name)

    call_command("remove_queued_files")

    out = capsys.readouterr().out
    assert "Removed 1 queued file(s); 1 still queued." in out
    assert f"{gone.thumbnail.name}: 1 tries, last error: NotADirectoryError" in out
    _unblock(media, "thumbnails", aside)
    call_command("remove_queued_files")
    assert "Removed 1 queued file(s); 0 still queued." in capsys.readouterr().out
    assert not FileRemoval.objects.exists()


def test_the_admin_lists_queued_removals_read_only(client, db):
    superuser = get_user_model().objects.create_superuser("root", "root@example.org", "admin-password-123")
    client.force_login(superuser)
    FileRemoval.objects.create(storage_name="thumbnails/1/ab/x.jpg", attempts=3, last_error="OSError: disk on fire")

    body = client.get(reverse("admin:gallery_fileremoval_changelist")).content.decode()

    assert "thumbnails/1/ab/x.jpg" in body and "disk on fire" in body
    assert reverse("admin:gallery_fileremoval_add") not in body


def _noisy_jpeg(seed: int) -> bytes:
    """A JPEG of about 100 KB (noise does not compress): its original is cut off by disk_full_past(50_000)."""
    rng = random.Random(seed)
    image = Image.frombytes("RGB", (300, 200), bytes(rng.randrange(256) for _ in range(300 * 200 * 3)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95)
    assert len(out.getvalue()) > 60_000
    return out.getvalue()


def test_a_disk_that_fills_up_mid_upload_keeps_the_photos_before_and_leaves_no_partial_file(
        client_for, family, alice, media):
    before = photo_upload(family=family, uploaded_by=alice, stream=io.BytesIO(images.jpeg()), filename="kept.jpg")
    assert before.outcome == UploadResult.SAVED
    kept_files = _files(media)

    with disk_full_past(50_000):
        response = client_for(alice).post(reverse("gallery:upload"), {
            "family": family.pk, "files": [SimpleUploadedFile(f"big{i}.jpg", _noisy_jpeg(i)) for i in range(2)],
        })

    body = response.content.decode()
    assert response.status_code == 200
    assert body.count('data-outcome="rejected"') == 2
    assert _files(media) == kept_files  # no half-written original left under a photo's name
    assert list(Photo.objects.values_list("original_filename", flat=True)) == ["kept.jpg"]
    assert "the photo storage is full" in body  # why, in words the administrator can act on
    assert not FileRemoval.objects.exists()


def test_a_read_only_storage_is_named_as_such(family, alice, media):
    readonly = media / "originals"
    readonly.mkdir(exist_ok=True)
    chattr = subprocess.run(["chattr", "+i", str(readonly)], capture_output=True)
    if chattr.returncode != 0:
        pytest.skip(f"cannot make a folder immutable here: {chattr.stderr.decode().strip()}")
    try:
        result = photo_upload(family=family, uploaded_by=alice, stream=io.BytesIO(images.jpeg()), filename="a.jpg")
    finally:
        subprocess.run(["chattr", "-i", str(readonly)], check=True)

    assert result.outcome == UploadResult.REJECTED
    assert result.reason.startswith("Could not store the file: the photo storage is read-only")
    assert not Photo.objects.exists() and _files(media) == []


def test_turning_a_photo_on_a_storage_that_refuses_says_so_and_keeps_it_as_it_was(family, alice, media, client_for):
    """A storage that refused the turned renditions was a 500 on the API's PATCH and on the page's turn."""
    from tests.factories import api_token_key

    photo = photo_factory(family=family, user=alice)
    before = _files(media)
    aside = _block(media, "displays")
    try:
        api = client_for(alice)
        response = api.patch(reverse("api_photo_detail", args=[photo.pk]), {"rotation": 90, "title": "Turned"},
                             content_type="application/json",
                             headers={"Authorization": f"Token {api_token_key(alice)}"})
        assert response.status_code == 400 and "Could not store the file" in response.json()["rotation"][0]
        page = client_for(alice).post(reverse("gallery:photo_turn", args=[photo.pk]), {"turn": "right"}, follow=True)
        assert page.status_code == 200 and "Could not store the file" in page.content.decode()
    finally:
        _unblock(media, "displays", aside)
    photo.refresh_from_db()
    assert photo.rotation == 0 and photo.title != "Turned"
    assert _files(media) == before


def test_download_original_of_a_file_gone_from_storage_says_so_to_members_only(client_for, family, alice, mallory):
    """A media folder restored from an older copy lacked a photo's original: its "Download original" opened "Not found:
    There is nothing here, or it is not in any of your families." for a member looking at the photo in their own
    family (QA). A member is told the file is missing from storage; another family still reads the plain 404, the
    same bytes as for a photo that does not exist."""
    photo = photo_factory(family=family, user=alice)
    photo.original.storage.delete(photo.original.name)
    url = reverse("gallery:photo_original", args=[photo.pk])
    for suffix in ("", "?download=1"):
        response = client_for(alice).get(url + suffix)
        assert response.status_code == 404
        assert "The original file is missing from storage" in response.content.decode()
    foreign = client_for(mallory).get(url)
    nothing = client_for(mallory).get(reverse("gallery:photo_original", args=[photo.pk + 1000]))
    assert foreign.status_code == nothing.status_code == 404 and foreign.content == nothing.content
    assert "missing from storage" not in foreign.content.decode()
