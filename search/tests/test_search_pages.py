"""The search page, its HTMX partial, the explain panel, hidden results, the preferences page with its live
preview, "More like this", and a restrictive filter over a large table still filling the page."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timezone as dt_timezone
from html import unescape

import numpy as np
import pytest
from django.db import connection, transaction
from django.template.defaultfilters import floatformat
from django.urls import reverse

from gallery.models import Photo
from search import vector_index
from search.engine import NO_EVIDENCE, SearchParams, search_photos
from search.scope import Scope
from search.vector_index import nearest_photos
from search.models import PhotoEmbedding, SearchPreferences
from search.templatetags.search_tags import signed
from tests.factories import UserFactory
from tests.queue import run_queued_tasks

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def shapes(toy_model, add_shape, other_family, mallory, django_capture_on_commit_callbacks):
    """The Smiths' embedded shapes (a red triangle tagged "green birthday" among them) and one Jones photo."""
    with django_capture_on_commit_callbacks(execute=True):
        photos = {
            "red circle 1": add_shape("red", "circle", description="a red circle in the garden"),
            "red circle 2": add_shape("red", "circle"),
            "blue square": add_shape("blue", "square"),
            "yellow square": add_shape("yellow", "square"),
            "green circle": add_shape("green", "circle"),
            "green triangle": add_shape("green", "triangle"),
            # Tagged with words that name another colour: on looks alone the green shapes beat it for
            # "green birthday", on metadata it is the only match.
            "party": add_shape("red", "triangle", tags=["green birthday"]),
        }
        photos["jones"] = add_shape("red", "circle", target_family=other_family, user=mallory)
    run_queued_tasks()
    assert set(Photo.objects.values_list("status", flat=True)) == {Photo.Status.READY}
    return photos


def _result_blocks(body: str) -> dict[int, str]:
    """photo id → the HTML of its result (tile + explain panel), in page order."""
    parts = re.split(r'(?=<div class="result[ "])', body)
    blocks = {}
    for part in parts[1:]:
        pk = int(re.search(r'data-photo="(\d+)"', part).group(1))
        blocks[pk] = part
    return blocks


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _has_evidence(result) -> bool:
    return max(result.explanation.probability_semantic, result.explanation.probability_metadata) >= NO_EVIDENCE


def _input_value(body: str, name: str) -> str:
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', body).group(0)
    return re.search(r'value="([^"]*)"', tag).group(1)


# --- search page ---------------------------------------------------------------------------------


def test_results_show_score_badges_and_an_explain_panel_with_every_number(shapes, client_for, alice):
    response = client_for(alice).get(reverse("search:search"), {"q": "red circle"})
    body = response.content.decode()
    assert response.status_code == 200 and "<html" in body and 'id="search-form"' in body

    expected = search_photos(user=alice, params=SearchParams(query="red circle"))
    blocks = _result_blocks(body)
    assert list(blocks) == [r.photo.pk for r in expected.results]
    assert shapes["jones"].pk not in blocks and len(blocks) >= 2
    for result in expected.results:
        e, block = result.explanation, blocks[result.photo.pk]
        assert f'<span class="badge" title="probability that this is a right result (Explain shows how)">' \
               f'{floatformat(result.score, 2)}</span>' in block
        text = _text(block)
        assert "Explain" in text
        assert f"cos = {floatformat(e.cosine, 4)}" in text
        assert (f"p image = sigmoid({floatformat(e.calibration_scale, 2)} · cos {signed(e.calibration_bias)}) = "
                f"{floatformat(e.probability, 3)}") in text
        assert f"Best term “{e.term}”" in text
        assert f"p metadata = {floatformat(e.probability_metadata, 3)}" in text or \
            f"p metadata = 1 − Π(1 − p) = {floatformat(e.probability_metadata, 3)}" in text
        assert f"full-text rank {floatformat(e.meta_fts, 3)}, for reference" in text
        # The fusion, written out with this result's numbers (search.calibration.fuse).
        assert (f"= 1 − (1 − {floatformat(e.probability_semantic, 3)}) {2 * e.semantic_weight:.2f} · "
                f"(1 − {floatformat(e.probability_metadata, 3)}) {2 * e.metadata_weight:.2f} = "
                f"{floatformat(e.score, 3)}") in text
        assert "toy-siglip" in text  # the model, by its short name
    # The calibration shown is the model's own, not a hand-picked temperature.
    top = expected.results[0].explanation
    assert 20 < top.calibration_scale < 40 and top.calibration_bias < 0
    # Red circles were found for what they show, and the described one says which metadata matched.
    assert {shapes["red circle 1"].pk, shapes["red circle 2"].pk} <= set(list(blocks)[:2])
    assert "matched description" in _text(blocks[shapes["red circle 1"].pk])


def test_a_results_tile_tells_a_screen_reader_what_its_number_is(shapes, client_for, alice):
    """The tile's link was read out as "IMG 0012 red square 0.89 IMG 0012 red square": the name twice (the image's
    alt and the caption) and the score a bare number. It reads the photo's name once and says the number is its
    score."""
    body = client_for(alice).get(reverse("search:search"), {"q": "red circle"}).content.decode()
    expected = search_photos(user=alice, params=SearchParams(query="red circle"))
    blocks = _result_blocks(body)
    for result in expected.results:
        link = re.search(r'<a class="tile"[^>]*>', blocks[result.photo.pk]).group(0)
        assert f'aria-label="{result.photo}, score {floatformat(result.score, 2)}"' in link


