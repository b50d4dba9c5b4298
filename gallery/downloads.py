"""Many originals as one ZIP, streamed as it is written: no temporary file of the whole set, memory bounded by one
read chunk. Entries are stored, not deflated (photos are compressed already), with a data descriptor after each (the
stream can't seek back), and ZIP64 where sizes need it."""

from __future__ import annotations

import os
import re
import struct
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone as dt_timezone

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.http import StreamingHttpResponse
from django.utils.http import content_disposition_header

from gallery.album_selectors import album_visible_photos
from gallery.files import StorageUnavailable, stored_open
from gallery.images import EXTENSION_ALIASES, EXTENSIONS, names_an_image_format
from gallery.models import Album, Photo
from gallery.text import id_from_text

CHUNK = 1024 * 1024
MISSING_NOTE = "not-included.txt"
# Why photos chosen on a page are not in what it downloads (another family's ids read the same: never named).
GONE_SINCE = "moved to the trash or deleted since the page was shown"
# What an archive reads of each photo.
DOWNLOAD_FIELDS = ("pk", "original", "original_filename", "mime_type", "file_size", "taken_at", "taken_tz")


def photos_for_download(*, user: AbstractBaseUser, photo_ids: Iterable[int]) -> list[Photo]:
    """The photos among `photo_ids` that the user may see, in the order given (ids of other families' photos and
    missing ones are left out alike)."""
    ids = list(dict.fromkeys(photo_ids))
    if not user.is_authenticated or not ids:
        return []
    return _in_order(Photo.objects.filter(pk__in=ids, family__memberships__user=user), ids)


def _in_order(photos, ids: list[int]) -> list[Photo]:
    by_id = {photo.pk: photo for photo in photos.only(*DOWNLOAD_FIELDS)}
    return [by_id[pk] for pk in ids if pk in by_id]


@dataclass(frozen=True)
class AlbumPart:
    """One archive of an album too big for one (DOWNLOAD_MAX_PHOTOS a part): its number and the positions of its
    first and last photos in the album (1-based)."""

    number: int
    first: int
    last: int


def album_parts(total: int) -> list[AlbumPart]:
    """The archives an album of `total` photos downloads as, in its order."""
    size = max(1, settings.DOWNLOAD_MAX_PHOTOS)
    return [AlbumPart(n + 1, start + 1, min(start + size, total)) for n, start in enumerate(range(0, total, size))]


def album_archive_name(album: Album, part: int, parts: int) -> str:
    """"Holiday.zip", or "Holiday (part 2 of 3).zip", safe as a file name."""
    name = _safe_name(album.name, 150) or f"album-{album.pk}"
    return f"{name}{f' (part {part} of {parts})' if parts > 1 else ''}.zip"


def album_archive(*, album: Album, ids: list[int], part: str | None,
                  numbered: bool = False) -> StreamingHttpResponse | None:
    """One part of an album's originals as a ZIP download (`part`: its number as a URL gives it, the first when
    none; album_parts), or None when there is no such part or it holds no photo now. `ids`: the album's photos in its
    order (album_photo_ids). `numbered`: entries named as numbered_name, for a share link's visitors, instead of
    by the files' names. The caller has checked who may have them."""
    parts = album_parts(len(ids))
    number = id_from_text(part or "1") or 0
    if not 1 <= number <= len(parts):
        return None
    shown = ids[parts[number - 1].first - 1:parts[number - 1].last]
    photos = _in_order(album_visible_photos(album=album).filter(pk__in=shown), shown)
    if not photos:
        return None
    names = [numbered_name(photo) for photo in photos] if numbered else None
    return zip_response(photos, album_archive_name(album, number, len(parts)), names)


def zip_response(photos: list[Photo], filename: str, names: list[str] | None = None, *,
                 gone: int = 0) -> StreamingHttpResponse:
    """The originals of `photos` as one ZIP download named `filename` (zip_stream; `names`: the entries' names,
    zip_names by default; `gone`: how many photos chosen are no longer there, said in the archive's note)."""
    response = StreamingHttpResponse(zip_stream(photos, names, gone=gone), content_type="application/zip")
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')


def _safe_name(text: str, limit: int) -> str:
    """`text` as one file name in any file system: no folders, no characters Windows refuses, no leading or trailing
    dots or spaces, at most `limit` characters ("" when nothing is left)."""
    return _UNSAFE.sub("_", unicodedata.normalize("NFC", text)).strip(" .")[:limit]


def download_name(photo: Photo) -> str:
    """The name an original downloads as: the file name it was uploaded with, safe as one name in any file system
    (no folders, no characters Windows refuses, no leading dots), with the extension of its real format (a PNG
    uploaded as "photo.jpg" is "photo.png"; an extension that already names the format is kept as it was);
    photo-<id>.<ext> when nothing of the name is left."""
    base = os.path.basename((photo.original_filename or "").replace("\\", "/"))
    name = _safe_name(base, 200)
    if not name or not _safe_name(base.rsplit(".", 1)[0], 200):  # ".jpg", " .jpg": an extension names nothing
        return numbered_name(photo)
    return with_real_extension(name, photo.mime_type)


