"""The query box on the search page and in the API: chips, `interpreted`, filtered results, explicit filters
winning, removed and edited chips, the family's hemisphere and places, and isolation between families."""

from __future__ import annotations

import io
import random
import re
from html import unescape
from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from gallery.date_words import date_words
from gallery.models import Photo
from gallery.services import UploadResult, family_default_country_set, photo_create_from_bytes
from scripts.shapes import draw_shape
from search.family_places import family_places_rebuild
from search.models import FamilyPlace
from search.services import embed_photos
from search.understanding import parser_context
from tests.images import _dms

pytestmark = pytest.mark.django_db

LISBON = (38.7223, -9.1393)
LONDON = (51.5074, -0.1278)
SYDNEY = (-33.8688, 151.2093)


def shape_photo(family, user, colour, shape, where, taken, seed=0) -> Photo:
    """A shape image as a camera JPEG: GPS position and date in its EXIF."""
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = taken
    if where:
        latitude, longitude = where
        exif.get_ifd(0x8825).update({1: "N" if latitude >= 0 else "S", 2: _dms(latitude),
                                     3: "E" if longitude >= 0 else "W", 4: _dms(longitude)})
    out = io.BytesIO()
    draw_shape(colour, shape, size=96, rng=random.Random(seed)).convert("RGB").save(out, "JPEG", exif=exif)
    result = photo_create_from_bytes(family=family, uploaded_by=user, data=out.getvalue(), filename=f"IMG_{seed}.jpg")
    assert result.outcome == UploadResult.SAVED, result.reason
    return result.photo


@pytest.fixture
def trip(toy_model, family, alice):
    photos = {
        "lisbon 2023": shape_photo(family, alice, "red", "circle", LISBON, "2023:07:14 12:00:00", seed=1),
        "lisbon 2022": shape_photo(family, alice, "red", "circle", LISBON, "2022:07:14 12:00:00", seed=2),
        "london 2023": shape_photo(family, alice, "red", "circle", LONDON, "2023:05:02 12:00:00", seed=3),
        "blue lisbon 2023": shape_photo(family, alice, "blue", "square", LISBON, "2023:08:01 12:00:00", seed=4),
    }
    embed_photos(photo_ids=[photo.pk for photo in photos.values()])
    return photos


def _api(api, **params):
    response = api.get(reverse("api_search"), {"min_score": 0, **params})
    assert response.status_code == 200, response.content[:300]
    return response.json()


def _ids(body) -> list[int]:
    return [r["id"] for r in body["results"]]


def test_red_circle_in_lisbon_2023_makes_two_chips_and_filters(trip, api, alice, client_for):
    body = _api(api, q="red circle in Lisbon 2023")
    assert body["interpreted"] == {"places": ["Lisbon"], "not_places": [], "not_dates": [], "taken_after": "2023-01-01", "taken_before": "2023-12-31", "other_hemisphere": None,
                                   "periods": [], "days_of_year": [], "not_days_of_year": [],
                                   "excluded": [], "text": "red circle", "date_notes": [],
                                   "day_word_notes": [], "date_word_notes": []}
    assert _ids(body)[0] == trip["lisbon 2023"].pk
    assert set(_ids(body)) == {trip["lisbon 2023"].pk, trip["blue lisbon 2023"].pk}
    assert body["query"] == "red circle"

    page = client_for(alice).get(reverse("search:search"), {"q": "red circle in Lisbon 2023"}).content.decode()
    assert 'data-chip="lisbon"' in page and 'data-chip="2023"' in page
    assert "1 Jan – 31 Dec 2023" in page
    assert f'href="{trip["lisbon 2023"].get_absolute_url()}' in page
    assert f'href="{trip["london 2023"].get_absolute_url()}' not in page
    assert f'href="{trip["lisbon 2022"].get_absolute_url()}' not in page


def test_a_date_no_photo_can_have_is_said_on_the_page_and_in_the_api(trip, api, alice, client_for):
    """"summer 9999" searched summer photos of any year without a word: the page and the API say the year is no
    photo's, and that its words are searched as they are."""
    note = "No photo is from 9999 yet: “summer 9999” is searched as words."
    body = _api(api, q="summer 9999")
    assert body["interpreted"]["date_notes"] == [note] and body["interpreted"]["taken_after"] is None
    page = client_for(alice).get(reverse("search:search"), {"q": "summer 9999"}).content.decode()
    assert note in page
    partial = client_for(alice).get(reverse("search:search"), {"q": "31 february"}, HTTP_HX_REQUEST="true")
    assert "There is no 31 February: February has at most 29 days." in partial.content.decode()


def test_a_year_ahead_some_photo_of_the_family_is_dated_in_is_searched_not_said_to_be_no_photos(
        trip, api, alice, client_for, family, other_family, mallory, django_capture_on_commit_callbacks):
    """A camera set ahead dated a photo in June, five years from now: "june <that year>" said "No photo is from <that
    year> yet" (reckoned from today) and searched its words, though the photo is there. The years a date can name run
    to the family's latest photo when it is later than next year; another family's photos move nothing."""
    from django.utils import timezone

    ahead = timezone.localdate().year + 5
    dated = shape_photo(family, alice, "red", "circle", LISBON, f"{ahead}:06:10 12:00:00", seed=21)
    embed_photos(photo_ids=[dated.pk])
    body = _api(api, q=f"red circle june {ahead}")
    assert body["interpreted"]["date_notes"] == [], body["interpreted"]
    assert (body["interpreted"]["taken_after"], body["interpreted"]["taken_before"]) == (
        f"{ahead}-06-01", f"{ahead}-06-30")
    assert _ids(body) == [dated.pk]
    page = client_for(alice).get(reverse("search:search"), {"q": f"red circle june {ahead}"}).content.decode()
    assert f'data-chip="june {ahead}"' in page and "No photo is from" not in page
    later = _api(api, q=f"red circle june {ahead + 1}")  # (past the latest photo: said, as before)
    assert later["interpreted"]["date_notes"] == [
        f"No photo is from {ahead + 1} yet: “june {ahead + 1}” is searched as words."]
    # Mallory's family has no such photo: the year is still no photo's there.
    shape_photo(other_family, mallory, "red", "circle", LISBON, "2023:07:14 12:00:00", seed=22)
    assert parser_context(family_ids=[other_family.pk], query=f"june {ahead}").latest_year == \
        timezone.localdate().year + 1
    assert parser_context(family_ids=[family.pk], query=f"june {ahead}").latest_year == ahead
    # The camera's clock put right (the photo dated 2023 now): the year is no photo's again.
    from gallery.correction_services import photo_date_set

    with django_capture_on_commit_callbacks(execute=True):
        photo_date_set(photo=Photo.objects.get(pk=dated.pk), taken_at=trip["lisbon 2023"].taken_at)
    assert _api(api, q=f"red circle june {ahead}")["interpreted"]["date_notes"] == [
        f"No photo is from {ahead} yet: “june {ahead}” is searched as words."]


def test_a_day_of_every_year_is_a_chip_on_the_page_and_in_the_api(trip, api, alice, client_for):
    """"14 july" (and "not on 1 august") are days of every year: a chip each on the page, the days in `interpreted`."""
    body = _api(api, q="red circle 14 july not on 1 august")
    assert (body["interpreted"]["days_of_year"], body["interpreted"]["not_days_of_year"]) == (
        [{"month": 7, "day": 14}], [{"month": 8, "day": 1}])
    assert (body["interpreted"]["taken_after"], body["interpreted"]["text"]) == (None, "red circle")
    assert set(_ids(body)) == {trip["lisbon 2023"].pk, trip["lisbon 2022"].pk}
    page = client_for(alice).get(reverse("search:search"), {"q": "red circle 14 july not on 1 august"}).content.decode()
    taken = page[page.index('data-chip="14 july"'):]
    assert '<span class="chip-kind">Taken</span>' in taken[:200] and "14 Jul, any year" in taken[:400]
    left_out = page[page.index('<li class="chip chip-not_day_of_year" data-chip="-on 1 august"'):]
    assert '<span class="chip-kind">Left out</span>' in left_out[:200] and "1 Aug, any year" in left_out[:400]
    assert "Remove not on 1 august" in left_out
    removed = client_for(alice).get(reverse("search:search"), {"q": "red circle 14 july", "plain": "14 july"})
    assert 'data-chip="14 july"' not in removed.content.decode()


def test_a_country_chip_and_exclusions_in_the_api(trip, api):
    body = _api(api, q="red circle portugal -square")
    assert body["interpreted"]["places"] == ["Portugal"]
    assert body["interpreted"]["excluded"] == ["square"]
    assert body["interpreted"]["text"] == "red circle"
    assert set(_ids(body)) == {trip["lisbon 2023"].pk, trip["lisbon 2022"].pk, trip["blue lisbon 2023"].pk}


def test_a_query_of_only_a_place_and_a_year_lists_the_photos_there_then(trip, api):
    body = _api(api, q="Lisbon 2023")
    assert body["interpreted"]["text"] == ""
    assert set(_ids(body)) == {trip["lisbon 2023"].pk, trip["blue lisbon 2023"].pk}


def test_the_api_names_a_query_of_only_places_and_dates_as_typed_not_by_the_words_it_browses_with(trip, api):
    # The engine browses a filter by the words its photos carry ("Lisbon 2023", "1900s 1910s …"): the echo showed
    # those. It names what the query meant, as the page does ("2 photos for “Lisbon 2023”").
    for query in ("Lisbon  2023", "before 2024", "between 2022 and 2023", "summer 2023 in Lisbon"):
        body = _api(api, q=query)
        assert body["query"] == " ".join(query.split()) and body["message"] == "", query
        assert body["results"], query


def test_a_query_of_only_dates_scores_each_photo_in_them_as_one_year_does(trip, api):
    """A range lists each of its years for metadata search: a photo carries one of them, which must count as the
    whole query (as one year's does), not as one word of five, which hid every photo under the minimum score."""
    def metadata(body) -> dict[int, float]:
        return {r["id"]: r["explanation"]["probability_metadata"] for r in body["results"]}

    one_year = metadata(_api(api, q="2022"))
    assert set(one_year) == {trip["lisbon 2022"].pk} and one_year[trip["lisbon 2022"].pk] == pytest.approx(0.5)
    # ("2019 2023" was a range here; it is either year now, and "2019 2022 2023" holds every photo: 2019, and 2022-2023)
    for query in ("2019 2022 2023", "between 2018 and 2023", "since 2020"):
        body = api.get(reverse("api_search"), {"q": query}).json()  # the default minimum score
        assert set(_ids(body)) == {photo.pk for photo in trip.values()}, (query, body["hidden_count"])
        assert list(metadata(body).values()) == pytest.approx([0.5] * len(trip)), query
    # A place and a year: both words count, as before; a place and a range the same.
    lisbon = metadata(_api(api, q="Lisbon 2023"))
    assert set(lisbon) == {trip["lisbon 2023"].pk, trip["blue lisbon 2023"].pk}
    assert metadata(_api(api, q="Lisbon between 2021 and 2023")) == pytest.approx(
        {**lisbon, trip["lisbon 2022"].pk: lisbon[trip["lisbon 2023"].pk]})


