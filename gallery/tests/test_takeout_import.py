"""import_photos reads Google Takeout's JSON sidecars: a Google Photos export keeps a photo's date, place, caption and
the people named in it in "<file>.json" (or "<file>.supplemental-metadata.json", cut to 51 characters) beside it, and
the exported files' modified times are the day of the export. The file's own EXIF comes first; the sidecar fills what
it lacks."""

from __future__ import annotations

import io
import json
import os
from datetime import datetime, timezone as dt_timezone
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from gallery.models import Photo, PhotoTag
from tests import images

pytestmark = pytest.mark.django_db

TAKEN = datetime(2016, 8, 14, 17, 20, 5, tzinfo=dt_timezone.utc)
EXPORTED = datetime(2026, 11, 30, 9, 0, tzinfo=dt_timezone.utc)  # the modified time of every exported file
LISBON = (38.7139, -9.1394)


def _sidecar(title: str, *, taken: datetime = TAKEN, where=LISBON, description: str = "", people=(), **extra) -> dict:
    """A sidecar as Takeout writes it (the fields we read, and some we don't)."""
    return {
        "title": title, "description": description, "imageViews": "12",
        "creationTime": {"timestamp": str(int(EXPORTED.timestamp())), "formatted": "30 Nov 2026, 09:00:00 UTC"},
        "photoTakenTime": {"timestamp": str(int(taken.timestamp())), "formatted": "14 Aug 2016, 17:20:05 UTC"},
        "geoData": {"latitude": where[0], "longitude": where[1], "altitude": 0.0, "latitudeSpan": 0.0,
                    "longitudeSpan": 0.0},
        "geoDataExif": {"latitude": 0.0, "longitude": 0.0, "altitude": 0.0, "latitudeSpan": 0.0, "longitudeSpan": 0.0},
        "people": [{"name": name} for name in people],
        "url": "https://photos.google.com/photo/AF1Qip", "googlePhotosOrigin": {"mobileUpload": {}},
        **extra,
    }


def _write(folder: Path, name: str, data: bytes | str | dict) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, dict):
        data = json.dumps(data)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    os.utime(path, (EXPORTED.timestamp(), EXPORTED.timestamp()))
    return path


