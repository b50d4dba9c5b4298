"""Writes to albums and their share links.

Rights: any member of an album's family creates albums, adds photos and arranges them (remove, reorder, cover);
the album's creator or a family admin renames, deletes and shares it (in the Django admin, a superuser renames and
deletes any, and withdraws any share link: the *_by_site_admin services). A smart album's photos come from its search:
they are never added or removed by hand.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from gallery import smart_albums
from gallery.album_selectors import albums_manageable, share_token_hash
from gallery.models import Album, AlbumPhoto, AlbumShare, Family, Photo, RemovedAlbumPhoto
from gallery.name_fold import NAME_FOLDED_SQL
from gallery.services import (
    DELETED, if_match_names, membership_hold, no_longer_member, rows_key_share, version_digest,
)
from gallery.selectors import family_labelled, same_name
from gallery.text import control_characters_refuse, one_line, text_isolated, without_nul

MAX_NAME = 100
MAX_DESCRIPTION = 5000
MAX_PHOTOS_PER_CALL = 500
SHARE_MAX_DAYS = 365
NOT_FOUND = "No such photo."
OTHER_FAMILY = "This photo belongs to another family than the album."
IN_TRASH = "This photo is in the trash: restore it first."
ALREADY = "Already in the album."
NOT_IN_ALBUM = "Not in the album."


class PhotoOutcome(NamedTuple):
    """What happened to one photo id of a request: `(id, ok, reason)`."""

    id: int
    ok: bool
    reason: str = ""


def album_can_manage(*, user: AbstractBaseUser, album: Album) -> bool:
    """Rename, delete, share: as albums_manageable says (the album's creator while still in the family, or an admin
    of its family)."""
    return albums_manageable(user=user).filter(pk=album.pk).exists()


def _require_member(user: AbstractBaseUser, family: Family) -> None:
    """The user's membership held until the transaction ends (membership_hold): one removed since their page was
    drawn changes nothing of the family's albums, and is told so in the words of the photos' writes."""
    if not user.is_authenticated or not membership_hold(family_id=family.pk, user=user):
        raise no_longer_member([family])


def _require_manager(user: AbstractBaseUser, album: Album, *, site_admin: bool = False) -> None:
    """`site_admin`: the Django admin's write, where a superuser manages any family's album (as they edit any photo
    there; the admin site has checked its own scope); anyone else, there too, as album_can_manage says."""
    if site_admin and user.is_superuser:
        return
    if not album_can_manage(user=user, album=album):
        raise PermissionDenied("Only the album's creator or a family admin can do that.")


def _require_manual(album: Album) -> None:
    if album.is_smart:
        raise ValidationError("A smart album's photos come from its search: they can't be added, removed or "
                              "reordered by hand.")


def album_text_clean(name: str, description: str) -> tuple[str, str]:
    """An album's name and description as stored (ValidationError says what no album's may be)."""
    name = one_line(name or "")
    description = without_nul(description or "").strip()
    control_characters_refuse(name, what="An album's name", field="name")
    control_characters_refuse(description, what="An album's description", multiline=True, field="description")
    if not name:
        raise ValidationError({"name": "An album needs a name."})
    if len(name) > MAX_NAME:
        raise ValidationError({"name": f"An album's name can be at most {MAX_NAME} characters."})
    if len(description) > MAX_DESCRIPTION:
        raise ValidationError({"description": f"An album's description can be at most {MAX_DESCRIPTION} characters."})
    return name, description


def _clean_search(*, search, family: Family, owner: AbstractBaseUser) -> dict:
    """A smart album's search as the search app checks it; what it refuses is said of the field `search` (its
    messages name the part of the search that is wrong)."""
    try:
        return smart_albums.engine().clean(search=search, family=family, owner=owner)
    except ValidationError as exc:
        raise ValidationError({"search": exc.messages}) from exc


def _lock(album: Album) -> Album:
    """The album's row, locked (changes to one album's photos and positions happen one at a time), and the
    caller's instance brought up to date with it."""
    if not Album.objects.select_for_update().filter(pk=album.pk).exists():
        raise ValidationError("This album no longer exists.", code=DELETED)
    album.refresh_from_db()
    return album


# --- albums -------------------------------------------------------------------------------------


