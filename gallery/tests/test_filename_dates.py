"""A photo whose file tells no date is dated by its name when the name tells one: chat apps strip EXIF but name
their copies by the day, phones and screenshots by the moment, families name their scans. Before, every WhatsApp
photo uploaded from a browser was dated the day of the upload."""

from __future__ import annotations

import io
from datetime import date, datetime, timezone as dt_timezone
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.urls import reverse

from gallery.filename_dates import NamedDate, date_in_filename
from gallery.models import Photo
from gallery.services import UploadResult, photo_create_from_bytes, photo_embedded_read
from gallery.tests.test_takeout_import import _import, _sidecar, _write
from search.metadata import _when_where
from tests import images

_colours = iter(range(3, 250, 7))


@pytest.mark.parametrize(("name", "expected"), [
    ("IMG-20230614-WA0003.jpg", NamedDate(datetime(2023, 6, 14, 12), day_only=True)),  # WhatsApp: the day alone
    ("VID-20230614-WA0001.jpg", NamedDate(datetime(2023, 6, 14, 12), day_only=True)),
    ("IMG_20230614_153012.jpg", NamedDate(datetime(2023, 6, 14, 15, 30, 12), day_only=False)),  # Android cameras
    ("IMG20230614153012.jpg", NamedDate(datetime(2023, 6, 14, 15, 30, 12), day_only=False)),
    ("20230614_153012.jpg", NamedDate(datetime(2023, 6, 14, 15, 30, 12), day_only=False)),  # Samsung
    ("PXL_20230614_153012345.jpg", NamedDate(datetime(2023, 6, 14, 15, 30, 12), day_only=False)),  # Pixel (ms)
    ("Screenshot_20230614-153012.png", NamedDate(datetime(2023, 6, 14, 15, 30, 12), day_only=False)),
    ("Screenshot 2023-06-14 at 15.30.12.png", NamedDate(datetime(2023, 6, 14, 15, 30, 12), day_only=False)),  # macOS
    # macOS and WhatsApp's exports set to a 12-hour clock (QA: "at 11.30.12 PM" was read as 11:30 in the morning,
    # "at 3.30.12 PM" as the day alone); recent macOS puts a narrow no-break space before "PM".
    ("Screenshot 2023-06-14 at 11.30.12 PM.png", NamedDate(datetime(2023, 6, 14, 23, 30, 12), day_only=False)),
    ("Screenshot 2023-06-14 at 3.30.12\u202fPM.png", NamedDate(datetime(2023, 6, 14, 15, 30, 12), day_only=False)),
    ("WhatsApp Image 2023-06-14 at 12.05.09 AM.jpeg", NamedDate(datetime(2023, 6, 14, 0, 5, 9), day_only=False)),
    ("WhatsApp Image 2023-06-14 at 12.05.09 PM (1).jpeg", NamedDate(datetime(2023, 6, 14, 12, 5, 9),
                                                                    day_only=False)),
    ("Screenshot 2023-06-14 at 9.05.09 am.png", NamedDate(datetime(2023, 6, 14, 9, 5, 9), day_only=False)),
    ("Screenshot 2023-06-14 at 11.30.12.png", NamedDate(datetime(2023, 6, 14, 11, 30, 12), day_only=False)),
    ("photo_2023-06-14_15-30-12.jpg", NamedDate(datetime(2023, 6, 14, 15, 30, 12), day_only=False)),  # Telegram
    ("signal-2023-06-14-153012.jpg", NamedDate(datetime(2023, 6, 14, 15, 30, 12), day_only=False)),  # Signal
    ("2023-06-14 15.30.12.jpg", NamedDate(datetime(2023, 6, 14, 15, 30, 12), day_only=False)),  # Dropbox uploads
    ("1987-07-04 beach.jpg", NamedDate(datetime(1987, 7, 4, 12), day_only=True)),  # a scan named by the family
    ("1952.08.15 wedding.jpg", NamedDate(datetime(1952, 8, 15, 12), day_only=True)),
    ("IMG_20230614_253012.jpg", NamedDate(datetime(2023, 6, 14, 12), day_only=True)),  # no such time: the day
    ("IMG-20230614-WA0003-edited.jpg", NamedDate(datetime(2023, 6, 14, 12), day_only=True)),
    # A scan's counter after a date written with separators is no time (QA: "1987-07-04 000123.jpg" read as 00:01:23),
    # nor are more digits than a time and a Pixel's milliseconds: the day alone.
    ("1987-07-04 000123.jpg", NamedDate(datetime(1987, 7, 4, 12), day_only=True)),
    ("1987-07-04_000123.jpg", NamedDate(datetime(1987, 7, 4, 12), day_only=True)),
    ("1987.07.04 153012.jpg", NamedDate(datetime(1987, 7, 4, 12), day_only=True)),
    ("2023-06-14 1530123.jpg", NamedDate(datetime(2023, 6, 14, 12), day_only=True)),
    ("IMG_20230614_1530123.jpg", NamedDate(datetime(2023, 6, 14, 12), day_only=True)),
    ("IMG_20230614_15301234.jpg", NamedDate(datetime(2023, 6, 14, 12), day_only=True)),
    ("2023-06-14 15.30.12345.jpg", NamedDate(datetime(2023, 6, 14, 12), day_only=True)),
    ("2023-06-14 15.3012.jpg", NamedDate(datetime(2023, 6, 14, 12), day_only=True)),  # (separators that disagree)
    ("1987-07-04 246012.jpg", NamedDate(datetime(1987, 7, 4, 12), day_only=True)),  # no such time
    ("2023-06-14T153012.jpg", NamedDate(datetime(2023, 6, 14, 15, 30, 12), day_only=False)),  # ("T": a time, ISO's)
    # Windows 11's Snipping Tool: a date with separators, a space, the time's six digits (a screenshot's stamp).
    ("Screenshot 2023-09-15 145845.png", NamedDate(datetime(2023, 9, 15, 14, 58, 45), day_only=False)),
    ("Captura de pantalla 2023-09-15 145845.png", NamedDate(datetime(2023, 9, 15, 14, 58, 45), day_only=False)),
    # macOS screenshots in other languages (QA: French and German ones gave the day alone).
    ("Capture d\u2019écran 2023-06-14 à 15.30.12.png", NamedDate(datetime(2023, 6, 14, 15, 30, 12), day_only=False)),
    ("Capture d'écran 2023-06-14 à 15.30.12.png", NamedDate(datetime(2023, 6, 14, 15, 30, 12), day_only=False)),
    ("Capture d'e\u0301cran 2023-06-14 a\u0300 15.30.12.png",  # (a Mac's decomposed accents)
     NamedDate(datetime(2023, 6, 14, 15, 30, 12), day_only=False)),
    ("Bildschirmfoto 2023-06-14 um 15.30.12.png", NamedDate(datetime(2023, 6, 14, 15, 30, 12), day_only=False)),
    ("Captura de pantalla 2023-06-14 a las 15.30.12.png", NamedDate(datetime(2023, 6, 14, 15, 30, 12),
                                                                    day_only=False)),
    ("Captura de Tela 2023-06-14 às 15.30.12.png", NamedDate(datetime(2023, 6, 14, 15, 30, 12), day_only=False)),
    ("Istantanea 2023-06-14 alle 15.30.12.png", NamedDate(datetime(2023, 6, 14, 15, 30, 12), day_only=False)),
    ("Schermafbeelding 2023-06-14 om 15.30.12.png", NamedDate(datetime(2023, 6, 14, 15, 30, 12), day_only=False)),
    ("IMG_0042.jpg", None), ("DSC_1234567890.jpg", None), ("12345678.jpg", None),  # numbers, not dates
    ("e4d20190612fa3b9c.jpg", None), ("5f0c2a1e-2019-0612-a716-446655440000.jpg", None),  # a hash, a UUID
    ("20230614153012345.jpg", NamedDate(datetime(2023, 6, 14, 15, 30, 12), day_only=False)),  # digits alone: a moment
    ("20230230.jpg", None), ("2023-13-01.jpg", None),  # no such day
    ("2099-01-01 party.jpg", None),  # in the future
    ("19520815.jpg", None),  # 8 digits alone count from 1980: before, more likely a number than a date
    ("2023-06_14.jpg", None),  # separators that disagree
])
def test_the_date_a_name_tells(name, expected):
    assert date_in_filename(name) == expected


