"""When a photo was taken, for a family spread across time zones: the camera's offset, else the zone of its GPS
position, else TIME_ZONE; the local day it counts on (Photo.taken_day) and its date in words follow every way the
date changes (upload, a member's date, a shift), across DST changes and midnight."""

from __future__ import annotations

import importlib
import itertools
import re
from datetime import date, datetime, timedelta, timezone as dt_timezone

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.urls import reverse
from PIL import Image

from gallery.correction_services import photo_date_set, photos_shift_dates
from gallery.models import Photo
from gallery.services import UploadResult, photo_create_from_bytes, photo_embedded_read
from search.metadata import _when_where
from tests import images

pytestmark = pytest.mark.django_db

LOS_ANGELES = (34.0522, -118.2437)
SYDNEY = (-33.8688, 151.2093)
LISBON = (38.7223, -9.1393)
_colours = itertools.count(5, 11)  # (11 is prime to 256: 256 different colours)


def upload(family, user, data: bytes) -> Photo:
    result = photo_create_from_bytes(family=family, uploaded_by=user, data=data, filename="IMG_0001.jpg")
    assert result.outcome == UploadResult.SAVED, result.reason
    return Photo.objects.get(pk=result.photo.pk)


def camera(taken: str | None, *, offset: str | None = None, position: tuple[float, float] | None = None,
           gps_utc: str | None = None) -> bytes:
    n = next(_colours)
    exif = Image.Exif()
    if taken:
        exif.get_ifd(0x8769)[0x9003] = taken
    if offset:
        exif.get_ifd(0x8769)[0x9011] = offset
    if gps_utc:
        gps_clock(exif, gps_utc)
    if position:
        latitude, longitude = position
        exif.get_ifd(0x8825).update({1: "N" if latitude >= 0 else "S", 2: images._dms(latitude),
                                     3: "E" if longitude >= 0 else "W", 4: images._dms(longitude)})
    return images.jpeg(colour=(n % 256, (255 - n) % 256, (n * 3) % 256), exif=exif)


def words(photo: Photo) -> list[str]:
    return _when_where([photo.pk])[photo.pk][1].split()


def test_each_source_of_a_zone_gives_the_local_day(family, alice, settings, client_for):
    settings.TIME_ZONE = "UTC"
    offset = upload(family, alice, camera("2023:12:31 23:30:00", offset="-08:00"))
    gps = upload(family, alice, camera("2023:12:31 23:30:00", position=LOS_ANGELES))
    neither = upload(family, alice, camera("2023:12:31 23:30:00"))
    bare = upload(family, alice, images.jpeg(colour=(1, 2, 3)))

    assert (offset.taken_tz, offset.taken_at) == ("-08:00", datetime(2024, 1, 1, 7, 30, tzinfo=dt_timezone.utc))
    assert (gps.taken_tz, gps.taken_at) == ("America/Los_Angeles", datetime(2024, 1, 1, 7, 30, tzinfo=dt_timezone.utc))
    assert (neither.taken_tz, neither.taken_at) == ("UTC", datetime(2023, 12, 31, 23, 30, tzinfo=dt_timezone.utc))
    assert [p.taken_at_source for p in (offset, gps, neither)] == ["exif"] * 3
    for photo in (offset, gps, neither):
        assert photo.taken_day == date(2023, 12, 31)
        assert {"december", "2023", "winter"} <= set(words(photo)) and "january" not in words(photo)
    assert bare.taken_at_source == "upload" and bare.taken_day == bare.taken_at.date()

    client = client_for(alice)
    page = client.get(gps.get_absolute_url()).content.decode()
    assert "31 Dec 2023 23:30" in page and "America/Los_Angeles" in page
    assert "assumed" not in page and "assumed" not in client.get(offset.get_absolute_url()).content.decode()
    page = client.get(neither.get_absolute_url()).content.decode()
    assert "31 Dec 2023 23:30 <small class=\"muted\">(UTC: assumed, the file tells no zone or position)</small>" in page
    assert "(no EXIF date: upload time)" in client.get(bare.get_absolute_url()).content.decode()
    api = client.get(reverse("api_photo_detail", args=[gps.pk])).json()
    assert api["taken_at_local"] == "2023-12-31T23:30:00-08:00" and api["taken_at_source"] == "exif"


