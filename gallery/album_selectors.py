"""Reads of albums and share links. Albums are seen by the members of their family only: another family's album
and a missing one are the same 404. A share link's visitor sees the one album it names, nothing else."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.urls import reverse

from gallery import smart_albums
from gallery.models import Album, AlbumPhoto, AlbumShare, Membership, Photo
from gallery.photo_lists import ListContext, Neighbours, PhotoListKind
from gallery.selectors import family_list
from gallery.text import id_from_text

# What an album's tile and grid show of a photo (as the timeline's tiles).
TILE_FIELDS = ("id", "family_id", "title", "original_filename", "taken_at", "taken_tz")


def album_list(*, user: AbstractBaseUser, family_id: int | None = None) -> QuerySet[Album]:
    """The albums of the user's families (one of them with `family_id`), by name. (Their covers and counts:
    album_tiles, for the lists that show them: counting here made every album menu count every album's photos.)"""
    if not user.is_authenticated:
        return Album.objects.none()
    albums = Album.objects.filter(family__memberships__user=user)
    if family_id is not None:
        albums = albums.filter(family_id=family_id)
    return albums.select_related("family", "created_by").order_by(*Album._meta.ordering)


def albums_manageable(*, user: AbstractBaseUser) -> QuerySet[Album]:
    """The albums the user renames, deletes and shares (the gallery's pages, the API, the Django admin): those of the
    families they administer, and those they made in a family they still belong to. The one place that says who
    manages an album (album_services.album_can_manage asks it of one album, the admin of its rows)."""
    if not user.is_authenticated:
        return Album.objects.none()
    memberships = Membership.objects.filter(user=user)
    return Album.objects.filter(
        Q(family__in=memberships.filter(role=Membership.Role.ADMIN).values("family_id"))
        | Q(family__in=memberships.values("family_id"), created_by=user))


def albums_with_family_labels(*, user: AbstractBaseUser, albums: list[Album], families=None) -> list[Album]:
    """`albums`, each with its family as family_list reads it (`families`, the user's, when the caller has them), so
    that `album.family.label` names the family by its admins too when the user is in two of that name ("Smiths ·
    admin: alice"), as every menu and picker of families does: two "Beach" albums, one in each, read alike. Without
    `families`, they are read (one query) only when two of the albums' families have one name."""
    if families is None:
        ids_by_name: dict[str, set[int]] = {}
        for album in albums:
            ids_by_name.setdefault(album.family.name.lower(), set()).add(album.family_id)
        if all(len(ids) < 2 for ids in ids_by_name.values()):
            return albums
        families = family_list(user=user)
    by_pk = {family.pk: family for family in families}
    for album in albums:
        album.family = by_pk.get(album.family_id, album.family)
    return albums


def album_get(*, user: AbstractBaseUser, album_id: int) -> Album:
    if not user.is_authenticated or not 0 < album_id < 2**63:
        raise Http404("No such album.")
    album = Album.objects.filter(pk=album_id, family__memberships__user=user).select_related(
        "family", "created_by").first()
    if album is None:
        raise Http404("No such album.")
    return album


def album_visible_photos(*, album: Album) -> QuerySet[Photo]:
    """The photos an album may show, whoever looks: its family's, and never one in the trash. The one place that
    says which photos an album can ever show (members' pages, the API and share links all read through it)."""
    return Photo.objects.filter(family_id=album.family_id)


def album_photo_ids(*, album: Album, limit: int | None = None, reuse: bool = False) -> list[int]:
    """The album's photos in its order: a plain album's positions (all of them: its pages show them a page at a
    time), a smart album's search results (best first, at most ALBUM_MAX_PHOTOS; `reuse`: its last results if they
    are recent, see _smart_album_ids)."""
    if album.is_smart:
        ids = _smart_album_ids(album, limit or settings.ALBUM_MAX_PHOTOS, reuse=reuse)
        visible = set(album_visible_photos(album=album).filter(pk__in=ids).values_list("pk", flat=True))
        return [pk for pk in ids if pk in visible]
    ids = (album_visible_photos(album=album).filter(album_entries__album=album)
           .order_by("album_entries__position", "album_entries__id").values_list("pk", flat=True))
    return list(ids[:limit] if limit else ids)