def _upload(family, user, data: bytes, filename: str) -> Photo:
    result = photo_create_from_bytes(family=family, uploaded_by=user, data=data, filename=filename)
    assert result.outcome == UploadResult.SAVED, result.reason
    return Photo.objects.get(pk=result.photo.pk)


def _plain() -> bytes:
    n = next(_colours)
    return images.jpeg(colour=(n, 255 - n, (n * 5) % 256))


@pytest.mark.django_db
def test_an_upload_without_a_date_in_the_file_is_dated_by_its_name_and_says_so(family, alice, settings, client_for):
    settings.TIME_ZONE = "Europe/Lisbon"
    chat = _upload(family, alice, _plain(), "IMG-20230614-WA0003.jpg")
    shot = _upload(family, alice, _plain(), "Screenshot_20231224-213000.png")
    plain = _upload(family, alice, _plain(), "IMG_0042.jpg")

    assert (chat.taken_at_source, chat.taken_tz) == (Photo.DateSource.FILENAME, "Europe/Lisbon")
    assert chat.taken_at == datetime(2023, 6, 14, 12, tzinfo=ZoneInfo("Europe/Lisbon")) and chat.taken_day == \
        date(2023, 6, 14)
    assert shot.taken_at == datetime(2023, 12, 24, 21, 30, tzinfo=ZoneInfo("Europe/Lisbon"))
    assert plain.taken_at_source == Photo.DateSource.UPLOAD
    # Its date words are the name's: "june 2023", "summer", "december" find them by their metadata.
    words = _when_where([chat.pk, shot.pk])
    assert {"june", "2023", "summer"} <= set(words[chat.pk][1].split())
    assert {"december", "2023", "winter"} <= set(words[shot.pk][1].split())

    client = client_for(alice)
    page = client.get(chat.get_absolute_url()).content.decode()
    assert "14 Jun 2023 12:00" in page and "(no EXIF date: the date in the file's name)" in page
    assert client.get(reverse("api_photo_detail", args=[chat.pk])).json()["taken_at_source"] == "filename"