def test_a_dst_change_is_read_in_the_offset_of_that_day(family, alice, settings):
    settings.TIME_ZONE = "UTC"
    # Lisbon moves from WET (UTC+0) to WEST (UTC+1) at 01:00 on 26 March 2023.
    before = upload(family, alice, camera("2023:03:26 00:30:00", position=LISBON))
    after = upload(family, alice, camera("2023:03:26 02:30:00", position=LISBON))
    assert before.taken_at == datetime(2023, 3, 26, 0, 30, tzinfo=dt_timezone.utc)
    assert after.taken_at == datetime(2023, 3, 26, 1, 30, tzinfo=dt_timezone.utc)
    assert before.taken_day == after.taken_day == date(2023, 3, 26)
    assert after.taken_at_local.isoformat() == "2023-03-26T02:30:00+01:00"


BERLIN = (52.52, 13.405)


@pytest.mark.parametrize("taken, shift, local, day", [
    # 23:30 on the day before the clocks go forward (28 March 2021), a day later: the 28th at 23:30. A shift of 24 hours
    # went to 00:30 on the 29th, two days on.
    ("2021:03:27 23:30:00", {"days": "1"}, "2021-03-28 23:30", date(2021, 3, 28)),
    # …and before they go back (31 October 2021): 23:30 on the 31st, where 24 hours came to 22:30 on the 31st.
    ("2021:10:30 23:30:00", {"days": "1"}, "2021-10-31 23:30", date(2021, 10, 31)),
    ("2021:03:29 00:30:00", {"days": "-1"}, "2021-03-28 00:30", date(2021, 3, 28)),
    # Hours are hours gone by: 01:30 on the 28th, an hour on, is 03:30 (02:30 is no time there that day).
    ("2021:03:28 01:30:00", {"hours": "1"}, "2021-03-28 03:30", date(2021, 3, 28)),
    ("2021:03:27 23:30:00", {"days": "1", "hours": "1"}, "2021-03-29 00:30", date(2021, 3, 29)),
])
def test_a_shift_by_days_keeps_the_clock_time_across_a_dst_change(family, alice, client_for, settings, taken, shift,
                                                                  local, day):
    """A camera whose date was a day off: shifted by a day, it shows the same time the next day where it was taken,
    whatever the clocks did that night (days are days of the calendar there, hours and minutes time gone by)."""
    settings.TIME_ZONE = "UTC"
    photo = upload(family, alice, camera(taken, position=BERLIN))
    client = client_for(alice)
    before = photo.taken_at

    client.post(reverse("gallery:photo_shift", args=[photo.pk]), {**shift, "scope": "photo"})
    photo.refresh_from_db()
    assert (f"{photo.taken_at_local:%Y-%m-%d %H:%M}", photo.taken_day) == (local, day)

    # Its undo brings it back to the very moment it had.
    client.post(reverse("gallery:photo_shift_undo", args=[photo.pk]))
    photo.refresh_from_db()
    assert photo.taken_at == before


def test_the_selection_bar_and_the_api_shift_by_days_of_each_photos_own_calendar(family, alice, client_for, settings):
    settings.TIME_ZONE = "UTC"
    berlin = upload(family, alice, camera("2021:03:27 23:30:00", position=BERLIN))
    los_angeles = upload(family, alice, camera("2021:03:13 23:30:00", position=LOS_ANGELES))  # (forward on the 14th)
    [result] = photos_shift_dates(user=alice, photo_ids=[los_angeles.pk], delta=timedelta(days=1))
    assert result.ok
    los_angeles.refresh_from_db()
    assert f"{los_angeles.taken_at_local:%Y-%m-%d %H:%M}" == "2021-03-14 23:30"

    client = client_for(alice)
    client.post(reverse("gallery:photos_bulk"), {"action": "shift_dates", "photos": [berlin.pk],
                                                 "shift_amount": "1", "shift_unit": "days"})
    berlin.refresh_from_db()
    assert f"{berlin.taken_at_local:%Y-%m-%d %H:%M}" == "2021-03-28 23:30"
    response = client.post("/api/v1/photos/shift-dates/", {"photos": [berlin.pk], "seconds": -86400},
                           content_type="application/json")
    assert response.status_code == 200, response.content
    berlin.refresh_from_db()
    assert f"{berlin.taken_at_local:%Y-%m-%d %H:%M}" == "2021-03-27 23:30"