def _import(directory) -> str:
    out = io.StringIO()
    call_command("import_photos", str(directory), "--family", "Smiths", "--user", "alice", "--no-progress",
                 stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_a_photo_without_exif_takes_its_date_place_caption_and_people_from_its_sidecar(tmp_path, family, alice):
    album = tmp_path / "Takeout" / "Google Photos" / "Photos from 2016"
    _write(album, "IMG-20160814-WA0003.jpg", images.jpeg(colour=(10, 20, 30)))  # a chat app's copy: no EXIF
    _write(album, "IMG-20160814-WA0003.jpg.json", _sidecar("IMG-20160814-WA0003.jpg", description="Grandma's 80th",
                                                          people=["Grandma", "Tom"]))

    out = _import(tmp_path / "Takeout")

    photo = Photo.objects.get(family=family)
    assert photo.taken_at == TAKEN and photo.taken_at_source == Photo.DateSource.SIDECAR
    assert photo.taken_tz == "Europe/Lisbon"  # the zone of its position
    assert (photo.latitude, photo.longitude) == pytest.approx(LISBON)
    assert photo.place_city == "Lisbon" and photo.place_country_code == "PT"
    assert photo.description == "Grandma's 80th" and photo.description_source == Photo.FieldSource.EMBEDDED
    assert set(PhotoTag.objects.filter(photo=photo, source=PhotoTag.Source.SIDECAR)
               .values_list("tag__name", flat=True)) == {"Grandma", "Tom"}
    assert "Imported 1," in out and "not photos" not in out  # the sidecar is no "file left out"
    assert "Google Takeout sidecars: 1, beside their photos" in out
    again = _import(tmp_path / "Takeout")  # a re-run: the sidecar is still no file left out
    assert "already there 1" in again and "not photos" not in again


def test_the_files_own_exif_comes_first(tmp_path, family, alice):
    _write(tmp_path, "DSC_0001.JPG", images.gps_jpeg(52.37, 4.89, taken="2015:05:01 10:00:00"))  # Amsterdam
    _write(tmp_path, "DSC_0001.JPG.json", _sidecar("DSC_0001.JPG", description="Tulips"))

    _import(tmp_path)

    photo = Photo.objects.get(family=family)
    assert photo.taken_at_source == Photo.DateSource.EXIF and photo.taken_at.year == 2015
    assert photo.place_city == "Amsterdam" and photo.latitude == pytest.approx(52.37, abs=1e-3)
    assert photo.description == "Tulips"  # the file has none: the sidecar's


@pytest.mark.parametrize(("image", "sidecar"), [
    ("IMG_0042.jpg", "IMG_0042.jpg.supplemental-metadata.json"),  # since late 2024
    # Takeout cuts a sidecar's whole name to 51 characters.
    ("PXL_20230101_120000123.MP.jpg", "PXL_20230101_120000123.MP.jpg.supplemental-meta.json"[:46] + ".json"),
    ("a-very-long-file-name-from-a-scanner-2016-08-14-0001.jpg",
     "a-very-long-file-name-from-a-scanner-2016-08-14-0001.jpg"[:46] + ".json"),
    ("IMG_0042(1).jpg", "IMG_0042.jpg(1).json"),  # the second file of that name in the folder
    ("IMG_0042-edited.jpg", "IMG_0042.jpg.json"),  # Google Photos' edit: the original's sidecar
    # …named in the account's language
    ("IMG_0042-bearbeitet.jpg", "IMG_0042.jpg.supplemental-metadata.json"),
    ("IMG_0042-modifié.jpg", "IMG_0042.jpg.json"),
    ("IMG_0042-modifie\u0301.jpg", "IMG_0042.jpg.json"),  # (as a Mac unzips it: the accent apart, NFD)
    ("IMG_0042-editado.JPG", "IMG_0042.JPG.json"),
    ("IMG_0042-編集済み.jpg", "IMG_0042.jpg.json"),
    ("PXL_20230101_120000123.MP.jpg", "PXL_20230101_120000123.MP.jpg.supplemental-meta.json"),  # cut at 52
    # The 51 are counted in UTF-16 units, as Java does: an emoji is two.
    ("😀😃😄😁😆😅😂🤣🥲☺️😊😇🙂🙃😉😌😍🥰😘😗😙😚😋😛.jpg", "😀😃😄😁😆😅😂🤣🥲☺️😊😇🙂🙃😉😌😍🥰😘😗😙😚😋.json"),
    ("Fiesta 🎉🎉 cumpleaños de la abuela 2019.jpg", "Fiesta 🎉🎉 cumpleaños de la abuela 2019.jpg.s.json"),
])
def test_sidecars_are_found_by_every_name_takeout_gives_them(tmp_path, family, alice, image, sidecar):
    _write(tmp_path, image, images.jpeg(colour=(len(image), 40, 50)))
    _write(tmp_path, sidecar, _sidecar(image))

    _import(tmp_path)

    photo = Photo.objects.get(family=family)
    assert (photo.latitude, photo.longitude) == LISBON  # (the file has no position: the sidecar's)
    # (A Pixel's name tells the moment it was taken: that comes before the sidecar's, gallery.filename_dates.)
    if image.startswith("PXL_"):
        assert (photo.taken_day.isoformat(), photo.taken_at_source) == ("2023-01-01", Photo.DateSource.FILENAME)
    else:
        assert (photo.taken_at, photo.taken_at_source) == (TAKEN, Photo.DateSource.SIDECAR)


@pytest.mark.parametrize(("content", "dated"), [
    ("{not json", False), ("[]", False),
    (json.dumps({"photoTakenTime": {"timestamp": "soon"}, "geoData": {"latitude": "north"}}), False),
    (json.dumps({"photoTakenTime": {"timestamp": "99999999999999"}}), False),  # past any calendar
    (json.dumps({"photoTakenTime": {"timestamp": "0"}}), False),  # 1 January 1970: no date
    (json.dumps({"photoTakenTime": {"timestamp": str(int(TAKEN.timestamp()))}, "description": 7,
                 "people": [{"name": "\x00"}, "Tom", {"name": None}], "geoData": {"latitude": 91.0, "longitude": 0.5}}),
     True),
    ("x" * 3_000_000, False),  # no sidecar is megabytes
    # The last second of the year 9999 in Tokyo is the year 10000 there, the first of the year 1 in New York the year
    # 0: the photo's local day overflowed and the import stopped with a traceback. No photo has such dates, nor one
    # before 1826.
    (json.dumps({"photoTakenTime": {"timestamp": "253402300799"}, "geoData": {"latitude": 35.68, "longitude": 139.69}}),
     False),
    (json.dumps({"photoTakenTime": {"timestamp": "-62135596800"}, "geoData": {"latitude": 40.7, "longitude": -74.0}}),
     False),
    (json.dumps({"photoTakenTime": {"timestamp": "-5364662400"}}), False),  # 1800
    # Nested deeper than Python's parser recurses (200 KB): a RecursionError, no ValueError, stopped the import.
    ('{"photoTakenTime": ' + "[" * 100_000 + "]" * 100_000 + "}", False),
], ids=["broken", "list", "wrong-types", "far-future", "zero", "odd-values", "huge", "year-9999-in-tokyo",
        "year-1-in-new-york", "before-1826", "nested-too-deep"])
def test_a_sidecar_that_makes_no_sense_costs_nothing_but_itself(tmp_path, family, alice, content, dated):
    _write(tmp_path, "scan.jpg", images.jpeg(colour=(90, 90, 90)))
    _write(tmp_path, "scan.jpg.json", content)

    out = _import(tmp_path)

    photo = Photo.objects.get(family=family)  # stored all the same
    if dated:  # what makes sense is taken, the rest left
        assert (photo.taken_at, photo.taken_at_source) == (TAKEN, Photo.DateSource.SIDECAR)
        assert photo.latitude is None and photo.description == "" and not PhotoTag.objects.filter(photo=photo).exists()
    else:
        assert (photo.taken_at, photo.taken_at_source) == (EXPORTED, Photo.DateSource.FILE)
    assert "Imported 1," in out


def test_a_json_that_is_no_sidecar_of_a_photo_is_still_counted_as_left_out(tmp_path, family, alice):
    _write(tmp_path, "beach.jpg", images.jpeg(colour=(1, 100, 200)))
    _write(tmp_path, "metadata.json", {"title": "Summer 2016", "description": "the album's own"})  # an album's
    _write(tmp_path, "print-subscriptions.json", {})

    out = _import(tmp_path)

    assert Photo.objects.get(family=family).taken_at_source == Photo.DateSource.FILE
    assert "not photos, left out: 2 .json" in out and "sidecar" not in out


def test_two_long_names_that_takeout_cut_alike_each_get_their_own_sidecar(tmp_path, family, alice):
    """Takeout cuts both sidecars' names to the same 46 characters and numbers the second ("…(1).json"): each scan
    takes the sidecar whose title is its name, never the other's date, caption and people."""
    names = [f"Family archive scan from grandmother box 1975-{n:03d}.jpg" for n in (1, 2)]
    cut = (names[0] + ".supplemental-metadata")[:46]
    assert cut == (names[1] + ".supplemental-metadata")[:46]
    for n, (name, sidecar) in enumerate(zip(names, [f"{cut}.json", f"{cut}(1).json"]), 1):
        _write(tmp_path, name, images.jpeg(colour=(n * 60, 40, 50)))
        _write(tmp_path, sidecar, _sidecar(name, taken=TAKEN.replace(year=1970 + n), description=f"scan {n}",
                                           people=["Grandad"] if n == 1 else ["Grandma"]))

    out = _import(tmp_path)

    for n, name in enumerate(names, 1):
        photo = Photo.objects.get(family=family, original_filename=name)
        assert (photo.taken_at.year, photo.taken_at_source) == (1970 + n, Photo.DateSource.SIDECAR)
        assert photo.description == f"scan {n}"
        assert list(PhotoTag.objects.filter(photo=photo).values_list("tag__name", flat=True)) == \
            ["Grandad" if n == 1 else "Grandma"]
    assert "Google Takeout sidecars: 2," in out and "not photos" not in out


def test_a_cut_sidecar_name_shared_by_two_photos_whose_titles_name_neither_is_given_to_none(tmp_path, family, alice):
    """When the sidecars Takeout cut alike can't be told apart, no photo gets another's date and people."""
    names = [f"Family archive scan from grandmother box 1975-{n:03d}.jpg" for n in (1, 2)]
    cut = (names[0] + ".supplemental-metadata")[:46]
    for n, name in enumerate(names, 1):
        _write(tmp_path, name, images.jpeg(colour=(n * 60, 90, 50)))
        _write(tmp_path, f"{cut}({n}).json" if n > 1 else f"{cut}.json", _sidecar("scan.jpg", people=["Grandad"]))

    _import(tmp_path)

    assert set(Photo.objects.filter(family=family).values_list("taken_at_source", flat=True)) == {"file"}
    assert not PhotoTag.objects.filter(photo__family=family).exists()


def test_a_re_run_dates_a_photo_imported_without_its_sidecar_from_it(tmp_path, family, alice):
    """Takeout comes in zip parts, and a photo's sidecar may be in another part than the photo: imported part by part,
    the photo was dated the day of the export. Importing the parts again, together, gives it what its sidecar says
    (as it does a photo uploaded, or imported before sidecars were read); a member's date stays."""
    folder = "Takeout/Google Photos/Photos from 2016"
    _write(tmp_path / "takeout-001" / folder, "IMG-20160814-WA0003.jpg", images.jpeg(colour=(10, 20, 30)))
    _write(tmp_path / "takeout-001" / folder, "IMG-20160814-WA0009.jpg", images.jpeg(colour=(200, 20, 30)))
    for name in ("IMG-20160814-WA0003.jpg", "IMG-20160814-WA0009.jpg"):
        _write(tmp_path / "takeout-002" / folder, f"{name}.json",
               _sidecar(name, description="Grandma's 80th", people=["Grandma"]))
    _import(tmp_path / "takeout-001")
    first = _import(tmp_path / "takeout-002")
    assert "Google Takeout sidecars with no photo beside them: 2" in first
    member_dated = Photo.objects.get(original_filename="IMG-20160814-WA0009.jpg")
    member_dated.taken_at, member_dated.taken_at_source = datetime(2016, 8, 15, tzinfo=dt_timezone.utc), "member"
    member_dated.save()
    for name in ("IMG-20160814-WA0003.jpg", "IMG-20160814-WA0009.jpg"):  # the parts unzipped into one folder
        (tmp_path / "takeout-001" / folder / f"{name}.json").write_bytes(
            (tmp_path / "takeout-002" / folder / f"{name}.json").read_bytes())

    out = _import(tmp_path / "takeout-001")

    photo = Photo.objects.get(original_filename="IMG-20160814-WA0003.jpg")
    assert (photo.taken_at, photo.taken_at_source, photo.taken_tz) == (TAKEN, Photo.DateSource.SIDECAR, "Europe/Lisbon")
    assert photo.place_city == "Lisbon" and photo.description == "Grandma's 80th"
    assert list(PhotoTag.objects.filter(photo=photo).values_list("tag__name", "source")) == [("Grandma", "sidecar")]
    member_dated.refresh_from_db()
    assert member_dated.taken_at_source == "member" and member_dated.place_city == ""
    assert "already there 2 (1 dated now by its Takeout sidecar)" in out
    assert "no photo beside them" not in out


def test_a_copy_without_its_sidecar_met_first_is_dated_by_a_later_copys(tmp_path, family, alice):
    """An album's copy read before the year folder's (which has the sidecar) is dated by that sidecar in the same run."""
    photos = tmp_path / "Takeout" / "Google Photos"
    data = images.jpeg(colour=(33, 66, 99))
    _write(photos / "Beach days", "IMG-20160814-WA0003.jpg", data)  # (sorted before "Photos from 2016")
    _write(photos / "Photos from 2016", "IMG-20160814-WA0003.jpg", data)
    _write(photos / "Photos from 2016", "IMG-20160814-WA0003.jpg.json", _sidecar("IMG-20160814-WA0003.jpg"))

    out = _import(tmp_path / "Takeout")

    photo = Photo.objects.get(family=family)
    assert (photo.taken_at, photo.taken_at_source, photo.place_city) == (TAKEN, Photo.DateSource.SIDECAR, "Lisbon")
    assert "Imported 1, already there 1 (1 dated now by its Takeout sidecar)" in out


def test_numbered_copies_of_a_long_name_cut_by_takeout_each_get_their_numbered_sidecar(tmp_path, family, alice):
    """Takeout cuts long names of the photos too, and numbers the copies: "…_m(2).jpg" has "…_(2).json", whose title
    is the whole name Google Photos knew (the same for every copy)."""
    title = "Backyard_ceremony_wedding_photography_xxxxxxx_morning.jpg"
    for n in (1, 2, 3):
        _write(tmp_path, f"Backyard_ceremony_wedding_photography_xxxxxxx_m({n}).jpg", images.jpeg(colour=(n * 50, 9, 9)))
        _write(tmp_path, f"Backyard_ceremony_wedding_photography_xxxxxxx_({n}).json",
               _sidecar(title, taken=TAKEN.replace(year=2000 + n)))
    _write(tmp_path, "Backyard_ceremony_wedding_photography_xxxxxxx_m.jpg", images.jpeg(colour=(9, 9, 200)))
    _write(tmp_path, "Backyard_ceremony_wedding_photography_xxxxxxx_.json", _sidecar(title))

    _import(tmp_path)

    years = dict(Photo.objects.filter(family=family).values_list("original_filename", "taken_at__year"))
    assert years == {"Backyard_ceremony_wedding_photography_xxxxxxx_m(1).jpg": 2001,
                     "Backyard_ceremony_wedding_photography_xxxxxxx_m(2).jpg": 2002,
                     "Backyard_ceremony_wedding_photography_xxxxxxx_m(3).jpg": 2003,
                     "Backyard_ceremony_wedding_photography_xxxxxxx_m.jpg": TAKEN.year}


def test_a_videos_sidecar_is_not_counted_as_a_sidecar_without_its_photo(tmp_path, family, alice):
    _write(tmp_path, "VID_20230701_120000.mp4", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 1000)
    _write(tmp_path, "VID_20230701_120000.mp4.supplemental-metadata.json", _sidecar("VID_20230701_120000.mp4"))
    _write(tmp_path, "IMG_0001.jpg.json", _sidecar("IMG_0001.jpg"))  # (its photo in another part)

    out = _import(tmp_path)

    assert "Google Takeout sidecars with no photo beside them: 1 " in out


def test_a_re_run_into_one_family_dates_none_of_anothers_photos(tmp_path, family, alice, other_family, mallory):
    data = images.jpeg(colour=(70, 20, 30))
    _write(tmp_path / "joneses", "IMG-20160814-WA0003.jpg", data)
    call_command("import_photos", str(tmp_path / "joneses"), "--family", "Joneses", "--user", "mallory",
                 "--no-progress", stdout=io.StringIO(), stderr=io.StringIO())
    _write(tmp_path / "smiths", "IMG-20160814-WA0003.jpg", data)
    _write(tmp_path / "smiths", "IMG-20160814-WA0003.jpg.json", _sidecar("IMG-20160814-WA0003.jpg", people=["Tom"]))
    _import(tmp_path / "smiths")
    _import(tmp_path / "smiths")

    theirs = Photo.objects.get(family=other_family)
    assert (theirs.taken_at_source, theirs.place_city) == (Photo.DateSource.FILENAME, "")  # (its name's day, no place)
    assert not PhotoTag.objects.filter(photo=theirs).exists()
    assert Photo.objects.get(family=family).taken_at_source == Photo.DateSource.SIDECAR


def test_a_person_named_with_a_comma_stays_one_tag(tmp_path, family, alice):
    """Google Photos names a person, not a list: "Smith, John" is one person, so one tag (without the comma, which no
    tag name holds), not "Smith" and "John"."""
    _write(tmp_path, "IMG_0001.jpg", images.jpeg(colour=(10, 120, 30)))
    _write(tmp_path, "IMG_0001.jpg.json", _sidecar("IMG_0001.jpg", people=["Smith, John", "Grandma", "Ng ,, Anna"]))

    _import(tmp_path)

    photo = Photo.objects.get(family=family)
    assert sorted(PhotoTag.objects.filter(photo=photo).values_list("tag__name", flat=True)) == \
        ["Grandma", "Ng Anna", "Smith John"]


def test_a_file_without_an_extension_gets_its_sidecar(tmp_path, family, alice):
    """A photo Google Photos knew with no extension ("IMG_1234") is exported as such, its sidecar "IMG_1234.json"."""
    _write(tmp_path, "IMG_1234", images.jpeg(colour=(10, 20, 130)))
    _write(tmp_path, "IMG_1234.json", _sidecar("IMG_1234"))
    _write(tmp_path, "scan 7", images.jpeg(colour=(130, 20, 10)))
    _write(tmp_path, "scan 7.supplemental-metadata.json", _sidecar("scan 7", taken=TAKEN.replace(year=1999)))
    _write(tmp_path, "03.03.13 - 1", images.jpeg(colour=(10, 130, 20)))  # (what follows its last dot is no extension)
    _write(tmp_path, "03.03.13 - 1.json", _sidecar("03.03.13 - 1", taken=TAKEN.replace(year=2013)))

    out = _import(tmp_path)

    dates = dict(Photo.objects.filter(family=family).values_list("original_filename", "taken_at"))
    assert dates == {"IMG_1234": TAKEN, "scan 7": TAKEN.replace(year=1999), "03.03.13 - 1": TAKEN.replace(year=2013)}
    assert "Google Takeout sidecars: 3, beside their photos" in out and "not photos" not in out


def test_the_people_named_in_google_photos_are_said_to_come_from_there_not_from_the_file(tmp_path, family, alice,
                                                                                       client_for):
    """Tags from the file's keywords say "from the file"; the people of a sidecar were named in Google Photos, and say
    so, on the photo page and in the API (source "sidecar"). Both weigh in search as the file's keywords do."""
    data = images.with_metadata(images.jpeg(colour=(90, 20, 160)), xmp={"Xmp.dc.subject": ["Beach"]})
    _write(tmp_path, "IMG_0007.jpg", data)
    _write(tmp_path, "IMG_0007.jpg.json", _sidecar("IMG_0007.jpg", people=["Grandma"]))

    _import(tmp_path)

    photo = Photo.objects.get(family=family)
    assert dict(PhotoTag.objects.filter(photo=photo).values_list("tag__name", "source")) == \
        {"Beach": "embedded", "Grandma": "sidecar"}
    body = client_for(alice).get(photo.get_absolute_url()).content.decode()
    tags = body[body.index('class="tags"'):]
    tags = tags[:tags.index("</p>")]
    assert tags.count("from the file") == 1 and tags.count("from Google Photos") == 1
    assert tags.index("Beach") < tags.index("from the file") < tags.index("Grandma") < tags.index("from Google Photos")
    api = client_for(alice).get(reverse("api_photo_detail", args=[photo.pk])).json()
    assert {"name": "Grandma", "source": "sidecar"} in api["tag_details"]
    assert {"name": "Beach", "source": "embedded"} in api["tag_details"]


def _without_taken(title: str, *, uploaded: datetime, **kwargs) -> dict:
    sidecar = _sidecar(title, **kwargs)
    del sidecar["photoTakenTime"]
    sidecar["creationTime"] = {"timestamp": str(int(uploaded.timestamp())), "formatted": "…"}
    return sidecar


UPLOADED = datetime(2017, 3, 2, 8, 30, tzinfo=dt_timezone.utc)  # when it was added to Google Photos


def test_a_sidecar_without_the_date_taken_dates_the_photo_by_its_upload_to_google_photos_and_says_so(
        tmp_path, family, alice, client_for):
    """No photoTakenTime: creationTime, when the photo was added to Google Photos, is a better guess than the day of
    the export, but no date taken: the photo page and the API say what it is."""
    _write(tmp_path, "received_photo_01.jpg", images.jpeg(colour=(20, 160, 90)))
    _write(tmp_path, "received_photo_01.jpg.json", _without_taken("received_photo_01.jpg", uploaded=UPLOADED))

    _import(tmp_path)

    photo = Photo.objects.get(family=family)
    assert (photo.taken_at, photo.taken_at_source) == (UPLOADED, Photo.DateSource.GOOGLE)
    assert photo.taken_tz == "Europe/Lisbon" and photo.place_city == "Lisbon"
    body = client_for(alice).get(photo.get_absolute_url()).content.decode()
    assert "when it was added to Google Photos" in body and "(no EXIF date: Google Takeout's record)" not in body
    api = client_for(alice).get(reverse("api_photo_detail", args=[photo.pk])).json()
    assert api["taken_at_source"] == "google"


def test_the_files_exif_date_comes_before_the_upload_to_google_photos(tmp_path, family, alice):
    _write(tmp_path, "DSC_0002.JPG", images.gps_jpeg(52.37, 4.89, taken="2015:05:01 10:00:00"))
    _write(tmp_path, "DSC_0002.JPG.json", _without_taken("DSC_0002.JPG", uploaded=UPLOADED))

    _import(tmp_path)

    photo = Photo.objects.get(family=family)
    assert photo.taken_at_source == Photo.DateSource.EXIF and photo.taken_at.year == 2015


def test_the_upload_to_google_photos_dates_a_photo_dated_by_its_file_and_gives_way_to_a_date_taken(tmp_path, family,
                                                                                                   alice):
    """A photo already imported without its sidecar (the file's modified time) takes the upload to Google Photos; a
    re-run with the same sidecar changes nothing more; a sidecar with the date taken, found later, dates it then."""
    _write(tmp_path / "part1", "received_photo_01.jpg", images.jpeg(colour=(20, 160, 90)))
    _import(tmp_path / "part1")
    _write(tmp_path / "part1", "received_photo_01.jpg.json", _without_taken("received_photo_01.jpg",
                                                                              uploaded=UPLOADED))

    dated = _import(tmp_path / "part1")
    again = _import(tmp_path / "part1")

    photo = Photo.objects.get(family=family)
    assert (photo.taken_at, photo.taken_at_source) == (UPLOADED, Photo.DateSource.GOOGLE)
    assert "already there 1 (1 dated now by its Takeout sidecar)" in dated
    assert "already there 1," in again and "dated now" not in again
    _write(tmp_path / "part1", "received_photo_01.jpg.json", _sidecar("received_photo_01.jpg"))
    taken = _import(tmp_path / "part1")
    photo.refresh_from_db()
    assert (photo.taken_at, photo.taken_at_source) == (TAKEN, Photo.DateSource.SIDECAR)
    assert "(1 dated now by its Takeout sidecar)" in taken


def test_a_scans_date_of_change_gives_way_to_the_date_taken_google_photos_knew(tmp_path, family, alice):
    """A scanner (or any program that saved the file) writes EXIF DateTime, the day the file was made or changed, and
    no DateTimeOriginal. Google Photos knew the date taken (a member set it there): the sidecar's comes first then.
    A camera's DateTimeOriginal still comes first, and the day it was added to Google Photos never beats the file."""
    scan = images.with_metadata(images.jpeg(colour=(150, 120, 90)), exif={"Exif.Image.DateTime": "2021:02:02 10:00:00"})
    _write(tmp_path, "scan 1975-001.jpg", scan)
    _write(tmp_path, "scan 1975-001.jpg.json", _sidecar("scan 1975-001.jpg", taken=datetime(1975, 6, 1, 12,
                                                                                          tzinfo=dt_timezone.utc)))
    scan2 = images.with_metadata(images.jpeg(colour=(90, 120, 150)),
                                 exif={"Exif.Image.DateTime": "2021:02:03 10:00:00"})
    _write(tmp_path, "scan 1975-002.jpg", scan2)
    _write(tmp_path, "scan 1975-002.jpg.json", _without_taken("scan 1975-002.jpg", uploaded=UPLOADED))

    _import(tmp_path)

    dated = {p.original_filename: (p.taken_at, p.taken_at_source) for p in Photo.objects.filter(family=family)}
    assert dated["scan 1975-001.jpg"] == (datetime(1975, 6, 1, 12, tzinfo=dt_timezone.utc), Photo.DateSource.SIDECAR)
    assert dated["scan 1975-002.jpg"][1] == Photo.DateSource.EXIF
    assert dated["scan 1975-002.jpg"][0].date().isoformat() == "2021-02-03"


def test_a_scan_imported_without_its_sidecar_is_dated_by_it_when_the_parts_come_together(tmp_path, family, alice):
    """The same scan (EXIF DateTime alone: the day the scanner wrote it) imported part by part: with its sidecar in
    the other part it kept the scanner's day for good, as its date "from the file", while imported with its sidecar
    it takes the sidecar's date taken (QA). Found together later, the sidecar dates it; a camera's date stays."""
    scan = images.with_metadata(images.jpeg(colour=(151, 121, 91)), exif={"Exif.Image.DateTime": "2021:02:02 10:00:00"})
    camera = images.with_metadata(images.jpeg(colour=(91, 121, 151)),
                                  exif={"Exif.Photo.DateTimeOriginal": "2016:08:14 18:20:05"})
    _write(tmp_path / "part1", "scan 1975-001.jpg", scan)
    _write(tmp_path / "part1", "DSC_0001.jpg", camera)
    _import(tmp_path / "part1")
    for name in ("scan 1975-001.jpg", "DSC_0001.jpg"):  # the other part, unzipped into the same folder
        _write(tmp_path / "part1", f"{name}.json", _sidecar(name, taken=datetime(1975, 6, 1, 12, tzinfo=dt_timezone.utc)))

    out = _import(tmp_path / "part1")

    dated = {p.original_filename: (p.taken_at, p.taken_at_source, p.place_city)
             for p in Photo.objects.filter(family=family)}
    assert dated["scan 1975-001.jpg"] == (datetime(1975, 6, 1, 12, tzinfo=dt_timezone.utc), Photo.DateSource.SIDECAR,
                                          "Lisbon")
    assert dated["DSC_0001.jpg"][1:] == (Photo.DateSource.EXIF, "Lisbon")
    assert dated["DSC_0001.jpg"][0].date().isoformat() == "2016-08-14"
    assert "(1 dated now by its Takeout sidecar, 1 given its people, caption or place by its Takeout sidecar)" in out
    assert "already there 2, " in _import(tmp_path / "part1")  # (a re-run: nothing more to give)


def test_a_pixels_motion_photo_videos_are_counted_as_videos_not_named_as_unreadable(tmp_path, family, alice):
    """A Pixel's motion photo is exported as "PXL_….MP.jpg" (the photo, with its sidecar) and "PXL_….MP" (its video;
    older ones ".MV"): videos, left out as the export's .mp4 are, not "skipped: not an image" and "unreadable"."""
    video = b"\x00\x00\x00\x18ftypisom" + b"\x00" * 1000
    _write(tmp_path, "PXL_20230205_164128403.MP.jpg", images.jpeg(colour=(40, 40, 140)))
    _write(tmp_path, "PXL_20230205_164128403.MP.jpg.supplemental-met.json", _sidecar("PXL_20230205_164128403.MP.jpg"))
    _write(tmp_path, "PXL_20230205_164128403.MP", video)
    _write(tmp_path, "MVIMG_20190101_101010.MV", video)

    out = _import(tmp_path)

    assert Photo.objects.get(family=family).taken_at_source == Photo.DateSource.FILENAME  # (the moment its name tells)
    assert "skipped" not in out and "unreadable 0" in out
    assert "not photos, left out: 1 .mp, 1 .mv" in out
    assert "with no photo beside them" not in out


def test_a_files_gps_of_0_0_gives_way_to_the_sidecars_position(tmp_path, family, alice):
    """A camera without a fix wrote GPS 0°, 0°; Google Photos knew where it was (a member placed it there)."""
    _write(tmp_path, "DSC_0003.JPG", images.gps_jpeg(0.0, 0.0, taken="2016:08:14 18:20:05"))
    _write(tmp_path, "DSC_0003.JPG.json", _sidecar("DSC_0003.JPG"))

    _import(tmp_path)

    photo = Photo.objects.get(family=family)
    assert (photo.latitude, photo.longitude) == pytest.approx(LISBON)
    assert photo.place_city == "Lisbon" and photo.taken_tz == "Europe/Lisbon"
    assert photo.taken_at_source == Photo.DateSource.EXIF and photo.taken_at == TAKEN  # 18:20:05 in Lisbon, in summer


def test_a_camera_photo_imported_without_its_sidecar_gets_its_people_caption_and_place_when_found_later(
        tmp_path, family, alice):
    """Imported part by part, a camera's photo (its EXIF date) had no sidecar beside it: importing the parts together
    gives it the people, caption and place Google Photos knew and nobody gave it here (its date stays the camera's);
    a re-run changes nothing more, and a tag a member took off stays off."""
    folder = "Takeout/Google Photos/Photos from 2016"
    _write(tmp_path / "takeout-001" / folder, "DSC_0001.JPG", images.gps_jpeg(None, None, taken="2016:08:14 18:20:05"))
    _write(tmp_path / "takeout-001" / folder, "DSC_0002.JPG", images.gps_jpeg(None, None, taken="2016:08:14 18:30:00",
                                                                           colour=(200, 20, 20)))
    _import(tmp_path / "takeout-001")
    for name in ("DSC_0001.JPG", "DSC_0002.JPG"):
        _write(tmp_path / "takeout-001" / folder, f"{name}.json",
               _sidecar(name, description="Grandma's 80th", people=["Grandma", "Tom"]))
    second = Photo.objects.get(original_filename="DSC_0002.JPG")
    second.description, second.description_source = "Our own words", Photo.FieldSource.MEMBER
    second.save()

    out = _import(tmp_path / "takeout-001")

    photo = Photo.objects.get(original_filename="DSC_0001.JPG")
    assert photo.taken_at_source == Photo.DateSource.EXIF and photo.taken_at == TAKEN
    assert photo.place_city == "Lisbon" and photo.description == "Grandma's 80th"
    assert dict(PhotoTag.objects.filter(photo=photo).values_list("tag__name", "source")) == \
        {"Grandma": "sidecar", "Tom": "sidecar"}
    second.refresh_from_db()
    assert second.description == "Our own words" and second.place_city == "Lisbon"
    assert "already there 2 (2 given their people, caption or place by their Takeout sidecars)" in out

    PhotoTag.objects.filter(photo=photo, tag__name="Tom").delete()  # (as the page does, remembered)
    from gallery.services import tags_removed_remember
    tags_removed_remember([(photo.pk, "tom")])  # (by its key, Lower("tag__name"))
    again = _import(tmp_path / "takeout-001")
    assert "already there 2," in again and "given" not in again
    assert list(PhotoTag.objects.filter(photo=photo).values_list("tag__name", flat=True)) == ["Grandma"]


def test_a_camera_photos_copy_without_its_sidecar_met_first_gets_what_a_later_copys_says(tmp_path, family, alice):
    photos = tmp_path / "Takeout" / "Google Photos"
    data = images.gps_jpeg(None, None, taken="2016:08:14 18:20:05")
    _write(photos / "Beach days", "DSC_0001.JPG", data)  # (sorted before "Photos from 2016")
    _write(photos / "Photos from 2016", "DSC_0001.JPG", data)
    _write(photos / "Photos from 2016", "DSC_0001.JPG.json", _sidecar("DSC_0001.JPG", people=["Grandma"]))

    out = _import(tmp_path / "Takeout")

    photo = Photo.objects.get(family=family)
    assert (photo.taken_at, photo.taken_at_source, photo.place_city) == (TAKEN, Photo.DateSource.EXIF, "Lisbon")
    assert list(PhotoTag.objects.filter(photo=photo).values_list("tag__name", flat=True)) == ["Grandma"]
    assert "Imported 1, already there 1 (1 given its people, caption or place by its Takeout sidecar)" in out


def test_people_imported_as_the_files_keywords_before_are_named_as_google_photos_people_on_a_re_run(
        tmp_path, family, alice):
    """Before people had a tag source of their own, a sidecar's people were stored "from the file" (embedded). A
    re-run found the photo lacking people from Google Photos each time, so it locked the photo and counted its tags
    for nothing, and the tags still read "from the file". They are named as Google Photos' people now, once."""
    folder = tmp_path / "Takeout" / "Google Photos" / "Photos from 2016"
    _write(folder, "DSC_0001.JPG", images.gps_jpeg(None, None, taken="2016:08:14 18:20:05"))
    _import(tmp_path / "Takeout")
    photo = Photo.objects.get(original_filename="DSC_0001.JPG")
    from gallery.services import photo_tags_add
    photo_tags_add(photo=photo, names=["Grandma"], source=PhotoTag.Source.EMBEDDED)  # as the last version stored them
    _write(folder, "DSC_0001.JPG.json", _sidecar("DSC_0001.JPG", people=["Grandma"]))

    out = _import(tmp_path / "Takeout")

    assert dict(PhotoTag.objects.filter(photo=photo).values_list("tag__name", "source")) == {"Grandma": "sidecar"}
    assert "given its people" in out
    assert "given" not in _import(tmp_path / "Takeout")


def test_a_photo_starred_in_google_photos_is_the_importing_members_favourite(tmp_path, family, alice, bob,
                                                                            client_for):
    """Takeout writes "favorited": true in the sidecar of a photo starred in Google Photos: it becomes a favourite of
    the member who imports it (favourites are each member's own: not another member's), imported with its sidecar or
    found with it later. A member who took the heart off keeps it off when the import is run again."""
    _write(tmp_path, "DSC_0001.JPG", images.gps_jpeg(None, None, taken="2016:08:14 18:20:05"))
    _write(tmp_path, "DSC_0001.JPG.json", _sidecar("DSC_0001.JPG", favorited=True))
    _write(tmp_path, "DSC_0002.JPG", images.gps_jpeg(None, None, taken="2016:08:14 18:30:00", colour=(200, 20, 20)))
    _write(tmp_path, "DSC_0002.JPG.json", _sidecar("DSC_0002.JPG"))  # not starred
    _write(tmp_path / "later", "DSC_0003.JPG", images.gps_jpeg(None, None, taken="2016:08:14 18:40:00",
                                                               colour=(20, 200, 20)))
    _write(tmp_path / "later", "received_01.jpg", images.jpeg(colour=(20, 20, 200)))  # dated by a guess
    _import(tmp_path / "later")
    for name in ("DSC_0003.JPG", "received_01.jpg"):  # the other part of the export, found now
        _write(tmp_path / "later", f"{name}.json", _sidecar(name, favorited=True, description="Found later"))

    _import(tmp_path)
    _import(tmp_path / "later")

    starred = set(Photo.objects.filter(favourites__user=alice).values_list("original_filename", flat=True))
    assert starred == {"DSC_0001.JPG", "DSC_0003.JPG", "received_01.jpg"}
    assert not Photo.objects.filter(favourites__user=bob).exists()
    page = client_for(alice).get(reverse("gallery:timeline") + "?favourite=1").content.decode()
    first, second = (Photo.objects.get(original_filename=name) for name in ("DSC_0001.JPG", "DSC_0002.JPG"))
    assert f'href="{first.get_absolute_url()}' in page and f'href="{second.get_absolute_url()}' not in page

    from gallery.models import Favourite
    Favourite.objects.filter(user=alice, photo__original_filename="DSC_0001.JPG").delete()  # the heart taken off
    _import(tmp_path)
    _import(tmp_path / "later")
    assert not Favourite.objects.filter(user=alice, photo__original_filename="DSC_0001.JPG").exists()


def _import_as(directory, username: str) -> str:
    out = io.StringIO()
    call_command("import_photos", str(directory), "--family", "Smiths", "--user", username, "--no-progress",
                 stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_a_google_photos_star_makes_a_favourite_whenever_its_sidecar_comes_once_for_each_member(tmp_path, family,
                                                                                                   alice, bob):
    """A star was read only when the sidecar first gave its photo something: a camera's photo (date and position in
    the file) imported before its sidecar got no heart when the sidecar came, and a second member importing their own
    export of a photo the family had got none. Now a star makes the photo the importing member's favourite whenever
    the import reads it, once per member: a re-run never puts back a heart they took off, and a photo starred since
    (a newer export) gets its heart."""
    from gallery.models import Favourite

    camera = images.gps_jpeg(*LISBON, taken="2016:08:14 18:20:05")
    _write(tmp_path / "part-1", "DSC_0001.JPG", camera)
    _import_as(tmp_path / "part-1", "alice")  # (its sidecar is in another part)
    _write(tmp_path / "part-1", "DSC_0001.JPG.json", _sidecar("DSC_0001.JPG", favorited=True))
    _write(tmp_path / "bobs", "DSC_0001.JPG", camera)  # bob's own export: the same photo, starred in his account
    _write(tmp_path / "bobs", "DSC_0001.JPG.json", _sidecar("DSC_0001.JPG", favorited=True))
    _write(tmp_path / "bobs", "DSC_0002.JPG", images.gps_jpeg(*LISBON, taken="2016:08:14 18:30:00",
                                                              colour=(200, 20, 20)))
    _write(tmp_path / "bobs", "DSC_0002.JPG.json", _sidecar("DSC_0002.JPG"))  # not starred (yet)

    _import_as(tmp_path / "part-1", "alice")
    _import_as(tmp_path / "bobs", "bob")

    hearts = lambda user: set(Photo.objects.filter(favourites__user=user)  # noqa: E731
                              .values_list("original_filename", flat=True))
    assert hearts(alice) == {"DSC_0001.JPG"} and hearts(bob) == {"DSC_0001.JPG"}

    Favourite.objects.filter(user=bob).delete()  # bob takes the heart off in the gallery
    Favourite.objects.filter(user=alice).delete()
    _import_as(tmp_path / "bobs", "bob")
    _import_as(tmp_path / "part-1", "alice")
    assert hearts(alice) == set() and hearts(bob) == set()

    _write(tmp_path / "bobs", "DSC_0002.JPG.json", _sidecar("DSC_0002.JPG", favorited=True))  # starred since
    _import_as(tmp_path / "bobs", "bob")
    assert hearts(bob) == {"DSC_0002.JPG"} and hearts(alice) == set()


def test_a_photo_in_google_photos_trash_is_imported_into_the_familys_trash(tmp_path, family, alice, client_for):
    """Takeout exports what was in Google Photos' trash too ("trashed": true): it goes into the family's trash,
    restorable as it was there, not among the photos the family kept. A re-run leaves it there."""
    export = tmp_path / "Takeout"
    _write(export, "DSC_0001.JPG", images.gps_jpeg(None, None, taken="2016:08:14 18:20:05"))
    _write(export, "DSC_0001.JPG.json", _sidecar("DSC_0001.JPG", trashed=True))
    _write(export, "DSC_0002.JPG", images.gps_jpeg(None, None, taken="2016:08:14 18:30:00", colour=(200, 20, 20)))
    _write(export, "DSC_0002.JPG.json", _sidecar("DSC_0002.JPG", trashed=False))

    out = _import(export)
    again = _import(export)

    binned = Photo.all_objects.get(original_filename="DSC_0001.JPG")
    assert binned.trashed_at is not None and binned.trashed_by == alice
    assert not Photo.objects.filter(original_filename="DSC_0001.JPG").exists()  # (not on the timeline, not searched)
    assert Photo.objects.filter(original_filename="DSC_0002.JPG").exists()
    assert "Imported 2 (1 into the trash, as it was in Google Photos' trash), already there 0" in out
    assert "Imported 0, already there 1, in the trash 1 (left there)" in again
    trash = client_for(alice).get(reverse("gallery:family_trash", args=[family.pk])).content.decode()
    assert binned.get_absolute_url() in trash


def _album_json(title: str, description: str = "") -> dict:
    return {"title": title, "description": description, "access": "protected",
            "date": {"timestamp": "1672477816", "formatted": "Dec 31, 2022, 9:10:16 AM UTC"}}


def test_google_photos_albums_become_the_familys_albums(tmp_path, family, alice, client_for):
    """An album folder of the export (its photos, copies of those in the year folders, and the album's own JSON,
    named in the account's language) becomes an album of the family with its name and description, holding its
    photos: new ones and ones already there. A family album of that name is used rather than a second one made; a
    re-run puts nothing in twice; the album's JSON is no file "left out"; year folders are no albums."""
    photos = tmp_path / "Takeout" / "Google Photos"
    beach, party = images.jpeg(colour=(10, 100, 200)), images.jpeg(colour=(200, 100, 10))
    _write(photos / "Photos from 2016", "IMG_0001.jpg", beach)
    _write(photos / "Photos from 2016", "IMG_0002.jpg", party)
    _write(photos / "Photos from 2016", "IMG_0003.jpg", images.jpeg(colour=(90, 90, 90)))
    _write(photos / "Beach days", "IMG_0001.jpg", beach)
    _write(photos / "Beach days", "métadonnées.json", _album_json("Beach days", "Summers at the coast"))
    _write(photos / "Grandma 80", "IMG_0002.jpg", party)
    _write(photos / "Grandma 80", "IMG_0001.jpg", beach)
    _write(photos / "Grandma 80", "metadata.json", _album_json("Grandma's 80th"))
    _write(photos / "Photos from 2016", "metadata.json", _album_json("Photos from 2016"))  # (some exports' own)
    _write(photos / "Trip", "IMG_0003.jpg", images.jpeg(colour=(90, 90, 90)))
    _write(photos / "Trip", "metadata.json", _album_json("\x00" + "Trip to the lakes " * 10))  # (hostile, long)
    from gallery.album_services import album_create
    from gallery.models import Album
    ours = album_create(user=alice, family=family, name="grandma's 80TH")  # (the family's own, of that name)

    out = _import(tmp_path / "Takeout")
    again = _import(tmp_path / "Takeout")

    albums = {album.name: album for album in Album.objects.filter(family=family)}
    trip = ("Trip to the lakes " * 10)[:100].strip()  # (an album's name is at most 100 characters)
    assert set(albums) == {"Beach days", "grandma's 80TH", trip}
    assert albums["Beach days"].description == "Summers at the coast" and albums["Beach days"].created_by == alice
    named = lambda album: [entry.photo.original_filename  # noqa: E731
                           for entry in album.entries.order_by("position").select_related("photo")]
    assert named(albums["Beach days"]) == ["IMG_0001.jpg"]
    assert named(ours) == ["IMG_0001.jpg", "IMG_0002.jpg"]  # (by file name, as the import goes)
    assert "Albums: Beach days (1 photo put in), grandma's 80TH (2 photos put in), Trip to" in out
    assert "Imported 3," in out and "not photos" not in out
    assert "Albums:" not in again and "Imported 0, already there 7" in again
    page = client_for(alice).get(reverse("gallery:album_detail", args=[albums["Beach days"].pk])).content.decode()
    assert "Beach days" in page and "Summers at the coast" in page


def test_album_per_folder_makes_no_albums_of_google_photos_year_folders_and_says_so(tmp_path, family, alice):
    """`--album-per-folder` on a Takeout export made an album of each of Google's date folders ("Photos from 2019",
    "Fotos von 2020", with their own JSON or without), holding most of the family's photos. Those are no albums: left
    out, and the summary says so; the export's albums and the family's own folders still make theirs."""
    from gallery.models import Album

    photos = tmp_path / "Takeout" / "Google Photos"
    _write(photos / "Photos from 2019", "IMG_0001.jpg", images.jpeg(colour=(10, 100, 200)))
    _write(photos / "Photos from 2019", "metadata.json", _album_json("Photos from 2019"))
    _write(photos / "Fotos von 2020", "IMG_0002.jpg", images.jpeg(colour=(200, 100, 10)))
    _write(photos / "Beach days", "IMG_0003.jpg", images.jpeg(colour=(90, 90, 90)))
    _write(photos / "Beach days", "metadata.json", _album_json("Beach days"))
    _write(tmp_path / "Takeout" / "Scans 2019", "box.jpg", images.jpeg(colour=(9, 90, 9)))

    out = io.StringIO()
    call_command("import_photos", str(tmp_path / "Takeout"), "--family", "Smiths", "--user", "alice", "--no-progress",
                 "--album-per-folder", stdout=out, stderr=io.StringIO())

    assert sorted(Album.objects.filter(family=family).values_list("name", flat=True)) == ["Beach days",
                                                                                          "Scans 2019"]
    assert ("Google Photos' year folders make no album (its folders by date, not albums): Fotos von 2020, Photos "
            "from 2019") in out.getvalue()
    assert "Imported 4," in out.getvalue()


def test_the_upgrade_takes_the_stars_of_photos_imported_with_their_sidecars_before_as_read(tmp_path, family, alice,
                                                                                           bob):
    """Migration 0033: before it, a star was made a heart with no record of it. A photo whose sidecar its uploader's
    import read (dated by it, people named in Google Photos, or the uploader's heart on it) counts as read, so a heart
    taken off before the upgrade is not put back by the next run; a photo uploaded by hand, or by someone else, not."""
    import importlib

    from django.apps import apps

    from gallery.models import Favourite, SidecarStar
    from gallery.services import photo_create_from_bytes

    stars_read_before = importlib.import_module("gallery.migrations.0033_google_photos_stars_read").stars_read_before
    _write(tmp_path, "IMG-20160814-WA0003.jpg", images.jpeg(colour=(10, 20, 30)))
    _write(tmp_path, "IMG-20160814-WA0003.jpg.json", _sidecar("IMG-20160814-WA0003.jpg", favorited=True))
    _import(tmp_path)
    Favourite.objects.all().delete()  # the heart taken off, before the upgrade
    SidecarStar.objects.all().delete()  # (as stored before the upgrade: no record)
    by_hand = photo_create_from_bytes(family=family, uploaded_by=bob, data=images.jpeg(colour=(50, 60, 70)),
                                      filename="cake.jpg").photo

    stars_read_before(apps, None)
    _import(tmp_path)

    assert set(SidecarStar.objects.values_list("user__username", "photo__original_filename")) == {
        ("alice", "IMG-20160814-WA0003.jpg")}
    assert not Favourite.objects.exists() and by_hand is not None


def test_a_second_members_export_gives_a_photo_dated_by_the_first_ones_sidecar_what_it_lacks(tmp_path, family, alice,
                                                                                               bob):
    """Two members' Google Photos exports hold the same photos (a shared album, partner sharing), each account with
    its own captions and named people. The photos alice imported first were dated by her sidecars, and bob's sidecars
    then gave them nothing: his caption, the people he named and a position hers lacked were dropped without a word.
    They are given now, as to a photo with its camera's date; the date stays alice's sidecar's."""
    chat_copy = images.jpeg(colour=(10, 20, 30))
    _write(tmp_path / "alices", "IMG-20160814-WA0003.jpg", chat_copy)
    _write(tmp_path / "alices", "IMG-20160814-WA0003.jpg.json",
           _sidecar("IMG-20160814-WA0003.jpg", where=(0.0, 0.0), people=["Mum"]))
    _write(tmp_path / "bobs", "IMG-20160814-WA0003.jpg", chat_copy)
    _write(tmp_path / "bobs", "IMG-20160814-WA0003.jpg.json",
           _sidecar("IMG-20160814-WA0003.jpg", taken=TAKEN.replace(hour=9), description="Grandma's 80th",
                    people=["Grandma"]))
    _import_as(tmp_path / "alices", "alice")

    out = _import_as(tmp_path / "bobs", "bob")

    photo = Photo.objects.get(family=family)
    assert (photo.taken_at, photo.taken_at_source) == (TAKEN, Photo.DateSource.SIDECAR)  # (alice's, kept)
    assert photo.description == "Grandma's 80th" and photo.place_city == "Lisbon"
    assert set(photo.tags.values_list("name", flat=True)) == {"Mum", "Grandma"}
    assert "already there 1 (1 given its people, caption or place by its Takeout sidecar)" in out
    assert "given" not in _import_as(tmp_path / "bobs", "bob")


def test_two_exports_unzipped_into_one_folder_give_a_photo_both_sidecars_in_one_run(tmp_path, family, alice):
    """alice's and bob's exports unzipped side by side and imported at once: the photo stored from the first copy
    (dated by its sidecar) got nothing from the second copy's sidecar in that run, and then, at the next run of the
    same import, its caption and people ("already there 1 (1 given …)" for an import that had found nothing new)."""
    chat_copy = images.jpeg(colour=(10, 20, 30))
    _write(tmp_path / "exports" / "alices", "IMG-20160814-WA0003.jpg", chat_copy)
    _write(tmp_path / "exports" / "alices", "IMG-20160814-WA0003.jpg.json", _sidecar("IMG-20160814-WA0003.jpg"))
    _write(tmp_path / "exports" / "bobs", "IMG-20160814-WA0003.jpg", chat_copy)
    _write(tmp_path / "exports" / "bobs", "IMG-20160814-WA0003.jpg.json",
           _sidecar("IMG-20160814-WA0003.jpg", description="Grandma's 80th", people=["Grandma"]))

    out = _import(tmp_path / "exports")
    again = _import(tmp_path / "exports")

    photo = Photo.objects.get(family=family)
    assert photo.description == "Grandma's 80th" and list(photo.tags.values_list("name", flat=True)) == ["Grandma"]
    assert "Imported 1, already there 1 (1 given its people, caption or place by its Takeout sidecar)" in out
    assert "Imported 0, already there 2, unreadable 0" in again


def test_a_photo_dated_by_its_xmp_is_dated_by_its_takeout_sidecar_when_found_later(tmp_path, family, alice):
    """An iPhone screenshot uploaded from the phone is dated by the date in its XMP; its Google Photos record, found
    by an import later, comes first, as when the two are imported together (a Takeout sidecar's date is what Google
    Photos knew, its members' edits included)."""
    from gallery.services import UploadResult, photo_create_from_bytes

    data = images.with_metadata(images.image_bytes("PNG", colour=(40, 50, 60), size=(64, 48)),
                                xmp={"Xmp.photoshop.DateCreated": "2016-08-13T09:00:00"})
    result = photo_create_from_bytes(family=family, uploaded_by=alice, data=data, filename="IMG_1234.PNG")
    assert result.outcome == UploadResult.SAVED and result.photo.taken_at_source == Photo.DateSource.XMP
    folder = tmp_path / "Takeout" / "Google Photos" / "Photos from 2016"
    _write(folder, "IMG_1234.PNG", data)
    _write(folder, "IMG_1234.PNG.json", _sidecar("IMG_1234.PNG"))

    _import(tmp_path / "Takeout")

    result.photo.refresh_from_db()
    assert (result.photo.taken_at, result.photo.taken_at_source) == (TAKEN, Photo.DateSource.SIDECAR)


def test_the_summary_counts_the_sidecars_read_and_says_how_many_could_not_be(tmp_path, family, alice):
    """The summary's "Google Takeout sidecars: N" counted every sidecar found beside a photo, the ones that could not
    be read (cut off, not JSON, another encoding) too, so a broken export read as fully used. It counts those read,
    and says how many could not be, whose photos were imported without them."""
    _write(tmp_path, "IMG_0001.jpg", images.jpeg(colour=(10, 20, 30)))
    _write(tmp_path, "IMG_0001.jpg.json", _sidecar("IMG_0001.jpg"))
    _write(tmp_path, "IMG_0002.jpg", images.jpeg(colour=(30, 20, 10)))
    _write(tmp_path, "IMG_0002.jpg.json", '{"title": "IMG_0002.jpg", "photoTakenTime": {"timest')  # cut off
    _write(tmp_path, "IMG_0003.jpg", images.jpeg(colour=(90, 20, 10)))
    _write(tmp_path, "IMG_0003.jpg.json", b'{"title": "IMG_0003.jpg", "description": "\xff\xfe caf\xe9"}')

    out = _import(tmp_path)

    assert Photo.objects.filter(family=family).count() == 3
    assert ("Google Takeout sidecars: 1, beside their photos (what a new photo's file lacks is read from its sidecar: "
            "date, place, caption, people); 2 could not be read (IMG_0002.jpg.json, IMG_0003.jpg.json: their photos "
            "were imported without them, the log says why)") in out
    assert "Google Takeout sidecars: 1," in _import(tmp_path)  # a re-run reads them again: the same


NEW_YORK = (40.7128, -74.0060)


@pytest.mark.parametrize("sidecar_of", [
    lambda title: _without_taken(title, uploaded=UPLOADED, where=NEW_YORK),  # no date taken: only geoData tells
    lambda title: _sidecar(title, taken=datetime(2021, 6, 3, 18, 15, tzinfo=dt_timezone.utc), where=NEW_YORK),
])
def test_a_names_time_is_read_in_the_zone_of_the_sidecars_position(tmp_path, family, alice, sidecar_of, settings):
    """IMG_20210603_141500.jpg, no EXIF date: its name tells the time on the phone's clock, where it was taken. With
    the sidecar's position (New York) that is 14:15 in New York, 18:15 UTC, not 14:15 in TIME_ZONE."""
    settings.TIME_ZONE = "Europe/Berlin"
    _write(tmp_path, "IMG_20210603_141500.jpg", images.jpeg(colour=(30, 90, 200)))
    _write(tmp_path, "IMG_20210603_141500.jpg.json", sidecar_of("IMG_20210603_141500.jpg"))

    _import(tmp_path)

    photo = Photo.objects.get(family=family)
    assert photo.taken_at_source == Photo.DateSource.FILENAME
    assert (photo.taken_tz, photo.place_city) == ("America/New_York", "New York City")
    assert photo.taken_at == datetime(2021, 6, 3, 18, 15, tzinfo=dt_timezone.utc)
    assert photo.taken_day.isoformat() == "2021-06-03"
    call_command("read_embedded", "--all", "--no-progress", stdout=io.StringIO())  # the file alone, read again
    photo.refresh_from_db()
    assert (photo.taken_tz, photo.taken_at) == ("America/New_York", datetime(2021, 6, 3, 18, 15, tzinfo=dt_timezone.utc))


@pytest.mark.parametrize("sidecar_of", [
    lambda title: _without_taken(title, uploaded=UPLOADED, where=NEW_YORK),
    lambda title: _sidecar(title, taken=datetime(2021, 6, 3, 18, 15, tzinfo=dt_timezone.utc), where=NEW_YORK),
])
def test_a_names_time_moves_to_the_zone_of_its_sidecars_position_found_later(tmp_path, family, alice, sidecar_of,
                                                                             settings):
    """Imported part by part, the photo first came without its sidecar (its name's time read in TIME_ZONE): the
    sidecar's position found later reads it again, where it was taken."""
    settings.TIME_ZONE = "Europe/Berlin"
    _write(tmp_path, "IMG_20210603_141500.jpg", images.jpeg(colour=(30, 90, 200)))
    _import(tmp_path)
    assert Photo.objects.get(family=family).taken_at == datetime(2021, 6, 3, 12, 15, tzinfo=dt_timezone.utc)
    _write(tmp_path, "IMG_20210603_141500.jpg.json", sidecar_of("IMG_20210603_141500.jpg"))

    _import(tmp_path)

    photo = Photo.objects.get(family=family)
    assert (photo.taken_at_source, photo.taken_tz) == (Photo.DateSource.FILENAME, "America/New_York")
    assert photo.taken_at == datetime(2021, 6, 3, 18, 15, tzinfo=dt_timezone.utc)