@pytest.mark.django_db
def test_the_cameras_date_comes_before_the_name_and_the_name_before_a_scanners_date_of_change(family, alice):
    camera = images.with_metadata(_plain(), exif={"Exif.Photo.DateTimeOriginal": "2020:01:02 03:04:05"})
    scan = images.with_metadata(_plain(), exif={"Exif.Image.DateTime": "2021:02:02 10:00:00"})

    from_camera = _upload(family, alice, camera, "IMG_20230614_153012.jpg")
    from_scanner = _upload(family, alice, scan, "1987-07-04 beach.jpg")

    assert from_camera.taken_at_source == Photo.DateSource.EXIF and from_camera.taken_day == date(2020, 1, 2)
    assert from_scanner.taken_at_source == Photo.DateSource.FILENAME and from_scanner.taken_day == date(1987, 7, 4)


@pytest.mark.django_db
def test_a_names_time_is_read_in_the_zone_of_the_files_position(family, alice, settings):
    settings.TIME_ZONE = "UTC"
    photo = _upload(family, alice, images.gps_jpeg(-33.8688, 151.2093, taken=None),
                    "IMG_20230614_153012.jpg")  # Sydney, no date

    assert (photo.taken_at_source, photo.taken_tz) == (Photo.DateSource.FILENAME, "Australia/Sydney")
    assert photo.taken_at == datetime(2023, 6, 14, 5, 30, 12, tzinfo=dt_timezone.utc)  # 15:30:12 at UTC+10


