"""Writes for the trash and for favourites, over many photos at once (a photo page, the API, bulk actions).

Each service takes the acting user and photo ids, checks every photo against the user's families and rights, and
answers one `PhotoResult(id, ok, reason)` per id, in the order given (duplicates once): a photo of another family
and a missing one get the same `ok=False, reason="No such photo."`, so a caller can't tell them apart.

Rights: any member may favourite a photo of their families; moving to the trash, restoring and deleting for good
belong to the photo's uploader or a family admin; emptying a family's trash to its admins. A photo in the trash is
gone from every list and search at once (`Photo.objects` leaves it out; the search app hears `photos_trashed`), and
is deleted for good, rows first and files after the commit, by `trash_purge_expired` TRASH_DAYS later.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from gallery.models import Family, Favourite, Membership, Photo
from gallery.selectors import photos_worked_on
from gallery.services import member_family_ids_hold, photos_delete, photos_version_bump, rows_key_share
from gallery.signals import photos_restored, photos_trashed


class PhotoResult(NamedTuple):
    """What happened to one photo of a many-photo action."""

    id: int
    ok: bool
    reason: str = ""


NOT_FOUND = "No such photo."
NOT_ALLOWED = "Only the uploader or a family admin can {}."
IN_TRASH = "Already in the trash."
NOT_IN_TRASH = "Not in the trash."
# Photos deleted for good per transaction by the scheduled purge (each batch commits, its files go after it).
PURGE_BATCH = 200


def photo_ids_read(photo_ids: Iterable) -> list[int]:
    """The ids as ints, each once, in the order given; something that is not an id is left out (a form's text)."""
    ids: dict[int, None] = {}
    for value in photo_ids:
        try:
            ids.setdefault(int(value), None)
        except (TypeError, ValueError):
            continue
    return list(ids)


def _visible(user: AbstractBaseUser, ids: list[int], *, lock: bool = True) -> dict[int, Photo]:
    """The photos of `ids` in the user's families, trashed or not, locked for this transaction (`lock`; the user's
    memberships held either way: member_family_ids_hold)."""
    if not ids or not user.is_authenticated:
        return {}
    family_ids = member_family_ids_hold(user=user, photo_ids=ids)
    photos = Photo.all_objects.filter(pk__in=ids, family_id__in=family_ids).order_by("pk")
    if lock:
        photos = photos.select_for_update(of=("self",))
    return {photo.pk: photo for photo in photos.only("pk", "family_id", "uploaded_by_id", "trashed_at")}


def admin_family_ids(user: AbstractBaseUser) -> set[int]:
    """The families the user administers (their photos the user may trash, restore and delete for good)."""
    return set(Membership.objects.filter(user=user, role=Membership.Role.ADMIN).values_list("family_id", flat=True))


def photo_may_manage(*, photo: Photo, user: AbstractBaseUser, admin_of: set[int] | None = None) -> bool:
    """Whether the user may move the photo to the trash, restore it or delete it for good: its uploader or an
    admin of its family."""
    if photo.uploaded_by_id is not None and photo.uploaded_by_id == user.pk:
        return True
    return photo.family_id in (admin_family_ids(user) if admin_of is None else admin_of)


def _decide(user, photo_ids, *, verb: str, want_trashed: bool) -> tuple[list[PhotoResult], list[int]]:
    """Each photo's result for moving it in or out of the trash (or deleting it for good), and the ids that may go."""
    ids = photo_ids_read(photo_ids)
    photos = _visible(user, ids)
    admin_of = admin_family_ids(user)
    results, chosen = [], []
    for pk in ids:
        photo = photos.get(pk)
        if photo is None:
            results.append(PhotoResult(pk, False, NOT_FOUND))
        elif (photo.trashed_at is not None) != want_trashed:
            results.append(PhotoResult(pk, False, NOT_IN_TRASH if want_trashed else IN_TRASH))
        elif not photo_may_manage(photo=photo, user=user, admin_of=admin_of):
            results.append(PhotoResult(pk, False, NOT_ALLOWED.format(verb)))
        else:
            results.append(PhotoResult(pk, True))
            chosen.append(pk)
    return results, chosen


@transaction.atomic
def photos_trash(*, user: AbstractBaseUser, photo_ids: Iterable[int]) -> list[PhotoResult]:
    """Move photos to the trash: gone at once from timeline, search, albums and similar photos, restorable for
    TRASH_DAYS."""
    results, chosen = _decide(user, photo_ids, verb="move this photo to the trash", want_trashed=False)
    _to_trash(chosen, user)
    return results


@transaction.atomic
def photos_trash_by_site_admin(*, user: AbstractBaseUser, photos) -> int:
    """The Django admin's delete: the admin site has checked its own permissions and scope (a superuser need not
    be a member), so the photos go to the trash like a member's. Returns how many."""
    ids = list(photos.filter(trashed_at__isnull=True).order_by("pk").values_list("pk", flat=True))
    return _to_trash(ids, user)


def _to_trash(ids: list[int], user: AbstractBaseUser) -> int:
    if ids:
        Photo.all_objects.filter(pk__in=ids).update(trashed_at=timezone.now(), trashed_by=user)
        photos_trashed.send(sender=Photo, photo_ids=list(ids))
    return len(ids)


@transaction.atomic
def photos_restore(*, user: AbstractBaseUser, photo_ids: Iterable[int]) -> list[PhotoResult]:
    """Take photos out of the trash: back where they were, with their tags, albums and favourites."""
    results, chosen = _decide(user, photo_ids, verb="restore this photo", want_trashed=True)
    photos_untrash(photo_ids=chosen)
    return results


def photos_untrash(*, photo_ids: list[int]) -> None:
    """Take these photos out of the trash, rights already checked (a restore, or a member re-uploading the same
    bytes: they hold the file, so they get the photo back rather than a "duplicate" they can't see)."""
    if photo_ids:
        Photo.all_objects.filter(pk__in=photo_ids).update(trashed_at=None, trashed_by=None)
        photos_restored.send(sender=Photo, photo_ids=list(photo_ids))


@transaction.atomic
def photos_purge(*, user: AbstractBaseUser, photo_ids: Iterable[int]) -> list[PhotoResult]:
    """Delete photos in the trash for good: their rows now, their files once this commits. Only from the trash."""
    results, chosen = _decide(user, photo_ids, verb="delete this photo for good", want_trashed=True)
    if chosen:
        photos_delete(photos=Photo.all_objects.filter(pk__in=chosen))
    return results


@transaction.atomic
def trash_empty(*, user: AbstractBaseUser, family: Family) -> int:
    """Delete for good every photo in a family's trash (a family admin's button). Returns how many."""
    if not Membership.objects.filter(user=user, family=family, role=Membership.Role.ADMIN).exists():
        raise PermissionDenied("Only a family admin can empty the trash.")
    return photos_delete(photos=Photo.all_objects.filter(pk__in=_lock_trashed(
        Photo.all_objects.filter(family=family, trashed_at__isnull=False))))


def _lock_trashed(photos) -> list[int]:
    """Lock these photos and keep those still in the trash: a photo restored by a concurrent request is re-checked
    on its new row version (a plain condition, which PostgreSQL re-evaluates under the lock), and stays."""
    return list(photos.order_by("pk").select_for_update().values_list("pk", flat=True))


def trash_expiry(*, now: datetime | None = None) -> datetime:
    """Photos trashed before this are due for deletion."""
    return (now or timezone.now()) - timedelta(days=settings.TRASH_DAYS)


def purge_at(photo: Photo) -> datetime:
    """When a photo in the trash will be deleted for good."""
    return photo.trashed_at + timedelta(days=settings.TRASH_DAYS)


def trash_purge_expired(*, now: datetime | None = None) -> int:
    """The scheduled purge: delete for good the photos in the trash longer than TRASH_DAYS, in batches that each
    commit on their own (files go after each commit). Returns how many. Not those of a family being deleted: its
    deletion takes them (purged under its last step, each would wait for the other's locks)."""
    cutoff = trash_expiry(now=now)
    expired = photos_worked_on(Photo.all_objects.filter(trashed_at__lt=cutoff))
    purged = 0
    while True:
        with transaction.atomic():
            batch = list(expired.order_by("trashed_at", "pk").values_list("pk", flat=True)[:PURGE_BATCH])
            if not batch:
                return purged
            locked = _lock_trashed(expired.filter(pk__in=batch))
            purged += photos_delete(photos=Photo.all_objects.filter(pk__in=locked))


@transaction.atomic
def photos_favourite(*, user: AbstractBaseUser, photo_ids: Iterable[int], on: bool) -> list[PhotoResult]:
    """Mark (on) or unmark photos as the user's favourites; idempotent. Photos in the trash can't be reached."""
    ids = photo_ids_read(photo_ids)
    visible = {pk for pk, photo in _visible(user, ids, lock=False).items() if photo.trashed_at is None}
    if on:  # held until the favourites are in: a photo deleted for good meanwhile waits, then takes them along
        visible &= set(rows_key_share(Photo.objects.filter(pk__in=visible).order_by("pk").values_list("pk")))
    chosen = [pk for pk in ids if pk in visible]
    if on:
        Favourite.objects.bulk_create([Favourite(user=user, photo_id=pk) for pk in chosen], ignore_conflicts=True)
    else:
        Favourite.objects.filter(user=user, photo_id__in=chosen).delete()
    photos_version_bump(photo_ids=chosen)  # the favourites-only lists
    return [PhotoResult(pk, True) if pk in visible else PhotoResult(pk, False, NOT_FOUND) for pk in ids]
