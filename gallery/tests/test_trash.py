"""The trash and favourites services: rights, isolation, purge order, re-upload restore."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from gallery.models import Favourite, FileRemoval, Membership, Photo
from gallery.selectors import family_list, photo_list, tag_list, trash_list
from gallery.services import UploadResult, photo_create_from_bytes
from gallery.trash_services import (
    IN_TRASH, NOT_FOUND, NOT_IN_TRASH, PhotoResult, photos_favourite, photos_purge, photos_restore, photos_trash,
    trash_empty, trash_purge_expired,
)
from tests.factories import MembershipFactory, UserFactory, photo_factory
from tests.images import jpeg


def _files_exist(photo: Photo) -> bool:
    storage = photo.original.storage
    return any(storage.exists(name) for name in (photo.original.name, photo.thumbnail.name, photo.display.name))


@pytest.fixture
def carol(family):
    """Another plain member of the Smiths."""
    user = UserFactory(username="carol")
    MembershipFactory(family=family, user=user)
    return user


def test_trash_hides_the_photo_everywhere_and_keeps_row_and_files(family, alice, bob):
    photo = photo_factory(family=family, user=bob, tags=["beach"])
    assert photos_trash(user=bob, photo_ids=[photo.pk]) == [PhotoResult(photo.pk, True, "")]

    assert not Photo.objects.filter(pk=photo.pk).exists()  # the default manager is the safe one
    trashed = Photo.all_objects.get(pk=photo.pk)
    assert trashed.trashed_at is not None and trashed.trashed_by == bob
    assert _files_exist(photo)
    assert list(photo_list(user=alice)) == []
    assert family_list(user=alice, with_counts=True).get().photo_count == 0
    assert list(tag_list(user=alice)) == []
    assert list(trash_list(user=alice)) == [trashed]


def test_trash_rights_uploader_or_family_admin(family, alice, bob, carol):
    mine, bobs, another = (photo_factory(family=family, user=u) for u in (carol, bob, bob))
    assert photos_trash(user=carol, photo_ids=[mine.pk, bobs.pk]) == [
        PhotoResult(mine.pk, True, ""),
        PhotoResult(bobs.pk, False, "Only the uploader or a family admin can move this photo to the trash."),
    ]
    assert photos_trash(user=alice, photo_ids=[bobs.pk, another.pk]) == [
        PhotoResult(bobs.pk, True, ""), PhotoResult(another.pk, True, "")]
    # Restore: carol can't restore bob's, bob can, the admin can.
    assert photos_restore(user=carol, photo_ids=[bobs.pk])[0].ok is False
    assert photos_restore(user=bob, photo_ids=[bobs.pk]) == [PhotoResult(bobs.pk, True, "")]
    assert photos_restore(user=alice, photo_ids=[another.pk, mine.pk]) == [
        PhotoResult(another.pk, True, ""), PhotoResult(mine.pk, True, "")]
    assert Photo.objects.count() == 3


def test_foreign_and_missing_ids_are_the_same_not_found(family, alice, other_family, mallory):
    ours = photo_factory(family=family, user=alice)
    theirs = photo_factory(family=other_family, user=mallory)
    expected = [PhotoResult(theirs.pk, False, NOT_FOUND), PhotoResult(999999, False, NOT_FOUND),
                PhotoResult(ours.pk, True, "")]
    assert photos_trash(user=alice, photo_ids=[theirs.pk, 999999, ours.pk, ours.pk]) == expected
    assert Photo.objects.filter(pk=theirs.pk).exists()
    photos_trash(user=mallory, photo_ids=[theirs.pk])
    # Another family's trash is out of reach too: not restorable, not deletable, not listed.
    assert photos_restore(user=alice, photo_ids=[theirs.pk]) == [PhotoResult(theirs.pk, False, NOT_FOUND)]
    assert photos_purge(user=alice, photo_ids=[theirs.pk]) == [PhotoResult(theirs.pk, False, NOT_FOUND)]
    assert list(trash_list(user=alice)) == [Photo.all_objects.get(pk=ours.pk)]
    assert Photo.all_objects.filter(pk=theirs.pk).exists()


def test_state_mismatches_say_so(family, alice):
    photo = photo_factory(family=family, user=alice)
    assert photos_restore(user=alice, photo_ids=[photo.pk]) == [PhotoResult(photo.pk, False, NOT_IN_TRASH)]
    assert photos_purge(user=alice, photo_ids=[photo.pk]) == [PhotoResult(photo.pk, False, NOT_IN_TRASH)]
    assert Photo.objects.filter(pk=photo.pk).exists()  # delete for good only from the trash
    photos_trash(user=alice, photo_ids=[photo.pk])
    assert photos_trash(user=alice, photo_ids=[photo.pk]) == [PhotoResult(photo.pk, False, IN_TRASH)]


def test_delete_for_good_removes_row_and_files_only_after_commit(family, alice, django_capture_on_commit_callbacks):
    photo = photo_factory(family=family, user=alice)
    photos_trash(user=alice, photo_ids=[photo.pk])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert photos_purge(user=alice, photo_ids=[photo.pk]) == [PhotoResult(photo.pk, True, "")]
        # Row gone, files still there and queued: they go only once the deletion is committed.
        assert not Photo.all_objects.filter(pk=photo.pk).exists()
        assert _files_exist(photo)
        assert FileRemoval.objects.count() == 3
    for callback in callbacks:
        callback()
    assert not _files_exist(photo)
    assert not FileRemoval.objects.exists()


def test_files_of_trashed_photos_are_never_removed_as_unused(family, alice, django_capture_on_commit_callbacks):
    """The removal queue skips names a photo still uses: a photo in the trash still owns its files."""
    from gallery.files import file_removals_process

    photo = photo_factory(family=family, user=alice)
    photos_trash(user=alice, photo_ids=[photo.pk])
    FileRemoval.objects.create(storage_name=photo.original.name)
    file_removals_process()
    assert photo.original.storage.exists(photo.original.name)


def test_empty_trash_is_for_family_admins_and_only_their_family(family, alice, bob, other_family, mallory,
                                                                django_capture_on_commit_callbacks):
    ours = [photo_factory(family=family, user=bob) for _ in range(2)]
    live = photo_factory(family=family, user=bob)
    theirs = photo_factory(family=other_family, user=mallory)
    photos_trash(user=bob, photo_ids=[p.pk for p in ours])
    photos_trash(user=mallory, photo_ids=[theirs.pk])
    with pytest.raises(PermissionDenied):
        trash_empty(user=bob, family=family)
    with django_capture_on_commit_callbacks(execute=True):
        assert trash_empty(user=alice, family=family) == 2
    assert not Photo.all_objects.filter(pk__in=[p.pk for p in ours]).exists()
    assert not any(_files_exist(p) for p in ours)
    assert Photo.objects.filter(pk=live.pk).exists()
    assert Photo.all_objects.filter(pk=theirs.pk).exists()


def test_scheduled_purge_deletes_only_what_is_older_than_trash_days(family, alice, settings,
                                                                   django_capture_on_commit_callbacks):
    settings.TRASH_DAYS = 30
    old, recent, live = (photo_factory(family=family, user=alice) for _ in range(3))
    photos_trash(user=alice, photo_ids=[old.pk, recent.pk])
    Photo.all_objects.filter(pk=old.pk).update(trashed_at=timezone.now() - timedelta(days=31))
    Photo.all_objects.filter(pk=recent.pk).update(trashed_at=timezone.now() - timedelta(days=29))
    with django_capture_on_commit_callbacks(execute=True):
        assert trash_purge_expired() == 1
    assert not Photo.all_objects.filter(pk=old.pk).exists() and not _files_exist(old)
    assert Photo.all_objects.filter(pk=recent.pk).exists() and _files_exist(recent)
    assert Photo.objects.filter(pk=live.pk).exists()


def test_the_purge_is_scheduled_by_a_migration(db):
    from django_q.models import Schedule

    schedule = Schedule.objects.get(func="gallery.tasks.trash_purge_task")
    assert schedule.repeats < 0 and schedule.schedule_type == Schedule.HOURLY


def test_purge_task_runs_the_service(family, alice, settings, django_capture_on_commit_callbacks):
    from gallery.tasks import trash_purge_task

    photo = photo_factory(family=family, user=alice)
    photos_trash(user=alice, photo_ids=[photo.pk])
    expired = timezone.now() - timedelta(days=settings.TRASH_DAYS, seconds=1)
    Photo.all_objects.filter(pk=photo.pk).update(trashed_at=expired)
    with django_capture_on_commit_callbacks(execute=True):
        assert trash_purge_task() == 1


def test_reupload_of_a_trashed_photo_restores_it(family, alice, bob):
    data = jpeg(colour=(1, 2, 3), size=(40, 30))
    photo = photo_factory(family=family, user=alice, data=data, tags=["beach"])
    Favourite.objects.create(user=alice, photo=photo)
    photos_trash(user=alice, photo_ids=[photo.pk])

    result = photo_create_from_bytes(family=family, uploaded_by=bob, data=data, filename="again.jpg")

    assert result.outcome == UploadResult.RESTORED and result.photo.pk == photo.pk
    assert "restored" in result.reason
    restored = Photo.objects.get(pk=photo.pk)
    assert restored.trashed_at is None and [t.name for t in restored.tags.all()] == ["beach"]
    assert photo_list(user=alice, favourite=True).get() == restored
    # Again: now it is an ordinary duplicate.
    assert photo_create_from_bytes(family=family, uploaded_by=bob, data=data, filename="x.jpg").outcome == \
        UploadResult.DUPLICATE


def test_favourites_are_per_user_and_idempotent(family, alice, bob):
    one, two = photo_factory(family=family, user=alice), photo_factory(family=family, user=alice)
    assert photos_favourite(user=bob, photo_ids=[one.pk], on=True) == [PhotoResult(one.pk, True, "")]
    assert photos_favourite(user=bob, photo_ids=[one.pk, two.pk], on=True) == [
        PhotoResult(one.pk, True, ""), PhotoResult(two.pk, True, "")]
    assert set(photo_list(user=bob, favourite=True)) == {one, two}
    assert list(photo_list(user=alice, favourite=True)) == []
    assert [p.is_favourite for p in photo_list(user=alice)] == [False, False]
    photos_favourite(user=bob, photo_ids=[one.pk], on=False)
    photos_favourite(user=bob, photo_ids=[one.pk], on=False)
    assert list(photo_list(user=bob, favourite=True)) == [two]


def test_favourites_of_foreign_missing_or_trashed_photos_are_not_found(family, alice, other_family, mallory):
    theirs = photo_factory(family=other_family, user=mallory)
    trashed = photo_factory(family=family, user=alice)
    photos_trash(user=alice, photo_ids=[trashed.pk])
    assert photos_favourite(user=alice, photo_ids=[theirs.pk, 424242, trashed.pk], on=True) == [
        PhotoResult(theirs.pk, False, NOT_FOUND), PhotoResult(424242, False, NOT_FOUND),
        PhotoResult(trashed.pk, False, NOT_FOUND)]
    assert not Favourite.objects.exists()


def test_a_member_who_left_the_family_can_no_longer_act(family, alice, bob):
    photo = photo_factory(family=family, user=bob)
    Membership.objects.filter(user=bob).delete()
    assert photos_trash(user=bob, photo_ids=[photo.pk]) == [PhotoResult(photo.pk, False, NOT_FOUND)]
