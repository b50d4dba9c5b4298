"""Explore: the places and tags of a user's photos, each with how many photos it holds and one of them to show,
most photos first; each opens the timeline filtered to it (?city=&country=, ?country=, ?tag=). Finding photos
without typing anything: where the family has been, what it has tagged.

Three aggregate queries over the live photos of the user's families (or one of them), kept a minute; a place's or
tag's photo is its most recently added one (the largest id: no second pass to find the newest taken)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.db.models import Count, Exists, Max, OuterRef

from gallery.models import Family, Photo, PhotoTag, Tag
from gallery.name_fold import name_folded
from gallery.places import country_name

# Cards shown per section; the rest are listed by name under "… more", up to EXPLORE_LISTED in all (a library
# with thousands of keywords: the fewest-photo ones are left to the search box).
EXPLORE_CARDS = 24
EXPLORE_LISTED = 300
# The page's counts are three aggregates over every placed and tagged photo (about 0.1 s at 100,000 photos): kept
# this long per set of families and version of their photos, as the timeline's month list.
EXPLORE_CACHE_SECONDS = 60


@dataclass(frozen=True)
class Spot:
    """A city, a country or a tag: what it is called, the timeline filter that shows its photos, how many there
    are, and one of them."""

    name: str
    detail: str  # the country of a city; "" otherwise
    query: tuple[tuple[str, str], ...]  # the timeline's filter parameters
    count: int
    cover_id: int


@dataclass(frozen=True)
class Explore:
    cities: list[Spot]
    countries: list[Spot]
    tags: list[Spot]

    @property
    def empty(self) -> bool:
        return not (self.cities or self.countries or self.tags)


def explore(*, user: AbstractBaseUser, family_id: int | None = None,
            families: Iterable[Family] | None = None) -> Explore:
    """The cities, countries and tags of the user's photos (of one family with `family_id`), each most photos first,
    then by name. `families`: the user's families when the caller has them already. Kept EXPLORE_CACHE_SECONDS per
    set of families and version of their photos (Family.photos_version: a tag, a place or a trash shows at once),
    what members of the same families see alike, as the timeline's months."""
    if not user.is_authenticated:
        return Explore([], [], [])
    if families is None:
        versions = Family.objects.filter(memberships__user=user).values_list("pk", "photos_version")
    else:
        versions = [(family.pk, family.photos_version) for family in families]
    versions = sorted((pk, version) for pk, version in versions if family_id is None or pk == family_id)
    families = [pk for pk, _ in versions]
    key = "explore:" + hashlib.sha256(repr(versions).encode()).hexdigest()
    found = cache.get(key)
    if found is None:
        found = _explore(families)
        cache.set(key, found, EXPLORE_CACHE_SECONDS)
    return found


def _explore(families: list[int]) -> Explore:
    # The placed photos out of the trash, as the index photo_family_places holds them (with their ids): both
    # counts are index-only scans.
    placed = Photo.objects.filter(family_id__in=families).exclude(place_country="", place_city="").order_by()
    cities = (placed.exclude(place_city="").values_list("place_city", "place_country_code")
              .annotate(n=Count("*"), cover=Max("id")).order_by("-n", "place_city", "place_country_code"))
    countries = (placed.exclude(place_country_code="").values_list("place_country_code")
                 .annotate(n=Count("*"), cover=Max("id")).order_by("-n", "place_country_code"))
    return Explore(
        cities=[Spot(city, country_name(code), (("city", city), *((("country", code),) if code else ())), n, cover)
                for city, code, n, cover in cities],
        countries=[Spot(country_name(code) or code, "", (("country", code),), n, cover)
                   for code, n, cover in countries],
        tags=_tags(families),
    )


def _tags(families: list[int]) -> list[Spot]:
    """A tag is its name whatever the family or the case (as the timeline's ?tag= filters): each tag's photos out of
    the trash counted in one pass over the tagged photos (the trash, a few, left out by an anti-join), the names
    read after and merged."""
    trashed = Photo.all_objects.filter(pk=OuterRef("photo_id"), trashed_at__isnull=False)
    rows = (PhotoTag.objects.filter(tag__family_id__in=families).filter(~Exists(trashed)).order_by()
            .values_list("tag_id").annotate(n=Count("*"), cover=Max("photo_id")))
    counted = {tag_id: (n, cover) for tag_id, n, cover in rows}
    # The tags of the user's families by their folded name (as the tile's ?tag= link finds them: same_name) →
    # [name, photos, cover, the photos of the tag that named it]
    merged: dict[str, list] = {}
    for tag_id, name in Tag.objects.filter(pk__in=list(counted)).order_by("pk").values_list("pk", "name"):
        n, cover = counted[tag_id]
        spot = merged.setdefault(name_folded(name), [name, 0, cover, n])
        spot[1] += n
        if n > spot[3]:  # the family using it most names it and shows its photo
            spot[0], spot[2], spot[3] = name, cover, n
    return [Spot(name, "", (("tag", name),), n, cover)
            for name, n, cover, _ in sorted(merged.values(), key=lambda spot: (-spot[1], spot[0].lower()))]
