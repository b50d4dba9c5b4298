"""Moving a photo (the "Set place" correction, or the API) moves the zone it was taken in, as on upload: its local
time was shown in the old zone. The wall-clock time the camera or a member gave stays; a camera's own offset stays."""

from __future__ import annotations

from datetime import datetime
from datetime import timezone as dt_timezone

import pytest
from django.urls import reverse
from PIL import Image

from gallery.correction_services import photo_date_set, photo_place_set
from gallery.models import Photo
from gallery.places import Place
from tests import images
from tests.factories import api_token_key, photo_factory

pytestmark = pytest.mark.django_db

LISBON = (38.7223, -9.1393)
NEW_YORK = (40.7128, -74.0060)
TOKYO = (35.6762, 139.6503)
_colours = iter(range(1, 10**6))


def gps_photo(family, user, position, taken="2023:07:14 12:00:00") -> Photo:
    n = next(_colours)
    return photo_factory(family=family, user=user, data=images.gps_jpeg(
        *position, taken=taken, colour=(n * 53 % 256, n * 97 % 256, (n * 29 + 7) % 256)))


def fresh(photo: Photo) -> Photo:
    return Photo.all_objects.get(pk=photo.pk)


def test_setting_a_position_moves_the_zone_and_keeps_the_cameras_wall_clock(family, alice, client_for):
    photo = gps_photo(family, alice, LISBON)
    assert photo.taken_tz == "Europe/Lisbon"
    response = client_for(alice).post(reverse("gallery:photo_place", args=[photo.pk]),
                                      {"latitude": NEW_YORK[0], "longitude": NEW_YORK[1]})
    assert response.status_code == 302
    said = client_for(alice).get(response["Location"]).content.decode()
    assert "America/New_York" in said and "14 Jul 2023 12:00" in said
    photo = fresh(photo)
    assert photo.taken_tz == "America/New_York"
    assert photo.taken_at_local.replace(tzinfo=None) == datetime(2023, 7, 14, 12, 0)
    assert photo.taken_at == datetime(2023, 7, 14, 16, 0, tzinfo=dt_timezone.utc)  # EDT, UTC-4
    assert "14 Jul 2023 12:00" in client_for(alice).get(photo.get_absolute_url()).content.decode()


def test_the_api_moves_the_zone_too(client, family, alice):
    photo = gps_photo(family, alice, LISBON)
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {api_token_key(alice)}"
    response = client.patch(f"/api/v1/photos/{photo.pk}/", {"latitude": TOKYO[0], "longitude": TOKYO[1]},
                            content_type="application/json")
    assert response.status_code == 200, response.content
    assert fresh(photo).taken_tz == "Asia/Tokyo"
    assert fresh(photo).taken_at_local.replace(tzinfo=None) == datetime(2023, 7, 14, 12, 0)


def test_a_known_place_takes_the_zone_of_the_familys_photos_there(family, alice):
    gps_photo(family, alice, NEW_YORK)
    photo = gps_photo(family, alice, LISBON)
    there = fresh(Photo.objects.exclude(pk=photo.pk).get())
    photo_place_set(photo=photo, place=Place(city=there.place_city, region=there.place_region,
                                             country=there.place_country, country_code=there.place_country_code))
    assert fresh(photo).taken_tz == "America/New_York"
    assert fresh(photo).taken_at_local.replace(tzinfo=None) == datetime(2023, 7, 14, 12, 0)


def test_a_known_place_no_photo_has_a_position_at_takes_its_countrys_one_zone(family, alice, settings):
    # A place the family knows from a file's IPTC alone ("Berlin, Germany"): no photo there has a position.
    settings.TIME_ZONE = "UTC"
    photo = gps_photo(family, alice, LISBON)
    photo_place_set(photo=photo, place=Place(city="Berlin", region="", country="Germany", country_code="DE"))
    assert fresh(photo).taken_tz == "Europe/Berlin" and not fresh(photo).taken_zone_assumed
    assert fresh(photo).taken_at_local.replace(tzinfo=None) == datetime(2023, 7, 14, 12, 0)
    photo_place_set(photo=fresh(photo), place=Place(city="Porto", region="", country="Portugal", country_code="PT"))
    assert fresh(photo).taken_tz == "Europe/Berlin"  # Portugal keeps two clocks (the Azores): the zone stays


