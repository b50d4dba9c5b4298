"""Dates from folder names: a photo whose file and name tell no date, imported from a folder named by its day, month
or year ("2019-07-14 Beach day", "2019/07", "Photos from 2019"), is dated by it, with how precisely recorded (its
source): the photo page says so, "on this day" leaves out a month's or a year's first day, date words stay honest."""

from __future__ import annotations

import io
from datetime import date, datetime
from pathlib import Path

import pytest
from django.core.management import call_command
from PIL import Image

from gallery.filename_dates import DAY, MONTH, YEAR, date_in_folders, is_a_date_folder
from gallery.memories import memories
from gallery.models import Photo
from gallery.sidecars import is_a_year_folder
from gallery.timeline import TimelineFilters
from tests import images
from tests.files import write

pytestmark = pytest.mark.django_db

_colours = iter(range(5, 250, 3))


def picture(*, exif: Image.Exif | None = None) -> bytes:
    n = next(_colours)
    return images.image_bytes("JPEG", colour=(n, (n * 3) % 256, 255 - n), size=(40, 30), exif=exif)


def exif_with(**tags) -> Image.Exif:
    exif = Image.Exif()
    if "taken" in tags:
        exif.get_ifd(0x8769)[0x9003] = tags["taken"]  # DateTimeOriginal
    if "changed" in tags:
        exif[0x0132] = tags["changed"]  # DateTime alone: the day a scanner wrote the file
    return exif


@pytest.mark.parametrize("parts, when, precision", [
    (["2019-07-14 Beach day"], date(2019, 7, 14), DAY),
    (["20190714"], date(2019, 7, 14), DAY),
    (["2019", "07", "14"], date(2019, 7, 14), DAY),  # digiKam's, darktable's, Lightroom's import folders
    (["2019", "2019-07", "14"], date(2019, 7, 14), DAY),
    (["2019-07 Italy"], date(2019, 7, 1), MONTH),
    (["2019-07 Italy", "Rome"], date(2019, 7, 1), MONTH),  # a folder that tells nothing lets its own folder speak
    (["July 2019"], date(2019, 7, 1), MONTH),
    (["2019", "07 - July"], date(2019, 7, 1), MONTH),
    (["2019"], date(2019, 1, 1), YEAR),
    (["Photos from 2019"], date(2019, 1, 1), YEAR),
    (["2019", "3 Kids"], date(2019, 1, 1), YEAR),  # "3 Kids" is no March
    (["Summer 2019"], None, None),  # which summer, which hemisphere: nothing
    (["Trip 2019"], None, None),
    (["07"], None, None),
    (["2019-13"], None, None),
    (["2099-01"], None, None),  # in the future: no date taken
    # The date must start the name: one inside it may be anything (a backup's, an export's day)
    (["iPhone backup 2021-03-04"], None, None),
    (["Export 2022-12-31 from Lightroom"], None, None),
    (["Old photos", "Export 2022-12-31 from Lightroom"], None, None),
    (["Party 2019-07"], None, None),
    # A name with a time is a moment something was made: a Takeout zip unpacked in a folder of its name, an export
    (["takeout-20230105T101010Z-001"], None, None),
    (["20230105T101010Z-001"], None, None),
    (["2023-01-05 10.10.10 export"], None, None),
    (["2019", "takeout-20230105T101010Z-001"], date(2019, 1, 1), YEAR),
    # A school year, a season: "2010-11" (its second number the next year's last two digits) is no November
    (["2010-11 school year"], None, None),
    (["2011-12"], None, None),
    (["2005_06 season"], None, None),
    (["2010-12 school trip"], date(2010, 12, 1), MONTH),
    (["2010-11 Ski season"], None, None),
    # ... but with words of its own it is the month, as "2019-07 Italy" (a year from 2000 to 2011 is no school year)
    (["2005-06 Italy"], date(2005, 6, 1), MONTH),
    (["2010-11 Paris"], date(2010, 11, 1), MONTH),
    # "12 days" after a year is no December
    (["2019 12 days"], None, None),
    (["2019 07 Italy"], None, None),
    (["2019 07"], date(2019, 7, 1), MONTH),
    (["2019.07 - Rome"], date(2019, 7, 1), MONTH),
    (["1987-07-04 Beach day"], date(1987, 7, 4), DAY),
    (["1987-07-04 000123"], date(1987, 7, 4), DAY),  # (a scanner's counter: no time)
    (["1987", "07", "04"], date(1987, 7, 4), DAY),
    (["19870704"], date(1987, 7, 4), DAY),
    (["1987-07 Italy"], date(1987, 7, 1), MONTH),
    (["July 1987"], date(1987, 7, 1), MONTH),
    (["1987"], date(1987, 1, 1), YEAR),
    (["Photos from 1987"], date(1987, 1, 1), YEAR),
])
def test_only_folder_names_that_can_mean_nothing_else_tell_a_date(parts, when, precision):
    found = date_in_folders(parts, year_folder=is_a_year_folder)
    assert (found.when.date(), found.precision) == (when, precision) if when else found is None
    if found:
        assert found.when.hour == 12  # noon: the day stays the day in any zone it is shown in