def numbered_name(photo: Photo) -> str:
    """photo-<id>.<ext>: the name that says nothing of the file it came from (a share link's visitor gets these)."""
    extension = EXTENSIONS.get(photo.mime_type) or os.path.splitext(photo.original.name or "")[1][1:] or "jpg"
    return f"photo-{photo.pk}.{extension}"


def with_real_extension(name: str, mime_type: str) -> str:
    """`name` ending in an extension of `mime_type`: kept when it has one, replaced when it names another image
    format, added otherwise ("holiday.2024" becomes "holiday.2024.png")."""
    if mime_type not in EXTENSIONS:
        return name
    stem, extension = os.path.splitext(name)
    extension = extension[1:].lower()
    if extension in EXTENSION_ALIASES[mime_type]:
        return name
    if extension and names_an_image_format(extension):
        return f"{stem}.{EXTENSIONS[mime_type]}"
    return f"{name}.{EXTENSIONS[mime_type]}"


def zip_names(photos: Iterable[Photo]) -> list[str]:
    """One name per photo (download_name), unique inside the archive even on case-insensitive file systems: a
    second "IMG_0001.JPG" becomes "IMG_0001 (2).JPG"."""
    taken: set[str] = {MISSING_NOTE}
    names = []
    for photo in photos:
        name = download_name(photo)
        stem, extension = os.path.splitext(name)
        n = 1
        while name.casefold() in taken:
            n += 1
            name = f"{stem} ({n}){extension}"
        taken.add(name.casefold())
        names.append(name)
    return names


class _Sink:
    """A write-only file for zipfile that keeps what was written until it is taken: tell() but no seek()."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._offset = 0

    def write(self, data) -> int:
        self._chunks.append(bytes(data))
        self._offset += len(data)
        return len(data)

    def tell(self) -> int:
        return self._offset

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


# Extra fields that say when a file was last changed as an instant (APPNOTE 4.5.5 and Info-ZIP's "UT"): NTFS's
# counts 100 ns from 1601, UT's seconds from 1970 (readers differ on whether it may be negative: only 1970-2038 is said).
_NTFS_TIMES, _EXTENDED_TIMESTAMP = 0x000A, 0x5455
_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=dt_timezone.utc)


def _entry(name: str, photo: Photo) -> zipfile.ZipInfo:
    local = photo.taken_at_local
    # ZIP's own dates are local times from 1980 on: an older scan's is 1 January 1980 there. The extra fields say
    # the instant it was taken: 7-Zip reads the NTFS one (any date), Info-ZIP's unzip the UT one (1970 on).
    when = (local.year, local.month, local.day, local.hour, local.minute, local.second)
    info = zipfile.ZipInfo(name, date_time=when if local.year >= 1980 else (1980, 1, 1, 0, 0, 0))
    ticks = (photo.taken_at - _FILETIME_EPOCH) // timedelta(microseconds=1) * 10
    extra = struct.pack("<HHIHHQQQ", _NTFS_TIMES, 32, 0, 1, 24, ticks, ticks, ticks) if ticks >= 0 else b""
    seconds = int(photo.taken_at.timestamp())
    if 0 <= seconds < 2**31:
        extra += struct.pack("<HHBi", _EXTENDED_TIMESTAMP, 5, 1, seconds)  # flags 1: the modification time only
    info.extra = extra
    info.compress_type = zipfile.ZIP_STORED
    info.file_size = photo.file_size  # what it expects: decides ZIP64 up front (the real size is written after)
    return info


def zip_stream(photos: list[Photo], names: list[str] | None = None, *, gone: int = 0) -> Iterator[bytes]:
    """The ZIP of these photos' originals, chunk by chunk, each under its name of `names` (zip_names by default).
    An original missing from storage is left out and named in not-included.txt inside the archive, which also counts
    the `gone` photos chosen that are no longer there."""
    sink = _Sink()
    missing = []
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, photo in zip(zip_names(photos) if names is None else names, photos):
            try:
                source = stored_open(photo.original)  # an object store fetches it now, before its entry starts
            except (OSError, ValueError, StorageUnavailable):
                missing.append(name)
                continue
            with source, archive.open(_entry(name, photo), "w", force_zip64=photo.file_size > zipfile.ZIP64_LIMIT) as entry:
                while chunk := source.read(CHUNK):
                    entry.write(chunk)
                    yield from _nonempty(sink.take())
            yield from _nonempty(sink.take())
        notes = []
        if gone:
            one = gone == 1
            notes.append(f"{gone} of the photos selected {'is' if one else 'are'} no longer there ({GONE_SINCE}), "
                         f"so {'it is' if one else 'they are'} not in this archive.\n")
        if missing:
            notes.append("These photos' original files could not be read, so they are not in this archive:\n"
                         + "\n".join(missing) + "\n")
        if notes:
            archive.writestr(MISSING_NOTE, "\n".join(notes))
    yield from _nonempty(sink.take())


def _nonempty(data: bytes) -> Iterator[bytes]:
    if data:
        yield data
