"""Explore: the places and tags of a user's photos, each with how many photos it holds and one of them to show,
most photos first; each opens the timeline filtered to it (?city=&country=, ?country=, ?tag=). Finding photos
without typing anything: where the family has been, what it has tagged.

Three aggregate queries over the live photos of the user's families (or one of them); a place's or tag's photo is
its most recently added one (the largest id: no second pass to find the newest taken)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Max, Min
from django.db.models.functions import Lower

from gallery.models import Photo, PhotoTag
from gallery.places import country_name

# Cards shown per section; the rest are listed by name under "All …".
EXPLORE_CARDS = 24


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


def _photos(user: AbstractBaseUser, family_id: int | None):
    photos = Photo.objects.filter(family__memberships__user=user)
    return photos.filter(family_id=family_id) if family_id is not None else photos


def explore(*, user: AbstractBaseUser, family_id: int | None = None) -> Explore:
    """The cities, countries and tags of the user's photos (of one family with `family_id`, already checked), each
    most photos first, then by name."""
    if not user.is_authenticated:
        return Explore([], [], [])
    photos = _photos(user, family_id).order_by()
    cities = (photos.exclude(place_city="")
              .values_list("place_city", "place_country_code")
              .annotate(n=Count("id"), cover=Max("id")).order_by("-n", "place_city", "place_country_code"))
    countries = (photos.exclude(place_country_code="").values_list("place_country_code")
                 .annotate(n=Count("id"), cover=Max("id")).order_by("-n", "place_country_code"))
    # A tag is its name whatever the family or the case (as the timeline's ?tag= filters); the tagged photos are
    # the live ones of those families.
    tags = (PhotoTag.objects.filter(photo__in=photos).order_by()
            .values_list(Lower("tag__name")).annotate(name=Min("tag__name"), n=Count("photo_id", distinct=True),
                                                      cover=Max("photo_id"))
            .order_by("-n", Lower("tag__name")))
    return Explore(
        cities=[Spot(city, country_name(code), (("city", city), *((("country", code),) if code else ())), n, cover)
                for city, code, n, cover in cities],
        countries=[Spot(country_name(code) or code, "", (("country", code),), n, cover)
                   for code, n, cover in countries],
        tags=[Spot(name, "", (("tag", name),), n, cover) for _, name, n, cover in tags],
    )
