"""Dates of a family spread across time zones: a photo counts on the day it was taken where it was taken, in date
filters (the API, the search page, smart albums, date chips), whatever the server's TIME_ZONE; seasons follow the
hemisphere (the photo's latitude, else its family's country)."""

from __future__ import annotations

import itertools

import pytest
from django.urls import reverse

from gallery.album_selectors import album_photo_ids
from gallery.album_services import album_create
from gallery.models import Photo
from gallery.services import UploadResult, family_default_country_set, photo_create_from_bytes
from search.services import preferences_update
from tests.images import gps_jpeg
from tests.queue import run_queued_tasks

pytestmark = pytest.mark.django_db

LOS_ANGELES = (34.0522, -118.2437)
SYDNEY = (-33.8688, 151.2093)
LISBON = (38.7223, -9.1393)
_colours = itertools.cycle(range(10, 250, 9))  # (a photo's bytes differ by its date and place too)


@pytest.fixture
def store(django_capture_on_commit_callbacks):
    """Upload a photo taken at a place and a camera time, and index it (the queue run in this process)."""

    def upload(family, user, latitude=None, longitude=None, *, taken: str) -> Photo:
        n = next(_colours)
        data = gps_jpeg(latitude, longitude, taken=taken, colour=(n, 255 - n, (n * 7) % 256))
        with django_capture_on_commit_callbacks(execute=True):
            result = photo_create_from_bytes(family=family, uploaded_by=user, data=data, filename=f"IMG_{n:04d}.jpg")
        run_queued_tasks()
        assert result.outcome == UploadResult.SAVED, result.reason
        return Photo.objects.get(pk=result.photo.pk)

    return upload


def _ids(api, **params) -> set[int]:
    response = api.get(reverse("api_search"), {"q": "photo", "min_score": 0, **params})
    assert response.status_code == 200, response.content[:300]
    return {r["id"] for r in response.json()["results"]}


@pytest.fixture
def new_year(store, family, alice):
    """23:30 on New Year's Eve in Los Angeles (07:30 UTC on the 1st) and 00:30 on New Year's Day in Sydney (13:30
    UTC on the 31st): each on its own local day."""
    return (store(family, alice, *LOS_ANGELES, taken="2023:12:31 23:30:00"),
            store(family, alice, *SYDNEY, taken="2024:01:01 00:30:00"))


@pytest.mark.parametrize("server_zone", ["UTC", "Europe/Lisbon", "Pacific/Kiritimati", "America/Anchorage"])
def test_date_filters_count_a_photo_on_its_own_local_day(toy_model, new_year, api, settings, server_zone):
    settings.TIME_ZONE = server_zone
    los_angeles, sydney = new_year
    assert los_angeles.taken_at_local.day == 31 and sydney.taken_at_local.day == 1

    assert _ids(api, taken_before="2023-12-31") == {los_angeles.pk}
    assert _ids(api, taken_after="2024-01-01") == {sydney.pk}
    assert _ids(api, taken_after="2023-12-31", taken_before="2023-12-31") == {los_angeles.pk}
    assert _ids(api, taken_after="2024-01-01", taken_before="2024-01-01") == {sydney.pk}
    assert _ids(api, taken_after="2023-12-31", taken_before="2024-01-01") == {los_angeles.pk, sydney.pk}
    # The first and last days a date can name are bounds like any other, never an overflow.
    assert _ids(api, taken_after="0001-01-01", taken_before="9999-12-30") == {los_angeles.pk, sydney.pk}
    assert _ids(api, taken_before="0001-01-01") == set() and _ids(api, taken_after="9999-12-31") == set()


def test_date_chips_of_the_query_count_local_days(toy_model, new_year, api, settings):
    settings.TIME_ZONE = "UTC"
    los_angeles, sydney = new_year
    assert _ids(api, q="december 2023") == {los_angeles.pk}
    assert _ids(api, q="2024") == {sydney.pk}
    assert _ids(api, q="since 2024") == {sydney.pk}
    assert _ids(api, q="between 2020 and 2023") == {los_angeles.pk}


def test_the_search_page_and_smart_albums_count_local_days(toy_model, new_year, family, alice, client_for,
                                                             settings):
    settings.TIME_ZONE = "Asia/Tokyo"
    los_angeles, sydney = new_year
    # The page's minimum score is the member's preference (its URL has none): at 0 every photo in the dates is shown,
    # whatever the toy model makes of "photo" and the photo's colour (set by how many photos the process made before:
    # at the default minimum the test passed or failed by the tests run before it).
    preferences_update(user=alice, semantic_weight=0.6, metadata_weight=0.4, min_score=0.0, expansion_enabled=True,
                       default_sort="relevance")
    page = client_for(alice).get(reverse("search:search"), {"q": "photo", "before": "2023-12-31"}).content.decode()
    assert f'href="{los_angeles.get_absolute_url()}' in page
    assert f'href="{sydney.get_absolute_url()}' not in page
    album = album_create(user=alice, family=family, name="New Year's Day",
                         search={"q": "photo", "after": "2024-01-01", "before": "2024-01-01", "min_score": 0})
    assert album_photo_ids(album=album) == [sydney.pk]


