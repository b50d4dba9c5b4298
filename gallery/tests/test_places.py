"""Places: GPS positions named offline (city, region, country), on the photo page, in the API, filled for old photos."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.urls import reverse

from gallery.models import Photo
from gallery.places import place_for
from gallery.services import UploadResult, family_create, photo_create_from_bytes, photos_place_sweep
from tests import images
from tests.images import gps_jpeg

pytestmark = pytest.mark.django_db

LISBON = (38.7223, -9.1393)


def store(family, user, data, filename="IMG_0001.jpg") -> Photo:
    result = photo_create_from_bytes(family=family, uploaded_by=user, data=data, filename=filename)
    assert result.outcome == UploadResult.SAVED, result.reason
    return result.photo


def test_positions_are_named_like_a_person_would():
    assert place_for(latitude=38.7223, longitude=-9.1393).city == "Lisbon"  # not the quarter it is nearest to
    sydney = place_for(latitude=-33.8688, longitude=151.2093)
    assert (sydney.city, sydney.region, sydney.country, sydney.country_code) == (
        "Sydney", "New South Wales", "Australia", "AU")
    assert place_for(latitude=51.6565, longitude=-0.3903).city == "Watford"  # a town beside London stays itself
    assert place_for(latitude=0.0, longitude=-150.0) is None  # mid-Pacific
    assert place_for(latitude=None, longitude=None) is None


def test_a_city_geonames_lists_in_many_quarters_is_named_by_its_own_name():
    """GeoNames lists Berlin's and Tokyo's quarters as places of their own, so many that the city itself was not among
    the places looked at near its centre: a photo at the Berlin TV tower was "Mitte" ("Prenzlauer Berg"), one at
    Tokyo station "Akihabara", and searching "Berlin" found it only by its region. The big places near a position are
    looked at too; a town beside a big city still stays that town, a quarter far out stays that quarter."""
    assert place_for(latitude=52.5208, longitude=13.4094).city == "Berlin"  # the TV tower
    assert place_for(latitude=52.5163, longitude=13.3777).city == "Berlin"  # the Brandenburg Gate
    assert place_for(latitude=35.6812, longitude=139.7671).city == "Tokyo"  # Tokyo station
    assert place_for(latitude=52.3906, longitude=13.0645).city == "Potsdam"  # beside Berlin
    assert place_for(latitude=51.6565, longitude=-0.3903).city == "Watford"  # beside London
    assert place_for(latitude=38.7223, longitude=-9.1393).city == "Lisbon"


def test_a_position_far_from_any_town_is_named_by_the_country_it_lies_in():
    # No town within 150 km (a desert, a boat off an empty coast) named no place at all: no country, no holidays.
    # The country is the one whose time zone the position lies in (timezonefinder's polygons, which reach into the
    # territorial sea), not the nearest town's: the Western Desert's nearest town is in Libya.
    for (latitude, longitude), code in (((24.0, 26.0), "EG"), ((20.0, 50.0), "SA"), ((-24.5, 14.4), "NA"),
                                        ((-24.0, 128.0), "AU"), ((72.0, -40.0), "GL")):
        place = place_for(latitude=latitude, longitude=longitude)
        assert place is not None and (place.city, place.region, place.country_code) == ("", "", code), code
    assert place_for(latitude=24.0, longitude=26.0).label() == "Egypt"
    assert place_for(latitude=30.0, longitude=-40.0) is None  # mid-Atlantic: no country's
    assert place_for(latitude=-80.0, longitude=0.0) is None  # Antarctica: nobody's
    # A zone newer than CLDR's list of zones by country (Chile's Aysén, 2025): the nearest town's country.
    from gallery.timezones import zone_at

    assert zone_at(latitude=-48.5, longitude=-73.5) == "America/Coyhaique"  # (the ice field: no town in 150 km)
    assert place_for(latitude=-48.5, longitude=-73.5).country_code == "CL"


def test_a_photo_taken_in_a_desert_has_its_countrys_place_holidays_and_search(family, alice, client_for):
    photo = store(family, alice, gps_jpeg(24.0, 26.0, taken="2024:01:07 12:00:00"))  # Coptic Christmas
    photo.refresh_from_db()
    assert (photo.place_city, photo.place_country, photo.place_country_code, photo.place_source) == (
        "", "Egypt", "EG", "gps")
    assert "Egypt" in client_for(alice).get(photo.get_absolute_url()).content.decode()
    from search.metadata import _when_where

    place_words, date_words, _ = _when_where([photo.pk])[photo.pk]
    assert place_words == "Egypt" and "christmas" in date_words


def test_a_photo_with_gps_of_lisbon_shows_lisbon_and_portugal(family, alice, client_for):
    photo = store(family, alice, gps_jpeg(*LISBON))

    photo.refresh_from_db()
    assert (photo.place_city, photo.place_region, photo.place_country, photo.place_country_code) == (
        "Lisbon", "Lisbon", "Portugal", "PT")
    page = client_for(alice).get(photo.get_absolute_url()).content.decode()
    assert "Lisbon, Portugal" in page
    assert "Lisbon, Lisbon" not in page  # the region named like its city is said once


def test_a_gps_position_of_0_0_is_no_position(family, alice, client_for):
    """A phone or camera without a fix writes GPS 0°, 0° (in the sea off Ghana, where nobody took a family photo): no
    position, as Google Takeout's 0, 0 is; the photo has no place, and its time is not read in that point's zone."""
    photo = store(family, alice, gps_jpeg(0.0, 0.0, taken="2023:07:14 12:00:00"))

    photo.refresh_from_db()
    assert (photo.latitude, photo.longitude, photo.place_source) == (None, None, "")
    api = client_for(alice).get(reverse("api_photo_detail", args=[photo.pk])).json()
    assert (api["latitude"], api["longitude"], api["place"]) == (None, None, None)


@pytest.mark.parametrize("latitude_ref, longitude_ref, expected", [
    ("S", "W", (-22.9068, -43.1729)),
    ("s ", "w\x00", (-22.9068, -43.1729)),  # (a lower case, a pad after it)
    ("X", "W", None),  # a letter that names no hemisphere of a latitude: the position is nonsense
    ("S", "N", None),
    ("", "\x00", None),  # no hemisphere written (empty, or a NUL): no position, as when the tags are missing
    ("S", "", None),
    (None, None, None),  # no reference tag at all (only GPSLatitude and GPSLongitude)
    ("S", None, None),
])
def test_a_gps_reference_that_names_no_hemisphere_of_its_coordinate_is_no_position(family, alice, latitude_ref,
                                                                                  longitude_ref, expected):
    """GPSLatitudeRef "X" (or a longitude's "N") was read as north (east): a photo of Rio placed in the Sahara or
    the Indian Ocean (trial29). A reference must name a hemisphere of its own coordinate. One written empty was read
    as north (east) too, while one missing gave no position: both are no position now, as digiKam reads them (a
    photo in the wrong hemisphere is worse than one without a place), and as an XMP coordinate without its letter."""
    from PIL import Image

    exif = Image.Exif()
    refs = {1: latitude_ref, 3: longitude_ref}
    exif.get_ifd(0x8825).update({2: images._dms(22.9068), 4: images._dms(43.1729)}
                                | {tag: ref for tag, ref in refs.items() if ref is not None})
    photo = store(family, alice, images.jpeg(colour=(70, 20, 140), exif=exif))

    photo.refresh_from_db()
    position = None if photo.latitude is None else (round(photo.latitude, 4), round(photo.longitude, 4))
    assert position == expected


def test_countries_are_named_as_people_say_them_and_known_by_either_name(family, alice, client_for):
    """GeoNames' list names some countries formally: a photo taken in Seoul read "Seoul, Korea, Republic of", one in
    Moscow "Moscow, Russian Federation", while the search box's chips said "South Korea" and "Russia"."""
    from gallery.places import country_code_for, country_name

    assert place_for(latitude=37.5665, longitude=126.9780).country == "South Korea"
    assert place_for(latitude=55.7558, longitude=37.6173).country == "Russia"
    assert (country_name("KR"), country_name("IR"), country_name("PT")) == ("South Korea", "Iran", "Portugal")
    # A file may say it either way.
    assert country_code_for("Korea, Republic of") == country_code_for("South Korea") == "KR"
    assert country_code_for("Russian Federation") == "RU"
    seoul = store(family, alice, gps_jpeg(37.5665, 126.9780))
    page = client_for(alice).get(seoul.get_absolute_url()).content.decode()
    assert "South Korea" in page and "Republic of" not in page


def test_a_place_label_says_each_name_once():
    from gallery.places import Place, place_label

    assert place_label("Lisbon", "Lisbon", "Portugal") == "Lisbon, Portugal"
    assert place_label("Porto", "PORTO", "Portugal") == "Porto, Portugal"  # case does not make another name
    assert place_label("Sydney", "New South Wales", "Australia") == "Sydney, New South Wales, Australia"
    assert place_label("", "Algarve", "Portugal") == "Algarve, Portugal"
    assert place_label("", "", "") == ""
    assert Place("Lisbon", "Lisbon", "Portugal", "PT").label() == "Lisbon, Portugal"
    assert Photo(place_city="Lisbon", place_region="Lisbon", place_country="Portugal").place_label == "Lisbon, Portugal"


def test_the_place_picker_and_the_search_place_list_say_each_name_once(family, alice):
    from gallery.forms import PhotoPlaceForm
    from gallery.places import Place
    from search.models import FamilyPlace

    form = PhotoPlaceForm(places=[Place("Lisbon", "Lisbon", "Portugal", "PT")])
    assert [label for _, label in form.fields["known"].choices][1:] == ["Lisbon, Portugal"]
    assert str(FamilyPlace(family=family, city="Lisbon", region="Lisbon", country="Portugal")) == "Lisbon, Portugal"


def test_the_photo_api_gives_the_place_or_null(family, alice, client_for):
    lisbon = store(family, alice, gps_jpeg(*LISBON))
    nowhere = store(family, alice, gps_jpeg(None, None, colour=(1, 2, 3)))
    client = client_for(alice)

    body = client.get(reverse("api_photo_detail", args=[lisbon.pk])).json()
    assert body["place"] == {"city": "Lisbon", "region": "Lisbon", "country": "Portugal", "country_code": "PT",
                             "label": "Lisbon, Portugal"}
    assert client.get(reverse("api_photo_detail", args=[nowhere.pk])).json()["place"] is None


def test_the_photo_api_gives_a_place_the_file_names_without_a_known_country(family, alice, client_for):
    from tests.images import with_metadata

    # IPTC City alone, or a country written in a way we have no code for: the page names the place, so must the API.
    city_only = store(family, alice, with_metadata(gps_jpeg(None, None, colour=(4, 5, 6)),
                                                   iptc={"Iptc.Application2.City": "São Paulo"}))
    own_words = store(family, alice, with_metadata(gps_jpeg(None, None, colour=(7, 8, 9)),
                                                   iptc={"Iptc.Application2.City": "Strelsau",
                                                         "Iptc.Application2.CountryName": "Ruritania"}))
    client = client_for(alice)
    assert "São Paulo" in client.get(city_only.get_absolute_url()).content.decode()
    body = client.get(reverse("api_photo_detail", args=[city_only.pk])).json()
    assert body["place"] == {"city": "São Paulo", "region": "", "country": "", "country_code": "",
                             "label": "São Paulo"}
    body = client.get(reverse("api_photo_detail", args=[own_words.pk])).json()
    assert body["place"] == {"city": "Strelsau", "region": "", "country": "Ruritania", "country_code": "",
                             "label": "Strelsau, Ruritania"}


def _forget_places(*photos):
    """As photos stored before places existed look."""
    Photo.objects.filter(pk__in=[p.pk for p in photos]).update(
        place_city="", place_region="", place_country="", place_country_code="", place_checked=False)


def test_fill_places_names_the_places_of_older_photos(family, alice):
    lisbon = store(family, alice, gps_jpeg(*LISBON))
    sydney = store(family, alice, gps_jpeg(-33.8688, 151.2093, colour=(9, 9, 9)))
    no_gps = store(family, alice, gps_jpeg(None, None, colour=(7, 7, 7)))
    _forget_places(lisbon, sydney)

    call_command("fill_places", "--no-progress")

    assert set(Photo.objects.values_list("pk", "place_city")) == {
        (lisbon.pk, "Lisbon"), (sydney.pk, "Sydney"), (no_gps.pk, "")}
    assert not Photo.objects.filter(place_checked=False, latitude__isnull=False).exists()


def test_fill_places_again_names_the_country_of_older_photos_far_from_any_town(family, alice):
    desert = store(family, alice, gps_jpeg(24.0, 26.0))
    at_sea = store(family, alice, gps_jpeg(30.0, -40.0, colour=(9, 9, 9)))
    # As a version that named no place so far from a town stored them: looked up, nothing found.
    Photo.objects.filter(pk=desert.pk).update(place_country="", place_country_code="", place_source="")
    call_command("fill_places", "--no-progress")
    assert Photo.objects.get(pk=desert.pk).place_country_code == ""  # (each photo is looked up once)
    call_command("fill_places", "--again", "--no-progress")
    assert Photo.objects.get(pk=desert.pk).place_country_code == "EG"
    assert Photo.objects.get(pk=at_sea.pk).place_source == ""


def test_the_sweep_fills_places_a_batch_at_a_time(family, alice):
    photos = [store(family, alice, gps_jpeg(*LISBON, colour=(40 * n, 50, 50))) for n in range(3)]
    _forget_places(*photos)

    assert photos_place_sweep(limit=2) == 2
    assert Photo.objects.filter(place_city="Lisbon").count() == 2
    assert photos_place_sweep(limit=2) == 1
    assert photos_place_sweep(limit=2) == 0  # nothing left: each photo is looked up once
    assert Photo.objects.filter(place_city="Lisbon").count() == 3


def test_a_family_admin_sets_the_default_country(family, alice, bob, client_for):
    url = reverse("gallery:default_country", args=[family.pk])

    refused = client_for(bob).post(url, {"default_country": "GB"})  # members only look: told it is for admins
    assert refused.status_code == 403 and "admin" in refused.content.decode()
    family.refresh_from_db()
    assert family.default_country == ""

    response = client_for(alice).post(url, {"default_country": "GB"})
    assert response.status_code == 302
    family.refresh_from_db()
    assert family.default_country == "GB"
    assert client_for(alice).post(url, {"default_country": "XX"}).status_code == 422
    assert "Default country" in client_for(alice).get(family.get_absolute_url()).content.decode()


def test_the_default_country_is_a_country_not_a_region_of_the_list(family, alice, client_for):
    # reverse_geocode's country list also names "Europe" (EU) and "Asia/Pacific Region" (AP): no holidays, no
    # hemisphere, and the search box doesn't take them for countries either, so the family page must not offer them.
    page = client_for(alice).get(family.get_absolute_url()).content.decode()
    assert ">Portugal<" in page
    assert ">Europe<" not in page and "Asia/Pacific Region" not in page
    url = reverse("gallery:default_country", args=[family.pk])
    assert client_for(alice).post(url, {"default_country": "EU"}).status_code == 422
    family.refresh_from_db()
    assert family.default_country == ""


def test_new_families_start_with_the_default_country_setting(alice, settings):
    settings.DEFAULT_COUNTRY = "PT"
    assert family_create(name="Silvas", admin=alice).default_country == "PT"
    settings.DEFAULT_COUNTRY = ""
    assert family_create(name="Browns", admin=alice).default_country == ""


@pytest.mark.parametrize("written, code, name", [
    ("Deutschland", "DE", "Germany"), ("Österreich", "AT", "Austria"), ("España", "ES", "Spain"),
    ("Italia", "IT", "Italy"), ("日本", "JP", "Japan"), ("Россия", "RU", "Russia"), ("  sverige ", "SE", "Sweden"),
])
def test_a_country_a_file_names_in_its_own_language_is_known(family, alice, written, code, name):
    """Lightroom, digiKam and phones write the IPTC country in the user's language: "Deutschland" got no country
    code, so the photo had no country filter, no holidays, no country in its search document."""
    from gallery.places import country_code_for
    from tests.images import jpeg, with_metadata

    assert country_code_for(written) == code
    data = with_metadata(jpeg(colour=(len(written) * 9 % 256, 40, 90)),
                         iptc={"Iptc.Application2.City": "Somewhere", "Iptc.Application2.CountryName": written})
    photo = Photo.objects.get(pk=store(family, alice, data).pk)
    assert (photo.place_country, photo.place_country_code) == (name, code)


def test_the_upgrade_renames_the_formal_country_names_photos_stored_before(family, alice):
    """Migrations gallery 0023 and search 0021: photos geocoded before keep no "Korea, Republic of"; the family's
    place list follows, and the search document is rebuilt by the sweep with the new place words."""
    from importlib import import_module

    from django.apps import apps

    from search.metadata import documents_outdated_refresh
    from search.models import FamilyPlace, PhotoDocument

    seoul = store(family, alice, gps_jpeg(37.5665, 126.9780))
    written = store(family, alice, gps_jpeg(None, None), filename="IMG_0002.jpg")
    Photo.objects.filter(pk=seoul.pk).update(place_country="Korea, Republic of")
    Photo.objects.filter(pk=written.pk).update(place_city="Busan", place_country="Corea", place_country_code="KR")
    FamilyPlace.objects.filter(family=family, country_code="KR").update(country="Korea, Republic of")
    assert FamilyPlace.objects.filter(family=family, country_code="KR").exists()

    import_module("gallery.migrations.0023_everyday_country_names").rename(apps, None)
    import_module("search.migrations.0021_everyday_country_names").follow(apps, None)

    assert Photo.objects.get(pk=seoul.pk).place_country == "South Korea"
    assert Photo.objects.get(pk=written.pk).place_country == "Corea"  # a file's own words stay
    assert set(FamilyPlace.objects.filter(family=family, country_code="KR").values_list("country", flat=True)) == {
        "South Korea"}
    assert PhotoDocument.objects.get(photo=seoul).version == 0
    documents_outdated_refresh()
    assert "south" in PhotoDocument.objects.get(photo=seoul).words


def test_the_upgrade_reads_again_the_files_that_named_their_country_in_another_language(family, alice, settings):
    """Migration gallery 0024: photos stored while "Deutschland" was unknown are read again by the sweep."""
    from importlib import import_module

    from django.apps import apps

    from gallery.services import photos_embedded_sweep
    from tests.images import jpeg, with_metadata

    settings.EMBEDDED_METADATA = True
    data = with_metadata(jpeg(colour=(3, 141, 59)), iptc={"Iptc.Application2.City": "Köln",
                                                           "Iptc.Application2.CountryName": "Deutschland"})
    photo = store(family, alice, data)
    Photo.objects.filter(pk=photo.pk).update(place_country="Deutschland", place_country_code="")  # as stored before
    import_module("gallery.migrations.0024_reread_countries_named_in_other_languages").reread(apps, None)
    assert not Photo.objects.get(pk=photo.pk).embedded_checked
    assert photos_embedded_sweep() == 1
    fresh = Photo.objects.get(pk=photo.pk)
    assert (fresh.place_city, fresh.place_country, fresh.place_country_code) == ("Köln", "Germany", "DE")