@pytest.mark.parametrize("name, by_date", [
    ("2019", True), ("2019-07", True), ("2019 07", True), ("08", True), ("2019-07-14", True), ("20190714", True),
    ("2010-11", False),  # a school year or a season: an album of its own with --album-per-folder
    ("2019-07 Italy", False),
])
def test_a_folder_by_date_is_one_named_by_a_date_alone(name, by_date):
    assert is_a_date_folder(name) is by_date


def _import(root: Path) -> str:
    out = io.StringIO()
    call_command("import_photos", str(root), "--family", "Smiths", "--user", "alice", "--no-progress", stdout=out,
                 stderr=io.StringIO())
    return out.getvalue()


def photo_named(name: str) -> Photo:
    return Photo.objects.get(original_filename=name)


def dated(name: str) -> tuple[date, str]:
    """The local day of the photo imported from the file `name`, and where its date came from."""
    photo = photo_named(name)
    return photo.taken_at_local.date(), photo.taken_at_source


def test_a_photo_that_tells_no_date_is_dated_by_its_folders_name(tmp_path, family, alice, client_for):
    root = write(tmp_path / "Scans", {
        "1987-07-04 Beach day/scan001.jpg": picture(),
        "1987-07-04 Beach day/scan002.jpg": picture(exif=exif_with(changed="2021:03:03 10:00:00")),  # the scanner's
        "1987-07-04 Beach day/camera.jpg": picture(exif=exif_with(taken="1987:07:05 09:00:00")),  # its own date
        "1987-07-04 Beach day/IMG-19870706-WA0001.jpg": picture(),  # its name's date
        "1990/08/scan003.jpg": picture(),
        "Photos from 1995/scan004.jpg": picture(),
        "Unsorted/scan005.jpg": picture(),
    })

    out = _import(root)

    assert dated("scan001.jpg") == (date(1987, 7, 4), "folder_day")
    assert dated("scan002.jpg") == (date(1987, 7, 4), "folder_day")
    assert dated("camera.jpg") == (date(1987, 7, 5), "exif")
    assert dated("IMG-19870706-WA0001.jpg") == (date(1987, 7, 6), "filename")
    assert dated("scan003.jpg") == (date(1990, 8, 1), "folder_month")
    assert dated("scan004.jpg") == (date(1995, 1, 1), "folder_year")
    assert dated("scan005.jpg")[1] == "file"  # its modified time, as before
    assert "Dated by the name of their folder: 4 " in out

    # The page shows as much as the folder told: no noon that nobody said, no 1st of a month nobody named.
    page = client_for(alice).get(photo_named("scan003.jpg").get_absolute_url()).content.decode()
    assert "<dd>August 1990 " in page and "(no date in the file: the month in its folder's name)" in page
    assert "1 Aug 1990" not in page
    page = client_for(alice).get(photo_named("scan004.jpg").get_absolute_url()).content.decode()
    assert "<dd>1995 " in page and "(no date in the file: the year in its folder's name)" in page
    page = client_for(alice).get(photo_named("scan001.jpg").get_absolute_url()).content.decode()
    assert "<dd>4 Jul 1987 " in page and "(no date in the file: the day in its folder's name)" in page
    assert "4 Jul 1987 12:00" not in page