def test_a_photo_without_gps_takes_its_season_from_its_familys_country(toy_model, store, family, alice, api):
    family_default_country_set(family=family, country_code="AU")
    july = store(family, alice, taken="2023:07:14 12:00:00")
    sydney_july = store(family, alice, *SYDNEY, taken="2023:07:14 12:00:00")
    lisbon_july = store(family, alice, *LISBON, taken="2023:07:14 12:00:00")
    assert _date_matches(api, "winter") == {july.pk, sydney_july.pk}  # explain says: the date matched
    assert _date_matches(api, "summer") == {lisbon_july.pk}
    assert _date_matches(api, "july") == {july.pk, sydney_july.pk, lisbon_july.pk}


def _date_matches(api, q: str) -> set[int]:
    """The results whose explanation says their date matched the words of `q`."""
    response = api.get(reverse("api_search"), {"q": q, "min_score": 0})
    assert response.status_code == 200, response.content[:300]
    return {r["id"] for r in response.json()["results"] if "date" in r["explanation"]["meta_fields"]}


def test_results_say_when_each_photo_was_taken_with_its_own_offset(toy_model, new_year, api, settings):
    settings.TIME_ZONE = "Europe/Lisbon"
    los_angeles, sydney = new_year
    body = api.get(reverse("api_search"), {"q": "photo", "min_score": 0, "sort": "date"}).json()
    local = {r["id"]: r["taken_at_local"] for r in body["results"]}
    assert local == {los_angeles.pk: "2023-12-31T23:30:00-08:00", sydney.pk: "2024-01-01T00:30:00+11:00"}
    similar = api.get(reverse("api_photo_similar", args=[sydney.pk]), {"min_score": 0})
    assert similar.status_code == 200
    assert {r["id"]: r["taken_at_local"] for r in similar.json()} == {
        los_angeles.pk: "2023-12-31T23:30:00-08:00"}


def test_a_photo_dated_only_by_its_folders_month_or_year_is_in_a_date_filter_only_when_it_holds_that_whole_period(
        toy_model, store, family, alice, api):
    """A scan from a folder named "2003" is dated 1 January 2003, one from "2003/08" 1 August 2003, as the first day
    standing for the year or the month (gallery.filename_dates.date_in_folders): "january 2003", "winter 2003" or "new
    year 2003" found every such scan of the year, and Swiss National Day (1 August) every August one. A date filter
    takes them only when it spans their whole year or month."""
    year, month, day = (store(family, alice, taken="2003:06:06 12:00:00") for _ in range(3))
    Photo.objects.filter(pk=year.pk).update(taken_at_source=Photo.DateSource.FOLDER_YEAR)
    Photo.objects.filter(pk=month.pk).update(taken_at_source=Photo.DateSource.FOLDER_MONTH)
    Photo.objects.filter(pk=day.pk).update(taken_at_source=Photo.DateSource.FOLDER_DAY)

    assert _ids(api, taken_after="2003-06-06", taken_before="2003-06-06") == {day.pk}
    assert _ids(api, taken_after="2003-06-01", taken_before="2003-06-30") == {day.pk, month.pk}
    assert _ids(api, taken_after="2003-05-15", taken_before="2003-07-15") == {day.pk, month.pk}
    assert _ids(api, taken_after="2003-01-01", taken_before="2003-12-31") == {day.pk, month.pk, year.pk}
    assert _ids(api, taken_after="2000-01-01") == {day.pk, month.pk, year.pk}
    assert _ids(api, taken_before="2003-06-30") == {day.pk, month.pk}
    assert _ids(api, q="photo june 2003") == {day.pk, month.pk}
    # A negated date leaves a photo out only when it holds the photo's whole month or year: a scan of "2003" may be
    # of any month but June
    assert _ids(api, q="beach not in june 2003") == {year.pk}
    assert _ids(api, q="beach not in 2003") == set()


