"""Whatever is typed or put in the URL, search answers with a page (or JSON) that says what happened: never a 500,
never SQL run from the query, and metadata search keeps working when the model is missing."""

from __future__ import annotations

from html import unescape

import pytest
from django.db import connection
from django.urls import reverse

from gallery.models import Photo
from search.embedder import reset_embedder
from search.engine import MAX_QUERY_CHARS
from tests.queue import run_queued_tasks

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
PROMPT = "Type what you remember about a photo"
NOTHING = "Nothing matches"
FOUND = 'class="grid results-grid"'

ODD_QUERIES = {
    "empty": "",
    "whitespace": " \t \n  ",
    "5000-chars": ("red circle " * 500)[:5000],
    "emoji": "🎉🐶🌅 birthday 🎂",
    "only-emoji": "👨‍👩‍👧‍👦",
    "quotes": "grandma's \"best\" cake",
    "sql-drop": "'; DROP TABLE gallery_photo; --",
    "sql-or": '" OR 1=1',
    "stop-words": "the of and",
    "tsquery-operators": "a & | ! (",
    "unbalanced-quote": '"unbalanced',
    "lone-minus": "-",
    "or-or": "or or",
    "tsquery-syntax": "red:* <-> !circle & (",
    "backslashes": "\\\\ \\' %s %(q)s {}",
    "html": "<script>alert('x')</script>",
    "accents": "crème brûlée à Noël",
    "percent-and-underscore": "100% _fun_",
    # PostgreSQL's websearch_to_tsquery nests a NOT per "-" and fails past 32 in a row ("tsquery stack too small").
    "dash-run": "-" * 40,
    "dash-run-before-a-word": "red " + "-" * 40 + "dog",
    "spaced-dashes": " ".join(["--"] * 40) + " cake",
}


@pytest.fixture
def photos(toy_model, add_shape, django_capture_on_commit_callbacks):
    """A few embedded photos, one tagged, so both the semantic and the metadata paths have something to do."""
    with django_capture_on_commit_callbacks(execute=True):
        made = [add_shape("red", "circle"), add_shape("blue", "square", tags=["birthday"], description="grandma's cake")]
    run_queued_tasks()
    return made


def _table_intact(expected: int) -> None:
    assert "gallery_photo" in connection.introspection.table_names()
    assert Photo.objects.count() == expected


def _says_something_clear(body: str, query: str) -> None:
    """One of: the prompt to type something, the results, "nothing matches" naming the query, or, for punctuation
    alone, that it holds nothing to search for."""
    stripped = " ".join(query.split())
    if not stripped:
        assert PROMPT in body and FOUND not in body
    elif not any(ch.isalnum() for ch in stripped) and set(stripped) <= set("-–—?!.… "):
        assert f"Nothing to search for in “{stripped}”" in body and FOUND not in body
    else:
        assert FOUND in body or NOTHING in body
        assert ' photo for “' in body or ' photos for “' in body or NOTHING in body


def test_odd_queries_never_fail_on_page_partial_or_api(photos, client_for, alice, api):
    # One test over every query (the setup costs more than the requests); problems are collected per query.
    client = client_for(alice)
    problems = []
    for name, query in ODD_QUERIES.items():
        full = client.get(reverse("search:search"), {"q": query})
        partial = client.get(reverse("search:search"), {"q": query}, headers=HTMX)
        from_api = api.get(reverse("api_search"), {"q": query})
        statuses = [full.status_code, partial.status_code, from_api.status_code]
        if statuses != [200, 200, 200]:
            problems.append((name, statuses))
            continue
        try:
            full_body, partial_body = full.content.decode(), partial.content.decode()
            assert "<html" in full_body and "<html" not in partial_body
            for body in (full_body, partial_body):
                _says_something_clear(body, query)
                assert "<script>alert" not in body  # the query is echoed escaped
            body = from_api.json()
            assert body["query"] == " ".join(query.split())[:MAX_QUERY_CHARS]
            assert isinstance(body["results"], list) and body["hidden_count"] >= 0
        except AssertionError as exc:
            problems.append((name, str(exc)[:300]))
    assert problems == []
    _table_intact(len(photos))