@transaction.atomic
def album_create(*, user: AbstractBaseUser, family: Family, name: str, description: str = "",
                 search: dict | None = None) -> Album:
    """A new album of `family` (any member), even where the family has an album of that name (names are not unique:
    the API's POST makes one each time it is sent). With `search`: a smart album of that saved search (its
    parameters are checked by the search app; the owner's weights are kept when it says so). Made under the album
    name lock, so that a find-or-create of the same name meanwhile waits for it and finds it."""
    _require_member(user, family)
    name, description = album_text_clean(name, description)
    if search is not None:
        search = _clean_search(search=search, family=family, owner=user)
    _album_name_lock(family=family, names=[name])
    return _album_make(user=user, family=family, name=name, description=description, search=search)


def _album_name_lock(*, family: Family | int, names: list[str]) -> None:
    """Held to the end of the transaction (re-entrant within it): every write that makes an album, renames one, or
    finds one by its name, takes it first (a rename: of the name it had and the one it takes), so that two of them
    naming one album in one family (folded alike, as the lookups' same_name compares names: "Straße" and "STRASSE")
    take turns, and the second sees what the first made or renamed. Several names are taken in one order (their
    keys'), so two renames between two names can't deadlock."""
    family_id = family if isinstance(family, int) else family.pk
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(key) FROM (SELECT DISTINCT "
                       f"hashtext(%s || {NAME_FOLDED_SQL.format('name')}) AS key "
                       "FROM unnest(%s::text[]) AS name ORDER BY key) AS keys",
                       [f"mediasearch-album-name:{family_id}:", list(names)])


def _album_make(*, user: AbstractBaseUser, family: Family, name: str, description: str,
                search: dict | None) -> Album:
    """The album row, from a name, description and search already checked (and the name lock already taken)."""
    kind = Album.Kind.SMART if search is not None else Album.Kind.MANUAL
    return Album.objects.create(family=family, name=name, description=description, kind=kind, search=search or {},
                                created_by=user)


@transaction.atomic
def album_update(*, user: AbstractBaseUser, album: Album, name: str | None = None, description: str | None = None,
                 search: dict | None = None, seen: str = "") -> Album:
    """Rename, describe, or change a smart album's search (the creator or a family admin). With `seen`
    (album_edit_version of what the member's form showed), a rename over someone else's saved meanwhile is refused
    (code "edit_conflict", saying what the album reads now) instead of silently replacing it; one that leaves the
    album as it reads now (the same form sent twice) is no conflict."""
    _require_manager(user, album)
    return _album_write(user=user, album=album, name=name, description=description, search=search, seen=seen)


@transaction.atomic
def album_update_by_site_admin(*, user: AbstractBaseUser, album: Album, name: str, description: str,
                               seen: str = "") -> Album:
    """The Django admin's rename: the name and description under album_update's rules (`seen` too), by a superuser of
    any family's album, by anyone else as album_update allows (the album's creator or a family admin)."""
    _require_manager(user, album, site_admin=True)
    return _album_write(user=user, album=album, name=name, description=description, seen=seen)


def album_edit_check(*, album: Album, name: str | None, description: str | None, seen: str = "") -> tuple[str, str]:
    """The name and description a rename would store (album_text_clean's), `album` locked until the transaction ends
    and read again: refused (code "edit_conflict", saying what it reads now) when `seen` (album_edit_version of what
    the form showed) is not the album's now and the rename would change it (the same form sent twice is no conflict).
    A form checks with it before its save (the Django admin's), so that a refusal is the form's, not a 500. Call it
    inside a transaction, the one the save runs in: it takes the album's row lock (SELECT ... FOR UPDATE), which
    outside one is refused, and which only holds the album still until the save while that transaction lasts."""
    album = _renamed_lock(album, name=name)
    cleaned = album_text_clean(album.name if name is None else name,
                               album.description if description is None else description)
    if seen and seen != album_edit_version(album) and cleaned != (album.name, album.description):
        raise album_edit_conflict(album)
    return cleaned