def test_a_query_of_only_places_and_dates_is_no_image_match_for_the_words_it_browses_with(trip, api):
    # The engine browses a filter by the words its photos carry ("1900s 1910s … 2020s"), and the model read those as
    # a picture too: some photos of "between 1900 and 2025" scored 1.0 and came first, others 0.43, for nothing in
    # them. Every photo in the filter is listed alike; an exclusion still lowers those that show it.
    for query in ("between 1900 and 2025", "since 2020", "Lisbon", "portugal 2023"):
        body = _api(api, q=query)
        assert body["results"], query
        assert {r["explanation"]["probability_semantic"] for r in body["results"]} == {0.0}, query
        assert len({round(r["score"], 6) for r in body["results"]}) == 1, query
    lowered = _api(api, q="between 1900 and 2025 -square")
    square = trip["blue lisbon 2023"].pk
    assert _ids(lowered)[-1] == square and lowered["results"][-1]["explanation"]["excluded_probability"] > 0.5


def test_a_query_of_only_a_long_span_lists_its_old_photos_too(toy_model, family, alice, api):
    """A span of only dates was searched by the words of its last 60 years: "since 1950" missed a scan dated 1955
    (and "before 2020" every photo taken before 1960). A span longer than that is searched by its decades."""
    old = shape_photo(family, alice, "red", "circle", None, "1955:06:10 12:00:00", seed=11)
    new = shape_photo(family, alice, "blue", "square", LISBON, "2023:06:10 12:00:00", seed=12)
    embed_photos(photo_ids=[old.pk, new.pk])
    for query in ("since 1950", "before 2024", "between 1900 and 2025", "1930-2024"):
        body = api.get(reverse("api_search"), {"q": query}).json()  # the default minimum score
        assert set(_ids(body)) == {old.pk, new.pk}, query
        assert all(r["explanation"]["probability_metadata"] == pytest.approx(0.5) for r in body["results"]), query
    assert _ids(_api(api, q="since 1960")) == [new.pk]  # the span still filters
    # An end past the years photos can have: every photo up to it ("before 2030", "since 1700"), not the words.
    for query in ("before 2030", "since 1700", "from 1950 to 2040", "between 1000 and 9999"):
        body = api.get(reverse("api_search"), {"q": query}).json()
        assert set(_ids(body)) == {old.pk, new.pk}, query
        assert body["interpreted"]["date_notes"] == [], query
    assert _ids(_api(api, q="from 1960 to 2040")) == [new.pk]


def test_a_query_of_only_a_filter_is_named_as_typed_not_by_its_browse_words(trip, alice, client_for):
    client = client_for(alice)
    page = client.get(reverse("search:search"), {"q": "between 2021 and 2023"}).content.decode()
    assert "4 photos for “between 2021 and 2023”" in page and "<title>between 2021 and 2023 · Search" in page
    assert 'name="name" value="between 2021 and 2023"' in page  # "Save as smart album" suggests it as the name
    page = client.get(reverse("search:search"), {"q": "Lisbon 1990"}).content.decode()
    assert "Nothing matches “Lisbon 1990”" in page


def test_explicit_parameters_win_over_the_query(trip, api):
    body = _api(api, q="red circle in Lisbon 2023", place="London")
    assert body["interpreted"]["places"] == []
    assert _ids(body) == [trip["london 2023"].pk]
    body = _api(api, q="red circle in Lisbon 2023", country="GB")
    assert _ids(body) == [trip["london 2023"].pk]
    body = _api(api, q="red circle in Lisbon 2023", taken_after="2022-01-01", taken_before="2022-12-31")
    assert (body["interpreted"]["taken_after"], body["interpreted"]["taken_before"]) == ("2022-01-01", "2022-12-31")
    assert _ids(body) == [trip["lisbon 2022"].pk]


def test_a_chip_an_explicit_filter_replaces_says_so_on_the_page(trip, alice, client_for):
    """The page showed "Place Lisbon" and "Taken 2023" as in force while the Place filter (London) and the dates
    typed in "Taken from/until" replaced them: the results were London's, or 2022's, under chips that said otherwise.
    A chip the filters replace now says so."""
    client = client_for(alice)
    page = client.get(reverse("search:search"), {"q": "red circle in Lisbon 2023", "place": "London"}).content.decode()
    lisbon = page[page.index('data-chip="lisbon"'):]
    lisbon = lisbon[:lisbon.index("</li>")]
    assert "replaced by the Place and Country filters" in lisbon
    year = page[page.index('data-chip="2023"'):]
    assert "replaced by" not in year[:year.index("</li>")]
    page = client.get(reverse("search:search"), {"q": "red circle in Lisbon 2023", "after": "2022-01-01"}).content.decode()
    year = page[page.index('data-chip="2023"'):]
    assert "replaced by the Taken from/until filters" in year[:year.index("</li>")]
    assert "replaced by" not in client.get(reverse("search:search"), {"q": "red circle in Lisbon 2023"}).content.decode()


def test_a_removed_chip_stays_removed_in_the_url_and_its_words_are_text(trip, api, alice, client_for):
    client = client_for(alice)
    page = client.get(reverse("search:search"), {"q": "red circle in Lisbon 2023"}).content.decode()
    remove = next(line for line in page.splitlines() if 'class="chip-remove"' in line)
    url = remove.split('href="')[1].split('"')[0].replace("&amp;", "&")
    assert parse_qs(urlsplit(url).query)["plain"] == ["lisbon"]

    page = client.get(reverse("search:search") + url).content.decode()
    assert 'data-chip="lisbon"' not in page and 'data-chip="2023"' in page
    assert '<input type="hidden" name="plain" value="lisbon" form="search-form">' in page  # kept while typing
    body = _api(api, q="red circle in Lisbon 2023", plain="lisbon")
    assert body["interpreted"]["places"] == [] and body["interpreted"]["text"] == "red circle in Lisbon"
    assert trip["london 2023"].pk in _ids(body)  # only the year filters now
    body = _api(api, q="red circle in Lisbon 2023", plain="2023")
    assert set(_ids(body)) == {trip["lisbon 2023"].pk, trip["lisbon 2022"].pk, trip["blue lisbon 2023"].pk}


def test_editing_a_chip_rewrites_its_words_in_the_box(trip, alice, client_for):
    client = client_for(alice)
    search = reverse("search:search")
    response = client.get(search, {"q": "red circle in Lisbon 2023", "sort": "date", "chip": "2023",
                                   "chip_after": "2022-06-01", "chip_before": "2022-06-30"})
    assert response.status_code == 302
    target = parse_qs(urlsplit(response.url).query)
    assert target == {"q": ["red circle in Lisbon june 2022"], "sort": ["date"]}
    response = client.get(search, {"q": "red circle in Lisbon 2023", "chip": "lisbon", "chip_place": "London"})
    assert parse_qs(urlsplit(response.url).query)["q"] == ["red circle in London 2023"]
    page = client.get(response.url + "&show_hidden=1").content.decode()
    assert 'data-chip="london"' in page
    assert f'href="{trip["london 2023"].get_absolute_url()}' in page
    bad = client.get(search, {"q": "red circle 2023", "chip": "2023", "chip_after": "someday"}, follow=True)
    assert bad.status_code == 200 and "could not be read" in bad.content.decode()


def test_a_chip_changed_to_a_place_of_no_photo_of_yours_says_it_is_searched_as_words(trip, alice, client_for):
    # The chip can't stay (a place is one of a country or a place the family's photos were taken in): the page says
    # why it went instead of showing photos of other places under a box that names the new one.
    client = client_for(alice)
    response = client.get(reverse("search:search"), {"q": "red circle in Lisbon 2023", "chip": "lisbon",
                                                      "chip_place": "Paris"}, follow=True)
    page = response.content.decode()
    assert 'data-chip="paris"' not in page and 'data-chip="2023"' in page
    assert ("“Paris” is not a country nor a place where your photos were taken: it is searched as words."
            in page)
    # A place that is known keeps its chip, without a word.
    page = client.get(reverse("search:search"), {"q": "red circle in Lisbon 2023", "chip": "lisbon",
                                                  "chip_place": "London"}, follow=True).content.decode()
    assert 'data-chip="london"' in page and "is searched as words" not in page


@pytest.mark.parametrize("change, key, label", [
    ({"chip": "lisbon", "chip_place": ""}, "lisbon", "Lisbon"), ({"chip": "lisbon", "chip_place": "   "}, "lisbon",
                                                                  "Lisbon"),
    ({"chip": "2023", "chip_after": "", "chip_before": ""}, "2023", "2023")])
def test_a_chip_whose_change_box_is_emptied_goes_as_its_x_takes_it_and_its_words_stay(trip, alice, client_for,
                                                                                      change, key, label):
    """A place chip's ✎ box emptied (or a date chip's two days), "Change" took its words out of the query: "red circle
    in Lisbon 2023" became "red circle 2023", "Lisbon" lost from the box without a word. The place goes as its ×
    takes it: the words stay in the box, searched as plain words, and the page says so and how to leave them out."""
    client = client_for(alice)
    for headers in ({}, {"HX-Request": "true"}):
        response = client.get(reverse("search:search"), {"q": "red circle in Lisbon 2023", **change}, headers=headers)
        assert response.status_code == 302
        assert parse_qs(urlsplit(response.url).query) == {"q": ["red circle in Lisbon 2023"], "plain": [key]}
        page = client.get(response.url).content.decode()
        assert f'data-chip="{key}"' not in page and page.count('data-chip="') == 1, page.count('data-chip="')
        assert (f"“{label}” is no longer a filter: its words are searched as plain words, as its × does. To search "
                "without them, take them out of the search box." in page)
        assert 'value="red circle in Lisbon 2023"' in page


def test_a_day_of_every_year_chip_is_changed_to_another_day_or_that_day_of_one_year(trip, alice, client_for):
    """The chip of "14 july" (a day of every year) had × alone, while the other date chips have ✎: it has its own form
    now, a day and a month (that day of every year) and a year (left empty: any year; given: that one day). What can't
    be a day is said, and the search stays as it was."""
    client = client_for(alice)
    search = reverse("search:search")
    page = client.get(search, {"q": "red circle 14 july not on 1 august"}).content.decode()
    chip = page[page.index('data-chip="14 july"'):]
    chip = chip[:chip.index("</li>")]
    assert 'aria-label="Change 14 july"' in chip
    assert 'name="chip_day" value="14"' in chip and '<option value="7" selected>July</option>' in chip
    assert 'name="chip_year" value=""' in chip and 'name="chip_after"' not in chip
    left_out = page[page.index('data-chip="-on 1 august"'):]
    assert "Change" not in left_out[:left_out.index("</li>")]  # (a negated chip has × alone, as a negated date's)

    response = client.get(search, {"q": "red circle 14 july", "sort": "date", "chip": "14 july", "chip_day": "14",
                                   "chip_month": "7", "chip_year": "2023"})
    assert response.status_code == 302
    assert parse_qs(urlsplit(response.url).query) == {"q": ["red circle 14 july 2023"], "sort": ["date"]}
    page = client.get(response.url + "&show_hidden=1").content.decode()
    assert 'data-chip="14 july 2023"' in page
    assert f'href="{trip["lisbon 2023"].get_absolute_url()}' in page
    assert f'href="{trip["lisbon 2022"].get_absolute_url()}' not in page

    response = client.get(search, {"q": "red circle on the 14th of july", "chip": "14th of july", "chip_day": "2",
                                   "chip_month": "5", "chip_year": ""})
    assert parse_qs(urlsplit(response.url).query)["q"] == ["red circle 2 may"]
    page = client.get(response.url + "&show_hidden=1").content.decode()
    assert 'data-chip="2 may"' in page and f'href="{trip["london 2023"].get_absolute_url()}' in page
    # nothing changed: the words stay as typed
    response = client.get(search, {"q": "christmas eve kids", "chip": "christmas eve", "chip_day": "24",
                                   "chip_month": "12", "chip_year": ""})
    assert parse_qs(urlsplit(response.url).query)["q"] == ["christmas eve kids"]

    for change, said in (({"chip_day": "31", "chip_month": "6"}, "There is no 31 June: June has 30 days."),
                         ({"chip_day": "29", "chip_month": "2", "chip_year": "2023"},
                          "There is no 29 February 2023: February 2023 has 28 days."),
                         ({"chip_day": "14", "chip_month": "7", "chip_year": "9999"}, "No photo is from 9999 yet"),
                         ({"chip_day": "x", "chip_month": "7"}, "could not be read"),
                         ({"chip_day": "14", "chip_month": "13"}, "could not be read")):
        response = client.get(search, {"q": "red circle 14 july", "chip": "14 july", **change})
        assert response.status_code == 302 and parse_qs(urlsplit(response.url).query)["q"] == ["red circle 14 july"]
        page = client.get(response.url).content.decode()
        assert said in page and "search is unchanged" in page, change
        assert 'data-chip="14 july"' in page