def test_a_cameras_own_offset_stays(family, alice):
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = "2023:07:14 12:00:00"
    exif.get_ifd(0x8769)[0x9011] = "+09:00"
    photo = photo_factory(family=family, user=alice, data=images.image_bytes("JPEG", colour=(1, 200, 3), exif=exif))
    before = fresh(photo).taken_at
    photo_place_set(photo=fresh(photo), latitude=LISBON[0], longitude=LISBON[1])
    assert fresh(photo).taken_tz == "+09:00" and fresh(photo).taken_at == before


def test_a_member_date_keeps_its_wall_clock_and_an_upload_time_its_moment(family, alice):
    photo = photo_factory(family=family, user=alice)  # no EXIF: dated by its upload
    uploaded = fresh(photo).taken_at
    photo_place_set(photo=fresh(photo), latitude=TOKYO[0], longitude=TOKYO[1])
    assert fresh(photo).taken_tz == "Asia/Tokyo" and fresh(photo).taken_at == uploaded
    photo_date_set(photo=fresh(photo), taken_at=datetime(2020, 1, 2, 10, 0))  # read in Tokyo
    photo_place_set(photo=fresh(photo), latitude=LISBON[0], longitude=LISBON[1])
    assert fresh(photo).taken_at_local.replace(tzinfo=None) == datetime(2020, 1, 2, 10, 0)
    assert fresh(photo).taken_tz == "Europe/Lisbon"


def test_an_api_edit_refused_in_part_saves_nothing(client, family, alice):
    photo = gps_photo(family, alice, LISBON)
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {api_token_key(alice)}"
    response = client.patch(f"/api/v1/photos/{photo.pk}/", {"title": "New title", "tags": ["new"],
                                                            "place": {"city": "Atlantis", "country_code": "XX"}},
                            content_type="application/json")
    assert response.status_code == 400 and "place" in response.json()
    assert fresh(photo).title != "New title" and not fresh(photo).tags.exists()


def test_a_known_places_zone_is_neither_called_assumed_nor_undone_by_reading_the_file_again(family, alice, client_for):
    from gallery.services import photo_embedded_read

    gps_photo(family, alice, NEW_YORK)
    photo = gps_photo(family, alice, LISBON)
    there = fresh(Photo.objects.exclude(pk=photo.pk).get())
    photo_place_set(photo=photo, place=Place(city=there.place_city, region=there.place_region,
                                             country=there.place_country, country_code=there.place_country_code))
    assert not fresh(photo).taken_zone_assumed
    assert "assumed" not in client_for(alice).get(photo.get_absolute_url()).content.decode()
    photo_embedded_read(photo=fresh(photo))
    assert fresh(photo).taken_tz == "America/New_York"
    assert fresh(photo).taken_at_local.replace(tzinfo=None) == datetime(2023, 7, 14, 12, 0)


@pytest.mark.parametrize("position, zone, utc_hour", [
    ((59.75, 24.85), "Europe/Tallinn", 9),  # the Helsinki–Tallinn ferry: Rummu, Estonia, named; EEST
    ((50.0, -0.8), "Europe/Paris", 10),  # Portsmouth–Caen, mid-Channel: Normandy, France; CEST
    ((40.5, 1.5), "Europe/Madrid", 10),  # the Balearic ferry: Catalonia, Spain; CEST
])
def test_a_photo_taken_on_a_boat_off_a_coast_is_on_the_coasts_clock(family, alice, position, zone, utc_hour):
    # Past the 12-mile limit the zone polygons name the sea's own zone ("Etc/GMT-2", no summer time): a photo taken at
    # noon on a ferry, its place named by the coast it was off, was read an hour or two off the clock of either shore.
    photo = gps_photo(family, alice, position)
    assert (photo.taken_tz, photo.taken_at) == (zone, datetime(2023, 7, 14, utc_hour, 0, tzinfo=dt_timezone.utc))


def test_a_photo_taken_far_out_at_sea_keeps_the_seas_zone(family, alice):
    photo = gps_photo(family, alice, (30.0, -40.0))  # mid-Atlantic, 150 km and more from any town
    assert photo.taken_tz == "Etc/GMT+3" and not photo.place_country