def _renamed_lock(album: Album, *, name: str | None) -> Album:
    """_lock for a rename to `name` (None: no rename), the name lock of the album's name and of `name` taken first
    (_album_name_lock, in the order a find-or-create takes it: name, then the album's row). The album's name is read
    before its lock: renamed meanwhile by someone who held the lock, its new name is taken too."""
    if name is None:
        return _lock(album)
    locked: set[str] = set()
    while True:
        current = Album.objects.filter(pk=album.pk).values_list("name", flat=True).first()
        wanted = {album_text_clean(name, "")[0], *([current] if current is not None else [])} - locked
        if not wanted:
            return _lock(album)
        _album_name_lock(family=album.family_id, names=sorted(wanted))
        locked |= wanted


def _album_write(*, user: AbstractBaseUser, album: Album, name: str | None, description: str | None,
                 search: dict | None = None, seen: str = "") -> Album:
    album.name, album.description = album_edit_check(album=album, name=name, description=description, seen=seen)
    if search is not None:
        if not album.is_smart:
            raise ValidationError({"search": "Only a smart album has a search."})
        album.search = _clean_search(search=search, family=album.family, owner=user)
    album.save()
    return album


def album_edit_version(album: Album) -> str:
    """A digest of what the rename form shows of the album (its name and description): the form carries it, and
    album_update(seen=...) compares it with the album's when saving."""
    return version_digest([album.name, album.description])


def album_api_version(album: Album) -> str:
    """A digest of everything an API PATCH can change (name, description, a smart album's search, the cover): the
    album's ETag, which a PATCH's If-Match is compared with."""
    return version_digest([album_edit_version(album), album.search, album.cover_id])


def album_api_version_check(*, album: Album, if_match: str | None) -> None:
    """Refuse (code "edit_conflict", saying what the album reads now) when `if_match` (an If-Match header: "*" or
    strong ETags) names none of the album's current album_api_version; no header, no check. Locks the album's row
    until the caller's transaction ends, so that no other change lands between the check and the caller's save."""
    if not if_match:
        return
    fresh = _lock(album)
    if not if_match_names(if_match, album_api_version(fresh)):
        raise album_edit_conflict(fresh, form=False)


def album_edit_conflict(album: Album, *, form: bool = True) -> ValidationError:
    """What a member is told when their save would replace someone else's change saved since their form (or, with
    form=False, their API client) read `album` (as it reads now)."""
    now = f"name “{album.name}”, " + (f"description “{album.description[:600]}”" if album.description
                                      else "no description")
    if not form:
        return ValidationError(
            f"Someone else saved this album since you read it (If-Match names an older version). It now reads: "
            f"{now}. Read it again (GET, for its ETag) and send your change with the new one.", code="edit_conflict")
    return ValidationError(
        f"Someone else saved this album while you were editing it. It now reads: {now}. Your changes are still in "
        "the form: save again to put them in place of that, or reload the page to keep it.", code="edit_conflict")


@transaction.atomic
def album_delete(*, user: AbstractBaseUser, album: Album) -> None:
    """Delete the album (its photos stay in the family; its share links stop working). Locked first: photos being
    added to it meanwhile are committed (and deleted with it) before the delete collects its entries."""
    _require_manager(user, album)
    _lock(album).delete()


@transaction.atomic
def album_delete_by_site_admin(*, user: AbstractBaseUser, album: Album) -> None:
    """The Django admin's delete: album_delete's, by a superuser of any family's album, by anyone else as album_delete
    allows."""
    _require_manager(user, album, site_admin=True)
    _lock(album).delete()