def test_a_5000_character_query_is_cut_and_the_page_says_so(photos, client_for, alice, api):
    query = ODD_QUERIES["5000-chars"]
    assert len(query) == 5000
    for headers in ({}, HTMX):
        body = client_for(alice).get(reverse("search:search"), {"q": query}, headers=headers).content.decode()
        assert f"only its first {MAX_QUERY_CHARS} characters were used" in body
    short = client_for(alice).get(reverse("search:search"), {"q": "red circle"}).content.decode()
    assert "characters were used" not in short
    assert len(api.get(reverse("api_search"), {"q": query}).json()["query"]) == MAX_QUERY_CHARS


def test_sql_looking_text_is_searched_for_as_text_and_drops_nothing(photos, client_for, alice, api):
    for query in ("'; DROP TABLE gallery_photo; --", '" OR 1=1', "1; DELETE FROM search_photoembedding"):
        client_for(alice).get(reverse("search:search"), {"q": query, "tag": query[:60]})
        api.get(reverse("api_search"), {"q": query, "tag": query[:60]})
    _table_intact(len(photos))
    assert all(photo.embeddings.exists() for photo in photos)


def test_a_nul_character_is_refused_politely(photos, client_for, alice, api):
    # PostgreSQL text can't hold NUL: it must be stopped before the database sees it, whichever door it comes by.
    client = client_for(alice)
    for params in ({"q": "red\x00circle"}, {"q": "red circle", "tag": "a\x00b"}):
        assert client.get(reverse("search:search"), params).status_code == 200, params
        assert client.get(reverse("search:search"), params, headers=HTMX).status_code == 200, params
    assert api.get(reverse("api_search"), {"q": "red\x00circle"}).status_code == 400
    assert api.get(reverse("api_search"), {"q": "red circle", "tag": "a\x00b"}).status_code == 400
    for url in (reverse("search:preferences"), reverse("search:preferences_preview")):
        response = client.get(url, {"preview_q": "red\x00circle", "semantic_weight": "0.6", "metadata_weight": "0.4",
                                    "min_score": "0"})
        assert response.status_code == 200, url
    _table_intact(len(photos))


def test_a_nul_character_in_the_query_is_said_on_the_page_not_taken_for_an_empty_search(photos, client_for, alice):
    client = client_for(alice)
    for headers in ({}, HTMX):
        page = client.get(reverse("search:search"), {"q": "red\x00circle"}, headers=headers).content.decode()
        assert "Null characters are not allowed." in page
        assert "Type what you remember" not in page


# Every text parameter of the search (the form's and the API's): a NUL in any of them is refused as in q, never
# dropped so that the rest is searched as if it had not been typed.
NUL_TEXT_FIELDS = {"tag": "birth\x00day", "place": "Lis\x00bon", "like": "1\x00", "unlike": "\x002"}


@pytest.mark.parametrize("name", NUL_TEXT_FIELDS)
def test_a_nul_character_in_any_text_field_is_said_and_nothing_is_searched(photos, client_for, alice, name):
    client = client_for(alice)
    params = {"q": "birthday", name: NUL_TEXT_FIELDS[name]}
    for headers in ({}, HTMX):
        body = client.get(reverse("search:search"), params, headers=headers).content.decode()
        assert "Null characters are not allowed." in body, headers
        assert FOUND not in body and "Nothing matches" not in body, headers  # no results from the rest of the form
        assert "Type what you remember" not in body, headers
    if name in ("tag", "place"):  # a field the page shows: its error is next to it, and it is marked invalid
        page = client.get(reverse("search:search"), params).content.decode()
        assert f'aria-describedby="{name}-error"' in page and 'aria-invalid="true"' in page
        assert f'<span class="field-error" id="{name}-error">Null characters are not allowed.</span>' in page


