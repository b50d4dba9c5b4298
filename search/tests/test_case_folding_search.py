"""Search words compare as names do, by their Unicode case folding (NFC, then str.casefold), on both sides: the
metadata document and the query. PostgreSQL's lower() (and the 'english' text search configuration, which lowers
with it) leaves a final "ς" apart from "σ"; unaccent alone writes "ß" as "ss" but no Greek final sigma."""

from __future__ import annotations

import pytest

from gallery.services import photo_update
from search.engine import SearchParams, search_photos
from tests.factories import photo_factory

pytestmark = pytest.mark.django_db


def found(user, query: str) -> dict[int, list[str]]:
    """The photos the query finds, each with what explain names as matched."""
    response = search_photos(user=user, params=SearchParams(query=query, min_score=0.01))
    return {result.photo.pk: result.explanation.meta_fields for result in response.results}


@pytest.mark.parametrize("written, typed", [
    ("Straße", "strasse"), ("STRASSE", "straße"), ("ΟΔΟΣ", "οδος"), ("Οδός", "ΟΔΟΣ"), ("οδος", "Οδός"),
    ("Σίσυφος", "ΣΙΣΥΦΟΣ"), ("ǅemal", "ǄEMAL"),
])
@pytest.mark.parametrize("field", ["tags", "title", "description"])
def test_a_word_is_found_in_any_case_folding_alike(family, alice, written, typed, field):
    photo = photo_factory(family=family, user=alice)
    if field == "tags":
        photo_update(photo=photo, tags=[written], user=alice)
    else:
        photo_update(photo=photo, user=alice, **{field: f"An old {written} here"})
    photo_factory(family=family, user=alice, tags=["Beach"])
    assert found(alice, typed) == {photo.pk: [field]}


def test_another_familys_word_folding_alike_is_not_found(family, alice, other_family, mallory):
    photo_factory(family=other_family, user=mallory, tags=["Οδός"])
    assert found(alice, "ΟΔΟΣ") == {}


def _placed(family, user, city: str, **kwargs):
    from gallery.models import Photo

    photo = photo_factory(family=family, user=user, tags=["Harbour"])
    Photo.objects.filter(pk=photo.pk).update(place_city=city, place_country="Greece", place_country_code="GR",
                                             place_checked=True)
    return photo


@pytest.mark.parametrize("filters", [{"place": "ΆΓΙΟΣ ΝΙΚΌΛΑΟΣ"}, {"place": "άγιοσ νικόλαοσ"},
                                     {"places": ("ΆΓΙΟΣ ΝΙΚΌΛΑΟΣ",)}, {"places": ("Άγιοσ Νικόλαοσ",)}])
def test_a_place_filter_compares_the_place_folded(family, alice, other_family, mallory, filters):
    """"Άγιος Νικόλαος" (a final ς in each word) was no "ΆΓΙΟΣ ΝΙΚΌΛΑΟΣ" to the place filters: PostgreSQL's lower()
    writes "σ" for the capital, and leaves "ς" as it is."""
    there = _placed(family, alice, "Άγιος Νικόλαος")
    _placed(family, alice, "Chania")
    _placed(other_family, mallory, "Άγιος Νικόλαος")  # (not hers)
    response = search_photos(user=alice, params=SearchParams(query="harbour", min_score=0.01, **filters))
    assert [result.photo.pk for result in response.results] == [there.pk]


@pytest.mark.parametrize("tag", ["STRASSE", "strasse", "STRAẞE"])
def test_the_tag_filter_of_search_finds_the_tag_in_any_spelling_folding_alike(family, alice, other_family, mallory,
                                                                              tag):
    street = photo_factory(family=family, user=alice, tags=["Straße", "Harbour"])
    photo_factory(family=family, user=alice, tags=["Harbour"])
    photo_factory(family=other_family, user=mallory, tags=["Straße", "Harbour"])
    response = search_photos(user=alice, params=SearchParams(query="harbour", tag=tag, min_score=0.01))
    assert [result.photo.pk for result in response.results] == [street.pk]