def test_the_folder_imported_dates_its_photos_however_it_is_named(tmp_path, family, alice, monkeypatch):
    """`import_photos .` run inside "1987-07-04 Beach day" took the name of `Path(".")`, which is empty, and dated
    nothing by it; importing "1990/08" alone never saw the "1990" around it, so "08" told no month (review29)."""
    write(tmp_path, {"1987-07-04 Beach day/scan001.jpg": picture(), "1990/08/scan002.jpg": picture(),
                     "1990/08/09/scan003.jpg": picture()})
    monkeypatch.chdir(tmp_path / "1987-07-04 Beach day")
    _import(Path("."))
    monkeypatch.chdir(tmp_path / "1990" / "08")
    _import(Path("..") / "08")

    assert dated("scan001.jpg") == (date(1987, 7, 4), "folder_day")
    assert dated("scan002.jpg") == (date(1990, 8, 1), "folder_month")
    assert dated("scan003.jpg") == (date(1990, 8, 9), "folder_day")


def test_a_photo_imported_before_with_a_guessed_date_is_dated_by_its_folder_on_the_next_run(tmp_path, family, alice):
    root = write(tmp_path / "Scans", {"Unsorted/scan001.jpg": picture(), "Unsorted/camera.jpg": picture(
        exif=exif_with(taken="2001:02:03 10:00:00"))})
    _import(root)
    assert photo_named("scan001.jpg").taken_at_source == "file"
    (root / "2003-05-06 Garden").mkdir()
    for name in ("scan001.jpg", "camera.jpg"):
        (root / "Unsorted" / name).rename(root / "2003-05-06 Garden" / name)  # sorted into a folder by its day

    out = _import(root)

    scan = photo_named("scan001.jpg")
    assert (scan.taken_at_local.date(), scan.taken_at_source) == (date(2003, 5, 6), "folder_day")
    assert photo_named("camera.jpg").taken_at_source == "exif"  # its own date stays
    assert "already there 2 (1 dated now by the name of its folder)" in out
    assert "already there 2," in _import(root)  # and only once


def test_a_re_run_locks_and_reads_no_photo_whose_date_its_folder_cannot_change(tmp_path, family, alice, monkeypatch):
    """digiKam's 2019/07/14 layout of camera photos, scans already dated by their folder: a re-run asks nothing of
    them (photo_folder_date_fill locks the photo's row, and an EXIF photo's file is parsed for its dates)."""
    from gallery.management.commands import import_photos

    root = write(tmp_path / "Library", {"2019/07/14/camera.jpg": picture(exif=exif_with(taken="2019:07:14 10:00:00")),
                                        "2003/08/scan.jpg": picture(), "Unsorted/guess.jpg": picture()})
    _import(root)
    assert photo_named("scan.jpg").taken_at_source == "folder_month"
    calls = []
    fill = import_photos.photo_folder_date_fill
    monkeypatch.setattr(import_photos, "photo_folder_date_fill",
                        lambda **kwargs: calls.append(kwargs) or fill(**kwargs))

    assert "already there 3," in _import(root)
    assert calls == []

    (root / "2004").mkdir()
    (root / "Unsorted" / "guess.jpg").rename(root / "2004" / "guess.jpg")  # a guess meets a folder: dated
    out = _import(root)
    assert len(calls) == 1 and photo_named("guess.jpg").taken_at_source == "folder_year"
    assert "1 dated now by the name of its folder" in out