def test_may_and_march_before_a_number_say_under_their_chip_that_x_searches_the_words(trip, alice, client_for):
    client = client_for(alice)
    page = client.get(reverse("search:search"), {"q": "red circle march 4"}).content.decode()
    assert 'data-chip="march 4"' in page
    note = "“march 4” is read as a day, 4 March of every year: remove its chip (×) to search the words instead."
    assert f'<p class="muted small chips-note">{note}</p>' in page
    page = client.get(reverse("search:search"), {"q": "red circle march 4", "plain": "march 4"}).content.decode()
    assert 'data-chip="march 4"' not in page and "is read as a day" not in page
    page = client.get(reverse("search:search"), {"q": "red circle on march 4"}).content.decode()
    assert 'data-chip="march 4"' in page and "is read as a day" not in page


def test_may_and_march_before_a_number_say_so_in_the_api_too(trip, api):
    """The page's note under the chip of "march 4" (read as a day; remove the chip to search the words) was not in
    the API's `interpreted`, where the other notes are: a client saw 4 March of every year searched and never why, nor
    how to have the words. It is `interpreted.day_word_notes`, [] when the query says it is a day or the chip is
    plain words."""
    note = "“march 4” is read as a day, 4 March of every year: remove its chip (×) to search the words instead."
    assert _api(api, q="red circle march 4")["interpreted"]["day_word_notes"] == [note]
    assert _api(api, q="red circle march 4", plain="march 4")["interpreted"]["day_word_notes"] == []
    assert _api(api, q="red circle on march 4")["interpreted"]["day_word_notes"] == []


# --- a holiday alone where no photo's date can name it ----------------------------------------------------------

CHRISTMAS_NOTE = ("Holidays are found by each photo's country: the family “Smiths” has no country set, nor places on "
                  "its photos, so “christmas” finds none by its date.")


@pytest.fixture
def christmas_unplaced(toy_model, family, alice):
    """The Smiths (no default country) and a photo of Christmas Day 2020 without GPS."""
    assert family.default_country == ""
    photo = shape_photo(family, alice, "red", "circle", None, "2020:12:25 12:00:00", seed=61)
    embed_photos(photo_ids=[photo.pk])
    return photo


def test_a_holiday_alone_in_a_family_without_a_country_nor_places_says_why_under_the_query(
        christmas_unplaced, family, alice, bob, client_for, api):
    """"christmas" alone found nothing for a family with no default country whose photos have no GPS (holidays are
    the photo's country's, so no photo's words carry one), and neither the page nor the API said why: a member
    concluded search was broken. The page says so under the query, with the way to the family's country for an admin
    and the day that finds them now; "christmas 2020" and "25 december" are dates and find the photo."""
    page = client_for(alice).get(reverse("search:search"), {"q": "christmas"}).content.decode()
    settings_url = reverse("gallery:family_detail", args=[family.pk]) + "#country"
    assert CHRISTMAS_NOTE in unescape(page)
    note = unescape(page).split(CHRISTMAS_NOTE)[1].split("</p>")[0]
    assert f'<a href="{settings_url}">Set the family\'s country</a>' in note
    assert "search <a " in note and "“25 december”</a>" in note
    instead = re.search(r'href="([^"]+)">“25 december”', note)[1]
    assert parse_qs(urlsplit(instead).query)["q"] == ["25 december"]
    assert "hx-get" not in note  # (the page whole: the box shows the words searched, as typing goes on from them)
    found = client_for(alice).get(instead).content.decode()
    assert f'/photos/{christmas_unplaced.pk}/' in found and 'value="25 december"' in found
    # a member who is no admin reads it as plain text: the family's page has no country form for them
    page = unescape(client_for(bob).get(reverse("search:search"), {"q": "christmas"}).content.decode())
    note = page.split(CHRISTMAS_NOTE)[1].split("</p>")[0]
    assert "Ask a family admin to set its country" in note and "#country" not in note
    # the words around it stay; a date with the holiday needs no country, nor does its day
    page = unescape(client_for(alice).get(reverse("search:search"), {"q": "red circle at christmas"}).content.decode())
    assert CHRISTMAS_NOTE in page
    for query in ("christmas 2020", "25 december", "christmas eve", "red circle"):
        page = unescape(client_for(alice).get(reverse("search:search"), {"q": query}).content.decode())
        assert "Holidays are found by" not in page, query
    assert _ids(_api(api, q="christmas 2020")) == [christmas_unplaced.pk]


def test_a_holiday_alone_says_why_in_the_api_too(christmas_unplaced, family, api, bob):
    """The page's note is the API's `interpreted.date_word_notes`, as data: the family, why, the holiday, the day of
    every year that finds it now (none for a holiday whose day moves: Easter), and the family page's setting for an
    admin."""
    from tests.factories import api_token_key
    from django.test import Client

    body = _api(api, q="xmas")
    assert body["interpreted"]["date_word_notes"] == [{
        "family": family.pk, "family_name": "Smiths", "why": "no_country", "word": "christmas",
        "date_instead": "25 december",
        "family_settings": reverse("gallery:family_detail", args=[family.pk]) + "#country",
        "note": CHRISTMAS_NOTE.replace("christmas", "xmas") + " Set the family's country, or search “25 december”."}]
    easter = _api(api, q="easter")["interpreted"]["date_word_notes"]
    assert [(n["word"], n["date_instead"]) for n in easter] == [("easter", None)]
    assert easter[0]["note"].endswith("by its date. Set the family's country.")
    member = Client(headers={"Authorization": f"Token {api_token_key(bob)}"})
    said = _api(member, q="christmas")["interpreted"]["date_word_notes"]
    assert said[0]["family_settings"] is None and said[0]["note"].endswith(
        "Ask a family admin to set its country, or search “25 december”.")
    for query in ("christmas 2020", "red circle", "christmas eve"):
        assert _api(api, q=query)["interpreted"]["date_word_notes"] == [], query


def test_a_holiday_notes_word_is_the_photos_word_for_it(christmas_unplaced, api):
    """The API's `word` is the holiday as the photos' words name it (the calendar's name without "day"), as its
    description says: "christmas day" read "christmas day", "new year's day" "new year day", and no photo's words say
    either."""
    for query, word in (("christmas day", "christmas"), ("xmas", "christmas"), ("new year's day", "new year's"),
                        ("new year", "new year's"), ("valentine's day", "valentine's"), ("boxing day", "boxing"),
                        ("easter", "easter")):
        notes = _api(api, q=query)["interpreted"]["date_word_notes"]
        assert [n["word"] for n in notes] == [word], query
    assert date_words(day=date(2021, 1, 1), latitude=None, country_code="GB")[-1] == "new year's"
    assert date_words(day=date(2020, 12, 26), latitude=None, country_code="GB")[-1] == "boxing"


def test_a_holiday_note_offers_no_day_the_query_has_already(christmas_unplaced, api, client_for, alice):
    """"christmas 25 december" searches 25 December of every year already (its chip): the note offered "25 december"
    instead, a link to "25 december 25 december". Its reason stays (the word "christmas" still finds no photo by its
    date: at the default minimum score the photo of that day is not shown), its day instead goes."""
    for query, said in (("christmas 25 december", "christmas"), ("25 dec xmas", "xmas")):
        body = _api(api, q=query)
        assert [(n["why"], n["date_instead"]) for n in body["interpreted"]["date_word_notes"]] == [
            ("no_country", None)], query
        assert body["interpreted"]["date_word_notes"][0]["note"] == CHRISTMAS_NOTE.replace(
            "“christmas”", f"“{said}”") + " Set the family's country.", query
        assert _ids(body) == [christmas_unplaced.pk], query
        page = unescape(client_for(alice).get(reverse("search:search"), {"q": query}).content.decode())
        note = page.split(CHRISTMAS_NOTE.replace("“christmas”", f"“{said}”"))[1].split("</p>")[0]
        assert "december" not in note and note.endswith("Set the family's country</a>."), note
    # another day is no reason to leave it out
    notes = _api(api, q="christmas 24 december")["interpreted"]["date_word_notes"]
    assert [(n["why"], n["date_instead"]) for n in notes] == [("no_country", "25 december")]


def test_a_holiday_says_nothing_in_a_family_with_a_country_or_with_placed_photos(christmas_unplaced, family, alice,
                                                                                 api, client_for):
    """Only where it is the reason: a family with a default country has its holidays in its photos' words
    ("christmas" finds the photo), and photos with a place have their own country's."""
    family_default_country_set(family=family, country_code="GB")
    body = _api(api, q="christmas")
    assert body["interpreted"]["date_word_notes"] == [] and _ids(body) == [christmas_unplaced.pk]
    family_default_country_set(family=family, country_code="")
    assert _api(api, q="christmas")["interpreted"]["date_word_notes"] != []
    shape_photo(family, alice, "blue", "square", LISBON, "2021:12:25 12:00:00", seed=62)
    assert _api(api, q="christmas")["interpreted"]["date_word_notes"] == []
    page = unescape(client_for(alice).get(reverse("search:search"), {"q": "christmas"}).content.decode())
    assert "Holidays are found by" not in page


