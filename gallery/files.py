"""The files of photos in storage: written all or nothing, and removed only once their row is gone for good.

Everything goes through Django's storage API (save, delete), never local paths. Files whose row was deleted
wait in a durable queue (FileRemoval), written in the deleting transaction, so a committed deletion never
forgets them; file_removals_process deletes them after the commit and, for what storage refused, again from
the periodic sweep."""

from __future__ import annotations

import errno
import logging
from collections.abc import Iterable, Iterator
from datetime import timedelta

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F, FileField
from django.utils import timezone

from gallery.images import ImageRejected, decode_upright, turned
from gallery.models import FileRemoval, Photo

logger = logging.getLogger(__name__)


# A photo's original gone from storage (a media folder restored from an older copy, a file deleted by hand): said in
# words, not as an errno and the server's path.
ORIGINAL_MISSING = ("The original file is missing from storage (moved or deleted outside the gallery): tell the "
                    "administrator, who may have it in a backup.")


class StorageFailed(Exception):
    """A file could not be written; nothing of the photo was kept."""


class StorageUnavailable(Exception):
    """The storage did not answer (an object store's network or service fault): try again later. The file is not
    known to be missing or broken."""


def stored_open(field):
    """A stored file (a FieldFile) opened for reading with its bytes fetched: FileNotFoundError when it is missing,
    StorageUnavailable when the storage can't answer. Errors in decoding what was read are the caller's to judge.
    The caller closes it (a Django File: `with stored_open(field) as stream:`)."""
    stream = None
    try:
        stream = field.storage.open(field.name, "rb")
        stream.read(0)  # an object store fetches the object here, so its faults show now, as storage faults
    except FileNotFoundError:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever the backend raises (botocore, OSError) is a storage fault
        if stream is not None:
            stream.close()
        logger.warning("storage did not answer for %s: %s", field.name, exc)
        raise StorageUnavailable(f"The photo storage did not answer: {exc}"[:300]) from exc
    return stream


# Originals stored without loss (a screenshot, a scan saved as PNG or TIFF): their display rendition, a JPEG, blurs
# small text, which the OCR then reads with its words run together or not at all.
LOSSLESS_TYPES = frozenset({"image/png", "image/gif", "image/tiff"})


def photo_image(photo: Photo, *, max_side: int, for_text: bool = False):
    """The photo as members see it, upright and as they turned it, its longer side at most `max_side`, for the
    workers (embedding, reading text): decoded from its display rendition (small: no decode slot), or, when that
    is missing or damaged in storage, from its original (bounded, in a decode slot). Raises what stored_open and
    decode_upright raise for the original. To read its text (`for_text`), an original stored lossless
    (LOSSLESS_TYPES) is decoded itself, its rendition only when the original can't be read."""
    if for_text and photo.mime_type in LOSSLESS_TYPES:
        try:
            return _original_image(photo, max_side=max_side)
        except (FileNotFoundError, ImageRejected) as exc:
            logger.warning("photo %s: original %s can't be read (%s); reading its display rendition", photo.pk,
                           photo.original.name, getattr(exc, "detail", "") or exc)
    if photo.display:
        try:
            with stored_open(photo.display) as stream:
                return decode_upright(stream, max_side=max_side, slot=False)
        except FileNotFoundError:
            logger.warning("photo %s: display rendition %s is missing; decoding the original", photo.pk,
                           photo.display.name)
        except ImageRejected as exc:  # our own rendition, damaged in storage: the original may well be whole
            logger.warning("photo %s: display rendition %s is damaged (%s); decoding the original", photo.pk,
                           photo.display.name, exc.detail or exc)
    return _original_image(photo, max_side=max_side)


def _original_image(photo: Photo, *, max_side: int):
    with stored_open(photo.original) as stream:
        return turned(decode_upright(stream, max_side=max_side), photo.rotation)


def photo_file_fields() -> list[str]:
    """Every file a photo owns (original and renditions): all of Photo's FileFields."""
    return [field.name for field in Photo._meta.concrete_fields if isinstance(field, FileField)]


def photo_file_names(photo: Photo) -> list[str]:
    return [name for name in (getattr(photo, field).name for field in photo_file_fields()) if name]


def photo_files_write(photo: Photo, contents: dict[str, tuple[str, bytes]]) -> None:
    """Write each field's (name, bytes) through the field's storage, all or nothing: when one write fails,
    the ones already written are removed and StorageFailed says so plainly."""
    written: list[str] = []
    try:
        for field, (name, content) in contents.items():
            getattr(photo, field).save(name, ContentFile(content), save=False)
            written.append(getattr(photo, field).name)
    except BaseException as exc:  # (Ctrl-C between two files too: none of them is kept)
        files_remove(names=written)
        if not isinstance(exc, Exception):
            raise
        logger.exception("could not store %s of photo %s", field, photo.sha256)
        raise StorageFailed(f"Could not store the file: {_write_fault_words(exc)}") from exc