def test_a_modified_time_in_the_folders_month_or_year_says_more_and_stays(tmp_path, family, alice):
    import os

    root = write(tmp_path / "Scans", {"2019/07/kept.jpg": picture(), "2019/07/other.jpg": picture()})
    inside, outside = datetime(2019, 7, 20, 15, 0).timestamp(), datetime(2023, 1, 5, 15, 0).timestamp()
    os.utime(root / "2019" / "07" / "kept.jpg", (inside, inside))
    os.utime(root / "2019" / "07" / "other.jpg", (outside, outside))  # copied in 2023: not when it was taken

    _import(root)

    kept, other = photo_named("kept.jpg"), photo_named("other.jpg")
    assert (kept.taken_at.timestamp(), kept.taken_at_source) == (inside, "file")
    assert (other.taken_at_local.date(), other.taken_at_source) == (date(2019, 7, 1), "folder_month")


def test_on_this_day_leaves_out_the_first_day_that_stands_for_a_month_or_a_year(tmp_path, family, alice):
    write(tmp_path / "Scans", {"1990-08-01 Party/day.jpg": picture(), "1990/08/month.jpg": picture(),
                               "1990/year.jpg": picture()})
    _import(tmp_path / "Scans")

    found = memories(user=alice, filters=TimelineFilters(), today=date(2024, 8, 1))
    assert [photo.original_filename for memory in found for photo in memory.photos] == ["day.jpg"]
    assert memories(user=alice, filters=TimelineFilters(), today=date(2024, 1, 1)) == []


def test_album_per_folder_makes_no_album_of_a_folder_named_by_a_date_alone(tmp_path, family, alice):
    """digiKam and Lightroom file photos in "2003/08/…": every August of every year went into one album "08"."""
    from gallery.models import Album

    root = write(tmp_path / "Library", {"2003/08/a.jpg": picture(), "2004/08/b.jpg": picture(),
                                        "2004/2004-09-12/c.jpg": picture(), "2004/2004-09-13 Fair/d.jpg": picture()})

    out = io.StringIO()
    call_command("import_photos", str(root), "--family", "Smiths", "--user", "alice", "--no-progress",
                 "--album-per-folder", stdout=out, stderr=io.StringIO())

    assert list(Album.objects.filter(family=family).values_list("name", flat=True)) == ["2004-09-13 Fair"]
    assert "Folders named by a date alone make no album (the timeline shows their photos by date): 08, 2004-09-12" \
        in out.getvalue()


def test_a_folder_date_stays_the_same_wall_clock_day_when_a_place_found_later_moves_its_zone(tmp_path, family, alice):
    """A photo dated by its folder "2003/08" (noon on the 1st, read in TIME_ZONE) then given a place by an XMP sidecar
    found later (Leeds: Europe/London): re-read, its noon became 13:00 (the same instant in the new zone); a scan in
    "2003-08-31" in Tokyo would have moved to another day. A folder's date is a wall-clock day, as a name's is."""
    from gallery.services import photo_embedded_read
    from gallery.tests.test_xmp_sidecars import sidecar_xml

    root = write(tmp_path / "Scans", {"2003/08/holiday.jpg": picture(), "2003-08-31/late.jpg": picture()})
    _import(root)
    write(root, {"2003/08/holiday.jpg.xmp": sidecar_xml(city="Leeds", country="United Kingdom"),
                 "2003-08-31/late.jpg.xmp": sidecar_xml(city="Tokyo", country="Japan")})

    _import(root)

    for name, day, zone in (("holiday.jpg", date(2003, 8, 1), "Europe/London"), ("late.jpg", date(2003, 8, 31),
                                                                                  "Asia/Tokyo")):
        photo = photo_named(name)
        assert (photo.taken_tz, photo.taken_at_local.date(), photo.taken_at_local.hour) == (zone, day, 12)
        assert photo.taken_day == day
        again = photo_embedded_read(photo=photo)  # (read_embedded, the photo page's "read the file again")
        assert (again.taken_at_local.date(), again.taken_at_local.hour) == (day, 12)