def test_a_photo_placed_in_a_country_alone_counts_as_placed_for_a_holidays_note(christmas_unplaced, family, alice,
                                                                               api, client_for):
    """A photo whose place is a country alone (no city nor region: a place set by hand, an IPTC country, a position far
    from any town) names that country's holidays in its words ("christmas": the United States'), but the family's
    place list recorded cities and regions only, so a family with no country whose only photo was so placed was told
    it "has no country set, nor places on its photos" and that "christmas" finds none by its date, which is wrong. Such
    a photo counts as placed (no photo is read for it); the place list still makes no place chip of an empty name."""
    from gallery.correction_services import photo_place_set
    from gallery.places import Place
    from search.family_places import family_places_prune
    from search.models import PhotoDocument

    assert _api(api, q="christmas")["interpreted"]["date_word_notes"] != []
    photo_place_set(photo=christmas_unplaced, place=Place(city="", region="", country="United States",
                                                          country_code="US"), user=alice)
    assert "christmas" in PhotoDocument.objects.get(photo=christmas_unplaced).words.split()
    body = _api(api, q="christmas")
    assert body["interpreted"]["date_word_notes"] == [] and _ids(body) == [christmas_unplaced.pk]
    assert body["interpreted"]["places"] == []
    page = unescape(client_for(alice).get(reverse("search:search"), {"q": "christmas"}).content.decode())
    assert "Holidays are found by" not in page
    # a family set to Japan: the photo's words are the United States', which keep Christmas
    family_default_country_set(family=family, country_code="JP")
    assert _api(api, q="christmas")["interpreted"]["date_word_notes"] == []
    # the place taken off again: once the sweep has rebuilt the list, the note is back
    photo_place_set(photo=christmas_unplaced, user=alice)
    family_places_prune()
    assert [n["why"] for n in _api(api, q="christmas")["interpreted"]["date_word_notes"]] == ["not_kept"]


def test_photos_placed_in_a_country_alone_before_it_counted_enter_their_familys_place_list(christmas_unplaced,
                                                                                          alice, api):
    """Photos placed by a country alone before such a place counted (b3222bc) never entered their family's place list,
    and nothing rebuilt a list that lacked a place: their family kept the false note. Migration search 0028 adds
    them."""
    import importlib

    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from gallery.correction_services import photo_place_set
    from gallery.places import Place
    from search.models import FamilyPlace

    photo_place_set(photo=christmas_unplaced, place=Place(city="", region="", country="United States",
                                                          country_code="US"), user=alice)
    FamilyPlace.objects.filter(family_id=christmas_unplaced.family_id).delete()  # (as such a family's list stood)
    assert _api(api, q="christmas")["interpreted"]["date_word_notes"] != []

    executor = MigrationExecutor(connection)
    migration = executor.loader.get_migration("search", "0028_family_places_of_a_country_alone")
    [operation] = migration.operations
    assert operation.reverse_code is operation.noop
    apps = executor.loader.project_state(("search", migration.name), at_end=False).apps
    importlib.import_module(migration.__module__).places_of_a_country_alone(apps, None)
    importlib.import_module(migration.__module__).places_of_a_country_alone(apps, None)  # (twice: no second row)

    assert list(FamilyPlace.objects.filter(family_id=christmas_unplaced.family_id).values_list(
        "city", "region", "country_code")) == [("", "", "US")]
    assert _api(api, q="christmas")["interpreted"]["date_word_notes"] == []


def test_a_holiday_the_familys_country_does_not_keep_says_so(christmas_unplaced, family, alice, bob, api,
                                                             client_for):
    """A family set to Japan whose photos have no place: its photos' words name Japan's holidays, and Christmas is
    none of them, so "christmas" found nothing by its date and nothing said why (nor for "thanksgiving" in one set to
    the United Kingdom). It is said, with the day that finds a holiday of a fixed day; not for a holiday the country
    keeps, nor once a photo has a place (its own country's holidays)."""
    family_default_country_set(family=family, country_code="JP")
    notes = _api(api, q="xmas")["interpreted"]["date_word_notes"]
    note = ("Holidays are found by each photo's country: no photo of the family “Smiths” has a place, and the "
            "calendar of its country (Japan) has no “xmas”, so “xmas” finds none by its date.")
    assert notes == [{"family": family.pk, "family_name": "Smiths", "why": "not_kept", "word": "christmas",
                      "date_instead": "25 december", "family_settings": None,
                      "note": note + " Search “25 december” instead."}]
    page = unescape(client_for(bob).get(reverse("search:search"), {"q": "christmas"}).content.decode())
    said = page.split(note.replace("xmas", "christmas"))[1].split("</p>")[0]
    instead = re.search(r'Search <a href="([^"]+)">“25 december”</a> instead\.', said)[1]
    assert parse_qs(urlsplit(instead).query)["q"] == ["25 december"]
    # Japan keeps New Year's Day and Labor Thanksgiving Day: their words are its photos'
    for query in ("new year", "thanksgiving", "christmas 2020"):
        assert _api(api, q=query)["interpreted"]["date_word_notes"] == [], query
    notes = _api(api, q="christmas 25 december")["interpreted"]["date_word_notes"]
    assert [(n["why"], n["date_instead"]) for n in notes] == [("not_kept", None)]
    assert notes[0]["note"].endswith("finds none by its date.")
    family_default_country_set(family=family, country_code="GB")
    notes = _api(api, q="thanksgiving")["interpreted"]["date_word_notes"]
    assert [(n["why"], n["word"], n["date_instead"]) for n in notes] == [("not_kept", "thanksgiving", None)]
    assert notes[0]["note"].endswith("the calendar of its country (United Kingdom) has no “thanksgiving”, so "
                                     "“thanksgiving” finds none by its date.")
    assert _api(api, q="christmas")["interpreted"]["date_word_notes"] == []
    family_default_country_set(family=family, country_code="JP")
    shape_photo(family, alice, "blue", "square", LISBON, "2021:12:25 12:00:00", seed=68)
    assert _api(api, q="christmas")["interpreted"]["date_word_notes"] == []


HALLOWEEN_NOTE = ("Holidays are found by each photo's country, and no country's calendar of public holidays has "
                  "“halloween”, so “halloween” finds no photo by its date.")


def test_a_holiday_no_countrys_calendar_keeps_says_so_whatever_the_familys_setup(
        christmas_unplaced, family, alice, bob, api, client_for, django_capture_on_commit_callbacks):
    """Halloween and Valentine's Day are in no country's calendar (the `holidays` package), and a photo's words name
    only its country's holidays: "halloween" finds no photo by its date anywhere. In a family with no country the note
    said "Set the family's country", which can't help; in one set to the United States it named the US calendar alone;
    with a placed photo it said nothing. It says so, once (no family's setup is the reason), whatever the family's, with
    the day that finds its photos ("31 october"); not for a date ("halloween 2021")."""
    halloween = shape_photo(family, alice, "blue", "square", None, "2021:10:31 12:00:00", seed=69)
    said = {"family": None, "family_name": None, "why": "no_calendar", "word": "halloween",
            "date_instead": "31 october", "family_settings": None,
            "note": HALLOWEEN_NOTE + " Search “31 october” instead."}
    for country in ("", "US", "JP"):
        family_default_country_set(family=family, country_code=country)
        assert _api(api, q="halloween")["interpreted"]["date_word_notes"] == [said], country
        # (indeed: the words its date gives a photo of that day name no Halloween, wherever it was taken)
        assert "halloween" not in date_words(day=date(2021, 10, 31), latitude=None, country_code=country or "IE")
    notes = _api(api, q="valentine's day")["interpreted"]["date_word_notes"]
    assert [(n["why"], n["word"], n["date_instead"]) for n in notes] == [("no_calendar", "valentine's", "14 february")]
    assert notes[0]["note"].startswith("Holidays are found by each photo's country, and no country's calendar of "
                                       "public holidays has “valentine's day”")
    # a placed photo changes nothing: Portugal's calendar has no Halloween either
    shape_photo(family, alice, "red", "circle", LISBON, "2022:10:31 12:00:00", seed=70)
    assert _api(api, q="halloween")["interpreted"]["date_word_notes"] == [said]
    page = unescape(client_for(bob).get(reverse("search:search"), {"q": "halloween"}).content.decode())
    note = page.split(HALLOWEEN_NOTE)[1].split("</p>")[0]
    assert "country" not in note and "Smiths" not in note
    instead = re.search(r'Search <a href="([^"]+)">“31 october”</a> instead\.', note)[1]
    assert parse_qs(urlsplit(instead).query)["q"] == ["31 october"]
    assert f"/photos/{halloween.pk}/" in client_for(bob).get(instead).content.decode()
    # the day in the query already: the reason alone; a date is searched by the photos' dates, no note
    notes = _api(api, q="halloween 31 october")["interpreted"]["date_word_notes"]
    assert [(n["why"], n["date_instead"], n["note"]) for n in notes] == [("no_calendar", None, HALLOWEEN_NOTE)]
    assert _api(api, q="halloween 2021")["interpreted"]["date_word_notes"] == []


def test_a_holiday_no_calendar_keeps_in_a_family_of_undated_photos_says_so_not_to_date_them(
        toy_model, family, alice, api, add_shape, django_capture_on_commit_callbacks):
    """A family of scans: "halloween" said "A photo's page sets the day it was taken", which would not help either.
    The holiday no calendar keeps says why; a season searched with it still tells of the undated photos."""
    with django_capture_on_commit_callbacks(execute=True):
        add_shape("red", "circle")
    notes = _api(api, q="halloween")["interpreted"]["date_word_notes"]
    assert [(n["why"], n["word"]) for n in notes] == [("no_calendar", "halloween")]
    notes = _api(api, q="halloween autumn")["interpreted"]["date_word_notes"]
    assert [(n["why"], n["word"]) for n in notes] == [("no_calendar", "halloween"), ("no_dated_photos", "autumn")]


def test_every_holiday_or_season_searched_as_a_word_that_finds_none_by_its_date_has_its_note(
        christmas_unplaced, family, alice, api, client_for):
    """Only the query's first holiday was told of: "valentine's day christmas" in a family with no country said why
    Valentine's Day finds nothing and dropped Christmas, as if "christmas" found its photos. Each such word has its
    note, in the query's order (a word searched twice, once; one of no calendar, once of no family)."""
    notes = _api(api, q="valentine's day christmas")["interpreted"]["date_word_notes"]
    assert [(n["why"], n["word"], n["family"]) for n in notes] == [("no_calendar", "valentine's", None),
                                                                  ("no_country", "christmas", family.pk)]
    page = client_for(alice).get(reverse("search:search"), {"q": "valentine's day christmas"}).content.decode()
    page = unescape(page)
    valentine = page.index("has “valentine's day”, so “valentine's day” finds no photo by its date.")
    assert valentine < page.index(CHRISTMAS_NOTE)
    notes = _api(api, q="christmas halloween easter xmas valentine's day")["interpreted"]["date_word_notes"]
    assert [(n["why"], n["word"]) for n in notes] == [("no_country", "christmas"), ("no_calendar", "halloween"),
                                                      ("no_country", "easter"), ("no_calendar", "valentine's")]
    family_default_country_set(family=family, country_code="JP")  # (keeps New Year's Day, neither of the others)
    notes = _api(api, q="christmas new year easter")["interpreted"]["date_word_notes"]
    assert [(n["why"], n["word"]) for n in notes] == [("not_kept", "christmas"), ("not_kept", "easter")]