def test_a_members_date_and_a_shift_move_the_local_day_and_the_date_words(family, alice, settings):
    settings.TIME_ZONE = "Asia/Tokyo"
    los_angeles = upload(family, alice, camera("2023:12:31 23:30:00", position=LOS_ANGELES))
    sydney = upload(family, alice, camera("2023:12:24 12:00:00", position=SYDNEY))

    results = photos_shift_dates(user=alice, photo_ids=[los_angeles.pk, sydney.pk], delta=timedelta(hours=1))
    assert all(result.ok for result in results)
    los_angeles.refresh_from_db()
    sydney.refresh_from_db()
    assert los_angeles.taken_day == date(2024, 1, 1) and los_angeles.taken_at_local.hour == 0
    assert {"january", "2024", "new", "year's"} <= set(words(los_angeles)) and "december" not in words(los_angeles)
    assert sydney.taken_day == date(2023, 12, 24)

    # A member's date without a zone is read in the zone the photo was taken in.
    photo_date_set(photo=sydney, taken_at=datetime(2023, 12, 25, 0, 30))
    sydney.refresh_from_db()
    assert sydney.taken_at == datetime(2023, 12, 24, 13, 30, tzinfo=dt_timezone.utc)  # AEDT, UTC+11
    assert sydney.taken_day == date(2023, 12, 25) and sydney.taken_at_source == "member"
    assert {"december", "summer", "2023", "christmas"} <= set(words(sydney))


def test_photos_stored_before_get_their_local_day(family, alice, settings):
    settings.TIME_ZONE = "UTC"
    photo = upload(family, alice, camera("2023:12:31 23:30:00", position=LOS_ANGELES))
    Photo.objects.filter(pk=photo.pk).update(taken_day=date(1900, 1, 1))
    importlib.import_module("gallery.migrations.0018_photo_taken_day").fill_taken_days(apps, None)
    photo.refresh_from_db()
    assert photo.taken_day == date(2023, 12, 31)


def test_the_timeline_months_are_the_photos_local_months(family, alice, settings, client_for):
    settings.TIME_ZONE = "UTC"
    los_angeles = upload(family, alice, camera("2023:12:31 23:30:00", position=LOS_ANGELES))  # 07:30 UTC on the 1st
    at_home = upload(family, alice, camera("2023:12:31 12:00:00"))
    january = upload(family, alice, camera("2024:01:01 03:00:00"))  # older than Los Angeles' New Year's Eve

    body = client_for(alice).get(reverse("gallery:timeline"), {"month": "2023-12"}).content.decode()
    assert '<option value="2023-12" selected>December 2023 (2)</option>' in body
    assert '<option value="2024-01">January 2024 (1)</option>' in body
    tiles = [int(pk) for pk in re.findall(r'<a class="tile" id="photo-(\d+)"', body)]
    assert tiles == [los_angeles.pk, at_home.pk]  # the month's local days, newest first
    top = client_for(alice).get(reverse("gallery:timeline")).content.decode()
    assert [int(pk) for pk in re.findall(r'<a class="tile" id="photo-(\d+)"', top)] == [
        january.pk, los_angeles.pk, at_home.pk]  # 1 January above New Year's Eve, though Los Angeles' came later
    assert "Newer photos" in body


def test_bulk_created_photos_get_their_local_day(family, alice):
    when = datetime(2024, 1, 1, 7, 30, tzinfo=dt_timezone.utc)
    [photo] = Photo.objects.bulk_create([Photo(
        family=family, uploaded_by=alice, original="fake/a.png", thumbnail="fake/a.jpg", original_filename="a.png",
        mime_type="image/png", file_size=1, width=1, height=1, taken_at=when, taken_tz="America/Los_Angeles",
        taken_at_source=Photo.DateSource.UPLOAD, sha256="a" * 64)])
    assert Photo.objects.get(pk=photo.pk).taken_day == date(2023, 12, 31)