@pytest.mark.django_db
def test_reading_the_file_again_dates_photos_stored_before_by_their_names_never_a_members_date(family, alice,
                                                                                               settings):
    """Photos stored before names were read were dated by their upload: `read_embedded --all` (and re-reading one
    photo) dates them by their names. A member's date stays."""
    settings.TIME_ZONE = "UTC"
    before = _upload(family, alice, _plain(), "IMG-20190301-WA0007.jpg")
    edited = _upload(family, alice, _plain(), "IMG-20190302-WA0008.jpg")
    scan = _upload(family, alice, images.with_metadata(_plain(), exif={"Exif.Image.DateTime": "2021:02:02 10:00:00"}),
                   "1987-07-04 beach.jpg")  # (stored before names were read: dated by the scanner's EXIF DateTime)
    Photo.objects.filter(pk=scan.pk).update(taken_at=datetime(2021, 2, 2, 10, tzinfo=dt_timezone.utc),
                                            taken_day=date(2021, 2, 2), taken_at_source=Photo.DateSource.EXIF)
    stamp = datetime(2026, 1, 5, 9, tzinfo=dt_timezone.utc)
    Photo.objects.filter(pk=before.pk).update(taken_at=stamp, taken_day=stamp.date(),
                                              taken_at_source=Photo.DateSource.UPLOAD)
    Photo.objects.filter(pk=edited.pk).update(taken_at=stamp, taken_day=stamp.date(),
                                              taken_at_source=Photo.DateSource.MEMBER)

    call_command("read_embedded", "--all", "--no-progress", stdout=io.StringIO())

    before.refresh_from_db()
    edited.refresh_from_db()
    assert (before.taken_at_source, before.taken_day) == (Photo.DateSource.FILENAME, date(2019, 3, 1))
    scan.refresh_from_db()
    assert (scan.taken_at_source, scan.taken_day) == (Photo.DateSource.FILENAME, date(1987, 7, 4))  # (as an upload)
    assert (edited.taken_at_source, edited.taken_at) == (Photo.DateSource.MEMBER, stamp)
    assert photo_embedded_read(photo=before).taken_day == date(2019, 3, 1)  # (again: the same)


@pytest.mark.django_db
def test_reading_the_file_again_dates_a_scan_stored_before_by_its_name_not_the_scanners_day(family, alice, settings):
    """A scan named "1987-07-04 beach.jpg" whose file has only EXIF DateTime (the day the scanner wrote it), stored
    before names were read, was dated by that day (source EXIF), and `read_embedded --all` left it there, while the
    same file uploaded now is dated by its name. A camera's date taken stays before the name."""
    settings.TIME_ZONE = "UTC"
    scan = _upload(family, alice, images.with_metadata(_plain(), exif={"Exif.Image.DateTime": "2021:02:02 10:00:00"}),
                   "1987-07-04 beach.jpg")
    camera = _upload(family, alice, images.with_metadata(
        _plain(), exif={"Exif.Photo.DateTimeOriginal": "2020:01:02 03:04:05"}), "IMG_20230614_153012.jpg")
    scanned = datetime(2021, 2, 2, 10, tzinfo=dt_timezone.utc)
    Photo.objects.filter(pk=scan.pk).update(taken_at=scanned, taken_day=scanned.date(),
                                            taken_at_source=Photo.DateSource.EXIF)  # (as stored before)

    call_command("read_embedded", "--all", "--no-progress", stdout=io.StringIO())

    scan.refresh_from_db()
    camera.refresh_from_db()
    assert (scan.taken_at_source, scan.taken_day) == (Photo.DateSource.FILENAME, date(1987, 7, 4))
    assert (camera.taken_at_source, camera.taken_day) == (Photo.DateSource.EXIF, date(2020, 1, 2))
    assert photo_embedded_read(photo=scan).taken_day == date(1987, 7, 4)  # (again: the same)