def test_a_holiday_note_names_only_the_users_own_families(christmas_unplaced, family, alice, api, client_for,
                                                          other_family, mallory):
    """Another family without a country is never named to a user not in it; a user in two families is told of the one
    that has none, not of the one that has."""
    other_family.name = "Joneses"
    other_family.save(update_fields=["name"])
    shape_photo(other_family, mallory, "red", "circle", None, "2020:12:25 12:00:00", seed=63)
    family_default_country_set(family=family, country_code="GB")
    body = _api(api, q="christmas")
    assert body["interpreted"]["date_word_notes"] == [] and "Joneses" not in str(body)
    page = client_for(alice).get(reverse("search:search"), {"q": "christmas"}).content.decode()
    assert "Joneses" not in page and "Holidays are found by" not in unescape(page)
    assert api.get(reverse("api_search"), {"q": "christmas", "family": other_family.pk}).status_code == 404
    # mallory, in both: told of the Joneses alone
    from tests.factories import MembershipFactory

    MembershipFactory(family=family, user=mallory)
    page = unescape(client_for(mallory).get(reverse("search:search"), {"q": "christmas"}).content.decode())
    assert "the family “Joneses” has no country set" in page and "“Smiths” has no country" not in page
    assert reverse("gallery:family_detail", args=[other_family.pk]) + "#country" in page


NO_DATES_NOTE = ("Seasons and holidays are found by the day each photo was taken, and no photo of the family “Smiths” "
                 "tells it (their dates are guesses, or a folder's month or year), so “summer” finds none by its date. "
                 "A photo's page sets the day it was taken.")


def test_a_season_or_holiday_alone_in_a_family_of_undated_photos_says_none_tells_its_day(
        toy_model, family, alice, bob, api, client_for, add_shape, django_capture_on_commit_callbacks):
    """A family of scans, each dated by its upload alone: a season or a holiday alone found nothing by date (a guessed
    date gives a photo its month and year, no season nor holiday: a scan uploaded on Christmas Day is no Christmas
    photo), whatever its country, and nothing said why. It is said, to every member; not once a photo tells its day."""
    from tests.factories import api_token_key
    from django.test import Client

    family_default_country_set(family=family, country_code="GB")
    with django_capture_on_commit_callbacks(execute=True):
        scan = add_shape("red", "circle")
    assert scan.taken_at_source == Photo.DateSource.UPLOAD
    notes = _api(api, q="summer")["interpreted"]["date_word_notes"]
    assert notes == [{"family": family.pk, "family_name": "Smiths", "why": "no_dated_photos", "word": "summer",
                      "date_instead": None, "family_settings": None, "note": NO_DATES_NOTE}]
    member = Client(headers={"Authorization": f"Token {api_token_key(bob)}"})
    assert _api(member, q="summer")["interpreted"]["date_word_notes"] == notes
    page = unescape(client_for(bob).get(reverse("search:search"), {"q": "red circle in the summer"}).content.decode())
    assert NO_DATES_NOTE in page
    # a holiday: the same reason, whether the family has a country or not (a country would change nothing)
    for country in ("GB", ""):
        family_default_country_set(family=family, country_code=country)
        notes = _api(api, q="fall xmas")["interpreted"]["date_word_notes"]
        assert [(n["why"], n["word"], n["date_instead"]) for n in notes] == [("no_dated_photos", "autumn", None),
                                                                             ("no_dated_photos", "christmas", None)]
    for query in ("summer 2023", "june", "red circle"):
        assert _api(api, q=query)["interpreted"]["date_word_notes"] == [], query
    with django_capture_on_commit_callbacks(execute=True):  # a photo that tells its day: its season is in its words
        dated = shape_photo(family, alice, "red", "circle", None, "2021:07:14 12:00:00", seed=64)
    body = _api(api, q="summer")
    assert body["interpreted"]["date_word_notes"] == [] and dated.pk in _ids(body)


def test_several_seasons_and_holidays_in_a_family_of_undated_photos_are_one_note_naming_each(
        toy_model, family, alice, api, client_for, add_shape, django_capture_on_commit_callbacks):
    """"summer winter christmas" in a family none of whose photos tells its day repeated the same reason three
    times, a word each, on the search page, its report and search_report's text. It is one note naming every word,
    in the query's order; the API keeps an entry a word (its `word` names one), each saying its own."""
    from search.reports import search_report, search_report_lines

    with django_capture_on_commit_callbacks(execute=True):
        add_shape("red", "circle")
    merged = ("Seasons and holidays are found by the day each photo was taken, and no photo of the family “Smiths” "
              "tells it (their dates are guesses, or a folder's month or year), so “summer”, “winter” and "
              "“xmas” find none by their date. A photo's page sets the day it was taken.")
    query = "summer winter xmas"
    page = unescape(client_for(alice).get(reverse("search:search"), {"q": query}).content.decode())
    assert page.count("Seasons and holidays are found by") == 1 and merged in page
    report = unescape(client_for(alice).get(reverse("search:search_report"), {"q": query}).content.decode())
    assert report.count("Seasons and holidays are found by") == 1 and merged in report
    lines = search_report_lines(search_report(user=alice, query=query, family_id=family.pk))
    assert [line for line in lines if line.startswith("date word:")] == [f"date word: {merged}"]
    notes = _api(api, q=query)["interpreted"]["date_word_notes"]
    assert [(n["why"], n["word"]) for n in notes] == [("no_dated_photos", "summer"), ("no_dated_photos", "winter"),
                                                      ("no_dated_photos", "christmas")]
    assert notes[0]["note"] == NO_DATES_NOTE


def test_a_holiday_note_costs_one_query_and_only_when_a_holiday_is_searched(christmas_unplaced, family, alice,
                                                                            client_for):
    """Whether the family's photos have places is known already (its place list's version, read with its default
    country): no photo's place is read. The family named is one query, made only when there is a note to say: a
    search without a holiday, or in a family with a country, sends the queries it sent before."""
    client = client_for(alice)

    def sent(query: str) -> list[str]:
        client.get(reverse("search:search"), {"q": query}, headers={"HX-Request": "true"})  # (per-process caches)
        with CaptureQueriesContext(connection) as captured:
            client.get(reverse("search:search"), {"q": query}, headers={"HX-Request": "true"})
        return [q["sql"] for q in captured.captured_queries]

    def placed(statements: list[str]) -> list[str]:  # (the search itself reads no photo's country)
        return [sql for sql in statements if "place_country_code" in sql]

    assert not placed(sent("red circle"))
    holiday = sent("new year")
    assert not placed(holiday)
    # (Japan keeps New Year's Day: nothing to say; the Christmas photo is found by neither)
    family_default_country_set(family=family, country_code="JP")
    with_country = sent("new year")
    assert not placed(with_country) and len(holiday) == len(with_country) + 1


def test_whether_a_familys_photos_tell_their_day_is_an_index_entry_not_a_read_of_its_photos(
        toy_model, family, alice, add_shape, django_capture_on_commit_callbacks):
    """No index held a photo's date source: learning that none of a family's photos tells its day read every photo of
    the table (166 ms for a family of 100,000 scans, more with other families': bench/photo_dates.py). The partial
    index photo_family_day_told of the photos that tell it answers from its first entry, or its lack of one; it holds
    every date source but the guesses and the dayless ones the note leaves out."""
    from search.query_notes import family_photo_dates

    with django_capture_on_commit_callbacks(execute=True):
        add_shape("red", "circle")  # dated by its upload
    with CaptureQueriesContext(connection) as captured:
        assert family_photo_dates(family_ids=[family.pk]) == (frozenset({family.pk}), frozenset({family.pk}))
    [sql] = [query["sql"] for query in captured.captured_queries]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # (a table of a few rows is read whole whatever its indexes)
        cursor.execute(f"EXPLAIN {sql}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "photo_family_day_told" in plan, plan
    [index] = [index for index in Photo._meta.indexes if index.name == "photo_family_day_told"]
    [(lookup, untold)] = [child for child in index.condition.children if isinstance(child, Q)][0].children
    assert lookup == "taken_at_source__in" and sorted(untold) == sorted([*Photo.GUESSED_DATES, *Photo.DAYLESS_DATES])


def test_whether_a_familys_photos_tell_their_day_is_read_again_only_when_its_own_photos_change(
        toy_model, family, other_family, alice, mallory, api, add_shape, django_capture_on_commit_callbacks):
    """A family whose photos are all guesses is read whole to learn that none tells its day. It was remembered for
    all the user's families at once, so a photo added to any other of them (every upload of an import there) had it
    read again on the next season or holiday searched: it is remembered per family, by that family's own version."""
    from tests.factories import MembershipFactory

    MembershipFactory(family=other_family, user=alice)
    with django_capture_on_commit_callbacks(execute=True):
        add_shape("red", "circle")  # the Smiths: one scan, dated by its upload
        shape_photo(other_family, mallory, "blue", "square", None, "2021:07:14 12:00:00", seed=65)

    def searched() -> tuple[list, list[str]]:
        with CaptureQueriesContext(connection) as captured:
            notes = _api(api, q="summer")["interpreted"]["date_word_notes"]
        return [(n["family"], n["why"]) for n in notes], [q["sql"] for q in captured.captured_queries
                                                          if "taken_at_source" in q["sql"]]

    assert searched()[0] == [(family.pk, "no_dated_photos")]
    assert searched() == ([(family.pk, "no_dated_photos")], [])  # (remembered)
    with django_capture_on_commit_callbacks(execute=True):
        shape_photo(other_family, mallory, "blue", "square", None, "2021:07:15 12:00:00", seed=66)
    notes, read = searched()
    assert notes == [(family.pk, "no_dated_photos")]
    assert len(read) == 1 and f"IN ({other_family.pk})" in read[0], read  # the Joneses alone, not the Smiths again
    with django_capture_on_commit_callbacks(execute=True):
        shape_photo(family, alice, "red", "circle", None, "2021:07:16 12:00:00", seed=67)
    assert searched()[0] == []


def test_a_chip_changed_to_words_turned_back_into_words_before_becomes_their_chip(trip, alice, client_for):
    """× on "14 july" keeps its words as text: `plain=14 july` goes on in the address and in every chip's form (while
    typing on, "red circle 2 may"). A chip changed to 14 July then was refused with "“14 july” can't be read as a day"
    (it can), a place changed to London said London "is not a country nor a place where your photos were taken" (it
    is), a date changed to June 2022 was searched as words without a word. The change is what the user asks now: the
    chip is made, and its words are no longer listed as plain."""
    client = client_for(alice)
    search = reverse("search:search")
    for asked, q in (({"q": "red circle 2 may", "plain": "14 july", "chip": "2 may", "chip_day": "14",
                       "chip_month": "7", "chip_year": ""}, "red circle 14 july"),
                     ({"q": "red circle in Lisbon", "plain": ["london", "blue"], "chip": "lisbon",
                       "chip_place": "London"}, "red circle in London"),
                     ({"q": "red circle 2023", "plain": "june 2022", "chip": "2023", "chip_after": "2022-06-01",
                       "chip_before": "2022-06-30"}, "red circle june 2022")):
        response = client.get(search, asked)
        assert response.status_code == 302
        target = parse_qs(urlsplit(response.url).query)
        assert target["q"] == [q] and target.get("plain", []) == (["blue"] if "blue" in asked["plain"] else [])
        page = client.get(response.url).content.decode()
        assert f'data-chip="{q.removeprefix("red circle ").removeprefix("in ").lower()}"' in page, asked
        assert 'class="messages"' not in page, asked


def test_a_chip_turned_back_into_words_since_its_page_was_drawn_is_changed_all_the_same(trip, alice, client_for):
    """A chip's ✎ on a page from before its × (a second tab, a page kept by the back button) names a chip that the
    address's `plain` now turns into words: the change asked is made (it was silently dropped, the search unchanged).
    A chip whose words are no longer in the query at all is said to be gone; nothing is changed."""
    client = client_for(alice)
    search = reverse("search:search")
    response = client.get(search, {"q": "red circle 14 july", "plain": "14 july", "chip": "14 july",
                                   "chip_day": "2", "chip_month": "5", "chip_year": ""})
    assert parse_qs(urlsplit(response.url).query) == {"q": ["red circle 2 may"]}
    assert 'data-chip="2 may"' in client.get(response.url).content.decode()
    response = client.get(search, {"q": "red circle 14 july", "plain": "14 july", "chip": "14 july",
                                   "chip_day": "14", "chip_month": "7", "chip_year": ""})  # the same day: its chip back
    assert parse_qs(urlsplit(response.url).query) == {"q": ["red circle 14 july"]}
    # refused as ever, and the words stay words
    response = client.get(search, {"q": "red circle 14 july", "plain": "14 july", "chip": "14 july",
                                   "chip_day": "31", "chip_month": "6", "chip_year": ""})
    assert parse_qs(urlsplit(response.url).query) == {"q": ["red circle 14 july"], "plain": ["14 july"]}
    page = client.get(response.url).content.decode()
    assert "There is no 31 June: June has 30 days. The search is unchanged." in page
    assert 'data-chip="14 july"' not in page

    response = client.get(search, {"q": "red circle blue", "chip": "14 july", "chip_day": "2", "chip_month": "5"})
    assert parse_qs(urlsplit(response.url).query) == {"q": ["red circle blue"]}
    page = client.get(response.url).content.decode()
    assert "“14 july” is no longer in this search: nothing was changed." in page


@pytest.mark.parametrize("sent, said", [
    ({"q": "red circle in Lis\x00bon 2023", "chip": "lisbon", "chip_place": "London"}, "Search"),
    ({"q": "red circle in Lisbon 2023", "chip": "lisbon", "chip_place": "Lon\x00don"}, "The change"),
    ({"q": "red circle in Lisbon 2023", "chip": "lis\x00bon", "chip_place": "London"}, "The change"),
    ({"q": "red circle 2023", "chip": "2023", "chip_after": "2022-06-01\x00", "chip_before": ""}, "The change"),
    ({"q": "red circle 14 july", "chip": "14 july", "chip_day": "2", "chip_month": "5\x00"}, "The change"),
    ({"q": "red circle in Lisbon 2023", "plain": "lis\x00bon", "chip": "2023", "chip_after": "2022-06-01"},
     "Searched as plain words")])
def test_a_nul_character_in_a_chips_change_is_said_not_taken_for_a_chip_gone(trip, alice, client_for, sent, said):
    """A chip's ✎ sent by hand with a NUL character in the query read "“lisbon” is no longer in this search" (the
    query refused, nothing understood, no chip found), and one in the new place "could not be read (a date is
    written like 2023-06-14)". Either says, as the search page does for a NUL in the box, that the text holds a
    character that can't be searched; nothing is changed, and the address keeps no chip's change. Refused before the
    search is understood: its places and dates were read from the database for an edit then refused."""
    client = client_for(alice)
    for headers in ({}, {"HX-Request": "true"}):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("search:search"), sent, headers=headers)
        assert response.status_code == 302, response.status_code
        read = [query["sql"] for query in queries if FamilyPlace._meta.db_table in query["sql"]]
        assert not read, read
        target = parse_qs(urlsplit(response.url).query)
        assert target["q"] == [sent["q"]] and not {"chip", "chip_place", "chip_after", "chip_month"} & set(target)
        page = unescape(client.get(response.url).content.decode())
        if said == "The change":
            assert ("The change: Null characters are not allowed. Remove them and try again; nothing was changed."
                    in page), page[page.find("messages"):][:600]
        else:  # the search itself refused: the page says which text, above its results, and the message that it
            assert "Nothing was changed: the search itself can't be run as it is (said below)." in page
            assert f"{said}: Null characters are not allowed. Remove them and search again." in page
        assert "no longer in this search" not in page and "could not be read" not in page


