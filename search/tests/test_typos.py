"""Typos people make: a transposition, a dropped or a doubled letter in a word of 4+ letters (issue 10, point 8)."""

from __future__ import annotations

import pytest
from django.db import connection

from search.engine import SearchParams, search_photos
from search.metadata import metadata_query
from tests.factories import photo_factory

pytestmark = pytest.mark.django_db


@pytest.fixture
def vocabulary(family, alice):
    return {
        "square": photo_factory(family=family, user=alice, tags=["square"]),
        "birthday": photo_factory(family=family, user=alice, tags=["birthday"]),
        "grandma": photo_factory(family=family, user=alice, description="Grandma at the lake"),
    }


@pytest.mark.parametrize("typed, meant", [
    ("sqaure", "square"),  # transposition
    ("brithday", "birthday"),  # transposition
    ("grandam", "grandma"),  # transposition at the end
    ("squre", "square"),  # dropped letter
    ("birthdday", "birthday"),  # doubled letter
    ("squaer", "square"),  # transposition at the end
])
def test_common_typos_are_corrected_within_the_familys_vocabulary(vocabulary, family, typed, meant):
    meta = metadata_query(query=typed, family_ids=[family.pk])
    assert meant in [c.replacement for c in meta.corrections], meta.corrections


@pytest.mark.parametrize("typed, meant", [("sqaure", "square"), ("brithday", "birthday"), ("grandam", "grandma"),
                                          ("squre", "square")])
def test_a_search_with_the_typo_finds_the_photo(vocabulary, alice, typed, meant):
    response = search_photos(user=alice, params=SearchParams(query=typed, min_score=0.01))
    assert [r.photo.pk for r in response.results][:1] == [vocabulary[meant].pk]
    assert response.results[0].explanation.meta_fields == [f"similar spelling ({typed} → {meant})"]


def test_short_words_and_other_families_words_are_not_corrections(vocabulary, family, other_family, mallory):
    photo_factory(family=other_family, user=mallory, tags=["sunflower"])
    assert metadata_query(query="sunflowre", family_ids=[family.pk]).corrections == []
    photo_factory(family=family, tags=["cat"])
    assert [c.replacement for c in metadata_query(query="cta", family_ids=[family.pk]).corrections] == []


def test_a_typo_in_a_sentence_and_known_words_left_alone(vocabulary, family):
    meta = metadata_query(query="Grandam's brithday", family_ids=[family.pk])
    assert {(c.word, c.replacement) for c in meta.corrections} >= {("grandam", "grandma"), ("brithday", "birthday")}
    assert metadata_query(query="square birthday", family_ids=[family.pk]).corrections == []


def test_a_correction_that_adds_to_another_match_is_named_in_explain(family, alice):
    """"red sqaure" on a photo tagged red and square: the tag matched "red" and the correction found "square"; both
    counted in p_metadata (explain listed "similar spelling p = 0.51"), but only "tags" was named as matched, so the
    correction's share had no word behind it (QA)."""
    photo = photo_factory(family=family, user=alice, tags=["red", "square"])
    response = search_photos(user=alice, params=SearchParams(query="red sqaure", min_score=0.01))
    explanation = next(r.explanation for r in response.results if r.photo.pk == photo.pk)
    assert "typo" in explanation.meta_probabilities
    assert explanation.meta_fields == ["tags", "similar spelling (sqaure → square)"]


def test_many_queries_at_once_are_each_understood_as_alone(vocabulary, family, alice):
    """metadata_queries (the quality page's judged queries in one statement) gives every query exactly what
    metadata_query gives it on its own: its corrections, glued and compound words and exclusions, and nothing of
    its neighbours'."""
    from search.metadata import metadata_queries

    photo_factory(family=family, user=alice, tags=["sunglasses"], description="BAKERYOPEN7AM sun set")
    asked = [("sqaure", ()), ("sun glasses", ("grandma",)), ("glasses -grandma", ()), ("brithday cake", ("grandma",)), ("", ()),
             ("bakery sunset", ("sqaure",)), ('"hot dog" or squre', ()), ("sqaure", ())]
    together = metadata_queries(asked, family_ids=[family.pk])
    alone = [metadata_query(query=query, family_ids=[family.pk], excluded=excluded) for query, excluded in asked]
    assert together == alone
    assert together[0].corrections and together[1].compounds and together[3].excluded and together[5].glued


def test_numbers_are_never_corrected(vocabulary, family, alice):
    """A year is what it says: "2002" was "corrected" to "2020" (two neighbouring digits swapped) and a decade
    "2020s" to "2020" (a dropped letter), so a query of only dates ("since 2000", browsed by its years, or "since
    1950", by its decades) raised the photos of 2020 with a "similar spelling" match. Words with digits are left as
    typed."""
    photo_factory(family=family, user=alice, tags=["2020", "route66"])
    for typed in ("2002", "2020s", "route666", "1950s 2002"):
        assert metadata_query(query=typed, family_ids=[family.pk]).corrections == [], typed
    assert [c.replacement for c in metadata_query(query="sqaure 2002", family_ids=[family.pk]).corrections] == [
        "square"]


@pytest.mark.parametrize("word", ["red", "beach"])
def test_a_word_with_a_number_glued_to_it_is_that_word_in_every_photo(settings, family, alice, word):
    """Files named red0.jpg … red6.jpg (or beach1 … beach7: how people number the photos they rename), searched
    "red" with metadata only (found in the new-user trial): "red" found red0 and red2 as "similar spelling" and not
    the others (two corrections per word, ties by alphabet); "beach" found the first five in alphabetical order
    (the words glued to it, five per word), two of them also as a spelling correction, so they scored 0.58 and
    the others 0.35. A word with a number glued to it is that word: every such photo is found, as the same match,
    with the same score, and no spelling is "corrected"."""
    from search.embedder import reset_embedder

    settings.SEARCH_MODEL = "/nonexistent"
    reset_embedder()
    try:
        numbered = {photo_factory(family=family, user=alice, filename=f"{word}{n}.jpg").pk for n in range(7)}
        photo_factory(family=family, user=alice, filename="IMG_0001.jpg")
        assert metadata_query(query=word, family_ids=[family.pk]).corrections == []
        response = search_photos(user=alice, params=SearchParams(query=word, min_score=0.01))
        assert {r.photo.pk for r in response.results} == numbered
        assert len({round(r.score, 6) for r in response.results}) == 1, [r.score for r in response.results]
        assert {tuple(r.explanation.meta_fields) for r in response.results} == {("file name",)}
        # The file name as written is still found by itself; its number alone is no word of it ("IMG_0003" aside).
        named = search_photos(user=alice, params=SearchParams(query=f"{word}3", min_score=0.01))
        assert [r.photo.original_filename for r in named.results] == [f"{word}3.jpg"]
        with connection.cursor() as cursor:
            cursor.execute("SELECT tsvector_to_array(d.document) FROM search_photodocument d "
                           "JOIN gallery_photo p ON p.id = d.photo_id WHERE p.original_filename = %s", [f"{word}3.jpg"])
            lexemes = set(cursor.fetchone()[0])
        assert lexemes >= {word, f"{word}3"} and "3" not in lexemes, lexemes
    finally:
        reset_embedder()