def test_a_nul_character_in_a_plain_phrase_is_refused_too(photos, client_for, alice):
    body = client_for(alice).get(reverse("search:search"), {"q": "birthday", "plain": "birth\x00day"}).content.decode()
    assert "Null characters are not allowed." in body and FOUND not in body


def test_a_nul_character_in_the_preferences_preview_search_is_said_and_nothing_is_previewed(photos, client_for,
                                                                                         alice):
    client = client_for(alice)
    sliders = {"semantic_weight": "0.6", "metadata_weight": "0.4", "min_score": "0"}
    for url in (reverse("search:preferences"), reverse("search:preferences_preview")):
        body = client.get(url, {"preview_q": "birth\x00day", **sliders}).content.decode()
        assert "Null characters are not allowed." in body, url
        assert 'class="preview-list"' not in body and "Type a search in the form" not in body, url
    found = client.get(reverse("search:preferences_preview"), {"preview_q": "birthday", **sliders}).content.decode()
    assert f'data-photo="{photos[1].pk}"' in found and "Null characters" not in found


@pytest.mark.parametrize("name", [*NUL_TEXT_FIELDS, "q", "country", "plain"])
def test_a_nul_character_in_any_api_parameter_is_a_400_that_names_it(photos, api, name):
    params = {"q": "birthday", name: {"q": "birth\x00day", "country": "P\x00T", "plain": "birth\x00day"}.get(
        name, NUL_TEXT_FIELDS.get(name))}
    response = api.get(reverse("api_search"), params)
    assert response.status_code == 400, response.content[:300]
    assert set(response.json()) == {name}


INVALID_PAGE_FILTERS = {
    "family-abc": {"family": "abc"},
    "family-huge": {"family": str(2**70)},
    "uploader-abc": {"uploader": "abc"},
    "after-not-a-date": {"after": "not-a-date"},
    "before-impossible": {"before": "2023-02-30"},
    "sort-bogus": {"sort": "bogus"},
    "show-hidden-odd": {"show_hidden": "maybe"},
    "tag-too-long": {"tag": "x" * 500},
}
# (A filter of one value given twice, family=1&family=2, is no longer dropped but said, with a 400:
# search/tests/test_search_pages.py::test_a_parameter_of_one_value_given_twice_is_said_on_the_page.)


def test_invalid_filters_on_the_page_are_dropped_and_the_query_still_runs(photos, client_for, alice):
    client = client_for(alice)
    problems = []
    for name, filters in INVALID_PAGE_FILTERS.items():
        for headers in ({}, HTMX):
            response = client.get(reverse("search:search"), {"q": "birthday", **filters}, headers=headers)
            if response.status_code != 200:
                problems.append((name, headers, response.status_code))
                continue
            body = response.content.decode()
            if FOUND not in body or f'data-photo="{photos[1].pk}"' not in body:  # the tagged photo is still found
                problems.append((name, headers, "no results"))
    assert problems == []
    _table_intact(len(photos))


def test_a_date_range_that_ends_before_it_starts_finds_nothing_and_says_so(photos, client_for, alice):
    response = client_for(alice).get(reverse("search:search"), {"q": "birthday", "after": "2024-01-01", "before": "2020-01-01"})
    assert response.status_code == 200
    assert "Nothing matches “birthday”" in response.content.decode()


def test_a_bad_date_keeps_the_query_and_the_other_filters(photos, client_for, alice):
    tagged = photos[1]
    body = client_for(alice).get(reverse("search:search"), {"q": "birthday", "after": "not-a-date", "tag": "birthday"}).content.decode()
    assert f'data-photo="{tagged.pk}"' in body and f'data-photo="{photos[0].pk}"' not in body  # tag filter kept


INVALID_API_PARAMS = {
    "family-abc": {"family": "abc"},
    "uploader-abc": {"uploader": "abc"},
    "after-not-a-date": {"taken_after": "not-a-date"},
    "before-impossible": {"taken_before": "2023-02-30"},
    "sort-bogus": {"sort": "bogus"},
    "limit-zero": {"limit": "0"},
    "limit-huge": {"limit": "100000"},
    "limit-abc": {"limit": "abc"},
    "min-score-above-1": {"min_score": "1.5"},
    "min-score-nan": {"min_score": "nan"},
    "min-score-negative": {"min_score": "-0.1"},
    "tag-too-long": {"tag": "x" * 500},
}