def test_another_familys_places_never_make_chips(trip, api, alice, client_for, other_family, mallory):
    shape_photo(other_family, mallory, "red", "circle", SYDNEY, "2023:07:14 12:00:00", seed=9)
    assert FamilyPlace.objects.filter(family=other_family, city="Sydney").exists()

    body = _api(api, q="red circle sydney")
    assert body["interpreted"]["places"] == [] and body["interpreted"]["text"] == "red circle sydney"
    page = client_for(alice).get(reverse("search:search"), {"q": "red circle sydney"}).content.decode()
    assert 'class="chip' not in page
    assert "Sydney" not in parser_context(family_ids=[trip["lisbon 2023"].family_id], query="sydney").places


def test_the_familys_hemisphere_and_holiday_country(family, alice, other_family, mallory):
    today = date(2026, 12, 3)
    assert not parser_context(family_ids=[family.pk], query="last summer", today=today).southern  # north by default
    shape_photo(other_family, mallory, "red", "circle", SYDNEY, "2023:07:14 12:00:00", seed=5)
    shape_photo(other_family, mallory, "red", "circle", SYDNEY, "2023:07:15 12:00:00", seed=6)
    assert parser_context(family_ids=[other_family.pk], query="last summer", today=today).southern  # its photos
    assert parser_context(family_ids=[other_family.pk], query="christmas 2023").holiday_country == "AU"
    assert parser_context(family_ids=[other_family.pk], query="last christmas").holiday_country == "AU"
    family_default_country_set(family=family, country_code="NZ")
    context = parser_context(family_ids=[family.pk], query="last summer 2023", today=today)
    assert context.southern and context.holiday_country == "NZ"


def test_a_numeric_day_is_read_as_the_familys_country_writes_it(toy_model, family, alice, api, client_for):
    # "05/06/2021" stayed words. Both orders make a day: the family's default country says which (the US writes
    # the month first, Britain the day first, as most of the world); the API and the chip say which day was read.
    june = shape_photo(family, alice, "red", "circle", None, "2021:06:05 12:00:00", seed=21)
    may = shape_photo(family, alice, "red", "circle", None, "2021:05:06 12:00:00", seed=22)
    embed_photos(photo_ids=[june.pk, may.pk])
    for country, photo, day in (("", june, "2021-06-05"), ("GB", june, "2021-06-05"), ("US", may, "2021-05-06")):
        family_default_country_set(family=family, country_code=country)
        assert parser_context(family_ids=[family.pk], query="05/06/2021").month_first == (country == "US")
        body = _api(api, q="red circle 05/06/2021")
        assert body["interpreted"]["taken_after"] == body["interpreted"]["taken_before"] == day, country
        assert body["interpreted"]["text"] == "red circle" and _ids(body) == [photo.pk], country
        page = client_for(alice).get(reverse("search:search"), {"q": "05/06/2021"}).content.decode()
        assert ("6 May 2021" if country == "US" else "5 Jun 2021") in page, country
        assert f'href="{photo.get_absolute_url()}' in page
    # unambiguous whatever the country: a part above 12 says the order
    assert _api(api, q="14/06/2021")["interpreted"]["taken_after"] == "2021-06-14"


@pytest.fixture
def both_sides(toy_model, family, alice):
    """July and January 2023 in Lisbon and in Sydney: a season of 2023 is one of each, by where it was taken."""
    photos = {
        "lisbon july": shape_photo(family, alice, "red", "circle", LISBON, "2023:07:14 12:00:00", seed=11),
        "sydney july": shape_photo(family, alice, "red", "circle", SYDNEY, "2023:07:14 12:00:00", seed=12),
        "lisbon january": shape_photo(family, alice, "red", "circle", LISBON, "2023:01:10 12:00:00", seed=13),
        "sydney january": shape_photo(family, alice, "red", "circle", SYDNEY, "2023:01:10 12:00:00", seed=14),
    }
    embed_photos(photo_ids=[photo.pk for photo in photos.values()])
    return photos


def test_a_season_with_a_year_follows_each_photos_own_hemisphere(both_sides, family, api, client_for, alice):
    # "summer 2023" was June to August 2023 for every photo of a northern family: their winter in Sydney matched it,
    # and their summer there (January) did not, though its own words say "summer".
    ids = {name: photo.pk for name, photo in both_sides.items()}
    body = _api(api, q="summer 2023")
    assert set(_ids(body)) == {ids["lisbon july"], ids["sydney january"]}
    assert body["interpreted"]["taken_after"] == "2023-06-01" and body["interpreted"]["taken_before"] == "2023-08-31"
    assert body["interpreted"]["other_hemisphere"] == {"taken_after": "2022-12-01", "taken_before": "2023-02-28",
                                                         "not_dates": []}
    assert set(_ids(_api(api, q="winter 2023"))) == {ids["lisbon january"], ids["sydney july"]}
    assert set(_ids(_api(api, q="red circle not in summer 2023"))) == {ids["lisbon january"], ids["sydney july"]}
    assert _api(api, q="2023")["interpreted"]["other_hemisphere"] is None  # no season: the same days everywhere
    page = client_for(alice).get(reverse("search:search"), {"q": "summer 2023"}).content.decode()
    assert f'data-photo="{ids["sydney january"]}"' in page and f'data-photo="{ids["sydney july"]}"' not in page
    assert "1 Dec 2022 – 28 Feb 2023 south of the equator" in page
    # A southern family's seasons are the same photos' (its summer is the January, Sydney's and Lisbon's July).
    family_default_country_set(family=family, country_code="AU")
    body = _api(api, q="summer 2023")
    assert set(_ids(body)) == {ids["lisbon july"], ids["sydney january"]}
    assert body["interpreted"]["other_hemisphere"] == {"taken_after": "2023-06-01", "taken_before": "2023-08-31",
                                                         "not_dates": []}
    # An explicit date wins over the query's, on both sides.
    body = _api(api, q="summer 2023", taken_after="2023-07-01", taken_before="2023-07-31")
    assert set(_ids(body)) == {ids["lisbon july"], ids["sydney july"]} and body["interpreted"]["other_hemisphere"] is None


def test_a_photo_with_no_position_nor_place_is_on_its_familys_side_of_the_equator_as_its_own_words_say(
        toy_model, family, alice, api):
    # Its season words come from its family's default country (search.metadata._when_where); the season filter read
    # such a photo on the search's side (the majority of the user's families), so a July photo of alice's
    # Australian family, "winter" by its own words, was not in "winter 2023" searched with her British family too.
    from gallery.models import Family, Membership

    family_default_country_set(family=family, country_code="GB")
    grandma = Family.objects.create(name="Grandma", default_country="AU")
    Membership.objects.create(family=grandma, user=alice, role=Membership.Role.ADMIN)
    july = shape_photo(grandma, alice, "red", "circle", None, "2023:07:14 12:00:00", seed=21)
    home = shape_photo(family, alice, "red", "circle", None, "2023:07:14 12:00:00", seed=22)
    embed_photos(photo_ids=[july.pk, home.pk])
    assert july.pk in _ids(_api(api, q="winter 2023")) and home.pk not in _ids(_api(api, q="winter 2023"))
    assert home.pk in _ids(_api(api, q="summer 2023")) and july.pk not in _ids(_api(api, q="summer 2023"))


