"""Bulk actions on many photos at once: one service behind the selection bar of the pages and POST /api/v1/photos/bulk/.

An action is a small entry in BULK_ACTIONS: its name (the API's `action`), what it needs besides the photos (tags,
an album), and a function that does it to the photos and answers one BulkResult per photo. Every action checks each
photo itself: a photo outside the user's families, and an id that names no photo, get the same answer (NOT_FOUND), so
the answer never tells another family's photo from a missing one. What the user may see but not do (a member moving
someone else's photo to the trash) is ok=False with the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import BooleanField, ExpressionWrapper, Q, Value
from django.http import Http404

from gallery.album_selectors import album_get, album_list, albums_with_family_labels
from gallery.album_services import NewAlbum, album_add_photos, album_create_with_photos, album_remove_photos
from gallery.correction_services import MAX_SHIFT, photos_shift_dates
from gallery.models import Album, Family, Favourite, Photo, PhotoTag
from gallery.name_fold import NameFolded
from gallery.services import (
    MAX_TAGS, member_family_ids_hold, photos_tags_add_many, tags_clean, tags_removed_remember,
)
from gallery.selectors import family_get, family_list, same_name
from gallery.signals import photos_changed
from gallery.text import text_isolated
from gallery.trash_services import photos_favourite, photos_restore, photos_trash

BULK_MAX_PHOTOS = 500
NOT_FOUND = "No such photo."
# ok, but nothing to do: said apart from the photos changed (the selection bar counts only those).
HAD_TAGS = "It had these tags already."
HAD_NO_TAGS = "It had none of these tags."
ALREADY_FAVOURITE = "Already a favourite."
NOT_FAVOURITE = "Not a favourite."


@dataclass(frozen=True)
class BulkResult:
    id: int
    ok: bool
    reason: str = ""


@dataclass(frozen=True)
class BulkInput:
    """What an action works on: the photo ids (deduplicated, in the order given) and its own options."""

    photo_ids: list[int]
    tags: list[str] = field(default_factory=list)
    album_id: int | None = None
    seconds: int | None = None  # shift_dates: the offset, negative for earlier
    # shift_dates: photo id → its date taken as the member saw it (a date changed since refuses the whole shift)
    seen: dict[int, datetime] = field(default_factory=dict)
    again: bool = False  # read_text (registered by search): read the text of photos read already too


@dataclass(frozen=True)
class BulkAction:
    name: str
    label: str  # what the selection bar's summary says was done: "Tags added to {photos}." ("3 photos")
    run: Callable[..., list[BulkResult]]  # run(*, user, data: BulkInput) -> one BulkResult per photo id
    needs_tags: bool = False
    needs_album: bool = False
    needs_seconds: bool = False
    # What the summary adds after saying what was done, from how many photos were done (read_text: the worker's time
    # they take); "" for nothing.
    note: Callable[[int], str] | None = None


BULK_ACTIONS: dict[str, BulkAction] = {}


def bulk_action(name: str, *, label: str, needs_tags: bool = False, needs_album: bool = False,
                needs_seconds: bool = False, note: Callable[[int], str] | None = None):
    """Register `run` as the bulk action `name` (another app registers its own at start-up: search's "read_text")."""

    def register(run: Callable[..., list[BulkResult]]) -> Callable[..., list[BulkResult]]:
        BULK_ACTIONS[name] = BulkAction(name=name, label=label, run=run, needs_tags=needs_tags,
                                        needs_album=needs_album, needs_seconds=needs_seconds, note=note)
        return run

    return register


def bulk_input_clean(*, action: str, photo_ids: Iterable, tags: Iterable[str] = (),
                     album_id: int | None = None, seconds: int | None = None,
                     seen: Mapping[int, datetime] | None = None, again: bool = False) -> tuple[BulkAction, BulkInput]:
    """The action and its input, or ValidationError with a plain sentence (unknown action, no photos, too many,
    tags, album or offset missing for an action that needs them, an offset of nothing or over 100 years)."""
    entry = BULK_ACTIONS.get(action)
    if entry is None:
        raise ValidationError(f"Unknown action “{action}”. Choose one of: {', '.join(BULK_ACTIONS)}.")
    ids = _selection(photo_ids)
    try:
        cleaned_tags = tags_clean(tags) if entry.needs_tags else []
    except ValidationError as exc:  # (said as the tags field's: the bar marks it)
        raise ValidationError(" ".join(exc.messages), code="tags") from exc
    if entry.needs_tags and not cleaned_tags:
        raise ValidationError("Type at least one tag.", code="tags")
    if entry.needs_album and album_id is None:
        raise ValidationError("Choose an album.", code="album")
    if entry.needs_seconds:
        if not seconds:
            raise ValidationError("Type how far to shift the dates (for example -1 hour or 2 days).",
                                  code="shift_amount")
        if abs(seconds) > MAX_SHIFT.total_seconds():
            raise ValidationError("A shift is at most 100 years.", code="shift_amount")
    return entry, BulkInput(photo_ids=ids, tags=cleaned_tags, album_id=album_id if entry.needs_album else None,
                            seconds=seconds if entry.needs_seconds else None,
                            seen={pk: (seen or {})[pk] for pk in ids if pk in (seen or {})}, again=again)


def _selection(photo_ids: Iterable) -> list[int]:
    """The ids ticked, each once in the order given; ValidationError for none, too many, or one that is no id."""
    ids = list(dict.fromkeys(_photo_ids(photo_ids)))
    if not ids:
        raise ValidationError("Select at least one photo.")
    if len(ids) > BULK_MAX_PHOTOS:
        raise ValidationError(f"At most {BULK_MAX_PHOTOS} photos at a time ({len(ids)} were selected).")
    return ids


def _photo_ids(values: Iterable) -> list[int]:
    ids = []
    for value in values:
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ValidationError(f"“{value}” is not a photo id.") from None
        if number < 1 or number > 2**63 - 1:
            raise ValidationError(f"“{value}” is not a photo id.")
        ids.append(number)
    return ids


@transaction.atomic
def photos_bulk_apply(*, user: AbstractBaseUser, action: str, photo_ids: Iterable, tags: Iterable[str] = (),
                      album_id: int | None = None, seconds: int | None = None,
                      seen: Mapping[int, datetime] | None = None, again: bool = False) -> list[BulkResult]:
    """Do `action` to each photo the user may do it to; one result per distinct id, in the order given.

    Raises ValidationError for a request that can't be done at all (see bulk_input_clean; a shift over dates changed
    since `seen`, code "shift_conflict"); a photo that can't be done is a result with ok=False, never an error, so one
    photo never costs the others."""
    entry, data = bulk_input_clean(action=action, photo_ids=photo_ids, tags=tags, album_id=album_id,
                                   seconds=seconds, seen=seen, again=again)
    results = {result.id: result for result in entry.run(user=user, data=data)}
    return [results.get(photo_id, BulkResult(photo_id, False, NOT_FOUND)) for photo_id in data.photo_ids]


def bulk_note(action: str, results: Sequence[BulkResult]) -> str:
    """What the action adds about what it did (BulkAction.note, from the photos done: ok with no reason), or ""."""
    entry = BULK_ACTIONS.get(action)
    done = sum(result.ok and not result.reason for result in results)
    return entry.note(done) if entry is not None and entry.note is not None else ""


def _visible(*, user: AbstractBaseUser, photo_ids: Sequence[int]) -> dict[int, Photo]:
    """The photos among `photo_ids` in the user's families, locked for this transaction (and the user's memberships
    held: member_family_ids_hold), by id."""
    if not user.is_authenticated:
        return {}
    families = member_family_ids_hold(user=user, photo_ids=photo_ids)
    rows = (Photo.objects.filter(pk__in=photo_ids, family_id__in=families)
            .select_related("family").select_for_update(of=("self",)).order_by("pk"))
    return {photo.pk: photo for photo in rows}


# --- tags ---------------------------------------------------------------------------------------


@bulk_action("add_tags", label="Tags added to {photos}.", needs_tags=True)
@transaction.atomic
def _add_tags(*, user: AbstractBaseUser, data: BulkInput) -> list[BulkResult]:
    """Each visible photo gets the tags as a member's (any member of its family may tag it), unless that would
    give it more than MAX_TAGS tags; one that has them all as a member's already is ok with the reason HAD_TAGS."""
    photos = _visible(user=user, photo_ids=data.photo_ids)
    # Which of a photo's tags are wanted is the unique index's reading of names (same_name), not Python's lower():
    # data.tags are one of each name (tags_clean), each the name of at most one of the photo's tags.
    wanted = Q()
    for name in data.tags:
        wanted |= Q(same_name("tag__name", name))
    have = dict.fromkeys(photos, 0)  # how many tags it has
    had = dict.fromkeys(photos, 0)  # how many of the wanted ones it has
    members = dict.fromkeys(photos, 0)  # how many of those a member gave it (a file's become one)
    for photo_id, is_wanted, source in (PhotoTag.objects.filter(photo_id__in=list(photos))
                                        .annotate(is_wanted=ExpressionWrapper(wanted, output_field=BooleanField()))
                                        .values_list("photo_id", "is_wanted", "source")):
        have[photo_id] += 1
        had[photo_id] += is_wanted
        members[photo_id] += is_wanted and source == PhotoTag.Source.MEMBER
    full = {pk for pk in photos if have[pk] + len(data.tags) - had[pk] > MAX_TAGS}
    unchanged = {pk for pk in photos if members[pk] == len(data.tags)}
    changed = [pk for pk in photos if pk not in full and pk not in unchanged]
    photos_tags_add_many(photos=[photos[pk] for pk in changed], names=data.tags, user=user)
    photos_changed.send(sender=Photo, photo_ids=changed)
    return [BulkResult(pk, False, f"It would have more than {MAX_TAGS} tags.") if pk in full
            else BulkResult(pk, True, HAD_TAGS) if pk in unchanged else BulkResult(pk, True) for pk in photos]


@bulk_action("remove_tags", label="Tags removed from {photos}.", needs_tags=True)
@transaction.atomic
def _remove_tags(*, user: AbstractBaseUser, data: BulkInput) -> list[BulkResult]:
    """The tags (any source, case-insensitive) come off each visible photo that has them; a photo without them is
    left as it is and still ok (with the reason HAD_NO_TAGS)."""
    photos = _visible(user=user, photo_ids=data.photo_ids)
    # Compared folded (NameFolded), as tags_get_or_create does.
    named = Q()
    for name in data.tags:
        named |= Q(key=NameFolded(Value(name)))
    links = list(PhotoTag.objects.filter(photo_id__in=list(photos)).annotate(key=NameFolded("tag__name")).filter(named)
                 .values_list("pk", "photo_id", "key"))
    tags_removed_remember((photo_id, key) for _, photo_id, key in links)  # the file's keywords never put them back
    PhotoTag.objects.filter(pk__in=[pk for pk, _, _ in links]).delete()
    changed = sorted({photo_id for _, photo_id, _ in links})
    photos_changed.send(sender=Photo, photo_ids=changed)
    return [BulkResult(photo_id, True, "" if photo_id in changed else HAD_NO_TAGS) for photo_id in photos]


# --- albums -------------------------------------------------------------------------------------


@bulk_action("add_to_album", label="{photos} added to the album.", needs_album=True)
def _add_to_album(*, user: AbstractBaseUser, data: BulkInput) -> list[BulkResult]:
    """Add the photos at the end of a (plain) album of the user's families; a photo of another of their families is
    refused by album_add_photos, as is a smart album."""
    try:
        album = album_get(user=user, album_id=data.album_id)
    except Http404:
        raise ValidationError("No such album.") from None
    return [BulkResult(*outcome) for outcome in album_add_photos(user=user, album=album, photo_ids=data.photo_ids)]


@bulk_action("remove_from_album", label="{photos} taken out of the album.", needs_album=True)
def _remove_from_album(*, user: AbstractBaseUser, data: BulkInput) -> list[BulkResult]:
    """Take the photos out of a (plain) album of the user's families: they stay in the family. A photo not in it is
    answered "Not in the album."; a smart album is refused by album_remove_photos."""
    try:
        album = album_get(user=user, album_id=data.album_id)
    except Http404:
        raise ValidationError("No such album.") from None
    return [BulkResult(*outcome) for outcome in album_remove_photos(user=user, album=album,
                                                                     photo_ids=data.photo_ids)]


@transaction.atomic
def photos_add_to_new_album(*, user: AbstractBaseUser, photo_ids: Iterable, name: str,
                            family_id: int | None = None) -> NewAlbum:
    """The bar's "New album…": an album named `name` holding the ticked photos (album_create_with_photos: the
    family's album of that name used, none made when no photo can go in). An album holds one family's photos: it
    is made in `family_id` (one of the user's families; the photos of their other families answered "not added"),
    or, with none chosen, in the family of the ticked photos; photos of several families ask to choose one."""
    ids = _selection(photo_ids)
    if family_id is not None:
        try:
            family = family_get(user=user, family_id=family_id)
        except Http404:
            raise ValidationError("No such family.", code="new_album_family") from None
    else:
        family = _ticked_family(user=user, photo_ids=ids)
    return album_create_with_photos(user=user, family=family, name=name, photo_ids=ids)


def _ticked_family(*, user: AbstractBaseUser, photo_ids: list[int]) -> Family:
    """The one family of the user's the ticked photos are in (those not in the trash)."""
    ticked = set(Photo.objects.filter(pk__in=photo_ids).values_list("family_id", flat=True))
    families = [family for family in family_list(user=user) if family.pk in ticked]  # (labelled as in the pickers)
    if not families:
        raise ValidationError(f"{NOT_FOUND} (The photos ticked were moved to the trash or deleted since the page "
                              "was shown.) No album was made.")
    if len(families) > 1:
        names = " and ".join(text_isolated(family.label) for family in families)
        raise ValidationError(f"The photos ticked are in {names}, and an album holds one family's photos: choose the "
                              "family the new album is for (the others' photos are left out), or tick one family's "
                              "photos only. No album was made.", code="new_album_family")
    return families[0]


def bulk_albums(*, user: AbstractBaseUser) -> list:
    """The albums the selection bar offers to add to: the plain albums of the user's families (each family named as
    its pickers name it: Family.label)."""
    return albums_with_family_labels(user=user, albums=list(album_list(user=user).filter(kind=Album.Kind.MANUAL)))


# --- favourites and the trash (gallery.trash_services checks each photo's family and the user's rights) -----------


@bulk_action("favourite", label="{photos} added to your favourites.")
def _favourite(*, user: AbstractBaseUser, data: BulkInput) -> list[BulkResult]:
    return _favourites_set(user=user, photo_ids=data.photo_ids, on=True)


@bulk_action("unfavourite", label="{photos} taken out of your favourites.")
def _unfavourite(*, user: AbstractBaseUser, data: BulkInput) -> list[BulkResult]:
    return _favourites_set(user=user, photo_ids=data.photo_ids, on=False)


def _favourites_set(*, user: AbstractBaseUser, photo_ids: list[int], on: bool) -> list[BulkResult]:
    """photos_favourite's results, a photo that already was (or wasn't) a favourite ok with the reason why it
    needed nothing."""
    before = set(Favourite.objects.filter(user=user, photo_id__in=photo_ids).values_list("photo_id", flat=True)
                 ) if user.is_authenticated else set()
    results = []
    for pk, ok, reason in photos_favourite(user=user, photo_ids=photo_ids, on=on):
        if ok and (pk in before) == on:
            reason = ALREADY_FAVOURITE if on else NOT_FAVOURITE
        results.append(BulkResult(pk, ok, reason))
    return results


@bulk_action("trash", label="{photos} moved to the trash.")
def _trash(*, user: AbstractBaseUser, data: BulkInput) -> list[BulkResult]:
    """Only the uploader or a family admin may: a member's own photos go, others' answer why not."""
    return [BulkResult(*result) for result in photos_trash(user=user, photo_ids=data.photo_ids)]


@bulk_action("restore", label="{photos} restored from the trash.")
def _restore(*, user: AbstractBaseUser, data: BulkInput) -> list[BulkResult]:
    return [BulkResult(*result) for result in photos_restore(user=user, photo_ids=data.photo_ids)]


# --- dates (gallery.correction_services checks each photo's family; any member may correct a date) ---------------


@bulk_action("shift_dates", label="Dates of {photos} shifted.", needs_seconds=True)
def _shift_dates(*, user: AbstractBaseUser, data: BulkInput) -> list[BulkResult]:
    """Move each photo's date taken by the offset (a camera whose clock was wrong); a shift that would take a photo
    outside 1826 to today answers why. One over a date changed since the member saw it (`seen`: two members, or the
    same bar sent again) moves none (photos_shift_dates raises)."""
    delta = timedelta(seconds=data.seconds)
    return [BulkResult(*result) for result in photos_shift_dates(user=user, photo_ids=data.photo_ids, delta=delta,
                                                                 seen=data.seen)]
