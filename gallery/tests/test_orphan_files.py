"""Files no photo points at (a process killed between writing a photo's files and committing its row) are found
and removed, on the file system and in an S3 store alike; files of photos, trash included, and young files (an
upload in progress) never are."""

from __future__ import annotations

import io
import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command

from gallery.files import orphan_files
from gallery.services import photo_upload
from gallery.trash_services import photos_trash
from tests import images

pytestmark = pytest.mark.django_db


def _photos(family, alice):
    kept = photo_upload(family=family, uploaded_by=alice, stream=io.BytesIO(images.jpeg()), filename="a.jpg").photo
    trashed = photo_upload(family=family, uploaded_by=alice, stream=io.BytesIO(images.jpeg(colour=(0, 9, 200))),
                           filename="b.jpg").photo
    photos_trash(user=alice, photo_ids=[trashed.pk])
    return kept, trashed


def test_an_old_orphan_is_removed_and_photos_files_and_young_files_stay(family, alice, settings):
    kept, trashed = _photos(family, alice)
    old = default_storage.save(f"originals/{family.pk}/ab/orphan.jpg", ContentFile(b"left behind"))
    young = default_storage.save(f"displays/{family.pk}/cd/young.jpg", ContentFile(b"upload in progress"))
    two_days_ago = time.time() - 2 * 86400
    os.utime(Path(settings.MEDIA_ROOT) / old, (two_days_ago, two_days_ago))

    out = io.StringIO()
    call_command("remove_orphan_files", "--dry-run", stdout=out)
    assert old in out.getvalue() and "1 orphan file(s) found; nothing deleted" in out.getvalue()
    assert default_storage.exists(old)

    call_command("remove_orphan_files", stdout=io.StringIO())

    assert not default_storage.exists(old) and default_storage.exists(young)
    for photo in (kept, trashed):
        for field in (photo.original, photo.thumbnail, photo.display):
            assert default_storage.exists(field.name)


def test_a_threshold_under_an_hour_is_refused(db):
    with pytest.raises(CommandError, match="at least 1"):
        call_command("remove_orphan_files", "--hours", "0.1")


@pytest.mark.parametrize("hours", ["nan", "inf", "1e300"])
def test_a_threshold_that_is_no_usable_number_is_refused(db, hours):
    with pytest.raises(CommandError, match="--hours"):
        call_command("remove_orphan_files", "--hours", hours, "--dry-run", stdout=io.StringIO())


def test_orphans_in_the_s3_store_are_found_through_the_storage_api(s3_media, family, alice):
    kept, trashed = _photos(family, alice)
    orphan = default_storage.save(f"thumbnails/{family.pk}/ef/orphan.jpg", ContentFile(b"left behind"))

    assert list(orphan_files(older_than=timedelta(hours=1))) == []  # too young to tell
    assert list(orphan_files(older_than=timedelta(0))) == [orphan]


def test_a_daily_task_removes_old_orphans_without_anyone_running_the_command(family, alice, settings):
    """A process killed between writing a photo's files and its row (kill -9, the OOM killer, a power cut) leaves
    files no photo points at; the self-hoster who never reads about remove_orphan_files gets that space back."""
    from django_q.models import Schedule

    from gallery.tasks import orphan_files_remove_task

    kept, trashed = _photos(family, alice)
    old = default_storage.save(f"originals/{family.pk}/ab/orphan.jpg", ContentFile(b"left behind"))
    young = default_storage.save(f"displays/{family.pk}/cd/young.jpg", ContentFile(b"upload in progress"))
    two_days_ago = time.time() - 2 * 86400
    os.utime(Path(settings.MEDIA_ROOT) / old, (two_days_ago, two_days_ago))

    assert orphan_files_remove_task() == 1

    assert not default_storage.exists(old) and default_storage.exists(young)
    for photo in (kept, trashed):
        assert all(default_storage.exists(field.name) for field in (photo.original, photo.thumbnail, photo.display))
    schedule = Schedule.objects.get(func="gallery.tasks.orphan_files_remove_task")
    assert schedule.repeats < 0 and schedule.schedule_type == Schedule.DAILY