def test_the_family_place_list_follows_the_photos(family, alice):
    photo = shape_photo(family, alice, "red", "circle", LISBON, "2023:07:14 12:00:00", seed=7)
    assert list(FamilyPlace.objects.filter(family=family).values_list("city", "country_code")) == [("Lisbon", "PT")]
    Photo.objects.filter(pk=photo.pk).delete()
    family_places_rebuild(family_ids=[family.pk])
    assert not FamilyPlace.objects.filter(family=family).exists()


def test_the_sweep_drops_a_place_whose_last_photo_is_gone(toy_model, family, alice, api):
    """A place stayed in the family's list after its last photo was deleted (family_places_rebuild ran nowhere but
    the tests): "lisbon" went on making a place chip that filtered to nothing, so a photo whose description says
    Lisbon was no longer found by the word. The sweep now rebuilds the lists of families holding such a place."""
    from gallery.services import photo_update, photos_delete
    from search.services import embed_missing

    gone = shape_photo(family, alice, "red", "circle", LISBON, "2023:07:14 12:00:00", seed=8)
    scan = shape_photo(family, alice, "blue", "square", None, "2023:07:14 12:00:00", seed=9)
    kept = shape_photo(family, alice, "green", "square", LONDON, "2023:07:14 12:00:00", seed=10)
    photo_update(photo=scan, description="tram ride in lisbon")
    photos_delete(photos=Photo.all_objects.filter(pk=gone.pk))
    assert _api(api, q="lisbon")["interpreted"]["places"] == ["Lisbon"]
    embed_missing()
    body = _api(api, q="lisbon")
    assert body["interpreted"]["places"] == [] and _ids(body) == [scan.pk]
    assert list(FamilyPlace.objects.filter(family=family).values_list("city", flat=True)) == [kept.place_city]


def test_a_tag_of_the_family_is_a_concept_not_a_place(family, alice, add_shape):
    add_shape("red", "circle", tags=["Turkey"])
    context = parser_context(family_ids=[family.pk], query="turkey dinner")
    assert "turkey" in context.concepts


@pytest.mark.parametrize("params", [
    {"q": "\x00"}, {"q": "-"}, {"q": "not"}, {"q": "between 2019 and"}, {"q": "in in in the the"},
    {"q": "2023-02-30 13/13/2023"}, {"q": "x" * 6000}, {"q": "lisbon " * 400}, {"q": "last", "plain": "\x00"},
    {"q": "red", "plain": ["a"] * 100}, {"q": "red 2023", "chip": "nothing", "chip_place": "x"},
    {"q": "red 2023", "chip": "2023"}, {"q": "-\"", "after": "garbage"}, {"q": "ÅÅÅ ǅ ﬀ 𝔘 İ"},
])
def test_odd_queries_never_fail(family, alice, client_for, api, params):
    response = client_for(alice).get(reverse("search:search"), params, follow=True)
    assert response.status_code == 200
    assert api.get(reverse("api_search"), {k: v for k, v in params.items() if k in ("q", "plain")}).status_code in (
        200, 400)