def test_a_screen_reader_hears_what_a_search_found_not_every_result_again(shapes, client_for, alice):
    """The whole results region was the polite live region: each search as you type had a screen reader read out
    every tile, with its buttons and explain panel (60 of them). A status outside it says what was found; the
    partial updates its words only (the region stays, so it is announced)."""
    client = client_for(alice)
    count = len(search_photos(user=alice, params=SearchParams(query="red circle")).results)
    page = client.get(reverse("search:search"), {"q": "red circle"}).content.decode()
    assert re.search(r'<div id="results"(?![^>]*aria-live)[^>]*>', page)
    status = re.findall(r'<p id="results-status" class="visually-hidden" role="status">(.*?)</p>', page, re.S)
    assert status and _text(status[0]) == f"{count} photos for “red circle”."
    assert page.count('id="results-status"') == 1
    partial = client.get(reverse("search:search"), {"q": "red circle"}, headers=HTMX).content.decode()
    oob = re.findall(r'<p id="results-status" hx-swap-oob="innerHTML">(.*?)</p>', partial, re.S)
    assert len(oob) == 1 and _text(oob[0]) == f"{count} photos for “red circle”."
    nothing = client.get(reverse("search:search"), {"q": "zebra"}, headers=HTMX).content.decode()
    assert _text(re.search(r'<p id="results-status"[^>]*>(.*?)</p>', nothing, re.S).group(1)) == \
        "Nothing matches “zebra”."
    fewer = client.get(reverse("search:search"), {"q": "red circle", "limit": 1}, headers=HTMX).content.decode()
    assert _text(re.search(r'<p id="results-status"[^>]*>(.*?)</p>', fewer, re.S).group(1)) == \
        "The best 1 photo for “red circle”."
    empty = client.get(reverse("search:search"), {"q": ""}, headers=HTMX).content.decode()
    assert _text(re.search(r'<p id="results-status"[^>]*>(.*?)</p>', empty, re.S).group(1)) == ""
    # A filter chosen with the box empty: what the page says instead of results is said too.
    filters = client.get(reverse("search:search"), {"tag": "green birthday"}, headers=HTMX).content.decode()
    assert _text(re.search(r'<p id="results-status"[^>]*>(.*?)</p>', filters, re.S).group(1)) == \
        "The filters only narrow a search: type what you are looking for as well."


def test_someone_in_no_family_is_told_so_not_that_nothing_matches(shapes, client_for):
    """Someone who left their only family (or was never added to one) searched and read "Nothing matches “red”. Try
    other words, or fewer filters.", with "Save as smart album" offering no family to save into. Every other page
    says they are in no family; so does search, its status too, and it offers no smart album."""
    client = client_for(UserFactory(username="eve"))
    for headers in ({}, HTMX):
        body = client.get(reverse("search:search"), {"q": "red circle"}, headers=headers).content.decode()
        assert "You are not in any family yet." in _text(body)
        assert "Nothing matches" not in body and "Save as smart album" not in body
        status = re.search(r'<p id="results-status"[^>]*>(.*?)</p>', body, re.S).group(1)
        assert _text(status) == "You are not in any family yet."


def test_taken_until_before_taken_from_is_said_not_nothing_matches(shapes, client_for, alice):
    """"Taken from" 2024 and "Taken until" 2020 read "Nothing matches “red circle”. Try other words, or fewer
    filters.": other words would never have found anything. The page says the two dates are the wrong way round."""
    client = client_for(alice)
    for headers in ({}, HTMX):
        body = _text(client.get(reverse("search:search"), {"q": "red circle", "after": "2024-01-01",
                                                             "before": "2020-01-01"}, headers=headers).content.decode())
        assert "“Taken until” (1 Jan 2020) is earlier than “Taken from” (1 Jan 2024): no photo is taken" in body
        assert "Try other words" not in body


def test_a_first_search_before_any_upload_says_there_are_no_photos_yet(toy_model, client_for, alice, other_family,
                                                                     mallory, add_shape):
    """A new family's first search ("red circle", before any upload) read "Nothing matches “red circle”. Try other
    words, or fewer filters.": no words would have found anything. It says there are no photos to search yet and
    links to the upload page, its status too; a family whose photos are all in the trash alike. Another family's
    photos (not the searcher's) don't count, and once one photo is there a search that misses says it missed."""
    add_shape("red", "circle", target_family=other_family, user=mallory)
    client = client_for(alice)
    for headers in ({}, HTMX):
        body = client.get(reverse("search:search"), {"q": "red circle"}, headers=headers).content.decode()
        assert "No photos to search yet" in _text(body) and reverse("gallery:upload") in body
        assert "Try other words" not in body
        status = re.search(r'<p id="results-status"[^>]*>(.*?)</p>', body, re.S).group(1)
        assert _text(status) == "No photos to search yet."
    photo = add_shape("blue", "square")
    body = client.get(reverse("search:search"), {"q": "zebra"}).content.decode()
    assert "No photos to search yet" not in body and "Nothing matches “zebra”" in _text(body)
    Photo.objects.filter(pk=photo.pk).update(trashed_at=datetime.now(dt_timezone.utc))
    assert "No photos to search yet" in _text(client.get(reverse("search:search"), {"q": "zebra"}).content.decode())


def test_htmx_request_returns_only_the_results_partial(shapes, client_for, alice):
    client = client_for(alice)
    full = client.get(reverse("search:search"), {"q": "red circle"}).content.decode()
    partial = client.get(reverse("search:search"), {"q": "red circle"}, headers=HTMX).content.decode()
    assert "<html" not in partial and "<header" not in partial and 'id="search-form"' not in partial
    assert 'id="results"' not in partial  # the partial goes inside #results, it is not a second one
    assert list(_result_blocks(partial)) == list(_result_blocks(full))
    assert 'class="grid results-grid"' in partial
    # One URL, two bodies: caches (and the browser's Back button) must keep them apart.
    assert "HX-Request" in client.get(reverse("search:search"), {"q": "red circle"}, headers=HTMX)["Vary"]
    assert "HX-Request" in client.get(reverse("search:similar", args=[shapes["party"].pk]))["Vary"]