def gps_clock(data_exif: Image.Exif, utc: str) -> None:
    """The GPS receiver's UTC date and time, as cameras write them (GPSDateStamp, GPSTimeStamp)."""
    day, clock = utc.split(" ")
    gps = data_exif.get_ifd(0x8825)
    gps[29] = day
    gps[7] = tuple(float(part) for part in clock.split(":"))


def test_the_gps_time_dates_a_photo_without_a_camera_date(family, alice, settings, client_for):
    settings.TIME_ZONE = "UTC"
    n = next(_colours)
    exif = Image.Exif()
    latitude, longitude = LOS_ANGELES
    exif.get_ifd(0x8825).update({1: "N", 2: images._dms(latitude), 3: "W", 4: images._dms(longitude)})
    gps_clock(exif, "2024:01:01 07:30:00")
    photo = upload(family, alice, images.jpeg(colour=(n, 9, 9), exif=exif))

    assert photo.taken_at_source == "exif" and photo.taken_tz == "America/Los_Angeles"
    assert photo.taken_at == datetime(2024, 1, 1, 7, 30, tzinfo=dt_timezone.utc)
    assert photo.taken_day == date(2023, 12, 31)
    assert "31 Dec 2023 23:30" in client_for(alice).get(photo.get_absolute_url()).content.decode()
    again = photo_embedded_read(photo=photo)  # reading the file again (the sweep) comes to the same
    assert (again.taken_at, again.taken_tz, again.taken_day) == (photo.taken_at, photo.taken_tz, photo.taken_day)


def test_without_offset_or_position_the_gps_time_gives_the_offset(family, alice, settings):
    settings.TIME_ZONE = "UTC"
    n = next(_colours)
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = "2023:12:31 23:30:00"
    gps_clock(exif, "2024:01:01 04:31:12")  # the camera's clock ran 1 min 12 s behind, in UTC−5
    photo = upload(family, alice, images.jpeg(colour=(n, 19, 9), exif=exif))
    assert photo.taken_tz == "-05:00" and photo.taken_at == datetime(2024, 1, 1, 4, 30, tzinfo=dt_timezone.utc)
    assert photo.taken_day == date(2023, 12, 31)


@pytest.mark.parametrize("stamp, clock", [("2024:13:01", (1.0, 2.0, 3.0)), ("junk", (1.0, 2.0, 3.0)),
                                          ("2024:01:01", (25.0, 0.0, 0.0)), ("2024:01:01", (1.0, 2.0))])
def test_a_bad_gps_time_is_no_date_not_a_failure(family, alice, stamp, clock):
    n = next(_colours)
    exif = Image.Exif()
    exif.get_ifd(0x8825).update({29: stamp, 7: clock})
    photo = upload(family, alice, images.jpeg(colour=(n, 29, 9), exif=exif))
    assert photo.taken_at_source == "upload"


@pytest.mark.parametrize("taken, offset, gps", [
    ("9999:12:31 23:00:00", "-05:00", None),  # the year 10000 in UTC: a 500 on upload
    ("0001:01:01 01:00:00", "+05:00", None),  # the year 0 in UTC: a 500 on upload
    ("0001:01:01 00:00:00", None, None),      # stored, then no zone west of UTC could show it
    ("1800:01:01 12:00:00", None, None),      # before the oldest photograph
    ("2999:01:01 12:00:00", None, None),      # further ahead than a camera's clock is wrong by (a century)
    (None, None, "9999:12:31 23:59:59"),      # the GPS receiver's time, the same
    ("1970:01:01 00:00:00", None, None),      # a clock that counts from the Unix epoch, never set: 1 January 1970
    ("1970:01:01 00:03:12", "+00:00", None),  # …three minutes after it started
    ("1969:12:31 19:00:05", "-05:00", None),  # …in New York
    (None, None, "1970:01:01 00:00:00"),      # a GPS receiver's the same
])
def test_a_camera_date_no_photo_can_have_is_no_date_not_a_failure(family, alice, settings, client_for, taken, offset,
                                                                  gps):
    """A camera whose clock was never set may write any year, 0001 or 9999: read as the date taken, such a date
    overflowed the years the database and Python hold once in UTC or the photo's zone (the upload a 500), or
    stood as the photo's date although a member may set none before 1826 or after today. The file tells no date
    then, as for a date that is not a date at all ("0000:00:00"): the upload dates it."""
    settings.TIME_ZONE = "UTC"
    data = camera(taken, offset=offset, gps_utc=gps)
    before = datetime.now(dt_timezone.utc)
    photo = upload(family, alice, data)
    assert photo.taken_at_source == "upload" and photo.taken_at >= before
    assert client_for(alice).get(photo.get_absolute_url()).status_code == 200