@transaction.atomic
def album_add_photos(*, user: AbstractBaseUser, album: Album, photo_ids: Iterable[int]) -> list[PhotoOutcome]:
    """Add photos at the end of the album, in the order given. Each id is checked: a photo the user can't see
    (another family's, or missing) is answered "No such photo." either way; one of the user's families in the trash
    says so (moved there since the page showed it); one of the user's other families can't go into this family's
    album. Adding a photo already there changes nothing and is ok."""
    _require_member(user, album.family)
    _require_manual(album)
    ids = _ids(photo_ids)
    album = _lock(album)
    families = dict(Photo.objects.filter(pk__in=ids, family__memberships__user=user)
                    .values_list("pk", "family_id"))
    # Held until the entries are in: a photo deleted for good meanwhile waits, then takes its entry along.
    held = set(rows_key_share(Photo.objects.filter(pk__in=families).order_by("pk").values_list("pk")))
    families = {pk: family_id for pk, family_id in families.items() if pk in held}
    trashed = set(Photo.all_objects.filter(pk__in=set(ids) - set(families), family__memberships__user=user,
                                           trashed_at__isnull=False).values_list("pk", flat=True))
    present = set(album.entries.filter(photo_id__in=ids).values_list("photo_id", flat=True))
    position = (album.entries.aggregate(top=Max("position"))["top"] or 0) + 1
    outcomes, rows = [], []
    for photo_id in ids:
        if photo_id not in families:
            outcomes.append(PhotoOutcome(photo_id, False, IN_TRASH if photo_id in trashed else NOT_FOUND))
        elif families[photo_id] != album.family_id:
            outcomes.append(PhotoOutcome(photo_id, False, OTHER_FAMILY))
        elif photo_id in present:
            outcomes.append(PhotoOutcome(photo_id, True, ALREADY))
        else:
            present.add(photo_id)
            rows.append(AlbumPhoto(album=album, photo_id=photo_id, position=position, added_by=user))
            position += 1
            outcomes.append(PhotoOutcome(photo_id, True))
    AlbumPhoto.objects.bulk_create(rows)
    if rows:
        album.save(update_fields=["updated_at"])
    return outcomes


class NewAlbum(NamedTuple):
    """What album_create_with_photos did: the album the photos went into, whether it was made now (False: the
    family's album of that name), and what happened to each photo."""

    album: Album
    made: bool
    outcomes: list[PhotoOutcome]


@transaction.atomic
def album_find_or_create(*, user: AbstractBaseUser, family: Family, name: str,
                         description: str = "") -> tuple[Album, bool]:
    """"New album…" of a selection, a photo page or an import: the family's plain album named `name`
    (album_text_clean's rules; any spelling folding alike, as tag names: same_name), else one made now with
    `description` (True: made). Named under the album name lock, so two naming the same new album at once (a double
    click, two members, an import) make one: the second waits, then finds the first's. A smart album of that name is
    named and refused (ValidationError): photos are added to the album found by its name, and a smart album's come
    from its search. (Where no photos go in by name, a plain and a smart album may share a name: album_create,
    album_create_unless_repeated, smart_album_find_or_create.)"""
    _require_member(user, family)
    name, _ = album_text_clean(name, "")  # (the description is checked when an album is made of it)
    _album_name_lock(family=family, names=[name])
    named = list(Album.objects.filter(same_name("name", name), family=family).order_by("pk"))
    album = next((album for album in named if not album.is_smart), None)
    if album is not None:
        return album, False
    if named:
        raise ValidationError({"name": f"{text_isolated(family_labelled(user=user, family=family).label)} has a "
                                       f"smart album named “{text_isolated(named[0])}” (its photos come from its "
                                       "search): choose another name."})
    _, description = album_text_clean(name, description)
    return _album_make(user=user, family=family, name=name, description=description, search=None), True


ALBUM_REPEAT_WITHIN = timedelta(minutes=10)


@transaction.atomic
def album_create_unless_repeated(*, user: AbstractBaseUser, family: Family, name: str,
                                 description: str = "") -> tuple[Album, bool]:
    """The albums page's "Create album": a new plain album (True: made), unless this is the same form sent again (a
    double click, Back and Create again): the plain album `user` made in `family` within ALBUM_REPEAT_WITHIN, of
    this name (folded alike: same_name) and this description, is returned instead (False). Anything else is a new
    album, even of a name the family has (another member's, another description, a smart album's), as the API makes
    one: what was typed is never dropped into someone else's album."""
    _require_member(user, family)
    name, description = album_text_clean(name, description)
    _album_name_lock(family=family, names=[name])
    repeated = (Album.objects.filter(same_name("name", name), family=family, description=description,
                                     kind=Album.Kind.MANUAL, created_by=user,
                                     created_at__gte=timezone.now() - ALBUM_REPEAT_WITHIN)
                .order_by("-pk").first())
    if repeated is not None:
        return repeated, False
    return _album_make(user=user, family=family, name=name, description=description, search=None), True