def test_results_below_the_minimum_are_counted_and_shown_on_request(shapes, client_for, alice):
    everything = search_photos(user=alice, params=SearchParams(query="red circle", min_score=0, limit=100))
    scores = sorted((r.score for r in everything.results), reverse=True)
    threshold = round((scores[1] + scores[-1]) / 2, 2)  # at least two shown, at least one hidden
    SearchPreferences.objects.create(user=alice, min_score=threshold)
    shown_count = sum(score >= threshold for score in scores)
    # Hidden and offered: the photos under the minimum that carry some evidence (see the weaker-match tests).
    hidden = sum(r.score < threshold and _has_evidence(r) for r in everything.results)
    assert hidden >= 1

    client = client_for(alice)
    body = client.get(reverse("search:search"), {"q": "red circle"}).content.decode()
    assert len(_result_blocks(body)) == shown_count
    note = re.search(r'<p class="hidden-note">(.*?)</p>', body, re.S).group(1)
    assert f"{hidden} more below your minimum score ({floatformat(threshold, 2)})" in _text(note)
    raw_href = re.search(r'href="([^"]+)"', note).group(1)
    assert f'hx-get="{raw_href}"' in note  # href kept beside hx-get
    href = unescape(raw_href)
    assert "show_hidden=1" in href and "q=red+circle" in href

    for headers in ({}, HTMX):
        shown = client.get(reverse("search:search") + href, headers=headers).content.decode()
        blocks = _result_blocks(shown)
        assert len(blocks) == shown_count + hidden
        assert shown.count('class="result below-minimum"') == hidden
        assert "more below your minimum score" not in shown


def test_when_everything_is_below_the_minimum_the_page_offers_to_show_them(shapes, client_for, alice):
    SearchPreferences.objects.create(user=alice, min_score=1.0)
    body = client_for(alice).get(reverse("search:search"), {"q": "red circle"}).content.decode()
    assert _result_blocks(body) == {}
    match = re.search(r"Show (\d+) weaker match(es)?", body)
    assert match and int(match.group(1)) >= 2  # the red circles at least


def test_a_photo_not_indexed_yet_is_found_by_its_tags_and_the_panel_says_why_there_is_no_image_match(
        shapes, add_shape, client_for, alice):
    waiting = add_shape("blue", "circle", tags=["lighthouse"])  # its embedding task is never run
    body = client_for(alice).get(reverse("search:search"), {"q": "lighthouse"}).content.decode()
    blocks = _result_blocks(body)
    assert waiting.pk in blocks
    text = _text(blocks[waiting.pk])
    assert "Image match none (not indexed, or not among the nearest)" in text
    assert "matched tags" in text and re.search(r"= 1 − \(1 − 0\.000\) 1\.20 · \(1 − 0\.\d{3}\) 0\.80 = 0\.\d{3}", text)


def test_the_page_says_how_many_photos_image_search_does_not_see_yet(shapes, add_shape, client_for, alice,
                                                                       other_family, mallory,
                                                                       django_capture_on_commit_callbacks):
    """Right after an upload the worker has not read the new photos yet (the first one also loads the model): a
    search found them by file name only, scores of 0.29 with no word why (QA). The page says how many of the user's
    photos are still being indexed; another family's waiting photos are not counted."""
    client = client_for(alice)
    assert "still being indexed" not in client.get(reverse("search:search"), {"q": "circle"}).content.decode()
    with django_capture_on_commit_callbacks(execute=True):  # queued for the worker, not run yet
        for n in range(2):
            add_shape("blue", "circle", tags=["lighthouse"])
        add_shape("red", "square", target_family=other_family, user=mallory)
    for headers in ({}, HTMX):
        body = _text(client.get(reverse("search:search"), {"q": "lighthouse"}, headers=headers).content.decode())
        assert "2 of your photos are still being indexed" in body, headers
        assert "Index page" in body
    run_queued_tasks()
    assert "still being indexed" not in client.get(reverse("search:search"), {"q": "lighthouse"}).content.decode()


# --- preferences ---------------------------------------------------------------------------------


def test_preferences_page_shows_sliders_at_the_saved_values(shapes, client_for, alice):
    SearchPreferences.objects.create(user=alice, semantic_weight=0.7, metadata_weight=0.3, min_score=0.15,
                                     expansion_enabled=False, default_sort="date")
    body = client_for(alice).get(reverse("search:preferences")).content.decode()
    for name, value in (("semantic_weight", "0.7"), ("metadata_weight", "0.3"), ("min_score", "0.15")):
        assert re.search(rf'<input type="range" name="{name}"', body), name
        assert _input_value(body, name) == value
    outputs = re.findall(r"<output>([^<]*)</output>", body)
    assert outputs == ["0.70", "0.30", "0.15"]
    assert re.search(r'<input type="checkbox" name="expansion_enabled"(?![^>]*checked)[^>]*>', body)
    assert re.search(r'<option value="date" selected>', body)
    assert 'hx-get="/search/preferences/preview/"' in body


