"""Correcting what the camera got wrong: the date taken (one photo, or a set shifted by the offset of a camera
whose clock was wrong; a scan without EXIF gets one), the place (one of the family's known places, or typed
coordinates, reverse-geocoded offline) and the rotation (90° steps: new thumbnail and display rendition, embedded
again; the original is never touched).

Any member of the photo's family may correct it, like editing its title. Each correction marks its source as the
member's (`DateSource.MEMBER`, `PlaceSource.MEMBER`, `rotation`), which re-reading the file (read_embedded, the
sweep), geocoding (fill_places) and making renditions respect; photo pages and the API show it as edited. The
search document is rebuilt through `photos_changed` in the same transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from gallery.files import file_removals_process, files_remove, photo_files_write, stored_open
from gallery.images import (
    EARLIEST_TAKEN, MAX_CLOCK_ERROR, decode_upright, encode_display, make_thumbnail, turned,
)
from gallery.models import Family, FileRemoval, Photo
from gallery.places import Place, place_for
from gallery.services import member_family_ids_hold, member_hold, photo_lock, photo_zone_move, version_digest
from gallery.signals import photos_changed, photos_rotated
from gallery.timezones import country_zone, zone_at
from gallery.trash_services import NOT_FOUND, PhotoResult, photo_ids_read

logger = logging.getLogger(__name__)

# A date before 1826 is a typing mistake; a camera's clock is off by years, never by centuries (gallery.images, which
# reads a camera's date by the same two rules).
MAX_SHIFT = MAX_CLOCK_ERROR
MAX_SHIFT_PHOTOS = 500


def _check_taken(value: datetime) -> None:
    if timezone.is_naive(value):
        raise ValidationError("A date taken needs a time zone.")
    latest = timezone.now() + timedelta(days=1)
    if not EARLIEST_TAKEN <= value <= latest:
        raise ValidationError(f"A date taken lies between 1826 and today; {value:%Y-%m-%d} does not.")


def _shifted(photo: Photo, delta: timedelta) -> datetime:
    """The photo's date taken moved by `delta`: its whole days as days of the calendar where it was taken (the clock
    time stays across a DST change: 23:30 the night the clocks go forward, a day on, is 23:30 the next day, not 00:30
    the day after), the rest as time gone by. Earlier, the time first, then the days, so a shift's undo lands on the
    moment it started from. A ValidationError, as for any date out of 1826 to today, when that leaves the years 1 to
    9999 Python's dates hold (a photo dated at the calendar's end, as a camera whose clock was never set wrote it): an
    OverflowError was a 500."""
    later = delta >= timedelta(0)
    days = timedelta(days=abs(delta).days)
    rest = abs(delta) - days
    try:
        if later:
            return _calendar_days_on(photo, photo.taken_at, days) + rest
        return _calendar_days_on(photo, photo.taken_at - rest, -days)
    except (OverflowError, ValueError):
        raise ValidationError(f"A date taken lies between 1826 and today; {photo.taken_at:%Y-%m-%d} moved by this "
                              "shift is no date at all.") from None


def _calendar_days_on(photo: Photo, moment: datetime, days: timedelta) -> datetime:
    """`moment` the same clock time `days` later in the zone the photo was taken in (read as photo_date_set reads a
    member's time: one the clocks skipped is the moment it names, an hour on)."""
    if not days:
        return moment
    wall = moment.astimezone(photo.taken_zone).replace(tzinfo=None) + days
    return timezone.make_aware(wall, photo.taken_zone).astimezone(dt_timezone.utc)


def _editable(user: AbstractBaseUser, ids: list[int]) -> dict[int, Photo]:
    """The photos of `ids` (not in the trash) in the user's families, locked for this transaction (and the user's
    memberships held: member_family_ids_hold)."""
    if not ids or not user.is_authenticated:
        return {}
    families = member_family_ids_hold(user=user, photo_ids=ids)
    photos = Photo.objects.filter(pk__in=ids, family_id__in=families).order_by("pk").select_for_update(of=("self",))
    return {photo.pk: photo for photo in photos.only("pk", "family_id", "taken_at", "taken_tz", "title",
                                                     "original_filename")}


@transaction.atomic
def photo_date_set(*, photo: Photo, taken_at: datetime, user: AbstractBaseUser | None = None) -> Photo:
    """A member's date taken for one photo (checked by the selector that fetched it): marked as the member's, so
    re-reading the file keeps it. A naive `taken_at` is read in the zone the photo was taken in. `user`: the member
    setting it, refused (PermissionDenied) when removed from the family since (member_hold)."""
    member_hold(family=photo.family, user=user)
    if timezone.is_naive(taken_at):
        # As an instant (UTC): a wall-clock time the clocks skipped there (01:30 when they went from 01:00 to 02:00)
        # then reads as what it is stored as (02:30), never as typed.
        taken_at = timezone.make_aware(taken_at, photo.taken_zone).astimezone(dt_timezone.utc)
    _check_taken(taken_at)
    photo.taken_at, photo.taken_at_source = taken_at, Photo.DateSource.MEMBER
    photo.save(update_fields=["taken_at", "taken_at_source"])
    photos_changed.send(sender=Photo, photo_ids=[photo.pk])
    return photo


@transaction.atomic
def photos_shift_dates(*, user: AbstractBaseUser, photo_ids: Iterable, delta: timedelta,
                       most: int | None = MAX_SHIFT_PHOTOS, seen: Mapping[int, datetime] | None = None,
                       seen_all: str | None = None, family: Family | None = None) -> list[PhotoResult]:
    """Move the date taken of each photo by `delta` (a camera whose clock was off; its days are days of the calendar
    where each photo was taken: _shifted): one result per id, in the order
    given; a photo of another family or a missing one gets `NOT_FOUND`, one the shift would take outside 1826 to
    today a reason of its own. Raises ValidationError for a shift of more than 100 years or over `most` photos (the
    ids a request names; None for a set the server chose: every photo of a camera's day, and its undo). `seen`: photos
    of `photo_ids` → their date taken as the member's page (or an API client) showed it (date_seen of a form's
    photo_date_version): when any changed since (a shift made twice: by two members at once, or the same form sent
    again), nothing moves (ValidationError, code "shift_conflict", saying what they read now). `seen_all`:
    photos_dates_version of all of them as they were left (an undo's): when any changed since, or went to the trash,
    nothing moves (the same ValidationError). `family`: that of the photo whose page asked (its shift, its undo): a
    member removed from it since is told so (PermissionDenied, member_hold) rather than that its photos are missing."""
    if family is not None:
        member_hold(family=family, user=user)
    if abs(delta) > MAX_SHIFT:
        raise ValidationError("A shift is at most 100 years.")
    ids = photo_ids_read(photo_ids)
    if most is not None and len(ids) > most:
        raise ValidationError(f"At most {most} photos at a time.")
    photos = _editable(user, ids)
    seen = {pk: at for pk, at in (seen or {}).items() if pk in photos}  # (a page's others, unticked, are no matter)
    if seen and (changed := [photos[pk] for pk in ids if pk in seen and photos[pk].taken_at != seen[pk]]):
        raise _shift_conflict(changed, of=len(seen))
    if seen_all is not None and _dates_digest(photos.values()) != seen_all:
        raise ValidationError(
            "The dates of some of these photos were changed since the shift (by someone else, or from another page): "
            "nothing was undone. Set them by hand if they still need it.", code="shift_conflict")
    results, chosen = [], {}
    for pk in ids:
        photo = photos.get(pk)
        if photo is None:
            results.append(PhotoResult(pk, False, NOT_FOUND))
            continue
        try:
            _check_taken(moved := _shifted(photo, delta))
        except ValidationError as exc:
            results.append(PhotoResult(pk, False, exc.messages[0]))
            continue
        results.append(PhotoResult(pk, True))
        chosen[pk] = moved
    if chosen and delta:
        shifted = [photos[pk] for pk in chosen]  # locked: what was read is what they hold
        for photo in shifted:
            photo.taken_at = chosen[photo.pk]
            photo.taken_at_source = Photo.DateSource.MEMBER
        # (And taken_day: PhotoQuerySet. In batches: one UPDATE's CASE of a whole camera's day, thousands of photos,
        # is compared row by row against every branch.)
        Photo.objects.bulk_update(shifted, ["taken_at", "taken_at_source"], batch_size=MAX_SHIFT_PHOTOS)
        photos_changed.send(sender=Photo, photo_ids=list(chosen))
    return results


def _shift_conflict(changed: list[Photo], *, of: int) -> ValidationError:
    """What a member is told when the dates of `changed` (of the `of` photos whose dates they saw) changed since."""
    if of == 1:
        return ValidationError(
            f"The date taken of this photo was changed since you saw it: it now reads "
            f"{changed[0].taken_at_local:%d %b %Y %H:%M}. Nothing was shifted: check it, then shift again if it still "
            "needs it.", code="shift_conflict")
    named = [f"“{photo}” {'now reads ' if not n else ''}{photo.taken_at_local:%d %b %Y %H:%M}"
             for n, photo in enumerate(changed[:SHIFT_CONFLICT_NAMED])]
    more = len(changed) - SHIFT_CONFLICT_NAMED
    return ValidationError(
        f"The date taken of {len(changed)} of the {of} photos selected was changed since you saw them: "
        f"{', '.join(named)}{f' and {more} more' if more > 0 else ''}. Nothing was shifted: check them, then shift "
        "again if they still need it.", code="shift_conflict")


SHIFT_CONFLICT_NAMED = 5  # photos named by a refused shift's message (a camera's whole day: the count says the rest)


def photo_date_version(photo: Photo) -> str:
    """The photo's date taken as a page showed it: its shift form carries it (date_seen reads it back for
    photos_shift_dates(seen=...))."""
    return photo.taken_at.isoformat()


def date_seen(text: str | None) -> datetime | None:
    """A date taken a form carried (photo_date_version, ISO 8601 with its offset), as the instant it names; None for
    anything else (no check is then made)."""
    try:
        value = parse_datetime((text or "").strip())
    except ValueError:  # well formed, but no day of the calendar
        return None
    return value if value is not None and timezone.is_aware(value) else None


def photos_dates_version(*, photo_ids: Iterable[int]) -> str:
    """A digest of these photos' dates taken as they are now (those in the trash left out): a shift's undo carries
    it (photos_shift_dates(seen_all=...))."""
    return _dates_digest(Photo.objects.filter(pk__in=list(photo_ids)).only("pk", "taken_at"))


def _dates_digest(photos: Iterable[Photo]) -> str:
    dates = sorted((photo.pk, photo.taken_at.isoformat()) for photo in photos)
    return version_digest(dates)


def taken_days_refresh(ids: list[int]) -> None:
    """`Photo.taken_day` again for photos whose date or zone an UPDATE changed (save() keeps it otherwise)."""
    photos = list(Photo.objects.filter(pk__in=ids).only("pk", "taken_at", "taken_tz"))
    for photo in photos:
        photo.taken_day = photo.taken_at_local.date()
    Photo.objects.bulk_update(photos, ["taken_day"])


def _check_position(latitude: float, longitude: float) -> None:
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise ValidationError("A latitude lies between -90 and 90, a longitude between -180 and 180 "
                              "(decimal degrees, like 38.7223, -9.1393).")


@transaction.atomic
def photo_place_set(*, photo: Photo, place: Place | None = None, latitude: float | None = None,
                    longitude: float | None = None, user: AbstractBaseUser | None = None) -> Photo:
    """A member's place for one photo: one of the family's known places (`place`: the position is dropped, it was
    what was wrong), or a position (reverse-geocoded offline; at sea it names no place), or neither to clear it.
    Marked as the member's: geocoding and re-reading the file leave it alone.

    The zone it was taken in follows the new position, as on upload (gallery.timezones.when_taken): the zone at the
    position, or for a known place the zone at the position of another of the family's photos there. A camera's own
    offset stays (it said where its clock was); the wall-clock time the camera or a member gave stays too, now read
    in the new zone, while a photo dated by its upload keeps that moment. `user`: the member setting it, refused
    (PermissionDenied) when removed from the family since (member_hold)."""
    member_hold(family=photo.family, user=user)
    if place is not None and (latitude is not None or longitude is not None):
        raise ValidationError("Choose a place or type a position, not both.")
    if (latitude is None) != (longitude is None):
        raise ValidationError("A position needs both a latitude and a longitude.")
    if latitude is not None:
        _check_position(latitude, longitude)
        place = place_for(latitude=latitude, longitude=longitude)
    photo.latitude, photo.longitude = latitude, longitude
    photo.place_city = place.city if place else ""
    photo.place_region = place.region if place else ""
    photo.place_country = place.country if place else ""
    photo.place_country_code = place.country_code if place else ""
    photo.place_checked, photo.place_source = True, Photo.PlaceSource.MEMBER
    if latitude is not None:
        photo_zone_move(photo, zone_at(latitude=latitude, longitude=longitude))
    elif place is not None:
        photo_zone_move(photo, _known_place_zone(photo.family_id, place))
    photo.save(update_fields=["latitude", "longitude", "place_city", "place_region", "place_country",
                              "place_country_code", "place_checked", "place_source", "taken_at", "taken_tz"])
    photos_changed.send(sender=Photo, photo_ids=[photo.pk])
    return photo


def _known_place_zone(family_id: int, place: Place) -> str:
    """The zone at the position of one of the family's photos at this known place; when none has a position (a place
    known from a file's IPTC alone), its country's if the country keeps one clock; else ""."""
    there = (Photo.all_objects.filter(family_id=family_id, place_city=place.city, place_region=place.region,
                                      place_country_code=place.country_code, latitude__isnull=False,
                                      longitude__isnull=False)
             .order_by("pk").values_list("latitude", "longitude").first())
    return zone_at(latitude=there[0], longitude=there[1]) if there else country_zone(place.country_code)


def photo_rotate(*, photo: Photo, quarter_turns: int, seen: int | None = None,
                 user: AbstractBaseUser | None = None) -> Photo:
    """Turn a photo by `quarter_turns` × 90° clockwise (negative: anticlockwise): new thumbnail and display
    rendition from the original (decoded with bounded memory in a decode slot, outside any transaction), the old
    ones queued for removal, and the photo queued to be embedded again as it now looks. Raises ImageRejected
    (ImageBusy when no decode slot came free), StorageUnavailable, StorageFailed, FileNotFoundError. `seen`: the
    rotation the member's page showed: a photo turned since (two members turning it at once, or the same click sent
    again) is not turned a second time (ValidationError, saying how it is turned now). `user`: the member turning it,
    refused (PermissionDenied) when removed from the family since (member_hold), the renditions made for it removed."""
    start = photo.rotation
    if seen is not None and seen != start:
        now = f"it is turned {start}° clockwise now" if start else "it is as its file has it now"
        raise ValidationError(f"This photo was turned since this page was drawn ({now}): look at it, then turn it "
                              "again if it still needs it.")
    rotation = (start + 90 * int(quarter_turns)) % 360
    if rotation == start:
        return photo
    with rotation_staged(photo=photo, rotation=rotation) as renditions, transaction.atomic():
        member_hold(family=photo.family, user=user)
        # Only over the rotation we started from: two members turning at once don't both apply.
        turned_now = rotation_apply(photo=photo, renditions=renditions, start=start)
    if not turned_now:
        raise ValidationError("The photo was turned by someone else meanwhile: look again and retry.")
    return photo


@dataclass
class Renditions:
    """A photo's thumbnail and display rendition turned to `rotation`, written but not yet the photo's."""

    photo_id: int
    rotation: int
    names: tuple[str, str]  # thumbnail, display
    applied: bool = False  # rotation_apply made them the photo's (in a transaction that may still roll back)

    def discard(self) -> None:
        files_remove(names=list(self.names))

    def kept(self) -> bool:
        """Whether the photo now has them (its transaction committed). Unsure (the database unreachable): kept, as
        a file left over does less harm than a photo whose rendition is gone."""
        if not self.applied:
            return False
        try:
            return Photo.all_objects.filter(pk=self.photo_id, thumbnail=self.names[0]).exists()
        except Exception:  # noqa: BLE001 - see above
            logger.warning("photo %s: could not tell whether its turned renditions were kept", self.photo_id)
            return True


@contextmanager
def rotation_staged(*, photo: Photo, rotation: int) -> Iterator[Renditions | None]:
    """The renditions of `photo` turned to `rotation` degrees (None: it is turned that way already), decoded and
    written on entering (slow: before the caller's transaction, holding no lock), for rotation_apply to make the
    photo's inside it: `with rotation_staged(...) as renditions, transaction.atomic(): ...`. On leaving, they are
    removed unless the photo has them: the caller refused something, its transaction rolled back, or they were never
    applied. Raises ImageRejected (ImageBusy), StorageUnavailable, StorageFailed, FileNotFoundError."""
    if rotation == photo.rotation:
        yield None
        return
    with stored_open(photo.original) as stream:
        upright = turned(decode_upright(stream, max_side=settings.DISPLAY_SIZE), rotation)
    staged = Photo(pk=photo.pk, sha256=photo.sha256, family_id=photo.family_id)  # whose fields the files are written by
    photo_files_write(staged, {"thumbnail": (f"{photo.sha256}-r{rotation}.jpg", make_thumbnail(upright)),
                               "display": (f"{photo.sha256}-r{rotation}.jpg", encode_display(upright))})
    renditions = Renditions(photo.pk, rotation, (staged.thumbnail.name, staged.display.name))
    try:
        yield renditions
    finally:
        if not renditions.kept():
            renditions.discard()


def rotation_apply(*, photo: Photo, renditions: Renditions, start: int | None = None) -> bool:
    """Make `renditions` the photo's (in the caller's transaction: its row is locked until it ends): its rotation,
    renditions and size, the old renditions removed once it commits, and the photo queued to be embedded again.
    `start`: only over that rotation (else False: someone turned it meanwhile, or it was deleted); None: whatever it
    is now. A photo already turned that way keeps its renditions."""
    try:
        fresh = photo_lock(photo_id=photo.pk)
    except ValidationError:  # deleted for good
        return False
    if (start is not None and fresh.rotation != start) or fresh.rotation == renditions.rotation:
        return start is None and fresh.rotation == renditions.rotation
    odd = (renditions.rotation - fresh.rotation) % 180 != 0
    width, height = (fresh.height, fresh.width) if odd else (fresh.width, fresh.height)
    thumbnail, display = renditions.names
    Photo.all_objects.filter(pk=photo.pk).update(rotation=renditions.rotation, thumbnail=thumbnail, display=display,
                                                 width=width, height=height)
    renditions.applied = True
    stale = [name for name in (fresh.thumbnail.name, fresh.display.name) if name and name not in renditions.names]
    ids = [removal.pk for removal in FileRemoval.objects.bulk_create([FileRemoval(storage_name=name) for name in stale])]
    transaction.on_commit(lambda: file_removals_process(ids=ids))
    photos_rotated.send(sender=Photo, photo_ids=[photo.pk])
    photo.rotation, photo.width, photo.height = renditions.rotation, width, height
    photo.thumbnail, photo.display = thumbnail, display
    return True