@transaction.atomic
def smart_album_find_or_create(*, user: AbstractBaseUser, family: Family, name: str,
                               search: dict) -> tuple[Album, bool]:
    """"Save as smart album": the family's smart album of this name (folded alike) and this search (the same form
    sent twice: a double click, Back and Save again), else one made now (True: made). Named under the album name
    lock, so two saves at once make one album. Another search under the same name is another album, and so is a
    smart album beside a plain one of that name, as album_create makes them."""
    _require_member(user, family)
    name, _ = album_text_clean(name, "")
    cleaned = _clean_search(search=search, family=family, owner=user)
    _album_name_lock(family=family, names=[name])
    for album in Album.objects.filter(same_name("name", name), family=family, kind=Album.Kind.SMART).order_by("pk"):
        if album.search == cleaned:
            return album, False
    return _album_make(user=user, family=family, name=name, description="", search=cleaned), True


@transaction.atomic
def album_create_with_photos(*, user: AbstractBaseUser, family: Family, name: str,
                             photo_ids: Iterable[int]) -> NewAlbum:
    """"New album…" of an add-to-album picker (a photo's page, the selection bar): an album of `family` named `name`
    with the photos in it, in one transaction. The family's plain album of that name is used rather than a second
    made (album_find_or_create: the same form sent twice makes one album; a smart album of that name is refused).
    Photos are checked as album_add_photos checks them (another family's, missing, in the trash: answered each); when
    none of them can go in, ValidationError says why and no album is left behind."""
    album, made = album_find_or_create(user=user, family=family, name=name)
    outcomes = album_add_photos(user=user, album=album, photo_ids=photo_ids)
    if not any(outcome.ok for outcome in outcomes):
        why = " ".join(dict.fromkeys(outcome.reason for outcome in outcomes))
        raise ValidationError(f"No photo could go into the album, so no album was made: {why}" if made
                              else f"No photo could go into “{album}”: {why}")
    return NewAlbum(album=album, made=made, outcomes=outcomes)


def upload_album(*, user: AbstractBaseUser, family: Family, album_id: int | None) -> Album | None:
    """The album an upload puts its photos into (the upload page's and the API's `album`: None for none), checked
    before any file is stored: a plain album of `family`, the family the photos go to. ValidationError says what is
    wrong (another family's album, one the user can't see or that is gone, a smart album)."""
    if album_id is None:
        return None
    album = Album.objects.filter(pk=album_id, family__memberships__user=user).select_related("family").first()
    if album is None:
        raise ValidationError("That album does not exist (any more).")
    if album.family_id != family.pk:
        raise ValidationError(f"The album “{album}” is in {album.family}, not in {family}: upload to "
                              f"{album.family}, or choose another album.")
    _require_manual(album)
    return album


def album_add_uploaded(*, user: AbstractBaseUser, album: Album, results: list) -> list:
    """Put the photos of an upload's results (gallery.services.UploadResult: stored, restored from the trash, or in
    the family already) at the end of `album`, in the order uploaded: the results, each saying what became of it."""
    uploaded = [result for result in results if result.photo is not None]
    if not uploaded:
        return results
    try:
        outcomes = {outcome.id: outcome for outcome in
                    album_add_photos(user=user, album=album, photo_ids=[result.photo.pk for result in uploaded])}
    except (ValidationError, PermissionDenied) as exc:  # the album deleted, or the user removed, meanwhile
        why = " ".join(getattr(exc, "messages", None) or [str(exc)])
        outcomes = {result.photo.pk: PhotoOutcome(result.photo.pk, False, why) for result in uploaded}
    return [replace(result, reason=f"{result.reason} {_album_note(album, outcomes[result.photo.pk])}".strip())
            if result.photo is not None else result for result in results]


def _album_note(album: Album, outcome: PhotoOutcome) -> str:
    if not outcome.ok:
        return f"Not added to the album “{album}”: {outcome.reason}"
    return f"Already in the album “{album}”." if outcome.reason == ALREADY else f"Added to the album “{album}”."