def test_saving_preferences_writes_the_row_and_an_invalid_form_says_why(shapes, client_for, alice):
    client = client_for(alice)
    response = client.post(reverse("search:preferences"), {
        "semantic_weight": "0.25", "metadata_weight": "0.75", "min_score": "0.2", "expansion_enabled": "on",
        "default_sort": "date"})
    assert response.status_code == 302 and response["Location"] == reverse("search:preferences")
    prefs = SearchPreferences.objects.get(user=alice)
    assert (prefs.semantic_weight, prefs.metadata_weight, prefs.min_score, prefs.expansion_enabled, prefs.default_sort) == (
        0.25, 0.75, 0.2, True, "date")
    assert "Search preferences saved." in client.get(reverse("search:preferences")).content.decode()

    invalid = client.post(reverse("search:preferences"), {
        "semantic_weight": "0", "metadata_weight": "0", "min_score": "0.2", "default_sort": "relevance"})
    assert invalid.status_code == 200
    assert "At least one weight must be above zero." in invalid.content.decode()
    prefs.refresh_from_db()
    assert (prefs.semantic_weight, prefs.metadata_weight) == (0.25, 0.75)

    out_of_range = client.post(reverse("search:preferences"), {
        "semantic_weight": "7", "metadata_weight": "abc", "min_score": "-1", "default_sort": "bogus"})
    assert out_of_range.status_code == 200 and out_of_range.content.decode().count('class="errorlist') >= 4
    prefs.refresh_from_db()
    assert prefs.semantic_weight == 0.25


def test_saving_with_a_preview_search_typed_keeps_it_and_previews_it(shapes, client_for, alice):
    """Enter in "Preview with this search" submits the form: the preferences were saved and the page came back with
    the preview box empty and "Type a search", the words typed lost (and without JavaScript the preview never
    showed at all). The search typed stays, previewed with what was saved; an invalid form keeps it too."""
    client = client_for(alice)
    saved = client.post(reverse("search:preferences"), {
        "semantic_weight": "0.25", "metadata_weight": "0.75", "min_score": "0", "expansion_enabled": "on",
        "default_sort": "relevance", "preview_q": "green birthday"})
    assert saved.status_code == 302
    assert saved["Location"] == reverse("search:preferences") + "?preview_q=green+birthday"
    body = client.get(saved["Location"]).content.decode()
    assert _input_value(body, "preview_q") == "green birthday" and "Type a search in the form" not in body
    assert f'<li data-photo="{shapes["party"].pk}"' in body and "metadata 0.75" in body
    invalid = client.post(reverse("search:preferences"), {
        "semantic_weight": "0", "metadata_weight": "0", "min_score": "0.2", "default_sort": "relevance",
        "preview_q": "green birthday"}).content.decode()
    assert "At least one weight must be above zero." in invalid
    assert _input_value(invalid, "preview_q") == "green birthday"


def test_saving_with_a_pasted_text_in_the_preview_box_saves_and_comes_back(client_for, alice):
    """A long text pasted into the preview box (20,000 characters) was saved with the preferences, then the page
    answered "Bad request": the address it came back to, keeping the text, was past Django's 16,384 characters for a
    redirect. It keeps what a search reads of it (MAX_QUERY_CHARS)."""
    from search.engine import MAX_QUERY_CHARS
    from search.models import SearchPreferences

    client = client_for(alice)
    saved = client.post(reverse("search:preferences"), {
        "semantic_weight": "0.3", "metadata_weight": "0.7", "min_score": "0", "expansion_enabled": "on",
        "default_sort": "relevance", "preview_q": "birthday " * 2500})
    assert saved.status_code == 302
    assert SearchPreferences.objects.get(user=alice).semantic_weight == 0.3
    body = client.get(saved["Location"]).content.decode()
    assert "Search preferences saved." in body
    assert len(_input_value(body, "preview_q")) <= MAX_QUERY_CHARS


