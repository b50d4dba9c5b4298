"""Exclusions typed in the box ("red -circle", "red without circle") reach the engine through the parser: photos
showing the excluded concept go down, by its calibrated probability, with no tag involved; explain and the API
say so."""

from __future__ import annotations

import pytest
from django.urls import reverse

from search.tests.test_search import shapes  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("query", ["red -circle", "red without circle", "red not circle"])
def test_red_minus_circle_puts_red_circles_below_the_other_red_shapes(shapes, alice, client_for, query):
    response = client_for(alice).get("/api/v1/search/", {"q": query, "min_score": 0, "limit": 100})
    assert response.status_code == 200
    body = response.json()
    assert body["interpreted"]["excluded"] == ["circle"] and body["interpreted"]["text"] == "red"
    ranked = [shapes[r["id"]] for r in body["results"]]
    reds = [name for name in ranked if name.startswith("red")]
    assert set(reds[:4]) == {"red square", "red triangle"}, ranked[:8]
    assert reds[4:] == ["red circle", "red circle"]
    circle = next(r for r in body["results"] if shapes[r["id"]] == "red circle")["explanation"]
    assert circle["excluded_probability"] > 0.5 and circle["exclusion_factor"] < 0.5


def test_the_explain_panel_shows_the_exclusion(shapes, alice, client_for):
    page = client_for(alice).get("/search/", {"q": "red -circle", "min_score": "0"}).content.decode()
    assert "Excluded" in page and "“circle”" in page and "that the photo shows it" in page


@pytest.fixture
def glued_files(settings, add_shape):
    """Metadata only (no model): beach photos whose file names hold "sunglasses" as a word, glued to others, or
    not at all (OCR text and file names run words together: search.metadata's glued words)."""
    from search.embedder import reset_embedder

    settings.SEARCH_MODEL = "/nonexistent"
    reset_embedder()
    made = {name: add_shape("red", "circle", tags=["beach"], filename=name).pk
            for name in ("IMG_sunglasses.png", "beachsunglasses2.png", "IMG_0001.png")}
    yield made
    reset_embedder()


def _explained(client, query):
    body = client.get("/api/v1/search/", {"q": query, "min_score": 0, "limit": 100}).json()
    return {r["id"]: r["explanation"] for r in body["results"]}


@pytest.mark.parametrize("word", ["sunglasses", "glasses"])
def test_an_excluded_word_reaches_the_words_glued_to_it_as_the_searched_word_does(glued_files, alice, client_for,
                                                                                 word):
    client = client_for(alice)
    found = _explained(client, word)  # the word searched: "beachsunglasses2" matches it in the file name
    assert glued_files["beachsunglasses2.png"] in found and glued_files["IMG_0001.png"] not in found
    lowered = _explained(client, f"beach -{word}")
    for name, photo in glued_files.items():
        e = lowered[photo]
        if photo in found:  # what the word finds, its exclusion lowers, by the same field's weight
            assert e["excluded_metadata"] > 0 and e["exclusion_factor"] < 1, (name, e)
            assert "file name" in e["excluded_fields"], (name, e)
        else:
            assert e["excluded_metadata"] == 0 and e["exclusion_factor"] == 1, (name, e)
    assert lowered[glued_files["beachsunglasses2.png"]]["exclusion_factor"] == pytest.approx(
        lowered[glued_files["IMG_sunglasses.png"]]["exclusion_factor"])


@pytest.fixture
def compound_tags(settings, add_shape):
    """Metadata only (no model): beach photos tagged "sun glasses", "sunglasses", or neither."""
    from search.embedder import reset_embedder

    settings.SEARCH_MODEL = "/nonexistent"
    reset_embedder()
    made = {name: add_shape("red", "circle", tags=["beach", *([name] if name else [])]).pk
            for name in ("sun glasses", "sunglasses", "")}
    yield made
    reset_embedder()


@pytest.mark.parametrize("written", ["sunglasses", "sun glasses", "sun-glasses", "beach sun-glasses"])
def test_a_word_written_as_one_or_two_finds_both_spellings(compound_tags, alice, client_for, written):
    # With a hyphen it is the same word: "sun-glasses" found neither spelling (PostgreSQL reads it as the phrase
    # 'sun-glass' <-> 'sun' <-> 'glass', which "sun glasses" does not hold, and a hyphen made the query "syntax").
    found = _explained(client_for(alice), written)
    if written.startswith("beach"):
        found = {photo: e for photo, e in found.items() if photo != compound_tags[""]}
    assert set(found) == {compound_tags["sun glasses"], compound_tags["sunglasses"]}
    assert all(e["meta_fields"] == ["tags"] for e in found.values())


@pytest.mark.parametrize("query", ["beach -sunglasses", 'beach -"sun glasses"', "beach without sunglasses"])
def test_an_exclusion_written_as_one_or_two_words_lowers_both_spellings_the_same_way(compound_tags, alice,
                                                                                     client_for, query):
    client = client_for(alice)
    lowered = _explained(client, query)
    assert lowered[compound_tags[""]]["exclusion_factor"] == 1  # a beach without either spelling
    for name in ("sun glasses", "sunglasses"):
        e = lowered[compound_tags[name]]
        assert e["excluded_fields"] == ["tags"] and e["exclusion_factor"] < 0.5, (name, e)
    # However the exclusion is written, a tag in either spelling is lowered by the same factor.
    reference = _explained(client, 'beach -"sun glasses"')[compound_tags["sun glasses"]]["exclusion_factor"]
    for name in ("sun glasses", "sunglasses"):
        assert lowered[compound_tags[name]]["exclusion_factor"] == pytest.approx(reference, abs=0.02), name


@pytest.fixture
def stopword_halves(settings, add_shape):
    """Metadata only (no model): the family's words include "out" and "under" (stopwords, from tags "day out"
    and "under the bridge") beside "door" and "water"."""
    from search.embedder import reset_embedder

    settings.SEARCH_MODEL = "/nonexistent"
    reset_embedder()
    made = {tag: add_shape("red", "circle", tags=["beach", tag, phrase]).pk
            for tag, phrase in (("door", "day out"), ("water", "under the bridge"))}
    yield made
    reset_embedder()


@pytest.mark.parametrize("word, half", [("outdoor", "door"), ("underwater", "water")])
def test_a_word_split_through_a_stopword_is_not_its_other_half(stopword_halves, alice, client_for, word,
                                                                          half):
    """"outdoor" is not "door": the full-text search drops the stopword "out" from the phrase "out door", so
    splitting through it would search for "door" alone (and excluding "outdoor" would drop every door)."""
    client = client_for(alice)
    assert stopword_halves[half] not in _explained(client, word)
    lowered = _explained(client, f"beach -{word}")
    assert lowered[stopword_halves[half]]["exclusion_factor"] == 1


@pytest.mark.parametrize("query", ["-circle", "without circle -red", "not in Portugal", "without 2023",
                                   "-2023 not in Portugal"])
def test_a_query_of_only_exclusions_says_what_to_add(shapes, alice, client_for, query):
    """Exclusions lower photos; alone they find none, and the page says so instead of its first-visit hint. So do a
    negated place or date alone ("not in Portugal", "without 2023"), which showed the first-visit hint under their
    "Left out" chip, as if nothing had been typed; the preferences' preview likewise."""
    client = client_for(alice)
    page = client.get("/search/", {"q": query}).content.decode()
    assert "only says what to leave out" in page and "Type what you remember" not in page
    preview = client.get(reverse("search:preferences_preview"), {"preview_q": query}, headers={"HX-Request": "true"})
    assert "only says what to leave out" in preview.content.decode()