# A write that failed for want of room: the disk or a quota is full, or a file-size limit was reached.
NO_ROOM = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def _write_fault_words(exc: BaseException) -> str:
    """Why a write failed, in words a person (and the administrator they tell) can act on."""
    errno_ = getattr(exc, "errno", None)
    if errno_ in NO_ROOM:
        return ("the photo storage is full. Nothing of this file was kept (photos stored before are safe); "
                "tell the administrator to free some space, then try again.")
    if errno_ in (errno.EROFS, errno.EACCES, errno.EPERM):
        return ("the photo storage is read-only or the server may not write to it. Nothing of this file was kept; "
                "tell the administrator, then try again.")
    return ("the photo storage refused to write it. Nothing was kept; please try again later, and tell the "
            "administrator if it keeps happening.")


def files_remove(*, names: Iterable[str]) -> None:
    """Delete files that no row points at, now; whatever storage refuses is queued for a later try."""
    failed = []
    for name in names:
        try:
            default_storage.delete(name)
        except Exception as exc:
            logger.warning("could not delete %s, queued for later: %s", name, exc)
            failed.append(FileRemoval(storage_name=name, attempts=1, last_error=_error_text(exc),
                                      last_attempt_at=timezone.now()))
    FileRemoval.objects.bulk_create(failed)


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:1000]


def photos_files_release(*, photos: Iterable[Photo]) -> list[int]:
    """Queue the files of photos whose rows this transaction deletes, and delete them once it commits.

    The queue rows commit or roll back with the deletion: a rolled-back delete keeps its files, and a
    committed one never forgets them, even when storage refuses the deletion (the sweep tries again)."""
    removals = FileRemoval.objects.bulk_create(
        [FileRemoval(storage_name=name) for photo in photos for name in photo_file_names(photo)]
    )
    ids = [removal.pk for removal in removals]
    transaction.on_commit(lambda: file_removals_process(ids=ids))
    return ids


def file_removals_process(*, ids: Iterable[int] | None = None, limit: int | None = 1000) -> int:
    """Delete queued files from storage; returns how many went. Failures stay queued with their error.

    Called after the commit of a deletion and by the periodic sweep. A name that a photo stored since
    uses again is not deleted (the new photo owns that file now)."""
    removed = 0
    with transaction.atomic():
        # Untried first, then the least recently tried: files that keep failing don't starve the others.
        rows = FileRemoval.objects.select_for_update(skip_locked=True).order_by(
            F("last_attempt_at").asc(nulls_first=True), "pk")
        if ids is not None:
            rows = rows.filter(pk__in=list(ids))
        rows = list(rows[:limit] if limit else rows)
        in_use = _file_names_in_use([row.storage_name for row in rows])
        for row in rows:
            try:
                if row.storage_name not in in_use:
                    default_storage.delete(row.storage_name)
            except Exception as exc:
                logger.warning("could not delete %s (try %s): %s", row.storage_name, row.attempts + 1, exc)
                row.attempts += 1
                row.last_error = _error_text(exc)
                row.last_attempt_at = timezone.now()
                row.save(update_fields=["attempts", "last_error", "last_attempt_at"])
            else:
                row.delete()
                removed += 1
    return removed


def _file_names_in_use(names: list[str]) -> set[str]:
    if not names:
        return set()
    in_use: set[str] = set()
    for field in photo_file_fields():
        # Photos in the trash still own their files.
        in_use.update(Photo.all_objects.filter(**{f"{field}__in": names}).values_list(field, flat=True))
    return in_use


# The folders the upload_to functions of Photo's files put them in (gallery.models).
PHOTO_FOLDERS = ("originals", "thumbnails", "displays")


def stored_names(storage, folder: str = "") -> Iterator[str]:
    """Every file name under `folder` (the whole storage by default) in `storage`, recursively and in name order
    (file system or object store alike)."""
    try:
        folders, files = storage.listdir(folder)
    except FileNotFoundError:  # nothing stored there yet
        return
    yield from (f"{folder}/{name}" if folder else name for name in sorted(files))
    for sub in sorted(folders):
        yield from stored_names(storage, f"{folder}/{sub}" if folder else sub)


def orphan_files(*, older_than: timedelta) -> Iterator[str]:
    """Stored photo files that no photo (trash included) points at and that are older than `older_than`: what a
    process killed between writing a photo's files and committing its row leaves behind. Younger files are left
    alone, since an upload in progress writes its files before its row."""
    in_use: set[str] = set()
    for field in photo_file_fields():
        in_use.update(Photo.all_objects.exclude(**{field: ""}).values_list(field, flat=True))
    cutoff = timezone.now() - older_than
    for folder in PHOTO_FOLDERS:
        for name in stored_names(default_storage, folder):
            if name not in in_use and default_storage.get_modified_time(name) < cutoff:
                yield name
