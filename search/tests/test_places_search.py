"""Places and dates in words: found by metadata ("lisbon", "winter", "christmas"), filtered by country and place,
and never across families."""

from __future__ import annotations

import itertools

import pytest
from django.urls import reverse

from gallery.models import Photo
from gallery.services import UploadResult, family_default_country_set, photo_create_from_bytes
from search.models import SearchWord
from tests.images import gps_jpeg

pytestmark = pytest.mark.django_db

LISBON = (38.7223, -9.1393)
SYDNEY = (-33.8688, 151.2093)
BUENOS_AIRES = (-34.6037, -58.3816)
LONDON = (51.5074, -0.1278)
_colours = itertools.count()  # each photo its own bytes (a colour of its own)


def store(family, user, latitude=None, longitude=None, *, taken="2023:07:14 12:00:00") -> Photo:
    n = next(_colours)
    data = gps_jpeg(latitude, longitude, taken=taken, colour=(n % 256, (255 - 3 * n) % 256, (n * 7 + n // 256) % 256))
    result = photo_create_from_bytes(family=family, uploaded_by=user, data=data, filename=f"IMG_{n:04d}.jpg")
    assert result.outcome == UploadResult.SAVED, result.reason
    return result.photo


def _search(api, **params):
    response = api.get(reverse("api_search"), {"min_score": 0, **params})
    assert response.status_code == 200, response.content[:300]
    return response.json()


def _ids(body) -> set[int]:
    return {r["id"] for r in body["results"]}


def test_a_photo_with_gps_of_lisbon_is_found_by_lisbon_through_its_metadata(toy_model, family, alice, api):
    lisbon = store(family, alice, *LISBON)
    london = store(family, alice, *LONDON)

    body = _search(api, q="lisbon")
    assert _ids(body) == {lisbon.pk}
    explanation = body["results"][0]["explanation"]
    assert explanation["meta_score"] > 0
    assert explanation["meta_fields"] == ["place"]
    assert _ids(_search(api, q="portugal")) == {lisbon.pk}
    assert london.pk in _ids(_search(api, q="england"))
    # The place's words are in the family's vocabulary, so a typo still finds it.
    assert SearchWord.objects.filter(family=family, word="lisbon").exists()
    assert lisbon.pk in _ids(_search(api, q="lisbom"))


def test_southern_hemisphere_july_is_winter(toy_model, family, alice, api):
    sydney = store(family, alice, *SYDNEY, taken="2023:07:14 12:00:00")
    buenos_aires = store(family, alice, *BUENOS_AIRES, taken="2023:07:20 12:00:00")
    lisbon = store(family, alice, *LISBON, taken="2023:07:14 12:00:00")
    no_gps = store(family, alice, taken="2023:07:14 12:00:00")  # northern by default

    assert _ids(_search(api, q="winter")) == {sydney.pk, buenos_aires.pk}
    assert _ids(_search(api, q="summer")) == {lisbon.pk, no_gps.pk}
    # "summer 2023" is a date chip (the family's hemisphere); un-chipped, its words match each photo's own season.
    assert _ids(_search(api, q="summer 2023", plain="summer 2023")) >= {lisbon.pk, no_gps.pk}
    assert _ids(_search(api, q="july")) == {sydney.pk, buenos_aires.pk, lisbon.pk, no_gps.pk}
    assert _ids(_search(api, q="june")) == set()


def test_a_photo_taken_on_christmas_day_in_portugal_is_found_by_christmas(toy_model, family, alice, api):
    christmas = store(family, alice, *LISBON, taken="2023:12:25 15:00:00")
    boxing_day = store(family, alice, *LISBON, taken="2023:12:26 15:00:00")  # not a holiday in Portugal
    store(family, alice, *LISBON, taken="2024:01:01 10:00:00")

    assert _ids(_search(api, q="christmas")) == {christmas.pk}
    assert boxing_day.pk not in _ids(_search(api, q="christmas"))
    assert len(_ids(_search(api, q="new year"))) == 1


def test_without_gps_the_familys_default_country_names_the_holidays(toy_model, family, alice, api):
    photo = store(family, alice, taken="2023:12:25 10:00:00")
    assert _ids(_search(api, q="christmas")) == set()  # no country known: no holidays

    family_default_country_set(family=family, country_code="GB")

    assert _ids(_search(api, q="christmas")) == {photo.pk}


def test_country_and_place_filter_the_search_page_and_the_api(toy_model, family, alice, api, client_for):
    lisbon = store(family, alice, *LISBON)
    sydney = store(family, alice, *SYDNEY)

    assert _ids(_search(api, q="2023", country="PT")) == {lisbon.pk}
    assert _ids(_search(api, q="2023", country="au")) == {sydney.pk}
    assert _ids(_search(api, q="2023", place="new south")) == {sydney.pk}
    assert _ids(_search(api, q="2023", place="lisb")) == {lisbon.pk}
    assert api.get(reverse("api_search"), {"q": "2023", "country": "Portugal"}).status_code == 400

    client = client_for(alice)
    page = client.get(reverse("search:search"), {"q": "2023", "country": "PT", "show_hidden": "1"}).content.decode()
    assert f'href="{lisbon.get_absolute_url()}' in page
    assert f'href="{sydney.get_absolute_url()}' not in page
    assert '<option value="AU">Australia</option>' in page
    page = client.get(reverse("search:search"), {"q": "2023", "place": "sydney", "show_hidden": "1"}).content.decode()
    assert f'href="{sydney.get_absolute_url()}' in page
    assert f'href="{lisbon.get_absolute_url()}' not in page


def test_a_place_matches_from_the_start_of_a_name_never_inside_a_word(toy_model, family, alice, api):
    # "Nice" is in "veNICE": a family with photos in both asked for Nice and got Venice too.
    nice = store(family, alice, 43.7102, 7.2620)
    venice = store(family, alice, 45.4408, 12.3155)

    assert _ids(_search(api, q="2023", place="nice")) == {nice.pk}
    assert _ids(_search(api, q="2023", place="venice")) == {venice.pk}
    body = _search(api, q="in Nice 2023")
    assert body["interpreted"]["places"] == ["Nice"] and _ids(body) == {nice.pk}
    # The box names whole places: "York" is not "New York" (a name typed in the filter may be a part of one).
    york = store(family, alice, 53.9600, -1.0873)
    new_york = store(family, alice, 40.7128, -74.0060)
    body = _search(api, q="in York 2023")
    assert body["interpreted"]["places"] == ["York"] and _ids(body) == {york.pk}
    assert _ids(_search(api, q="in New York 2023")) == {new_york.pk}
    # A name typed in part still finds the place it starts, and a region or country names it too.
    assert _ids(_search(api, q="2023", place="ven")) == {venice.pk}
    assert _ids(_search(api, q="2023", place="côte d'azur")) == {nice.pk}
    assert _ids(_search(api, q="2023", place="provence alpes")) == {nice.pk}


def test_several_countries_find_photos_of_a_country_whose_list_name_differs(toy_model, family, alice, api):
    # GeoNames calls it "Korea, Republic of"; people (and the box's chip) say "South Korea". Two countries filter by
    # name: the chip's name found no photo of Korea at all.
    seoul = store(family, alice, 37.5665, 126.9780)
    tokyo = store(family, alice, 35.6762, 139.6503)
    assert Photo.objects.get(pk=seoul.pk).place_country_code == "KR"

    body = _search(api, q="in South Korea and Japan")
    assert body["interpreted"]["places"] == ["South Korea", "Japan"]
    assert _ids(body) == {seoul.pk, tokyo.pk}
    assert _ids(_search(api, q="Japan, Korea 2023")) == {seoul.pk, tokyo.pk}


def test_not_in_a_year_leaves_out_the_photos_taken_then(toy_model, family, alice, api, client_for):
    """"beach not in 2023" and "beach -2023" were words: "-2023" kept only the photos whose metadata lacks the
    year, and "not in 2023" even raised the 2023 photos. Now a negated date is a filter: the photos taken in it
    (their own local day) are left out."""
    from datetime import timezone

    from gallery.services import photo_update

    old = store(family, alice, *LISBON, taken="2022:07:14 12:00:00")
    new = store(family, alice, *LONDON, taken="2023:07:14 12:00:00")
    for photo in (old, new):
        photo_update(photo=photo, tags=["beach"])
    body = _search(api, q="beach not in 2023")
    assert body["interpreted"]["not_dates"] == [{"taken_after": "2023-01-01", "taken_before": "2023-12-31"}]
    assert _ids(body) == {old.pk}
    assert _ids(_search(api, q="beach -2023")) == {old.pk}
    assert _ids(_search(api, q="beach except summer 2022")) == {new.pk}
    page = client_for(alice).get(reverse("search:search"), {"q": "beach not in 2023"}).content.decode()
    assert 'class="chip chip-not_date"' in page and "Left out" in page
    # The photo's own local day decides: half past midnight on New Year's Day in Sydney is still 2022 in UTC.
    new_year = store(family, alice, *SYDNEY, taken="2023:01:01 00:30:00")
    photo_update(photo=new_year, tags=["beach"])
    assert new_year.taken_at.astimezone(timezone.utc).year == 2022
    assert new_year.pk not in _ids(_search(api, q="beach not in 2023"))
    assert new_year.pk in _ids(_search(api, q="beach not in 2022"))


def test_another_familys_places_never_appear(toy_model, family, alice, other_family, mallory, api, client_for):
    mine = store(family, alice, *LISBON)
    theirs = store(other_family, mallory, *SYDNEY)

    page = client_for(alice).get(reverse("search:search"), {"q": "sydney", "show_hidden": "1"}).content.decode()
    assert "Australia" not in page  # not a country choice, not a result
    assert f'href="{theirs.get_absolute_url()}' not in page
    assert _ids(_search(api, q="sydney")) == set()
    assert _ids(_search(api, q="australia winter")) == set()
    assert _ids(_search(api, q="2023", country="AU")) == set()
    assert _ids(_search(api, q="2023", place="sydney")) == set()
    assert _ids(_search(api, q="2023")) == {mine.pk}
    assert not SearchWord.objects.filter(family=family, word="sydney").exists()


def test_not_in_a_place_leaves_out_the_photos_taken_there(toy_model, family, alice, api, client_for):
    """"beach not in Lisbon" only lowered the Lisbon photos (the place excluded as a concept, by its words in their
    metadata): the Lisbon beach still showed, below the London one. Now it is a filter, as "in Lisbon" is: the
    photos taken in Lisbon are left out, those taken elsewhere or with no known place stay, and a country ("not
    in Portugal") leaves out the photos of its every city."""
    from gallery.services import photo_update

    lisbon, london, nowhere = store(family, alice, *LISBON), store(family, alice, *LONDON), store(family, alice)
    for photo in (lisbon, london, nowhere):
        photo_update(photo=photo, tags=["beach"])
    plain = {r["id"]: r["score"] for r in _search(api, q="beach")["results"]}
    body = _search(api, q="beach not in Lisbon")
    interpreted = body["interpreted"]
    assert (interpreted["not_places"], interpreted["places"], interpreted["excluded"]) == (["Lisbon"], [], [])
    scores = {r["id"]: r["score"] for r in body["results"]}
    assert set(scores) == {london.pk, nowhere.pk}
    assert scores[london.pk] == pytest.approx(plain[london.pk]) and scores[nowhere.pk] == pytest.approx(plain[nowhere.pk])
    assert _ids(_search(api, q="beach not in Portugal")) == {london.pk, nowhere.pk}
    assert _ids(_search(api, q="not in Lisbon")) == set()  # nothing asked for but where not to look
    # An explicit place and a negated one together: both hold.
    assert _ids(_search(api, q="beach not in Lisbon", country="PT")) == set()
    # The page says so: a chip of its own kind, which un-chipping turns back into words.
    page = client_for(alice).get(reverse("search:search"), {"q": "beach not in Lisbon"}).content.decode()
    assert 'class="chip chip-not_place"' in page and "Left out" in page and "Lowered" not in page
    assert f'href="{lisbon.get_absolute_url()}' not in page and f'href="{london.get_absolute_url()}' in page


def test_a_negation_leaves_out_every_place_and_date_of_its_list(toy_model, family, alice, api):
    """"beach not in Lisbon or London" left out Lisbon only and made London the place to search in ("or" a word of the
    text): it showed the London photo alone, the one thing asked not to be shown. "beach not in 2019 or 2023" likewise
    showed only the 2023 photos. Now the negation runs over the list: every place and date of it is left out."""
    from gallery.services import photo_update

    lisbon, london = store(family, alice, *LISBON), store(family, alice, *LONDON)
    nowhere, older = store(family, alice), store(family, alice, taken="2019:05:01 12:00:00")
    recent = store(family, alice, taken="2021:05:01 12:00:00")
    for photo in (lisbon, london, nowhere, older, recent):
        photo_update(photo=photo, tags=["beach"])
    body = _search(api, q="beach not in Lisbon or London")
    assert (body["interpreted"]["not_places"], body["interpreted"]["places"]) == (["Lisbon", "London"], [])
    assert _ids(body) == {nowhere.pk, older.pk, recent.pk}
    body = _search(api, q="beach not in 2019 or 2023")
    assert body["interpreted"]["taken_after"] is None and len(body["interpreted"]["not_dates"]) == 2
    assert _ids(body) == {recent.pk}


def test_a_place_whose_region_bears_its_name_counts_once(toy_model, family, alice, api):
    """GeoNames names Lisbon's region "Lisbon" too, and the place field held "Lisbon Lisbon Portugal": the word counted
    twice, so a Lisbon photo read p = 0.80 for its place where a York photo (region England) read the documented 0.60
    for the same evidence, and ranked above it on "in Lisbon or York". Each word of the place now counts once."""
    lisbon, york = store(family, alice, *LISBON), store(family, alice, 53.959, -1.0815)
    assert (lisbon.place_city, lisbon.place_region) == ("Lisbon", "Lisbon")
    for query, photo in (("lisbon", lisbon), ("york", york)):
        explanation = next(r["explanation"] for r in _search(api, q=query)["results"] if r["id"] == photo.pk)
        assert explanation["meta_probabilities"]["place"] == pytest.approx(0.60), query
    both = {r["id"]: r["score"] for r in _search(api, q="in Lisbon or York")["results"]}
    assert both[lisbon.pk] == pytest.approx(both[york.pk])