@pytest.mark.django_db
def test_a_takeout_sidecar_gives_a_names_day_its_time_and_no_other_day(tmp_path, family, alice):
    """A chat app's copy in a Google Photos export: its name tells the day, its sidecar the moment Google Photos
    knew. The sidecar's time on that day is taken; a sidecar's date on another day (the day the copy was uploaded
    years later) is not. A name with a time is the file's own date: its sidecar gives only what else it lacks."""
    same_day = datetime(2016, 8, 14, 17, 20, 5, tzinfo=dt_timezone.utc)
    _write(tmp_path, "IMG-20160814-WA0003.jpg", _plain())
    _write(tmp_path, "IMG-20160814-WA0003.jpg.json", _sidecar("IMG-20160814-WA0003.jpg", taken=same_day))
    _write(tmp_path, "IMG-20160815-WA0004.jpg", _plain())
    _write(tmp_path, "IMG-20160815-WA0004.jpg.json", _sidecar("IMG-20160815-WA0004.jpg",
                                                              taken=datetime(2021, 3, 3, tzinfo=dt_timezone.utc)))
    _write(tmp_path, "IMG_20160816_101500.jpg", _plain())
    _write(tmp_path, "IMG_20160816_101500.jpg.json", _sidecar("IMG_20160816_101500.jpg", taken=same_day,
                                                              description="Grandma's 80th"))

    _import(tmp_path)

    dated = {p.original_filename: p for p in Photo.objects.filter(family=family)}
    assert (dated["IMG-20160814-WA0003.jpg"].taken_at, dated["IMG-20160814-WA0003.jpg"].taken_at_source) == \
        (same_day, Photo.DateSource.SIDECAR)
    assert (dated["IMG-20160815-WA0004.jpg"].taken_at_source, dated["IMG-20160815-WA0004.jpg"].taken_day) == \
        (Photo.DateSource.FILENAME, date(2016, 8, 15))
    named = dated["IMG_20160816_101500.jpg"]
    assert named.taken_at_source == Photo.DateSource.FILENAME and named.taken_tz == "Europe/Lisbon"
    assert named.taken_at == datetime(2016, 8, 16, 10, 15, tzinfo=ZoneInfo("Europe/Lisbon"))
    assert named.place_city == "Lisbon" and named.description == "Grandma's 80th"


@pytest.mark.django_db
def test_a_name_dated_photo_imported_without_its_sidecar_gets_its_place_when_found_later(tmp_path, family, alice):
    """Takeout's parts imported one by one: the sidecar found later gives a name-dated photo its place and caption;
    its date stays the name's (a day alone takes the sidecar's time on that day: test_takeout_import)."""
    for name in ("IMG_20160816_101500.jpg", "IMG-20160820-WA0001.jpg"):
        _write(tmp_path / "part-1", name, _plain())
    _import(tmp_path / "part-1")
    for name in ("IMG_20160816_101500.jpg", "IMG-20160820-WA0001.jpg"):  # (both say 14 August 2016)
        _write(tmp_path / "part-1", f"{name}.json", _sidecar(name, description="Grandma's 80th"))

    out = _import(tmp_path / "part-1")

    moment, day = (Photo.objects.get(original_filename=name) for name in ("IMG_20160816_101500.jpg",
                                                                           "IMG-20160820-WA0001.jpg"))
    assert moment.taken_at_source == Photo.DateSource.FILENAME and moment.place_city == "Lisbon"
    assert moment.taken_at == datetime(2016, 8, 16, 10, 15, tzinfo=ZoneInfo("Europe/Lisbon"))  # read in its new zone
    assert (day.taken_at_source, day.taken_day, day.place_city) == (Photo.DateSource.FILENAME, date(2016, 8, 20),
                                                                    "Lisbon")
    assert "(2 given their people, caption or place by their Takeout sidecars)" in out
    assert "given" not in _import(tmp_path / "part-1")