@dataclass(frozen=True)
class AlbumTile:
    """What a list of albums shows of one: the photo its tile shows (album_cover_id) and how many photos it shows
    (None for a smart album when its count was not asked: that costs its whole search)."""

    cover_id: int | None
    count: int | None


def album_tiles(*, albums: list[Album], smart_counts: bool = True) -> dict[int, AlbumTile]:
    """Each album's AlbumTile. Every plain album's in one query, whatever their number and size: each album's
    first visible photo and whether its cover is still one of them by the (album, position, id) index, and the
    count of its visible photos, without reading any album's whole list. A smart album's are its search's, one
    search each (of one photo when `smart_counts` is off and it has no cover)."""
    plain = [album.pk for album in albums if not album.is_smart]
    tiles: dict[int, AlbumTile] = {}
    if plain:
        # The photos an album shows (album_visible_photos): of its family, not in the trash.
        visible = AlbumPhoto.objects.filter(album_id=OuterRef("pk"), photo__family_id=OuterRef("family_id"),
                                            photo__trashed_at__isnull=True)
        rows = (Album.objects.filter(pk__in=plain).annotate(
            first_id=Subquery(visible.order_by("position", "id").values("photo_id")[:1]),
            cover_shown=Exists(visible.filter(photo_id=OuterRef("cover_id"))),
        ).values_list("pk", "cover_id", "cover_shown", "first_id"))
        # Counted as all entries (the order index alone) less those in the trash (the trash's index): checking
        # each entry's photo read every photo of every album. (Another family's photo never gets into an album:
        # album_add_photos refuses it.)
        entries = _count_by_album(AlbumPhoto.objects.filter(album_id__in=plain))
        trashed = _count_by_album(AlbumPhoto.objects.filter(album_id__in=plain, photo__in=Photo.all_objects.filter(
            trashed_at__isnull=False)))
        for pk, cover_id, cover_shown, first_id in rows:
            tiles[pk] = AlbumTile(cover_id=cover_id if cover_shown else first_id,
                                  count=entries.get(pk, 0) - trashed.get(pk, 0))
    for album in albums:
        if album.is_smart:
            if smart_counts:
                ids = album_photo_ids(album=album)
                tiles[album.pk] = AlbumTile(cover_id=album_cover_id(album=album, photo_ids=ids), count=len(ids))
            else:
                tiles[album.pk] = AlbumTile(cover_id=album_cover_id(album=album), count=None)
    return tiles


def _count_by_album(entries: QuerySet[AlbumPhoto]) -> dict[int, int]:
    return dict(entries.order_by().values("album_id").annotate(n=Count("*")).values_list("album_id", "n"))


# A smart album's search results are kept this long: its next pages (loaded as it is scrolled), the viewer's steps
# through it and a shared link's thumbnails reuse the list its page searched for, instead of searching again each
# time (and showing a list that changed under the visitor). Its page itself searches afresh; a changed album, anew.
SMART_IDS_SECONDS = 120


def _smart_album_ids(album: Album, limit: int, *, reuse: bool) -> list[int]:
    # Only the whole list is kept: the pages, the viewer and a shared link read it; a cover's one photo is not.
    whole = limit == settings.ALBUM_MAX_PHOTOS
    key = f"smart-album-ids:{album.pk}:{album.updated_at.timestamp()}"
    ids = cache.get(key) if reuse and whole else None
    if ids is None:
        ids = smart_albums.engine().photo_ids(album=album, limit=limit)
        if whole:
            cache.set(key, ids, SMART_IDS_SECONDS)
    return ids