def _preview(client, semantic_weight: float, metadata_weight: float) -> tuple[list[int], list[str], str]:
    response = client.get(reverse("search:preferences_preview"), {
        "preview_q": "green birthday", "semantic_weight": str(semantic_weight), "metadata_weight": str(metadata_weight),
        "min_score": "0"}, headers=HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    ids = [int(pk) for pk in re.findall(r'<li data-photo="(\d+)"', body)]
    scores = re.findall(r'<span class="badge-inline">([^<]+)</span>', body)
    return ids, scores, body


def test_preview_reorders_as_the_metadata_weight_rises(shapes, client_for, alice):
    client = client_for(alice)
    party = shapes["party"].pk
    ranks, all_scores = [], []
    for metadata_weight in (0, 0.4, 0.8, 1):
        ids, scores, body = _preview(client, round(1 - metadata_weight, 2), metadata_weight)
        assert "<html" not in body and shapes["jones"].pk not in ids
        assert f"metadata {floatformat(metadata_weight, 2)}" in body
        ranks.append(ids.index(party))
        all_scores.append(scores)
    assert ranks[0] > 0, "precondition: on looks alone the tagged red triangle is not the best match"
    assert ranks == sorted(ranks, reverse=True) and ranks[-1] == 0, ranks
    assert all(a != b for a, b in zip(all_scores, all_scores[1:]))
    # Nothing was saved by previewing.
    assert not SearchPreferences.objects.filter(user=alice).exists()


def test_preview_with_no_query_invites_one_and_bad_slider_values_do_not_fail(shapes, client_for, alice):
    client = client_for(alice)
    empty = client.get(reverse("search:preferences_preview"), {"preview_q": ""}, headers=HTMX).content.decode()
    assert "Type a search in the form" in empty
    odd = client.get(reverse("search:preferences_preview"), {"preview_q": "birthday", "semantic_weight": "abc",
                                                               "metadata_weight": "0", "min_score": "9"}, headers=HTMX)
    assert odd.status_code == 200 and "<li" in odd.content.decode()
    only_exclusions = client.get(reverse("search:preferences_preview"), {"preview_q": "-dog"}, headers=HTMX)
    body = only_exclusions.content.decode()
    assert "“-dog” only says what to leave out" in body and "Type a search in the form" not in body
    punctuation = client.get(reverse("search:preferences_preview"), {"preview_q": "?!"}, headers=HTMX).content.decode()
    assert "Nothing to search for in “?!”" in punctuation and "Type a search in the form" not in punctuation


def test_reset_restores_the_defaults(shapes, client_for, alice):
    SearchPreferences.objects.create(user=alice, semantic_weight=0.1, metadata_weight=0.9, min_score=0.5)
    client = client_for(alice)
    response = client.post(reverse("search:preferences_reset"))
    assert response.status_code == 302
    assert not SearchPreferences.objects.filter(user=alice).exists()
    body = client.get(reverse("search:preferences")).content.decode()
    assert "Search preferences are back to the defaults." in body
    assert (_input_value(body, "semantic_weight"), _input_value(body, "metadata_weight"), _input_value(body, "min_score")) == (
        str(SearchPreferences.DEFAULT_SEMANTIC_WEIGHT), str(SearchPreferences.DEFAULT_METADATA_WEIGHT),
        str(SearchPreferences.DEFAULT_MIN_SCORE))
    assert client.get(reverse("search:preferences_reset")).status_code == 405


# --- more like this ------------------------------------------------------------------------------


def test_photo_page_loads_more_like_this_and_the_partial_lists_family_photos_by_cosine(shapes, client_for, alice):
    photo = shapes["red circle 1"]
    client = client_for(alice)
    page = client.get(photo.get_absolute_url()).content.decode()
    url = reverse("search:similar", args=[photo.pk])
    assert re.search(rf'<div hx-get="{url}" hx-trigger="load"', page)
    assert f'<a class="similar-link" href="{url}">Show similar photos</a>' in page  # works without JavaScript too

    partial = client.get(url, headers=HTMX).content.decode()
    assert "<html" not in partial
    ids = [int(pk) for pk in re.findall(r'data-photo="(\d+)"', partial)]
    family_others = {p.pk for key, p in shapes.items() if key not in ("jones", "red circle 1")}
    assert set(ids) == family_others and len(ids) == len(family_others)
    vectors = {e.photo_id: np.asarray(e.vector) for e in PhotoEmbedding.objects.all()}
    cosines = [float(vectors[photo.pk] @ vectors[pk]) for pk in ids]
    assert cosines == sorted(cosines, reverse=True)
    assert ids[0] == shapes["red circle 2"].pk  # the other red circle looks most alike
    # The badge is a look-alike percent (the cosine, below 0 shown as 0%), said to be no match probability; the
    # raw cosine is in the explain panel only.
    assert any(c < 0 for c in cosines)  # the toy model has pairs that look nothing alike: their badge is 0%
    badges = re.findall(r'<span class="badge similarity" title="([^"]+)">([^<]+)</span>', partial)
    assert [text for _, text in badges] == [f"{round(100 * max(0.0, c))}% alike" for c in cosines]
    assert all("not a probability" in title and "Look-alike similarity" in title for title, _ in badges)
    assert "−" not in "".join(text for _, text in badges) and "-" not in "".join(text for _, text in badges)
    assert all(f"{floatformat(c, 4)}" in partial for c in cosines)  # explain: the raw cosine, named as such

    full = client.get(url).content.decode()
    assert "<html" in full and "Photos like" in full and len(re.findall(r'data-photo="', full)) == len(ids)


def test_more_like_this_for_a_photo_not_indexed_yet_says_so(toy_model, add_shape, client_for, alice):
    photo = add_shape("red", "circle")  # never embedded: the queue is not run
    body = client_for(alice).get(reverse("search:similar", args=[photo.pk]), headers=HTMX).content.decode()
    assert "not indexed yet" in body and "data-photo" not in body


# --- a restrictive filter over a large table -----------------------------------------------------


def _bulk_photos(family, user, count: int, prefix: str) -> list[int]:
    taken = datetime(2021, 6, 1, tzinfo=dt_timezone.utc)
    photos = Photo.objects.bulk_create([
        Photo(family=family, uploaded_by=user, original=f"fake/{prefix}{n}.png", thumbnail=f"fake/{prefix}{n}.jpg",
              original_filename=f"{prefix}{n}.png", mime_type="image/png", file_size=1, width=1, height=1,
              taken_at=taken, taken_at_source=Photo.DateSource.UPLOAD, sha256=hashlib.sha256(f"{prefix}{n}".encode()).hexdigest(),
              status=Photo.Status.READY)
        for n in range(count)
    ], batch_size=1000)
    return [p.pk for p in photos]


def test_a_one_percent_filter_still_gets_twenty_nearest_rows_from_a_large_family(toy_model, settings, alice, bob,
                                                                                   family, mallory, other_family):
    from search.embedder import get_embedder

    dim = get_embedder().dim
    mine = _bulk_photos(family, alice, 30, "mine")
    bobs = _bulk_photos(family, bob, 2970, "bobs")
    theirs = _bulk_photos(other_family, mallory, 300, "theirs")
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((len(mine) + len(bobs), dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    query = vectors[0] + 0.05 * rng.standard_normal(dim).astype(np.float32)
    query /= np.linalg.norm(query)
    for ids, fam, vecs in ((mine + bobs, family, vectors), (theirs, other_family, np.tile(query, (len(theirs), 1)))):
        # The index is made before the rows, as the worker does (and a rolled-back test may have left the
        # process believing it exists): the graph grows one insert at a time.
        vector_index._ensured.clear()
        with transaction.atomic():
            vector_index.ensure_index(model_name=toy_model, dim=dim, family_id=fam.pk)
        PhotoEmbedding.objects.bulk_create([PhotoEmbedding(photo_id=pk, family=fam, model_name=toy_model, vector=v)
                                            for pk, v in zip(ids, vecs)], batch_size=1000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE search_photoembedding")
        cursor.execute("ANALYZE gallery_photo")
        # Left alone, the planner may read alice's 30 rows through the photo index and sort them: exact, and
        # no test of the vector index. Make sorting look dear so it walks the family's HNSW index instead.
        cursor.execute("SET LOCAL enable_sort = off")

    only_alice = Scope((family.pk,), uploader_id=alice.pk)
    seen = {}

    def look(execute, sql, params, many, context):
        """Alongside the walk: its plan, and what the same walk returns without the iterative scan."""
        if "ORDER BY" in sql:
            raw = context["cursor"].cursor
            raw.execute("EXPLAIN " + sql, params)
            seen["plan"] = "\n".join(row[0] for row in raw.fetchall())
            raw.execute("SET LOCAL hnsw.iterative_scan = off")
            raw.execute(sql, params)
            seen["rows_without_iterative_scan"] = len(raw.fetchall())
            raw.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(look), transaction.atomic():
        found = nearest_photos(model_name=toy_model, dim=dim, vector=query, scope=only_alice, limit=20)
    assert len(found) == 20 and set(found) <= set(mine)  # mallory's identical vectors are another family's
    exact = {mine[i] for i in np.argsort(-(vectors[: len(mine)] @ query))[:20]}
    assert len(set(found) & exact) >= 18  # approximate search, but nearly exact here
    assert list(found.values()) == sorted(found.values(), reverse=True)
    assert vector_index.index_name(toy_model, family.pk) in seen["plan"], seen["plan"]
    # Control: without the iterative scan the same plan starves (alice holds 1% of the family's rows).
    assert seen["rows_without_iterative_scan"] < 20

    settings.SEARCH_NEIGHBOURS = 20
    response = search_photos(user=alice, params=SearchParams(query="red circle", limit=20, min_score=0,
                                                             expansion_enabled=False, uploader_id=alice.pk))
    assert response.semantic_available
    assert len(response.results) == 20 and {r.photo.pk for r in response.results} <= set(mine)


# --- more than a page ----------------------------------------------------------------------------


def test_a_search_with_more_matches_than_a_page_says_so_and_shows_the_next_ones_on_request(shapes, client_for,
                                                                                          alice):
    """The page holds `limit` results (60). When more matched it still said "60 photos for “circle”" as if that
    were all of them (78 matched in the QA trial), and the others could not be reached from the page at all. It
    now says these are the best ones and links to the next ones (href beside hx-get), until every match is shown."""
    total = len(search_photos(user=alice, params=SearchParams(query="red circle", limit=100)).results)
    assert total >= 3  # precondition
    client = client_for(alice)
    body = client.get(reverse("search:search"), {"q": "red circle", "limit": 2}).content.decode()
    assert len(_result_blocks(body)) == 2
    summary = _text(re.search(r'<p class="summary muted"[^>]*>(.*?)</p>', body, re.S).group(1))
    assert summary.startswith("The best 2 photos for “red circle”")
    more = re.search(r'<p class="more-note">(.*?)</p>', body, re.S).group(1)
    raw_href = re.search(r'href="([^"]+)"', more).group(1)
    assert f'hx-get="{raw_href}"' in more
    href = unescape(raw_href)
    assert "q=red+circle" in href and "limit=62" in href  # one more page
    for headers in ({}, HTMX):
        page = client.get(reverse("search:search") + href, headers=headers).content.decode()
        assert len(_result_blocks(page)) == total
        assert 'class="more-note"' not in page
        assert f"{total} photos for “red circle”" in _text(page) and "The best" not in _text(page)
    # A page that holds every match exactly offers nothing more.
    exact = client.get(reverse("search:search"), {"q": "red circle", "limit": total}).content.decode()
    assert len(_result_blocks(exact)) == total and 'class="more-note"' not in exact
    # A hand-edited limit is dropped, never a 500: the usual page.
    for bad in ("0", "-1", "abc", "100000"):
        assert len(_result_blocks(client.get(reverse("search:search"), {"q": "red circle", "limit": bad})
                                  .content.decode())) == total


# --- weaker matches ------------------------------------------------------------------------------


def test_a_search_nothing_matches_offers_no_weaker_matches_at_zero(shapes, client_for, alice):
    """Photos with no evidence at all (image match and metadata both ~0) are not "weaker matches"."""
    assert not any(map(_has_evidence, search_photos(
        user=alice, params=SearchParams(query="zebra", min_score=0, limit=100)).results))  # precondition
    response = search_photos(user=alice, params=SearchParams(query="zebra", min_score=0.2, show_hidden=True,
                                                             limit=100))
    assert response.results == [] and response.hidden_count == 0
    body = client_for(alice).get(reverse("search:search"), {"q": "zebra"}).content.decode()
    assert "weaker match" not in body
    assert "Nothing matches “zebra”. Try other words, or fewer filters." in _text(body)
    shown = client_for(alice).get(reverse("search:search"), {"q": "zebra", "show_hidden": "1"}).content.decode()
    assert _result_blocks(shown) == {}


def test_weaker_matches_count_and_show_only_photos_with_some_evidence(shapes, client_for, alice):
    everything = search_photos(user=alice, params=SearchParams(query="red circle", min_score=0, limit=100)).results
    with_evidence = {r.photo.pk for r in everything if _has_evidence(r)}
    assert 2 <= len(with_evidence) < len(everything)  # precondition: some candidates carry nothing
    SearchPreferences.objects.create(user=alice, min_score=1.0)
    client = client_for(alice)
    body = client.get(reverse("search:search"), {"q": "red circle"}).content.decode()
    match = re.search(r"Show (\d+) weaker match(es)?", body)
    assert match and int(match.group(1)) == len(with_evidence)
    shown = client.get(reverse("search:search"), {"q": "red circle", "show_hidden": "1"}).content.decode()
    assert set(_result_blocks(shown)) == with_evidence


def test_filters_without_words_say_the_filters_narrow_a_search_and_offer_the_tags_photos(shapes, client_for, alice):
    """A tag, country or date chosen with the box empty searched nothing and showed only the generic prompt, as if
    the filter had been ignored (QA): the page says the filters only narrow a search, and a tag (or favourites) links
    to the timeline that lists exactly those photos."""
    client = client_for(alice)
    body = _text(client.get(reverse("search:search"), {"q": "", "tag": "green birthday"}).content.decode())
    assert "Type what you remember" not in body
    assert "The filters only narrow a search" in body
    page = client.get(reverse("search:search"), {"q": "", "tag": "green birthday"}).content.decode()
    link = re.search(r'<a href="([^"]+)">Every photo tagged “green birthday”', page)
    assert link, "a link to the tag's photos on the timeline"
    timeline = client.get(unescape(link.group(1))).content.decode()
    assert f'/photos/{shapes["party"].pk}/' in timeline and f'/photos/{shapes["blue square"].pk}/' not in timeline
    dated = _text(client.get(reverse("search:search"), {"after": "2020-01-01"}).content.decode())
    assert "The filters only narrow a search" in dated and "Every photo tagged" not in dated
    # The bare page still invites a search as before.
    assert "Type what you remember" in _text(client.get(reverse("search:search")).content.decode())
    favourites = _text(client.get(reverse("search:search"), {"favourite": "1"}).content.decode())
    assert "All your favourites are on the Photos page." in favourites


def test_a_country_chosen_without_words_offers_the_countrys_photos_on_the_photos_page(shapes, client_for, alice,
                                                                                      mallory):
    """A new family filtering its search by country with the box empty was told to type something, with no way to its
    photos of that country, which the Photos page lists (?country=) as it lists a tag's (QA)."""
    Photo.objects.filter(pk__in=[shapes["blue square"].pk, shapes["party"].pk]).update(
        place_country="Portugal", place_country_code="PT")
    client = client_for(alice)
    page = client.get(reverse("search:search"), {"q": "", "country": "PT"}).content.decode()
    link = re.search(r'<a href="([^"]+)">Every photo taken in Portugal</a> is on the Photos page', page)
    assert link, "a link to the country's photos on the timeline"
    timeline = client.get(unescape(link.group(1))).content.decode()
    assert f'/photos/{shapes["blue square"].pk}/' in timeline and f'/photos/{shapes["party"].pk}/' in timeline
    assert f'/photos/{shapes["green circle"].pk}/' not in timeline
    # With a tag too, the link keeps both.
    page = client.get(reverse("search:search"), {"q": "", "country": "PT", "tag": "green birthday"}).content.decode()
    link = re.search(r'<a href="([^"]+)">Every photo tagged “green birthday” taken in Portugal</a>', page)
    assert link
    timeline = client.get(unescape(link.group(1))).content.decode()
    assert f'/photos/{shapes["party"].pk}/' in timeline and f'/photos/{shapes["blue square"].pk}/' not in timeline
    # Another family's member, none of whose photos is in Portugal, is offered no such link (nor the country).
    other = client_for(mallory).get(reverse("search:search"), {"q": "", "country": "PT"}).content.decode()
    assert "Every photo taken in" not in other and "Portugal" not in other


@pytest.mark.parametrize("photos", [2, 6])
def test_the_search_forms_uploaders_and_countries_read_few_rows_in_the_same_few_queries(
        client_for, family, alice, bob, other_family, mallory, photos, django_assert_max_num_queries):
    """The countries were a DISTINCT that kept every photo (the photos' order put their dates and ids in it), the
    uploaders a DISTINCT over the join with every photo: a quarter of a second at 100,000 photos."""
    from tests.factories import UserFactory, MembershipFactory, photo_factory

    MembershipFactory(family=family, user=UserFactory(username="carol"))  # a member who uploaded nothing
    made = [photo_factory(family=family, user=alice if n else bob) for n in range(photos)]
    for n, photo in enumerate(made):
        Photo.objects.filter(pk=photo.pk).update(place_country_code="PT" if n % 2 else "ES",
                                                 place_country="Portugal" if n % 2 else "Spain")
    theirs = photo_factory(family=other_family, user=mallory)
    Photo.objects.filter(pk=theirs.pk).update(place_country_code="FR", place_country="France")
    client = client_for(alice)
    client.get(reverse("search:search"))
    with django_assert_max_num_queries(16):
        body = client.get(reverse("search:search")).content.decode()
    uploader = body.split('name="uploader"')[1].split("</select>")[0]
    country = body.split('name="country"')[1].split("</select>")[0]
    assert re.findall(r'<option value="\d+">([^<]+)</option>', uploader) == ["alice", "bob"]
    assert re.findall(r'<option value="([A-Z]{2})"', country) == ["PT", "ES"]  # by name, once each, no France


def test_a_search_as_one_types_reads_neither_the_uploaders_nor_the_countries(shapes, client_for, alice, mallory,
                                                                             other_family):
    """Every search (each key typed, "Show more", each step of the viewer over results) read the form's lists of
    uploaders and countries, drawn only by the whole page: about 0.1 s of each at 100,000 photos."""
    from django.test.utils import CaptureQueriesContext

    Photo.objects.filter(pk=shapes["party"].pk).update(place_country_code="PT", place_country="Portugal")
    client = client_for(alice)
    client.get(reverse("search:search"), {"q": "red"}, headers=HTMX)
    with CaptureQueriesContext(connection) as queries:
        body = client.get(reverse("search:search"), {"q": "red"}, headers=HTMX).content.decode()
    sent = [q["sql"] for q in queries.captured_queries]
    assert not any("place_country_code" in sql for sql in sent)
    assert not any("auth_user" in sql and "uploaded_by_id" in sql for sql in sent)
    assert 'class="grid results-grid"' in body
    # A country or uploader sent is still checked against the user's own (another family's is not one of them).
    assert client.get(reverse("search:search"), {"q": "red", "country": "PT"}, headers=HTMX).status_code == 200
    chips = _text(client.get(reverse("search:search"), {"q": "red", "country": "PT"}).content.decode())
    assert "Portugal" in chips
    refused = client.get(reverse("search:search"), {"q": "red", "uploader": str(mallory.pk)})
    assert refused.status_code == 200 and "mallory" not in refused.content.decode()


def test_someone_in_no_family_is_told_so_not_to_try_other_words(client_for, db):
    """A member who left their only family (or was removed) searched and read "Nothing matches “red”. Try other
    words, or fewer filters.", with "Save as smart album" for no family. The page says what the others say now."""
    from tests.factories import UserFactory

    client = client_for(UserFactory(username="loner"))
    for query, headers in (("red", {}), ("red", HTMX), ("", {})):
        body = client.get(reverse("search:search"), {"q": query}, headers=headers).content.decode()
        assert "You are not in any family yet." in body
        assert "Nothing matches" not in body and "Save as smart album" not in body
    # Nor a "Search quality" link to a page that is a 404 for them (the quality of no family's search).
    assert reverse("search:quality_index") not in body


def test_the_search_form_shows_no_template_comment(shapes, client_for, alice):
    """A {# … #} comment written over two lines is no comment to Django: the search form showed its words ("{# A
    checkbox searches on its own; …") above "Favourites only", on every search page. No template may hold one."""
    from pathlib import Path

    from django.conf import settings

    body = client_for(alice).get(reverse("search:search"), {"q": "red"}).content.decode()
    assert "{#" not in body and "#}" not in body
    unclosed = [f"{path.relative_to(settings.BASE_DIR)}:{number}"
                for path in Path(settings.BASE_DIR, "templates").rglob("*.html")
                for number, line in enumerate(path.read_text().splitlines(), start=1)
                if "{#" in line and "#}" not in line.split("{#", 1)[1]]
    assert unclosed == []


@pytest.mark.parametrize(("path", "query", "name"), [
    ("search:search", "q=red+circle&family={family}&family={other}", "family"),
    ("search:search", "q=red+circle&q=blue+square", "q"),
    ("search:search", "q=red+circle&tag=a&tag=b", "tag"),
    ("search:search", "q=red+circle&after=2020-01-01&after=2021-01-01", "after"),
    ("search:search", "q=red+circle&sort=newest&sort=oldest", "sort"),
    ("search:search_report", "q=red+circle&family={family}&family={other}", "family"),
    ("search:search_report", "q=red+circle&family={family}&uploader=1&uploader=2", "uploader"),
])
@pytest.mark.parametrize("headers", [{}, HTMX])
def test_a_parameter_of_one_value_given_twice_is_said_on_the_page(shapes, client_for, alice, family, other_family,
                                                                   path, query, name, headers):
    """`?family=1&family=2` (a hand-edited link, a script's list) was read as its last value alone: the page searched
    one family where two were asked, without a word, where the API answers 400 naming the parameter. The page says
    so (400), and searches nothing rather than another search than was asked."""
    from tests.factories import MembershipFactory

    MembershipFactory(family=other_family, user=alice)
    url = f"{reverse(path)}?{query.format(family=family.pk, other=other_family.pk)}"

    response = client_for(alice).get(url, headers=headers)

    assert response.status_code == 400
    page = unescape(response.content.decode())
    assert f"Give “{name}” once: it takes one value." in page
    assert 'class="tile"' not in page
    assert f'<option value="{other_family.pk}" selected>' not in page  # (the last value, shown as if it were read)


def test_refine_and_plain_words_still_take_several_values(shapes, client_for, alice):
    photos = list(Photo.objects.filter(family__name="Smiths").values_list("pk", flat=True)[:2])
    query = "q=red+circle&plain=red&plain=circle&" + "&".join(f"like={pk}" for pk in photos)

    response = client_for(alice).get(f"{reverse('search:search')}?{query}")

    assert response.status_code == 200
    assert "once: it takes one value" not in unescape(response.content.decode())


def test_the_search_page_reads_the_users_families_once(client_for, family, alice, other_family):
    """The search form's family filter and the selection bar's "New album…" family choice each read the user's
    families (the bar's read them again as it was drawn): one query more on every search page."""
    from django.test.utils import CaptureQueriesContext

    from tests.factories import MembershipFactory, photo_factory

    MembershipFactory(family=other_family, user=alice)  # a member of two: the bar asks which family
    photo_factory(family=family, user=alice)
    client = client_for(alice)
    client.get(reverse("search:search"), {"q": "beach"})
    with CaptureQueriesContext(connection) as queries:
        body = client.get(reverse("search:search"), {"q": "beach"}).content.decode()
    assert 'name="new_album_family"' in body and 'name="family"' in body
    family_lists = [q["sql"] for q in queries.captured_queries
                    if '"admin_names"' in q["sql"] and 'FROM "gallery_family"' in q["sql"]]
    assert len(family_lists) == 1, family_lists


def test_the_search_forms_uploaders_keep_someone_who_left_the_family_for_its_members_only(client_for, family, alice,
                                                                                          bob, mallory):
    """The page's side of the API's `uploaders` (gallery.selectors.family_uploaders, one selector for both): bob left
    the Smiths, his photos stay theirs, and "Uploaded by" still offers him to alice, never to mallory of the Joneses.
    (A guard: the page had no such gap, the API had.)"""
    from gallery.services import membership_remove
    from tests.factories import photo_factory

    photo_factory(family=family, user=bob)
    membership_remove(family=family, user=bob)

    def uploaders(user) -> list[str]:
        body = client_for(user).get(reverse("search:search")).content.decode()
        select = body.split('name="uploader"')[1].split("</select>")[0]
        return re.findall(r'<option value="\d+">([^<]+)</option>', select)

    assert uploaders(alice) == ["bob"]
    assert uploaders(mallory) == []