def test_the_openapi_schema_documents_interpreted_and_plain(client, alice):
    client.force_login(alice)  # the schema is for signed-in users
    schema = client.get("/api/v1/schema/", {"format": "json"}).json()
    search = schema["paths"]["/api/v1/search/"]["get"]
    assert {"plain", "place", "country"} <= {p["name"] for p in search["parameters"]}
    interpreted = schema["components"]["schemas"]["Interpreted"]
    assert set(interpreted["properties"]) == {"places", "not_places", "not_dates", "taken_after", "taken_before", "excluded",
                                               "text", "other_hemisphere", "date_notes", "days_of_year",
                                               "not_days_of_year", "periods", "day_word_notes", "date_word_notes"}
    assert "either of them" in interpreted["properties"]["periods"]["description"]
    assert "march 4" in interpreted["properties"]["day_word_notes"]["description"]
    assert "no default country" in interpreted["properties"]["date_word_notes"]["description"]
    output = search["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert {"interpreted", "message"} <= set(schema["components"]["schemas"][output]["properties"])


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(query=st.lists(st.one_of(st.sampled_from(["in", "Lisbon", "2023", "-dog", "not", "last", "summer", "between",
                                                  "and", "christmas", "portugal", "jersey", "at", "the", '"']),
                                st.text(max_size=8)), max_size=8).map(" ".join),
       plain=st.lists(st.text(max_size=10), max_size=3))
def test_no_query_makes_an_error_page(family, alice, client_for, api, query, plain):
    FamilyPlace.objects.get_or_create(family=family, city="Lisbon", region="Lisbon", country="Portugal",
                                      country_code="PT")
    page = client_for(alice).get(reverse("search:search"), {"q": query, "plain": plain})
    assert page.status_code == 200
    assert api.get(reverse("api_search"), {"q": query, "plain": plain}).status_code in (200, 400)


def test_several_dates_say_they_are_searched_as_either_of_them(trip, alice, client_for):
    """"2019 2023" makes a chip per year. It was searched as 2019 to 2023 (the 2022 photo showed) and the note said
    "the span that covers all the dates you named"; it is either year now, and the note says so. Dates that meet are
    one span still, and say it."""
    page = client_for(alice).get(reverse("search:search"), {"q": "2019 2023"}).content.decode()
    assert page.count('class="chip chip-date"') == 2
    assert "Taken in 2019 or 2023: either of the dates you named, not the days between." in page
    assert f'href="{trip["lisbon 2022"].get_absolute_url()}' not in page
    assert f'href="{trip["lisbon 2023"].get_absolute_url()}' in page
    assert "the span that covers" not in page
    met = client_for(alice).get(reverse("search:search"), {"q": "2022 or 2023"}).content.decode()
    assert "Taken 1 Jan 2022 – 31 Dec 2023: the span that covers all the dates you named." in met
    one = client_for(alice).get(reverse("search:search"), {"q": "2022"}).content.decode()
    assert "the span that covers" not in one and "dates you named" not in one


def test_dates_joined_by_or_find_the_photos_of_either_not_those_between(trip, api, alice):
    """"red july 2022 or august 2023" searched July 2022 to August 2023 whole (the May and July 2023 photos showed);
    a family asking for two months wants those."""
    body = _api(api, q="red july 2022 or august 2023")
    assert set(_ids(body)) == {trip["lisbon 2022"].pk, trip["blue lisbon 2023"].pk}
    interpreted = body["interpreted"]
    assert (interpreted["taken_after"], interpreted["taken_before"]) == ("2022-07-01", "2023-08-31")  # outer bounds
    assert interpreted["periods"] == [{"taken_after": "2022-07-01", "taken_before": "2022-07-31"},
                                      {"taken_after": "2023-08-01", "taken_before": "2023-08-31"}]
    # The union cut by a bound said apart: from June 2023, May is out and August in.
    cut = _api(api, q="red 2022 or 2023 or 2025 since august 2023")
    assert set(_ids(cut)) == {trip["blue lisbon 2023"].pk}
    assert [p["taken_after"] for p in cut["interpreted"]["periods"]] == ["2023-08-01", "2025-01-01"]
    # A query of only dates lists the photos of either, browsed by their own years (not the years between).
    from search.engine import SearchParams
    from search.understanding import understand_search
    understood = understand_search(user=alice, params=SearchParams(query="2018 or 2022"))
    assert understood.params.browse and understood.params.query == "2018 2022"
    assert set(_ids(_api(api, q="2018 or 2022"))) == {trip["lisbon 2022"].pk}
    # Explicit dates replace the query's, periods and all.
    explicit = _api(api, q="red july 2022 or august 2023", taken_after="2022-01-01", taken_before="2023-12-31")
    assert explicit["interpreted"]["periods"] == [] and len(_ids(explicit)) == 4


def test_dates_joined_by_or_take_a_photo_dated_by_its_folder_only_when_one_holds_its_whole_month_or_year(
        trip, api):
    """The rule of every date filter (search.scope._IN_PERIOD) holds in each period: a scan from a "2023/06" folder
    (dated 1 May 2023) is in "may 2023 or 2025", not in "1 to 20 May 2023 or 2025", which the span covering them held
    whole; from a "2022" folder, in "2022 or 2025", not in "2021 or 2023"."""
    Photo.objects.filter(pk=trip["london 2023"].pk).update(taken_at_source=Photo.DateSource.FOLDER_MONTH)
    Photo.objects.filter(pk=trip["lisbon 2022"].pk).update(taken_at_source=Photo.DateSource.FOLDER_YEAR)
    assert trip["london 2023"].pk in _ids(_api(api, q="red may 2023 or 2025"))
    assert trip["london 2023"].pk not in _ids(_api(api, q="red between 2023-05-01 and 2023-05-20 or 2025"))
    assert trip["lisbon 2022"].pk in _ids(_api(api, q="red 2022 or 2025"))
    assert trip["lisbon 2022"].pk not in _ids(_api(api, q="red 2021 or 2023"))


def test_a_start_and_an_end_say_the_days_between_them_or_that_none_is_in_both(trip, alice, client_for, api):
    """"since 2020 until 2022" is searched as 2020 to 2022 (the days both take in), not as the span covering both
    (no span at all: every year showed); where no day is in both ("since 2024 until 2020") the page says so."""
    client = client_for(alice)
    page = client.get(reverse("search:search"), {"q": "red since 2023 until 2023"}).content.decode()
    assert "Taken 1 Jan – 31 Dec 2023: the days all the dates you named take in." in page
    assert "the span that covers" not in page
    found = _ids(_api(api, q="red since 2023 until 2023"))
    assert trip["lisbon 2023"].pk in found and trip["lisbon 2022"].pk not in found
    crossed = client.get(reverse("search:search"), {"q": "red since 2024 until 2020"}).content.decode()
    assert "No day is both since 2024 and until 2020: the dates you named narrow nothing." in crossed


# What each gave before a query of only places and dates stopped walking the index (and taken with the walk).
BROWSED_BEFORE = {
    'Lisbon 2023': [('blue lisbon 2023', 0.35161967), ('lisbon 2023', 0.35161967)],
    'between 1900 and 2025': [('blue lisbon 2023', 0.425650823), ('lisbon 2023', 0.425650823), ('london 2023', 0.425650823), ('lisbon 2022', 0.425650823)],
    'since 2020': [('blue lisbon 2023', 0.425650823), ('lisbon 2023', 0.425650823), ('london 2023', 0.425650823), ('lisbon 2022', 0.425650823)],
    'portugal': [('blue lisbon 2023', 0.519550226), ('lisbon 2023', 0.519550226), ('lisbon 2022', 0.519550226)],
    '2022': [('lisbon 2022', 0.425650823)],
    'summer 2023 in Lisbon': [('blue lisbon 2023', 0.35161967), ('lisbon 2023', 0.35161967)],
    'between 1900 and 2025 -square': [('london 2023', 0.425650619), ('lisbon 2022', 0.425650501), ('lisbon 2023', 0.190422075), ('blue lisbon 2023', 0.000123327)],
    'Lisbon -circle': [('blue lisbon 2023', 0.51953659), ('lisbon 2023', 0.218117303), ('lisbon 2022', 5.424e-05)],
    'late 2010s': [],
    '05/06/2021': [],
}
BROWSED = ("Lisbon 2023", "between 1900 and 2025", "since 2020", "portugal", "2022", "summer 2023 in Lisbon",
           "between 1900 and 2025 -square", "Lisbon -circle", "late 2010s", "05/06/2021")


def _browsed(alice, query: str, **extra) -> list[tuple]:
    """A search's results as a list of what each shows: id, score and every number of its explanation, and the
    same photo's explanation as a judgment records it (explain_photo)."""
    from search.engine import SearchParams, explain_photo, search_photos
    from search.understanding import understand_search

    params = understand_search(user=alice, params=SearchParams(query=query, min_score=0, **extra)).params
    rows = []
    for result in search_photos(user=alice, params=params).results:
        alone = explain_photo(user=alice, params=params, photo_id=result.photo.pk, load_model=True)
        rows.append((result.photo.pk, round(result.score, 9), result.explanation.as_dict(), alone.as_dict()))
    return rows


def test_a_query_of_only_places_and_dates_walks_no_index_and_scores_no_image(trip, alice, client_for):
    # It walked each family's index and scored the candidates' images with the words it browses by ("2019 2020 …"),
    # then zeroed that image match: the same results for a walk and a scoring statement of nothing. Results and
    # explanations are those it gave (pinned in BROWSED_BEFORE, taken before the change), with no image match.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for query in BROWSED:
        with CaptureQueriesContext(connection) as captured:
            rows = _browsed(alice, query)
        statements = [q["sql"] for q in captured.captured_queries]
        assert not any("<=>" in s for s in statements), query  # no walk
        if "-" not in query:  # no image scored either (an exclusion still lowers those that show it)
            assert not any("<#>" in s for s in statements), query  # (the scoring statement's inner product)
        # (to 1e-6: with an exclusion, "-square", the score differs past the sixth digit by the tests run before it
        # in the process, 0.190421901 or 0.190422075: the test failed in its file and passed alone; cause not found)
        assert [(pid, pytest.approx(score, abs=1e-6)) for pid, score, _, _ in rows] == [
            (trip[k].pk, s) for k, s in BROWSED_BEFORE[query]], query
        for pid, score, shown, alone in rows:
            assert shown["probability_semantic"] == alone["probability_semantic"] == 0.0
            assert shown == alone, query  # the result's explain is the judgment's
            # no image match shown: it showed the cosine of the browse words and a sigmoid of it that read 0
            assert (shown["cosine"], shown["probability"], shown["term"]) == (None, None, None), query
            assert (shown["excluded_probability"] is not None) == ("-" in query), query
    page = client_for(alice).get(reverse("search:search"), {"q": "Lisbon 2023", "min_score": 0}).content.decode()
    assert "only places and dates were asked for" in page and "cos =" not in page
    # a refine moves the image half onto the photos: it walks
    with CaptureQueriesContext(connection) as captured:
        _browsed(alice, "Lisbon 2023", like=(trip["lisbon 2023"].pk,))
    assert any("<=>" in q["sql"] for q in captured.captured_queries)



def test_the_usual_country_is_read_exactly_and_once_per_version_of_the_familys_photos(
        family, alice, django_capture_on_commit_callbacks):
    # "last christmas" for a family without a default country read 500 of its photos on every search (any 500: in a
    # larger library not even the most common country's) to guess whose holidays it meant.
    from collections import Counter

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from gallery.trash_services import photos_trash

    def sampled() -> str:  # what the 500-photo sample gave, for a family that has fewer
        codes = Photo.objects.filter(family=family).exclude(place_country_code="").values_list("place_country_code",
                                                                                              flat=True)
        return Counter(codes).most_common(1)[0][0]

    family_default_country_set(family=family, country_code="")
    with django_capture_on_commit_callbacks(execute=True):
        lisbon = [shape_photo(family, alice, "red", "circle", LISBON, "2023:07:14 12:00:00", seed=n) for n in (31, 32)]
        shape_photo(family, alice, "red", "circle", LONDON, "2023:07:14 12:00:00", seed=33)
    context = parser_context(family_ids=[family.pk], query="last christmas")
    assert context.holiday_country == sampled() == "PT"
    with CaptureQueriesContext(connection) as captured:
        assert parser_context(family_ids=[family.pk], query="this easter").holiday_country == "PT"
    photos = Photo._meta.db_table
    assert not [q["sql"] for q in captured.captured_queries if photos in q["sql"]]  # known for this version
    with django_capture_on_commit_callbacks(execute=True):  # the photos change: read again
        for n in (34, 35):
            shape_photo(family, alice, "red", "circle", LONDON, "2023:07:14 12:00:00", seed=n)
    assert parser_context(family_ids=[family.pk], query="last christmas").holiday_country == sampled() == "GB"
    with django_capture_on_commit_callbacks(execute=True):  # trashed photos count no more
        photos_trash(user=alice, photo_ids=[photo.pk for photo in Photo.objects.filter(place_country_code="GB")][:2])
    assert parser_context(family_ids=[family.pk], query="last christmas").holiday_country == sampled() == "PT"
    assert lisbon[0].place_country_code == "PT"


def test_the_hemisphere_of_a_family_without_a_default_country_is_read_once_per_version_of_its_photos(
        family, alice, django_capture_on_commit_callbacks):
    # A season in a query ("summer 2023") for a family with no default country read 500 of its photos' latitudes on
    # every search (any 500) to tell its hemisphere; now counted over them all, once per version of its photos.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    family_default_country_set(family=family, country_code="")
    with django_capture_on_commit_callbacks(execute=True):
        for n in (41, 42):
            shape_photo(family, alice, "red", "circle", SYDNEY, "2023:07:14 12:00:00", seed=n)
        shape_photo(family, alice, "red", "circle", LONDON, "2023:07:14 12:00:00", seed=43)
    assert parser_context(family_ids=[family.pk], query="summer 2023").southern
    with CaptureQueriesContext(connection) as captured:
        assert parser_context(family_ids=[family.pk], query="winter").southern
    assert not [q["sql"] for q in captured.captured_queries if Photo._meta.db_table in q["sql"]]
    with django_capture_on_commit_callbacks(execute=True):  # the photos change: read again
        for n in (44, 45):
            shape_photo(family, alice, "red", "circle", LONDON, "2023:07:14 12:00:00", seed=n)
    assert not parser_context(family_ids=[family.pk], query="summer 2023").southern


BERLIN = (52.52, 13.405)


def test_a_region_named_state_of_is_known_by_its_name_too(toy_model, family, alice, api):
    # A photo in central Berlin is placed in "Mitte, State of Berlin" (GeoNames' names): "Berlin" was no place, so
    # it was searched as words and every photo came back, the Berlin ones first.
    berlin = shape_photo(family, alice, "red", "circle", BERLIN, "2021:06:14 12:00:00", seed=41)
    lisbon = shape_photo(family, alice, "red", "circle", LISBON, "2021:06:14 12:00:00", seed=42)
    embed_photos(photo_ids=[berlin.pk, lisbon.pk])
    assert berlin.place_region == "State of Berlin"
    body = _api(api, q="Berlin 2021")
    assert body["interpreted"]["places"] == ["State of Berlin"] and body["interpreted"]["text"] == ""
    assert _ids(body) == [berlin.pk]
    assert _ids(_api(api, q="red circle not in berlin")) == [lisbon.pk]
    places = parser_context(family_ids=[family.pk], query="berlin").places
    assert places["berlin"] == places["state of berlin"]


def test_a_places_own_name_wins_over_another_places_other_spelling(family, alice):
    # Other spellings were added row by row with the names: "City of London" stored first took "london", so a search of
    # "London" filtered to the City of London (the place filter matches whole names) and missed every other London
    # photo. A stored name is always itself; another place's spelling only fills what no name holds.
    FamilyPlace.objects.bulk_create([
        FamilyPlace(family=family, city="City of London", region="England", country="United Kingdom",
                    country_code="GB"),
        FamilyPlace(family=family, city="London", region="England", country="United Kingdom", country_code="GB"),
        FamilyPlace(family=family, city="Region of Murcia", region="Murcia", country="Spain", country_code="ES"),
    ])
    places = parser_context(family_ids=[family.pk], query="x").places
    assert places["london"].name == "London" and places["city of london"].name == "City of London"
    assert places["murcia"].name == "Murcia"


def test_a_place_is_known_as_people_type_it_without_hyphens_and_with_st_for_saint(family, alice):
    # "Stratford upon Avon", "St Petersburg", "Saint Ives" found no place stored as "Stratford-upon-Avon",
    # "Saint Petersburg", "St. Ives": the words were searched instead, and every photo came back.
    FamilyPlace.objects.bulk_create([
        FamilyPlace(family=family, city="Stratford-upon-Avon", region="England", country="United Kingdom",
                    country_code="GB"),
        FamilyPlace(family=family, city="Saint Petersburg", region="St.-Petersburg", country="Russia",
                    country_code="RU"),
        FamilyPlace(family=family, city="St. Ives", region="England", country="United Kingdom", country_code="GB"),
        FamilyPlace(family=family, city="Aix-en-Provence", region="Provence-Alpes-Côte d'Azur", country="France",
                    country_code="FR"),
    ])
    places = parser_context(family_ids=[family.pk], query="x").places
    for typed, stored in (("stratford upon avon", "Stratford-upon-Avon"), ("st petersburg", "Saint Petersburg"),
                          ("saint ives", "St. Ives"), ("aix en provence", "Aix-en-Provence"),
                          ("stratford-upon-avon", "Stratford-upon-Avon"), ("saint petersburg", "Saint Petersburg"),
                          ("provence alpes cote dazur", "Provence-Alpes-Côte d'Azur")):
        assert places[typed].name == stored, typed
    from search.query_parser import parse_query
    parsed = parse_query("beach in St Petersburg 2021", parser_context(family_ids=[family.pk],
                                                                      query="beach in St Petersburg 2021"))
    assert parsed.places == ("Saint Petersburg",) and parsed.text == "beach"


def test_show_more_on_a_query_of_only_places_and_dates_goes_on_past_the_metadata_candidates(trip, api, settings):
    # A search takes up to SEARCH_CANDIDATES (200) metadata matches; a query of only places and dates has no image
    # match to bring the rest (it walks no index), so "2021" in a big library listed 200 photos and no "Show more",
    # while the filter held thousands. The metadata matches a page asks for grow with it, as the walk's do.
    settings.SEARCH_CANDIDATES = 2
    lisbon = {trip["lisbon 2023"].pk, trip["lisbon 2022"].pk, trip["blue lisbon 2023"].pk}
    first = _api(api, q="Lisbon", limit=2)
    assert len(first["results"]) == 2 and first["more"]
    everything = _api(api, q="Lisbon", limit=3)
    assert set(_ids(everything)) == lisbon and not everything["more"]


def test_a_query_of_only_dates_lists_the_newest_photos_in_them_first_past_the_metadata_candidates(trip, api, settings):
    # Photos of a year match its browse words alike, and the metadata pass kept the first SEARCH_CANDIDATES of them
    # by id (its tie-break): "2023" in a library of thousands of photos from 2023 listed the newest of the ones
    # uploaded first, not the newest of 2023 (ids grow as photos are uploaded, rarely as they were taken).
    settings.SEARCH_CANDIDATES = 2
    newest = trip["blue lisbon 2023"]  # 1 August: uploaded last
    assert newest.pk == max(p.pk for p in trip.values())
    assert _ids(_api(api, q="2023", limit=1)) == [newest.pk]
    assert _ids(_api(api, q="2023", limit=2)) == [newest.pk, trip["lisbon 2023"].pk]