@transaction.atomic
def album_remove_photos(*, user: AbstractBaseUser, album: Album, photo_ids: Iterable[int]) -> list[PhotoOutcome]:
    """Take photos out of the album (they stay in the family), remembered (RemovedAlbumPhoto: an import reading a
    photo into the album again, a Picasa album it joined since, leaves it out). An id not in the album is answered
    "Not in the album." (whether it exists elsewhere or not)."""
    _require_member(user, album.family)
    _require_manual(album)
    ids = _ids(photo_ids)
    album = _lock(album)
    present = set(album.entries.filter(photo_id__in=ids).values_list("photo_id", flat=True))
    # (the photos held FOR KEY SHARE first, as tags_removed_remember's: one being deleted for good waits for us)
    held = rows_key_share(Photo.all_objects.filter(pk__in=present).order_by("pk").values_list("pk"))
    RemovedAlbumPhoto.objects.bulk_create([RemovedAlbumPhoto(album=album, photo_id=pk) for pk in held],
                                          ignore_conflicts=True)
    album.entries.filter(photo_id__in=present).delete()
    if present:
        if album.cover_id in present:
            album.cover = None
        album.save(update_fields=["cover", "updated_at"])
    return [PhotoOutcome(pk, pk in present, "" if pk in present else NOT_IN_ALBUM) for pk in ids]


@transaction.atomic
def album_move_photo(*, user: AbstractBaseUser, album: Album, photo_id: int, to: int, seen: int | None = None) -> None:
    """Move a photo to 1-based position `to` among the photos the album shows (clamped), shifting the others;
    positions are renumbered 1..n. Photos it does not show (in the trash) keep their place among the others, so a
    restored photo comes back where it was. `seen`: the position the member's page showed it at (a step counted from
    there): when it is elsewhere now (the same arrow clicked twice, Back and again, two members), nothing moves
    (ValidationError, code "move_conflict", saying where it is)."""
    _require_member(user, album.family)
    _require_manual(album)
    album = _lock(album)
    order = list(album.entries.order_by("position", "id").values_list("photo_id", flat=True))
    shown = set(Photo.objects.filter(family_id=album.family_id, pk__in=order).values_list("pk", flat=True))
    if photo_id not in shown:
        raise ValidationError(NOT_IN_ALBUM)
    visible = [pk for pk in order if pk in shown]
    if seen is not None and (now := visible.index(photo_id) + 1) != seen:
        raise ValidationError(f"This photo was moved since you saw it: it is now photo {now} of {len(visible)} in the "
                              "album. Nothing was moved: look again, then move it if it still needs it.",
                              code="move_conflict")
    order.remove(photo_id)
    visible.remove(photo_id)
    target = min(max(int(to), 1), len(visible) + 1) - 1
    if target < len(visible):
        order.insert(order.index(visible[target]), photo_id)
    else:
        order.insert(order.index(visible[-1]) + 1 if visible else len(order), photo_id)
    _renumber(album, order)


@transaction.atomic
def album_reorder(*, user: AbstractBaseUser, album: Album, photo_ids: list[int]) -> None:
    """Put the album in this order (a drag and drop's result). Ids not in the album are ignored; photos left out
    keep their relative order after those given."""
    _require_member(user, album.family)
    _require_manual(album)
    album = _lock(album)
    current = list(album.entries.order_by("position", "id").values_list("photo_id", flat=True))
    present = set(current)
    given = [pk for pk in dict.fromkeys(_ids(photo_ids)) if pk in present]
    _renumber(album, given + [pk for pk in current if pk not in set(given)])


def _renumber(album: Album, order: list[int]) -> None:
    entries = {entry.photo_id: entry for entry in album.entries.all()}
    changed = []
    for position, photo_id in enumerate(order, start=1):
        entry = entries[photo_id]
        if entry.position != position:
            entry.position = position
            changed.append(entry)
    AlbumPhoto.objects.bulk_update(changed, ["position"])
    album.save(update_fields=["updated_at"])


@transaction.atomic
def album_set_cover(*, user: AbstractBaseUser, album: Album, photo_id: int | None) -> Album:
    """The photo the album's tile shows (one of its photos); None: its first photo."""
    _require_member(user, album.family)
    album = _lock(album)
    if photo_id is not None:
        if album.is_smart:
            shown = photo_id in smart_albums.engine().photo_ids(album=album, limit=SMART_COVER_LOOKAHEAD)
        else:
            shown = album.entries.filter(photo_id=photo_id).exists()
        # Out of the trash, and held until the cover is set: a photo deleted for good meanwhile waits, then clears it.
        if not shown or not rows_key_share(Photo.objects.filter(pk=photo_id, family_id=album.family_id)
                                           .values_list("pk")):
            raise ValidationError("The cover must be one of the album's photos.")
    album.cover_id = photo_id
    album.save(update_fields=["cover", "updated_at"])
    return album


