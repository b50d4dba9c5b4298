"""Writes to the gallery. Every change to families, memberships and photos goes through here."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from gallery.images import EXTENSIONS, ImageRejected, inspect_image, read_limited, sha256_of
from gallery.models import Family, Membership, Photo, Tag
from gallery.signals import photos_added, photos_changed

logger = logging.getLogger(__name__)
User = get_user_model()

MAX_TAGS = 50


# --- families -----------------------------------------------------------------------------------


@transaction.atomic
def family_create(*, name: str, admin: AbstractBaseUser) -> Family:
    name = name.strip()
    if not name:
        raise ValidationError("A family needs a name.")
    if Family.objects.filter(name__iexact=name).exists():
        raise ValidationError(f"A family called “{name}” already exists.")
    family = Family.objects.create(name=name)
    Membership.objects.create(family=family, user=admin, role=Membership.Role.ADMIN)
    return family


@transaction.atomic
def membership_add(
    *, family: Family, user: AbstractBaseUser, role: str = Membership.Role.MEMBER
) -> Membership:
    if role not in Membership.Role.values:
        raise ValidationError(f"Unknown role “{role}”.")
    membership, created = Membership.objects.get_or_create(family=family, user=user, defaults={"role": role})
    if not created and membership.role != role:
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def membership_remove(*, family: Family, user: AbstractBaseUser) -> None:
    membership = Membership.objects.select_for_update().filter(family=family, user=user).first()
    if membership is None:
        raise ValidationError(f"{user} is not a member of {family}.")
    if membership.is_admin and not family.memberships.filter(role=Membership.Role.ADMIN).exclude(pk=membership.pk).exists():
        raise ValidationError("A family must keep at least one admin.")
    membership.delete()


@transaction.atomic
def family_member_add(
    *, family: Family, username: str, password: str = "", role: str = Membership.Role.MEMBER
) -> Membership:
    """Add an existing account to `family`, or create the account first when a password is given."""
    username = username.strip()
    user = User.objects.filter(username__iexact=username).first()
    if user is None:
        if not password:
            raise ValidationError(f"There is no account “{username}”. Give a password to create it.")
        user = user_create(username=username, password=password)
    return membership_add(family=family, user=user, role=role)


@transaction.atomic
def user_create(*, username: str, password: str, email: str = "", is_superuser: bool = False) -> AbstractBaseUser:
    from django.contrib.auth.password_validation import validate_password

    username = username.strip()
    if not username:
        raise ValidationError("A username is required.")
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError(f"The username “{username}” is taken.")
    candidate = User(username=username, email=email)
    validate_password(password, user=candidate)
    if is_superuser:
        return User.objects.create_superuser(username=username, email=email, password=password)
    return User.objects.create_user(username=username, email=email, password=password)


# --- photos -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UploadResult:
    """What happened to one file of an upload. `outcome` is saved, duplicate or rejected."""

    filename: str
    outcome: str
    photo: Photo | None = None
    reason: str = ""

    SAVED = "saved"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


def photo_upload(
    *,
    family: Family,
    uploaded_by: AbstractBaseUser,
    stream: BinaryIO,
    filename: str,
    tags: Iterable[str] = (),
    description: str = "",
) -> UploadResult:
    """Store one uploaded file. Never raises for bad input: a rejected file is a result, not an error,
    so that one bad file never costs the others of the same upload."""
    filename = os.path.basename(filename or "upload")[:255] or "upload"
    try:
        data = read_limited(stream)
    except ImageRejected as exc:
        return UploadResult(filename, UploadResult.REJECTED, reason=str(exc))
    return photo_create_from_bytes(
        family=family, uploaded_by=uploaded_by, data=data, filename=filename, tags=tags, description=description
    )


def photo_create_from_bytes(
    *,
    family: Family,
    uploaded_by: AbstractBaseUser | None,
    data: bytes,
    filename: str,
    tags: Iterable[str] = (),
    description: str = "",
) -> UploadResult:
    existing = Photo.objects.filter(family=family, sha256=sha256_of(data)).first() if data else None
    if existing is not None:
        return UploadResult(filename, UploadResult.DUPLICATE, photo=existing, reason=f"Already in {family} as “{existing}”.")
    try:
        info = inspect_image(data)
    except ImageRejected as exc:
        return UploadResult(filename, UploadResult.REJECTED, reason=str(exc))
    try:
        photo = _photo_store(family=family, uploaded_by=uploaded_by, data=data, filename=filename, info=info,
                             tags=tags, description=description)
    except IntegrityError:
        # Same bytes uploaded concurrently: the other request won; report it as the duplicate it is.
        existing = Photo.objects.get(family=family, sha256=info.sha256)
        return UploadResult(filename, UploadResult.DUPLICATE, photo=existing, reason=f"Already in {family} as “{existing}”.")
    return UploadResult(filename, UploadResult.SAVED, photo=photo)


@transaction.atomic
def _photo_store(*, family, uploaded_by, data, filename, info, tags, description) -> Photo:
    stem, _ = os.path.splitext(filename)
    photo = Photo(
        family=family,
        uploaded_by=uploaded_by,
        original_filename=filename,
        title=_title_from_filename(stem),
        description=description.strip(),
        mime_type=info.mime_type,
        file_size=len(data),
        width=info.width,
        height=info.height,
        taken_at=info.taken_at or timezone.now(),
        taken_at_source=Photo.DateSource.EXIF if info.taken_at else Photo.DateSource.UPLOAD,
        camera_make=info.camera_make,
        camera_model=info.camera_model,
        latitude=info.latitude,
        longitude=info.longitude,
        sha256=info.sha256,
        phash=info.phash,
    )
    # The stored name is the content hash: the user's file name may be hostile or collide.
    photo.original.save(f"{info.sha256}.{EXTENSIONS[info.mime_type]}", ContentFile(data), save=False)
    photo.thumbnail.save(f"{info.sha256}.jpg", ContentFile(info.thumbnail), save=False)
    try:
        with transaction.atomic():
            photo.save()
            _set_tags(photo, tags)
    except Exception:
        # No row points at the files: remove them rather than leave orphans behind.
        for name in (photo.original.name, photo.thumbnail.name):
            photo.original.storage.delete(name)
        raise
    photos_added.send(sender=Photo, photo_ids=[photo.pk])
    return photo


def _title_from_filename(stem: str) -> str:
    title = stem.replace("_", " ").replace("-", " ").strip()
    return " ".join(title.split())[:255]


def _set_tags(photo: Photo, names: Iterable[str]) -> None:
    photo.tags.set(tags_get_or_create(family=photo.family, names=names))


def tags_get_or_create(*, family: Family, names: Iterable[str]) -> list[Tag]:
    cleaned: dict[str, str] = {}
    for name in names:
        name = " ".join(str(name).split())[:64]
        if name:
            cleaned.setdefault(name.lower(), name)
    if len(cleaned) > MAX_TAGS:
        raise ValidationError(f"At most {MAX_TAGS} tags per photo.")
    tags = []
    for name in cleaned.values():
        tag = Tag.objects.filter(family=family, name__iexact=name).first()
        if tag is None:
            # Parallel uploads with the same new tag race to create it: the loser waits for the winner's row.
            Tag.objects.bulk_create([Tag(family=family, name=name)], ignore_conflicts=True)
            tag = Tag.objects.get(family=family, name__iexact=name)
        tags.append(tag)
    return tags


def parse_tags(text: str) -> list[str]:
    """Tags typed by a person: comma separated."""
    return [part.strip() for part in (text or "").split(",") if part.strip()]


@transaction.atomic
def photo_update(
    *, photo: Photo, tags: Iterable[str] | None = None, description: str | None = None, title: str | None = None
) -> Photo:
    fields = []
    if description is not None:
        photo.description = description.strip()
        fields.append("description")
    if title is not None:
        photo.title = title.strip()[:255]
        fields.append("title")
    if fields:
        photo.save(update_fields=fields)
    if tags is not None:
        _set_tags(photo, tags)
    photos_changed.send(sender=Photo, photo_ids=[photo.pk])
    return photo


def photo_can_delete(*, photo: Photo, user: AbstractBaseUser) -> bool:
    if photo.uploaded_by_id == user.pk:
        return True
    return Membership.objects.filter(family_id=photo.family_id, user=user, role=Membership.Role.ADMIN).exists()


@transaction.atomic
def photo_delete(*, photo: Photo, user: AbstractBaseUser) -> None:
    if not photo_can_delete(photo=photo, user=user):
        raise PermissionDenied("Only the uploader or a family admin can delete this photo.")
    names = [photo.original.name, photo.thumbnail.name]
    storage = photo.original.storage
    photo.delete()
    # Files go only once the row is gone for good; a rolled-back delete keeps them.
    transaction.on_commit(lambda: [storage.delete(name) for name in names if name])


@transaction.atomic
def photos_tag_add(*, photos: Iterable[Photo], name: str) -> int:
    changed = []
    for photo in photos:
        photo.tags.add(*tags_get_or_create(family=photo.family, names=[name]))
        changed.append(photo.pk)
    photos_changed.send(sender=Photo, photo_ids=changed)
    return len(changed)


@transaction.atomic
def photos_tag_remove(*, photos: Iterable[Photo], name: str) -> int:
    changed = []
    for photo in photos:
        removed = list(photo.tags.filter(name__iexact=name.strip()))
        if removed:
            photo.tags.remove(*removed)
            changed.append(photo.pk)
    photos_changed.send(sender=Photo, photo_ids=changed)
    return len(changed)


def photos_metadata_edited(*, photo_ids: Iterable[int]) -> None:
    """Announce metadata edits made outside these services (the admin's forms)."""
    photos_changed.send(sender=Photo, photo_ids=list(photo_ids))