@pytest.mark.parametrize("params", INVALID_API_PARAMS.values(), ids=INVALID_API_PARAMS.keys())
def test_invalid_api_parameters_are_a_400_that_names_the_field(api, params):
    response = api.get(reverse("api_search"), {"q": "birthday", **params})
    assert response.status_code == 400, response.content[:300]
    assert set(response.json()) == set(params)


def test_the_last_day_a_date_can_name_is_no_bound_not_a_500(photos, client_for, alice, api):
    """"Taken until 9999-12-31" was searched as "before the day after", which no date can name (a 500). Nothing is
    taken after it: the filter excludes nothing."""
    tagged = photos[1]
    client = client_for(alice)
    for headers in ({}, HTMX):
        response = client.get(reverse("search:search"), {"q": "birthday", "before": "9999-12-31"}, headers=headers)
        assert response.status_code == 200
        assert f'data-photo="{tagged.pk}"' in response.content.decode()
    response = api.get(reverse("api_search"), {"q": "birthday", "taken_before": "9999-12-31", "min_score": 0})
    assert response.status_code == 200
    assert tagged.pk in [result["id"] for result in response.json()["results"]]


def test_ids_that_exist_nowhere_give_nothing_on_page_and_api(photos, client_for, alice, api):
    huge = str(2**70)
    for params in ({"uploader": huge}, {"uploader": "-1"}):
        response = api.get(reverse("api_search"), {"q": "birthday", "min_score": 0, **params})
        assert response.status_code == 200 and response.json()["results"] == [], params
    for family in (huge, "0"):  # a family filter naming no family of the user: 404, as on every list of the API
        response = api.get(reverse("api_search"), {"q": "birthday", "min_score": 0, "family": family})
        assert response.status_code == 404 and "detail" in response.json(), family
    for params in ({"family": huge}, {"uploader": huge}):
        assert client_for(alice).get(reverse("search:search"), {"q": "birthday", **params}).status_code == 200


def test_smart_search_off_still_finds_a_tag_and_every_page_says_so(settings, add_shape, client_for, alice, api):
    settings.SEARCH_MODEL = "/nonexistent"
    reset_embedder()
    try:
        tagged = add_shape("green", "triangle", tags=["birthday"])
        add_shape("red", "circle")
        client = client_for(alice)
        for headers in ({}, HTMX):
            response = client.get(reverse("search:search"), {"q": "birthday"}, headers=headers)
            body = response.content.decode()
            assert response.status_code == 200
            assert "Smart search is off" in body and "/nonexistent" in body
            assert f'data-photo="{tagged.pk}"' in body
            assert "(smart search is off)" in body  # the explain panel says why there is no image match

        body = api.get(reverse("api_search"), {"q": "birthday"}).json()
        assert body["semantic_available"] is False and "/nonexistent" in body["semantic_message"]
        assert [r["id"] for r in body["results"]] == [tagged.pk]
        explanation = body["results"][0]["explanation"]
        assert explanation["probability"] is None and explanation["meta_fields"] == ["tags"]
        # What is known is all there is: the score is the metadata's probability (a tag: ≥ 0.8).
        assert explanation["score"] == pytest.approx(explanation["probability_metadata"])
        assert explanation["score"] >= 0.8

        for query in ODD_QUERIES.values():  # the metadata-only path copes with odd text too
            assert client.get(reverse("search:search"), {"q": query}).status_code == 200
        preview = client.get(reverse("search:preferences_preview"), {"preview_q": "birthday", "semantic_weight": "0.6",
                                                                      "metadata_weight": "0.4", "min_score": "0"})
        assert preview.status_code == 200 and str(tagged) in preview.content.decode()
    finally:
        reset_embedder()