def test_a_day_of_every_year_is_that_day_of_any_year_on_the_photos_own_local_day(toy_model, store, family, alice,
                                                                                    api, settings):
    """"3 june" was words: every June photo matched "june" by its metadata. It is the photos taken on 3 June of any
    year, each on its own local day (23:30 on 3 June in Los Angeles is the 4th in UTC, 00:30 on 4 June in Sydney the
    3rd), alone, with words, with a year range said elsewhere or given as the API's dates, and negated."""
    settings.TIME_ZONE = "UTC"
    lisbon_2019 = store(family, alice, *LISBON, taken="2019:06:03 12:00:00")
    los_angeles_2023 = store(family, alice, *LOS_ANGELES, taken="2023:06:03 23:30:00")
    sydney_2023 = store(family, alice, *SYDNEY, taken="2023:06:04 00:30:00")
    july = store(family, alice, *LISBON, taken="2021:07:03 12:00:00")
    everyone = {lisbon_2019.pk, los_angeles_2023.pk, sydney_2023.pk, july.pk}
    on_the_3rd = {lisbon_2019.pk, los_angeles_2023.pk}
    for query in ("3 june", "photo on 3 june", "the 3rd of june", "june 3rd photo", "photo on june 3 or 3 june"):
        assert _ids(api, q=query) == on_the_3rd, query
    assert _ids(api, q="3 june between 2019 and 2021") == {lisbon_2019.pk}
    assert _ids(api, q="photo 3 june since 2020") == {los_angeles_2023.pk}
    assert _ids(api, q="3 june", taken_after="2020-01-01") == {los_angeles_2023.pk}  # (the API's dates too)
    assert _ids(api, q="2019 the 3rd of june photo") == {lisbon_2019.pk}
    assert _ids(api, q="photo 3 june in Lisbon") == {lisbon_2019.pk}
    assert _ids(api, q="photo 4 june") == {sydney_2023.pk}
    assert _ids(api, q="beach not on 3 june") == everyone - on_the_3rd
    assert _ids(api, q="beach -june 3") == everyone - on_the_3rd
    assert _ids(api, q="beach not on 3 june or 4 june") == {july.pk}
    album = album_create(user=alice, family=family, name="Anna's birthdays", search={"q": "3 june", "min_score": 0})
    assert set(album_photo_ids(album=album)) == on_the_3rd  # (a smart album reads its words as the box does)
    body = api.get(reverse("api_search"), {"q": "beach 3 june not on 4 june", "min_score": 0}).json()["interpreted"]
    assert (body["days_of_year"], body["not_days_of_year"]) == ([{"month": 6, "day": 3}], [{"month": 6, "day": 4}])
    assert (body["taken_after"], body["taken_before"], body["text"]) == (None, None, "beach")


def test_29_february_of_every_year_is_only_leap_days(toy_model, store, family, alice, api):
    leap = store(family, alice, *LISBON, taken="2020:02:29 12:00:00")
    store(family, alice, *LISBON, taken="2021:02:28 12:00:00")
    store(family, alice, *LISBON, taken="2021:03:01 12:00:00")
    assert _ids(api, q="photo 29 february") == {leap.pk}
    assert _ids(api, q="29th of feb") == {leap.pk}


def test_christmas_eve_and_new_years_eve_are_their_own_days(toy_model, store, family, alice, api):
    """"christmas eve" and "new year's eve" without a year found the holidays' photos (25 December, 1 January: the
    date words of the photos' countries), not the eves; "christmas eve 2022" took 22 to 26 December."""
    eve_2022 = store(family, alice, *NEW_YORK, taken="2022:12:24 19:00:00")
    eve_2021 = store(family, alice, *LISBON, taken="2021:12:24 19:00:00")
    christmas = store(family, alice, *NEW_YORK, taken="2022:12:25 10:00:00")
    nye = store(family, alice, *LISBON, taken="2022:12:31 23:00:00")
    new_year = store(family, alice, *LISBON, taken="2023:01:01 00:30:00")
    for query in ("christmas eve", "xmas eve photo"):
        assert _ids(api, q=query) == {eve_2022.pk, eve_2021.pk}, query
    assert _ids(api, q="christmas eve 2022") == {eve_2022.pk}
    for query in ("new year's eve", "new years eve photo", "NYE"):
        assert _ids(api, q=query) == {nye.pk}, query
    assert _ids(api, q="beach not on christmas eve") == {christmas.pk, nye.pk, new_year.pk}
    assert _ids(api, q="beach -nye") == {eve_2022.pk, eve_2021.pk, christmas.pk, new_year.pk}


def test_a_photo_dated_only_by_its_folders_month_is_on_no_day_of_every_year(toy_model, store, family, alice, api):
    """A scan from a folder "2005-06" is dated 1 June 2005, the 1st standing for the month: it is no photo of "1
    june", and "not on 1 june" keeps it (nobody knows its day), as "On this day" leaves it out."""
    month, day = store(family, alice, taken="2005:06:01 12:00:00"), store(family, alice, taken="2006:06:01 12:00:00")
    Photo.objects.filter(pk=month.pk).update(taken_at_source=Photo.DateSource.FOLDER_MONTH)
    assert _ids(api, q="photo 1 june") == {day.pk}
    assert _ids(api, q="beach not on 1 june") == {month.pk}


NEW_YORK = (40.7128, -74.0060)


def test_the_word_day_of_a_holidays_name_matches_no_other_holiday(toy_model, store, family, alice, api):
    """A photo's date words carry its country's holidays, most named "… Day": "christmas day" found every photo of
    Thanksgiving Day and Independence Day by their date, and "a day at the zoo" every photo taken on a holiday."""
    thanksgiving = store(family, alice, *NEW_YORK, taken="2021:11:25 12:00:00")
    independence = store(family, alice, *NEW_YORK, taken="2021:07:04 12:00:00")
    assert _date_matches(api, "christmas day") == set()
    assert _date_matches(api, "a day at the zoo") == set()
    assert _date_matches(api, "thanksgiving day") == {thanksgiving.pk}
    assert _date_matches(api, "independence day") == {independence.pk}