def test_a_clock_never_set_leaves_the_date_to_the_files_name(family, alice, settings, client_for):
    """A phone or an action camera whose clock was never set counts from 1 January 1970: the photo stood on the
    timeline in 1970 (and came up for "1970s", "new year" and on every 1 January's memories) where its name,
    IMG_20150704_101500.jpg, tells when it was taken."""
    settings.TIME_ZONE = "UTC"
    result = photo_create_from_bytes(family=family, uploaded_by=alice, data=camera("1970:01:01 00:00:00"),
                                     filename="IMG_20150704_101500.jpg")
    photo = Photo.objects.get(pk=result.photo.pk)
    assert (photo.taken_at_source, photo.taken_day) == ("filename", date(2015, 7, 4))
    assert "1970" not in words(photo)
    assert "4 Jul 2015 10:15" in client_for(alice).get(photo.get_absolute_url()).content.decode()


def test_a_camera_a_few_years_ahead_keeps_its_date_for_a_shift_to_bring_back(family, alice, settings):
    settings.TIME_ZONE = "UTC"
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = f"{date.today().year + 3}:06:01 12:00:00"
    photo = upload(family, alice, images.jpeg(colour=(7, 49, 9), exif=exif))
    assert photo.taken_at_source == "exif" and photo.taken_at.year == date.today().year + 3


def test_the_admin_shows_and_filters_the_local_time(family, alice, settings, client):
    settings.TIME_ZONE = "UTC"
    los_angeles = upload(family, alice, camera("2023:12:31 23:30:00", position=LOS_ANGELES))
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.org", "admin-password-123"))
    changelist = reverse("admin:gallery_photo_changelist")

    body = client.get(changelist).content.decode()
    assert "31 Dec 2023 23:30 America/Los_Angeles" in body
    for params, shown in [({"taken_day__year": "2023", "taken_day__month": "12", "taken_day__day": "31"}, True),
                          ({"taken_day__year": "2024"}, False),
                          ({"taken_day__gte": "2023-12-31", "taken_day__lt": "2024-01-01"}, True)]:
        body = client.get(changelist, params).content.decode()
        assert (f'value="{los_angeles.pk}"' in body) is shown, params
    page = client.get(reverse("admin:gallery_photo_change", args=[los_angeles.pk])).content.decode()
    assert "31 Dec 2023 23:30 America/Los_Angeles" in page


def test_a_members_place_gives_a_camera_date_without_an_offset_its_zone(family, alice, settings):
    settings.TIME_ZONE = "UTC"
    from gallery.correction_services import photo_place_set

    unplaced = upload(family, alice, camera("2023:12:31 23:30:00"))  # read as UTC: nothing said otherwise
    photo_place_set(photo=unplaced, latitude=LOS_ANGELES[0], longitude=LOS_ANGELES[1])
    unplaced.refresh_from_db()
    assert unplaced.taken_tz == "America/Los_Angeles"
    assert unplaced.taken_at_local.isoformat() == "2023-12-31T23:30:00-08:00"  # the camera's clock, now placed
    assert unplaced.taken_day == date(2023, 12, 31)
    assert photo_embedded_read(photo=unplaced).taken_at == unplaced.taken_at  # re-reading the file agrees

    offset = upload(family, alice, camera("2023:12:31 23:30:00", offset="+01:00"))
    photo_place_set(photo=offset, latitude=SYDNEY[0], longitude=SYDNEY[1])
    offset.refresh_from_db()
    assert offset.taken_tz == "+01:00"  # the camera said where its clock was: kept
    assert {"summer", "december"} <= set(words(offset))  # the place still gives its hemisphere

    scan = upload(family, alice, images.jpeg(colour=(7, 7, 7)))  # no date: the upload time, an instant
    instant = scan.taken_at
    photo_place_set(photo=scan, latitude=SYDNEY[0], longitude=SYDNEY[1])
    scan.refresh_from_db()
    assert scan.taken_at == instant and scan.taken_tz == "Australia/Sydney"