def test_the_search_box_takes_no_more_than_is_used_and_the_longest_query_fits_the_web_servers_request_line(
        client_for, alice):
    """A search box longer than what is used let 800 Cyrillic letters become a URL past gunicorn's request-line
    limit (4094 bytes by default): a 414 that left the previous results on screen."""
    from urllib.parse import urlencode

    from mediasearch import gunicorn_conf

    page = client_for(alice).get(reverse("search:search")).content.decode()
    assert f'aria-label="Search" maxlength="{MAX_QUERY_CHARS}"' in page
    longest = "/search/?" + urlencode({"q": "🙂" * MAX_QUERY_CHARS, "tag": "x" * 64, "place": "y" * 100,
                                       "after": "2020-01-01", "before": "2020-12-31", "sort": "relevance",
                                       "like": ",".join(["9" * 18] * 50), "unlike": ",".join(["9" * 18] * 50)})
    assert len(f"GET {longest} HTTP/1.1") <= gunicorn_conf.limit_request_line


# Punctuation alone is no word: the model reads "-" or "?!" as some picture all the same, and listed nearly every
# photo at about 0.99 for it. A query with no word to search for says so, on the page and in the API.
NO_WORDS = ("-", "?!", "...", "—", "- ?! …")


@pytest.mark.parametrize("query", NO_WORDS)
def test_a_query_of_only_punctuation_says_there_is_nothing_to_search_for(photos, client_for, alice, api, query):
    client = client_for(alice)
    for headers in ({}, HTMX):
        body = client.get(reverse("search:search"), {"q": query}, headers=headers).content.decode()
        assert f"Nothing to search for in “{query}”" in body, headers
        assert FOUND not in body and "data-photo=" not in body, headers
        assert PROMPT not in body, headers  # not taken for an empty box either
    response = api.get(reverse("api_search"), {"q": query, "min_score": 0})
    assert response.status_code == 200
    body = response.json()
    assert body["results"] == [] and body["query"] == query
    assert body["message"].startswith(f"Nothing to search for in “{query}”")


def test_punctuation_beside_a_date_or_a_word_is_left_out_and_the_rest_searched(photos, client_for, alice, api):
    body = api.get(reverse("api_search"), {"q": f"{photos[0].taken_at.year} ?!", "min_score": 0}).json()
    assert body["message"] == "" and {r["id"] for r in body["results"]} == {p.pk for p in photos}
    body = api.get(reverse("api_search"), {"q": "birthday ?!"}).json()
    assert body["message"] == "" and [r["id"] for r in body["results"]][:1] == [photos[1].pk]


def test_curly_quotes_from_a_phone_keyboard_search_as_straight_ones_do(photos, api):
    # “red circle” (a phone curls the quotes as they are typed) found nothing: the model was asked for the quote
    # marks too, and the synonyms for "crimson circle”". Quotes mark a phrase for the words; the image half is
    # asked for the words alone.
    for query in ('“red circle”', '"red circle"', "„red circle“", "«red circle»"):
        body = api.get(reverse("api_search"), {"q": query}).json()
        assert [r["id"] for r in body["results"]][:1] == [photos[0].pk], query
        assert body["terms"][0] == "red circle" and not any('"' in term or "”" in term for term in body["terms"]), query


def test_a_preview_search_given_twice_is_said_and_nothing_is_previewed(photos, client_for, alice):
    """`?preview_q=birthday&preview_q=cake` previewed the last search alone, without a word, where the search page
    says so (OneValueEach): the preferences page and its preview say it (400) and preview nothing."""
    client = client_for(alice)
    sliders = {"semantic_weight": "0.6", "metadata_weight": "0.4", "min_score": "0"}
    for url in (reverse("search:preferences"), reverse("search:preferences_preview")):
        response = client.get(url, {"preview_q": ["cake", "birthday"], **sliders})
        body = unescape(response.content.decode())
        assert response.status_code == 400, url
        assert "Give “preview_q” once: it takes one value." in body, url
        assert 'class="preview-list"' not in body and 'value="birthday"' not in body, url