SMART_COVER_LOOKAHEAD = 500


def _ids(photo_ids: Iterable[int]) -> list[int]:
    """The ids as ints, each once, in the order given; at most MAX_PHOTOS_PER_CALL."""
    try:
        ids = list(dict.fromkeys(int(pk) for pk in photo_ids))
    except (TypeError, ValueError) as exc:
        raise ValidationError("Photo ids must be whole numbers.") from exc
    if len(ids) > MAX_PHOTOS_PER_CALL:
        raise ValidationError(f"At most {MAX_PHOTOS_PER_CALL} photos at a time.")
    if any(not 0 < pk < 2**63 for pk in ids):
        raise ValidationError("Photo ids must be positive whole numbers.")
    return ids


# --- share links ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewShare:
    share: AlbumShare
    token: str  # the only copy: shown once to whoever made the link


@transaction.atomic
def share_create(*, user: AbstractBaseUser, album: Album, days: int, password: str = "", note: str = "",
                 allow_download: bool = False) -> NewShare:
    """A link to the album for people outside the family (the album's creator or a family admin).

    The maker's membership is held first, as the album's writes hold it: a removal, or their account made inactive,
    meanwhile waits for the new link, then withdraws it with their others (else it would miss it, and the link would
    work again should they come back); one that came first is seen, and no link is made."""
    _require_member(user, album.family)
    if not get_user_model().objects.filter(pk=user.pk, is_active=True).exists():  # read after the hold: made inactive first
        raise PermissionDenied("Your account can no longer sign in: no link was made.")
    # An album deleted meanwhile: said plainly, never a link pointing at nothing; looked for before the rights, which
    # no one has of an album deleted (else "Only the album's creator..." of an album gone).
    album = _lock(album)
    _require_manager(user, album)
    if not 1 <= int(days) <= SHARE_MAX_DAYS:
        raise ValidationError(f"A link lasts from 1 to {SHARE_MAX_DAYS} days.")
    note = one_line(note)[:100]
    password = without_nul(password or "")
    token = secrets.token_urlsafe(32)
    share = AlbumShare.objects.create(
        album=album, token_hash=share_token_hash(token), note=note,
        password_hash=make_password(password) if password else "", allow_download=bool(allow_download),
        created_by=user, expires_at=timezone.now() + timedelta(days=int(days)),
    )
    share.maker_vouches = True  # (with_maker_vouching's rule, as checked above under the hold)
    return NewShare(share=share, token=token)


@transaction.atomic
def share_revoke(*, user: AbstractBaseUser, share: AlbumShare) -> AlbumShare:
    """The link stops working at once (every request checks it): by the album's creator or a family admin. A link
    gone meanwhile (with its album) is a ValidationError saying so (code DELETED), before the rights are asked (no one
    manages an album deleted)."""
    _share_lock(share)
    _require_manager(user, share.album)
    return _share_withdraw(share)


@transaction.atomic
def share_revoke_by_site_admin(*, user: AbstractBaseUser, share: AlbumShare) -> AlbumShare:
    """The Django admin's withdrawal: share_revoke's, by a superuser of any family's link (as they delete any album
    there), by anyone else as share_revoke allows."""
    _share_lock(share)
    _require_manager(user, share.album, site_admin=True)
    return _share_withdraw(share)


def _share_lock(share: AlbumShare) -> None:
    """The link's row locked until the caller's transaction ends, `share` brought up to date with it: a withdrawal
    meanwhile keeps its (earlier) time, and a link gone with its album meanwhile is said so (code DELETED; the
    caller's copy, saved, was a DatabaseError)."""
    revoked_at = list(AlbumShare.objects.select_for_update().filter(pk=share.pk).values_list("revoked_at", flat=True))
    if not revoked_at:
        raise ValidationError("This link no longer exists.", code=DELETED)
    share.revoked_at = revoked_at[0]


def _share_withdraw(share: AlbumShare) -> AlbumShare:
    """The link (locked and read by _share_lock) withdrawn, unless it was already."""
    if share.revoked_at is None:
        share.revoked_at = timezone.now()
        AlbumShare.objects.filter(pk=share.pk).update(revoked_at=share.revoked_at)
    return share