def test_the_api_reads_a_date_without_an_offset_in_the_photos_zone_as_the_page_does(family, alice, settings,
                                                                                     client_for):
    settings.TIME_ZONE = "Europe/Lisbon"
    sydney = upload(family, alice, camera("2023:12:20 12:00:00", position=SYDNEY))
    client = client_for(alice)
    url = reverse("api_photo_detail", args=[sydney.pk])
    body = client.patch(url, {"taken_at": "2023-12-25T00:30:00"}, content_type="application/json").json()
    assert body["taken_at_local"] == "2023-12-25T00:30:00+11:00" and body["taken_at_source"] == "member"
    body = client.patch(url, {"taken_at": "2023-12-25T00:30:00Z"}, content_type="application/json").json()
    assert body["taken_at_local"] == "2023-12-25T11:30:00+11:00"  # an offset given is kept: the same instant
    assert Photo.objects.get(pk=sydney.pk).taken_day == date(2023, 12, 25)


def test_a_photo_dated_by_a_guess_has_no_season_nor_holiday_words(family, alice, settings):
    """A scan uploaded on Christmas Day is dated by its upload (nothing else tells when it was taken): its document
    carried "winter" and "christmas", and a search for "christmas" found it by its metadata. Photos dated by a guess
    (the upload, a file's modified time, the day it was added to Google Photos) keep their month, year and decade,
    where the timeline and the date filters place them (a search of the date alone lists them), but no season nor
    holiday; a member's date gives them all."""
    from search.metadata import DOCUMENT_VERSION, documents_refresh
    from search.models import PhotoDocument

    settings.TIME_ZONE = "UTC"
    scan = upload(family, alice, images.jpeg(colour=(9, 9, 9)))
    christmas = datetime(2024, 12, 25, 10, tzinfo=dt_timezone.utc)
    Photo.objects.filter(pk=scan.pk).update(taken_at=christmas, taken_day=christmas.date())
    family.default_country = "GB"
    family.save()
    assert scan.taken_at_source == Photo.DateSource.UPLOAD and words(scan) == ["december", "2024"]
    for source in (Photo.DateSource.FILE, Photo.DateSource.GOOGLE):
        Photo.objects.filter(pk=scan.pk).update(taken_at_source=source)
        assert words(scan) == ["december", "2024"], source
    documents_refresh([scan.pk])
    assert "2020s" in PhotoDocument.objects.get(photo=scan).document  # (its decade: a decade's search lists it)
    assert PhotoDocument.objects.get(photo=scan).version == DOCUMENT_VERSION

    photo_date_set(photo=Photo.objects.get(pk=scan.pk), taken_at=datetime(1955, 12, 25, 10, tzinfo=dt_timezone.utc))
    assert {"december", "winter", "1955", "christmas"} <= set(words(Photo.objects.get(pk=scan.pk)))