@dataclass
class AlbumPage:
    """One page of an album's photos: each with its position in the whole album (1-based)."""

    entries: list[tuple[int, Photo]]
    number: int
    total: int  # photos in the whole album
    next_number: int | None
    previous_number: int | None
    ids: list[int]  # the whole album's, in order (the cover is looked for among them)

    @property
    def from_start(self) -> bool:
        return self.number == 1


def album_page(*, album: Album, number: str | int | None, size: int, reuse: bool = False,
               after: str | int | None = None) -> AlbumPage:
    """The page `number` of the album (in its order), `size` photos a page. A number that is not one, or below 1,
    gives the first page, one past the end the last (as a broken link shows something rather than an error).
    `reuse`: a smart album's last results (the pages scrolled to) rather than a search now (its page). `after`: the
    last photo the page before showed ("load more"); while it is still in the album the page starts right after it,
    whatever photos left the album meanwhile (a number alone would then skip or repeat photos)."""
    ids = album_photo_ids(album=album, reuse=reuse)
    try:
        number = max(1, int(number))
    except (TypeError, ValueError):
        number = 1
    after_id = id_from_text(after) if after not in (None, "") else None
    if after_id in ids:
        start = ids.index(after_id) + 1
        shown = ids[start:start + size]
        rows = Photo.objects.filter(pk__in=shown).only(*TILE_FIELDS).in_bulk()
        return AlbumPage(entries=[(start + index + 1, rows[pk]) for index, pk in enumerate(shown) if pk in rows],
                         number=max(number, 2) if start else 1, total=len(ids), ids=ids,
                         next_number=number + 1 if start + size < len(ids) else None,
                         previous_number=number - 1 if number > 1 else None)
    page = Paginator(ids, size).get_page(number)
    offset = page.start_index() - 1 if ids else 0
    rows = Photo.objects.filter(pk__in=page.object_list).only(*TILE_FIELDS).in_bulk()
    entries = [(offset + index + 1, rows[pk]) for index, pk in enumerate(page.object_list) if pk in rows]
    return AlbumPage(entries=entries, number=page.number, total=len(ids), ids=ids,
                     next_number=page.next_page_number() if page.has_next() else None,
                     previous_number=page.previous_page_number() if page.has_previous() else None)


def album_page_of(*, album: Album, photo_id: int, size: int) -> int:
    """The number of the album page that shows `photo_id` (1 when it is not in the album)."""
    ids = album_photo_ids(album=album, reuse=True)
    return ids.index(photo_id) // size + 1 if photo_id in ids else 1


def album_page_url(*, album: Album, number: int, photo_id: int | None = None) -> str:
    """An album page's URL (the plain one for the first), with the photo's anchor."""
    url = album.get_absolute_url() + (f"?page={number}" if number > 1 else "")
    return url + (f"#photo-{photo_id}" if photo_id else "")


def album_cover_id(*, album: Album, photo_ids: list[int] | None = None) -> int | None:
    """The photo the album's tile shows: its cover while it still shows it, else its first photo."""
    if photo_ids is None:
        if album.cover_id and album_visible_photos(album=album).filter(pk=album.cover_id).exists():
            return album.cover_id
        photo_ids = album_photo_ids(album=album, limit=1)
    if album.cover_id and album.cover_id in photo_ids:
        return album.cover_id
    return photo_ids[0] if photo_ids else None


# --- share links ----------------------------------------------------------------------------------


def share_list(*, album: Album) -> QuerySet[AlbumShare]:
    """The album's links, newest first, each knowing whether its maker still vouches for it (a link they no longer
    do reads withdrawn: AlbumShare.objects.with_maker_vouching)."""
    return album.shares.with_maker_vouching().select_related("created_by").order_by("-created_at", "-id")


class ShareCounts(NamedTuple):
    working: int
    ended: int  # withdrawn, expired, or ended with its maker