def test_the_photo_lists_date_filter_takes_a_month_or_a_year_only_when_it_holds_it_whole(tmp_path, family, alice,
                                                                                        client_for):
    """GET /api/v1/photos/?taken_after=&taken_before= as the search's date filter (search.scope): a scan of "2003" is
    no photo of January 2003, one of "2003/08" none of 1 August."""
    from django.urls import reverse

    write(tmp_path / "Scans", {"2003/year.jpg": picture(), "2003/08/month.jpg": picture(),
                               "2003-08-01 Party/day.jpg": picture()})
    _import(tmp_path / "Scans")

    def listed(**dates):
        response = client_for(alice).get(reverse("api_photos"), dates)
        assert response.status_code == 200
        return sorted(photo["original_filename"] for photo in response.json()["results"])

    assert listed(taken_after="2003-08-01", taken_before="2003-08-01") == ["day.jpg"]
    assert listed(taken_after="2003-08-01", taken_before="2003-08-31") == ["day.jpg", "month.jpg"]
    assert listed(taken_after="2003-01-01", taken_before="2003-01-31") == []
    assert listed(taken_after="2003-01-01", taken_before="2003-12-31") == ["day.jpg", "month.jpg", "year.jpg"]
    assert listed(taken_after="2003-07-02") == ["day.jpg", "month.jpg"]
    assert listed(taken_before="2003-12-30") == ["day.jpg", "month.jpg"]
    assert listed(taken_before="2003-12-31") == ["day.jpg", "month.jpg", "year.jpg"]
    # The last day a date can name: no upper bound (it was a 500, its next day overflowing), as search.scope reads it
    assert listed(taken_before="9999-12-31") == ["day.jpg", "month.jpg", "year.jpg"]
    assert listed(taken_after="2003-08-01", taken_before="9999-12-31") == ["day.jpg", "month.jpg"]
    # A last day in the year 1: no year (nor, in its January, month) ends by it; the one before it was a 500 (year 0).
    assert listed(taken_before="0001-01-01") == listed(taken_before="0001-03-15") == []
    assert listed(taken_after="0001-01-01", taken_before="0001-12-30") == []


def test_the_photo_lists_date_filter_takes_a_last_day_in_year_one(tmp_path, family, alice, client_for):
    """GET /api/v1/photos/?taken_before=0001-06-01 was a 500 (ValueError: year 0 is out of range): the whole-period
    filter named the start of the year before the bound's next day's year, and for 0001-01-15 the month before
    January of year 1 (OverflowError). Nothing is dated then: an empty list, as search reads the same bound."""
    from django.urls import reverse

    write(tmp_path / "Scans", {"2003/year.jpg": picture(), "2003/08/month.jpg": picture()})
    _import(tmp_path / "Scans")

    for before in ("0001-06-01", "0001-01-15", "0001-01-01"):
        response = client_for(alice).get(reverse("api_photos"), {"taken_before": before})
        assert response.status_code == 200, before
        assert response.json()["results"] == []
    response = client_for(alice).get(reverse("api_photos"), {"taken_after": "0001-01-01", "taken_before": "2003-12-31"})
    assert sorted(photo["original_filename"] for photo in response.json()["results"]) == ["month.jpg", "year.jpg"]


def test_the_date_correction_form_offers_a_folders_day_without_a_time_nobody_said(tmp_path, family, alice, client_for):
    import re

    write(tmp_path / "Scans", {"1990/08/scan.jpg": picture()})
    _import(tmp_path / "Scans")

    page = client_for(alice).get(photo_named("scan.jpg").get_absolute_url()).content.decode()

    assert re.search(r'<input type="date" name="date" value="1990-08-01"', page)
    time_input = re.search(r'<input type="time" name="time"[^>]*>', page)[0]
    assert "value=" not in time_input  # (it was 12:00, the noon that stands for the day)