@pytest.mark.parametrize("stored, zone", [
    ("9999-12-31 23:00:00-05", "America/New_York"),  # the year 10000 in UTC: the database holds it, Python can't
    ("0001-01-01 01:00:00+05", "+05:00"),  # the year 0 in UTC
    ("1700-06-01 12:00:00+00", "UTC"),  # before any photograph
])
def test_photos_stored_before_with_a_date_no_photo_can_have_are_dated_by_their_upload(
        family, alice, settings, client_for, stored, zone):
    """Before 2b2eb2e a camera's date at the calendar's end was stored as it was: such a photo's page, and every list
    that read its row, was a 500 (psycopg can't read the year 10000 back), as was setting a position on it. The
    migration (gallery 0039) dates them by their upload, as an upload does now; their search documents are rebuilt."""
    from django.db import connection

    from search.metadata import documents_outdated_refresh
    from search.models import PhotoDocument

    settings.TIME_ZONE = "UTC"
    photo = upload(family, alice, camera("2023:12:31 23:30:00"))
    kept = upload(family, alice, camera("2021:06:01 10:00:00"))
    with connection.cursor() as cursor:
        cursor.execute("UPDATE gallery_photo SET taken_at = %s, taken_tz = %s, taken_day = '9999-12-31' WHERE id = %s",
                       [stored, zone, photo.pk])
    importlib.import_module("gallery.migrations.0039_undate_impossible_dates").undate_impossible(apps, None)

    photo = Photo.objects.get(pk=photo.pk)
    assert (photo.taken_at, photo.taken_at_source) == (photo.uploaded_at, "upload")
    assert photo.taken_day == photo.taken_at_local.date()
    assert Photo.objects.get(pk=kept.pk).taken_at_source == "exif"
    assert not PhotoDocument.objects.filter(photo=photo).exists() and documents_outdated_refresh() == 1
    assert client_for(alice).get(photo.get_absolute_url()).status_code == 200


def test_photos_stored_before_with_a_clock_never_set_are_dated_by_their_name_or_upload(family, alice, settings,
                                                                                        client_for):
    """A clock never set that counts from the Unix epoch is no date a file tells now (77c876e), but photos stored
    before kept it: on the timeline on 1 January 1970 (31 December 1969 behind UTC), searched as 1970 and New Year,
    while new uploads of the same files are dated by their name or their upload. The migration (gallery 0042) dates
    them as an upload does now; a member's date, and a camera's on any other day, stay; their documents are rebuilt."""
    from django.db import connection

    from search.metadata import documents_outdated_refresh
    from search.models import PhotoDocument

    settings.TIME_ZONE = "UTC"
    named = photo_create_from_bytes(family=family, uploaded_by=alice, data=camera("2015:07:04 10:15:00"),
                                    filename="IMG_20150704_101500.jpg").photo
    unnamed = upload(family, alice, camera("2015:07:04 10:15:00"))
    behind = upload(family, alice, camera("2015:07:04 10:15:00"))
    kept = upload(family, alice, camera("1970:01:02 10:00:00"))
    members = upload(family, alice, camera("2015:07:04 10:15:00"))
    with connection.cursor() as cursor:
        for photo, stored, zone, day, source in (
                (named, "1970-01-01 00:00:00+00", "UTC", "1970-01-01", "exif"),
                (unnamed, "1970-01-01 00:03:12+00", "UTC", "1970-01-01", "exif"),
                (behind, "1970-01-01 00:00:05+00", "America/New_York", "1969-12-31", "xmp"),
                (members, "1970-01-01 12:00:00+00", "UTC", "1970-01-01", "member")):
            cursor.execute("UPDATE gallery_photo SET taken_at = %s, taken_tz = %s, taken_day = %s, taken_at_source = %s "
                           "WHERE id = %s", [stored, zone, day, source, photo.pk])
    importlib.import_module("gallery.migrations.0042_undate_epoch_clocks").undate_epoch_clocks(apps, None)

    named, unnamed, behind, kept, members = (Photo.objects.get(pk=p.pk) for p in (named, unnamed, behind, kept, members))
    assert (named.taken_at_source, named.taken_day, named.taken_at_local.hour) == ("filename", date(2015, 7, 4), 10)
    for photo in (unnamed, behind):
        assert (photo.taken_at, photo.taken_at_source) == (photo.uploaded_at, "upload")
        assert photo.taken_day == photo.taken_at_local.date()
    assert (kept.taken_at_source, kept.taken_day) == ("exif", date(1970, 1, 2))
    assert (members.taken_at_source, members.taken_day) == ("member", date(1970, 1, 1))
    assert set(PhotoDocument.objects.values_list("photo_id", flat=True)) == {kept.pk, members.pk}
    assert documents_outdated_refresh() == 3 and "1970" not in words(named)
    assert client_for(alice).get(named.get_absolute_url()).status_code == 200