def share_counts(*, albums: Iterable[Album]) -> ShareCounts:
    """How many links of these albums (which the caller already got) work now, and how many have ended
    (AlbumShareQuerySet.working's rule)."""
    shares = AlbumShare.objects.filter(album__in=albums)
    working = shares.working().count()
    return ShareCounts(working=working, ended=shares.count() - working)


def share_token_hash(token: str) -> str:
    """What is stored of a share link's token: 256 random bits, so a plain SHA-256 suffices."""
    return hashlib.sha256(token.encode()).hexdigest()


def share_token_matches(share: AlbumShare, token: str) -> bool:
    """Constant-time check of a token against a share (after the lookup by its hash)."""
    return hmac.compare_digest(share.token_hash, share_token_hash(token))


def share_get(*, user: AbstractBaseUser, album: Album, share_id: int) -> AlbumShare:
    """One share link of an album the caller already got through album_get."""
    share = album.shares.with_maker_vouching().filter(pk=share_id).select_related("album").first()
    if share is None:
        raise Http404("No such link.")
    return share


def share_resolve(*, token: str) -> AlbumShare:
    """The active share link with this token: a missing, revoked or expired link, or one its maker no longer vouches
    for (AlbumShare.objects.with_maker_vouching), is the same 404 (no oracle)."""
    token = (token or "")[:200]
    share = (AlbumShare.objects.with_maker_vouching().filter(token_hash=share_token_hash(token))
             .select_related("album").first())
    if share is None or not share_token_matches(share, token) or share.state() != AlbumShare.State.ACTIVE:
        raise Http404("This link does not work (it may have expired or been withdrawn).")
    return share


def share_photo_ids(*, share: AlbumShare) -> list[int]:
    """The photos a share link shows now (a smart album's search kept briefly: SMART_IDS_SECONDS)."""
    return album_photo_ids(album=share.album, reuse=True)


def share_photo_get(*, share: AlbumShare, photo_id: int) -> Photo:
    """A photo of the shared album (checked against the album's photos now); any other is a 404."""
    album = share.album
    photos = album_visible_photos(album=album).filter(pk=photo_id)
    if album.is_smart:
        photo = photos.first() if photo_id in share_photo_ids(share=share) else None
    else:
        photo = photos.filter(album_entries__album=album).first()
    if photo is None:
        raise Http404("No such photo.")
    return photo


# --- the viewer -----------------------------------------------------------------------------------


class AlbumList(PhotoListKind):
    """An album as a list the photo viewer walks, in the album's order (`?from=album&album=<id>`)."""

    name = "album"
    params = ("album",)

    @staticmethod
    def _album(user: AbstractBaseUser, params: dict[str, str]) -> Album | None:
        album_id = id_from_text(params.get("album") or "")
        if album_id is None:
            return None
        try:
            return album_get(user=user, album_id=album_id)
        except Http404:
            return None

    def label(self, *, user: AbstractBaseUser, params: dict[str, str]) -> str:
        album = self._album(user, params)
        return f"the album “{album.name}”" if album else "albums"

    def neighbours(self, *, user: AbstractBaseUser, photo: Photo, params: dict[str, str]) -> Neighbours:
        album = self._album(user, params)
        if album is None:
            return Neighbours(in_list=False)
        return Neighbours.in_sequence(album_photo_ids(album=album, reuse=True), photo.pk)

    def list_url(self, *, user: AbstractBaseUser, photo: Photo, params: dict[str, str],
                 neighbours: Neighbours) -> str:
        album = self._album(user, params)
        if album is None:
            return reverse("gallery:albums")
        # The page the photo is on, from its position in the list `neighbours` just read (not read again).
        position = neighbours.position or 1
        return album_page_url(album=album, number=(position - 1) // settings.GALLERY_PAGE_SIZE + 1)

    @classmethod
    def context(cls, album: Album) -> ListContext:
        return ListContext(cls.name, (("album", str(album.pk)),))
