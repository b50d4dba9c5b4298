"""Picasa's `.picasa.ini` (older versions: `Picasa.ini`) in each folder of an old family library: the people Picasa's
face recognition was told (it never wrote their names into the photos) and the keywords and stars of files it could
not write into, read by import_photos as tags "from the file" under the rules of every keyword; a hostile or broken
file costs only what it says."""

from __future__ import annotations

import io
import itertools
import logging
import os
from datetime import datetime
from datetime import timezone as dt_timezone

import pytest
from django.core.management import call_command

from gallery import picasa_ini
from gallery.album_services import album_create, album_remove_photos
from gallery.correction_services import photo_date_set
from gallery.models import Album, Favourite, Photo, PhotoTag, PhotoXmpSidecar, RemovedAlbumPhoto
from gallery.services import MAX_TAGS, photo_tags_add, photo_update
from gallery.sidecars import reader_fingerprint
from gallery.tests.test_xmp_sidecars import sidecar_xml
from tests import images
from tests.files import write
from tests.queries import name_key_reads

pytestmark = pytest.mark.django_db

_colours = itertools.count()


def picture(**metadata) -> bytes:
    """A JPEG of its own colour (no two the same photo), with the file's own metadata (images.with_metadata)."""
    n = next(_colours)
    data = images.jpeg(colour=(n % 256, (n // 256 * 37) % 256, (n * 7 + 100) % 256), size=(48, 32))
    return images.with_metadata(data, **metadata) if metadata else data

JOHN, MARY, LONG = "e54a1b8b4c2d5e34", "8e62398ebda8c1a5", "d736528ba71f2254"
UNNAMED = "ffffffffffffffff"


def ini(*, contacts: dict[str, str] | None = None, photos: dict[str, dict[str, str]] | None = None) -> bytes:
    """A `.picasa.ini` as Picasa 3.9 writes one: its album section, [Contacts2] (id=name;;), a section per file."""
    lines = ["[Picasa]", "name=Summer 2009", "P2category=Folders on Disk"]
    if contacts:
        lines += ["[Contacts2]", *(f"{key}={name};;" for key, name in contacts.items())]
    for name, values in (photos or {}).items():
        lines += [f"[{name}]", *(f"{key}={value}" for key, value in values.items())]
    return ("\r\n".join(lines) + "\r\n").encode()


def faces(*ids: str) -> str:
    return ";".join(f"rect64(3f845bcb59418507),{face}" for face in ids)


def _import(directory, *args, user: str = "alice") -> str:
    out = io.StringIO()
    call_command("import_photos", str(directory), "--family", "Smiths", "--user", user, *args, "--no-progress",
                 stdout=out, stderr=io.StringIO())
    return out.getvalue()


def tags(name: str) -> dict[str, str]:
    return {link.tag.name: link.source
            for link in PhotoTag.objects.filter(photo__original_filename=name).select_related("tag")}


def test_the_people_named_in_picasa_and_its_keywords_are_tags_from_the_file(tmp_path, family, alice, caplog):
    root = write(tmp_path / "Pictures", {
        "2009 Beach/IMG_0001.JPG": picture(),
        "2009 Beach/img_0002.jpg": picture(),
        "2009 Beach/IMG_0003.JPG": picture(),  # no section: nothing
        "2009 Beach/Zoe\u0308.jpg": picture(),  # (a Mac's decomposed name; Picasa for Windows wrote it composed)
        "2009 Beach/.picasa.ini": ini(contacts={JOHN: "John Smith", MARY: "Smith, Mary", LONG: "x" * 70}, photos={
            # (the section's name in another case than the file's; an unnamed face; one not in Contacts2)
            "img_0001.jpg": {"faces": faces(JOHN, UNNAMED, "0123456789abcdef"), "keywords": "beach,summer 2009"},
            "IMG_0002.JPG": {"faces": faces(MARY, LONG, JOHN), "backuphash": "4097"},
            "Zo\u00eb.jpg": {"keywords": "Zoë"},
        }),
        "2005/IMG_0004.JPG": picture(),  # an older Picasa's file name
        "2005/Picasa.ini": ini(contacts={JOHN: "John Smith"}, photos={"IMG_0004.JPG": {"faces": faces(JOHN)}}),
    })

    with caplog.at_level(logging.INFO):
        out = _import(root)

    assert Photo.objects.filter(family=family).count() == 5
    assert tags("Zo\u00eb.jpg") == {"Zoë": "embedded"}
    assert tags("IMG_0001.JPG") == {"John Smith": "embedded", "beach": "embedded", "summer 2009": "embedded"}
    # (a person is one tag whatever the name holds; a name longer than a tag is left out, with a log line)
    assert tags("img_0002.jpg") == {"Smith Mary": "embedded", "John Smith": "embedded"}
    assert tags("IMG_0003.JPG") == {} and tags("IMG_0004.JPG") == {"John Smith": "embedded"}
    assert "0123456789abcdef" in caplog.text and "not in its [Contacts2]" in caplog.text
    assert "longer than a tag" in caplog.text
    assert "Picasa files read: 2 (" in out and "not photos" not in out  # (Picasa.ini is no file left out)


def test_a_re_run_reads_no_unchanged_picasa_ini_and_a_changed_one_takes_off_what_it_no_longer_gives(
        tmp_path, family, alice):
    root = write(tmp_path / "Pictures", {
        "IMG_0001.JPG": picture(),
        ".picasa.ini": ini(contacts={JOHN: "John Smith", MARY: "Mary"},
                           photos={"IMG_0001.JPG": {"faces": faces(JOHN, MARY), "keywords": "beach,picnic"}}),
    })
    assert "Picasa files read: 1 (" in _import(root)
    photo = Photo.objects.get(original_filename="IMG_0001.JPG")
    fingerprint = PhotoXmpSidecar.objects.get(photo=photo, path=os.path.abspath(root / ".picasa.ini")).sha256

    out = _import(root)  # unchanged: not read again
    assert "Picasa files unchanged since they were last read: 1 (not read again)" in out
    assert "Picasa files read" not in out
    assert PhotoXmpSidecar.objects.get(photo=photo).sha256 == fingerprint

    # A member re-typed "picnic" (theirs now) and took "beach" off; Mary's name and "picnic" leave Picasa's file.
    photo_tags_add(photo=photo, names=["picnic"], source=PhotoTag.Source.MEMBER, user=alice)
    photo_update(photo=Photo.objects.get(pk=photo.pk), user=alice, tags=["John Smith", "Mary", "picnic"])
    write(root, {".picasa.ini": ini(contacts={JOHN: "John Smith", MARY: "Mary"},
                                    photos={"IMG_0001.JPG": {"faces": faces(JOHN), "keywords": "beach"}})})
    out = _import(root)

    assert "Picasa files read: 1 (" in out and "1 keyword removed" in out
    assert tags("IMG_0001.JPG") == {"John Smith": "embedded", "picnic": "member"}
    assert PhotoXmpSidecar.objects.get(photo=photo).sha256 != fingerprint

    # The file taking a name off is no member taking it off: it comes back when the file gives it again.
    write(root, {".picasa.ini": ini(contacts={JOHN: "John Smith", MARY: "Mary"},
                                    photos={"IMG_0001.JPG": {"faces": faces(JOHN, MARY)}})})
    assert "1 keyword added" in _import(root)
    assert tags("IMG_0001.JPG") == {"John Smith": "embedded", "picnic": "member", "Mary": "embedded"}


def test_a_picasa_ini_found_after_the_photo_was_imported_gives_it_its_people(tmp_path, family, alice):
    root = write(tmp_path / "Pictures", {"IMG_0001.JPG": picture()})
    _import(root)
    write(root, {".picasa.ini": ini(contacts={JOHN: "John"}, photos={"IMG_0001.JPG": {"faces": faces(JOHN)}})})

    out = _import(root)

    assert tags("IMG_0001.JPG") == {"John": "embedded"}
    assert "1 photo was already there and changed by its Picasa file: 1 keyword added" in out


def test_a_photos_xmp_sidecar_and_picasa_ini_both_give_it_keywords_and_neither_takes_off_the_others(
        tmp_path, family, alice):
    root = write(tmp_path / "Pictures", {
        "IMG_0001.JPG": picture(xmp={"Xmp.dc.subject": ["Lisbon"], "Xmp.dc.title": {'lang="x-default"': "The file's"}},
                                iptc={"Iptc.Application2.City": "Porto", "Iptc.Application2.CountryName": "Portugal"}),
        "IMG_0001.JPG.xmp": sidecar_xml(subject=["kite"], title="Kite day", city="Sagres", country="Portugal"),
        ".picasa.ini": ini(contacts={JOHN: "John"}, photos={"IMG_0001.JPG": {"faces": faces(JOHN)}}),
    })
    _import(root)
    assert tags("IMG_0001.JPG") == {"Lisbon": "embedded", "kite": "embedded", "John": "embedded"}

    write(root, {".picasa.ini": ini(contacts={JOHN: "John", MARY: "Mary"},
                                    photos={"IMG_0001.JPG": {"faces": faces(MARY)}})})
    _import(root)
    photo = Photo.objects.get(original_filename="IMG_0001.JPG")
    assert tags("IMG_0001.JPG") == {"Lisbon": "embedded", "kite": "embedded", "Mary": "embedded"}
    # (the sidecar's title and place: the Picasa file says none, and the file's own are not put back over them)
    assert (photo.title, photo.place_city) == ("Kite day", "Sagres")

    write(root, {"IMG_0001.JPG.xmp": sidecar_xml(subject=["beach"], title="Kite day")})
    _import(root)
    assert tags("IMG_0001.JPG") == {"Lisbon": "embedded", "beach": "embedded", "Mary": "embedded"}


def test_a_photo_starred_in_picasa_is_the_importing_members_favourite_once(tmp_path, family, alice):
    root = write(tmp_path / "Pictures", {
        "IMG_0001.JPG": picture(), "IMG_0002.JPG": picture(),
        ".picasa.ini": ini(photos={"IMG_0001.JPG": {"star": "yes"}, "IMG_0002.JPG": {"star": "no"}}),
    })
    _import(root)
    photo = Photo.objects.get(original_filename="IMG_0001.JPG")
    assert list(Favourite.objects.values_list("user", "photo")) == [(alice.pk, photo.pk)]

    Favourite.objects.all().delete()  # the heart taken off stays off when the changed file is read again
    write(root, {".picasa.ini": ini(photos={"IMG_0001.JPG": {"star": "yes", "keywords": "kite"}})})
    _import(root)
    assert tags("IMG_0001.JPG") == {"kite": "embedded"} and not Favourite.objects.exists()


def test_a_photo_starred_in_picasa_is_a_favourite_of_each_member_importing_it(tmp_path, family, alice, bob):
    """The file is unchanged when bob imports the folder alice imported: its star is his all the same."""
    root = write(tmp_path / "Pictures", {"IMG_0001.JPG": picture(),
                                         ".picasa.ini": ini(photos={"IMG_0001.JPG": {"star": "yes"}})})
    _import(root)

    out = _import(root, user="bob")

    assert "Picasa files unchanged since they were last read: 1 (not read again)" in out
    assert set(Favourite.objects.values_list("user__username", flat=True)) == {"alice", "bob"}
    Favourite.objects.filter(user=bob).delete()  # (his heart taken off stays off)
    _import(root, user="bob")
    assert set(Favourite.objects.values_list("user__username", flat=True)) == {"alice"}


def test_a_change_to_a_picasa_file_takes_off_no_keyword_of_a_photo_it_says_nothing_new_of(tmp_path, family, alice):
    """P's deleted XMP sidecar gave "sunset"; a star given to Q in the folder's Picasa file says nothing of P."""
    root = write(tmp_path / "Pictures", {"P.jpg": picture(), "P.jpg.xmp": sidecar_xml(subject=["sunset"]),
                                         "Q.jpg": picture(),
                                         ".picasa.ini": ini(photos={"Q.jpg": {"keywords": "kite"}})})
    _import(root)
    (root / "P.jpg.xmp").unlink()
    _import(root)
    fingerprint = PhotoXmpSidecar.objects.get(photo__original_filename="P.jpg").sha256

    write(root, {".picasa.ini": ini(photos={"Q.jpg": {"keywords": "kite", "star": "yes"}})})
    out = _import(root)

    assert tags("P.jpg") == {"sunset": "embedded"}
    assert "Picasa files read: 1 (" in out
    assert PhotoXmpSidecar.objects.get(photo__original_filename="P.jpg").sha256 != fingerprint  # (remembered)


def test_a_photo_moved_to_another_folder_keeps_no_keyword_for_good_from_its_old_folders_picasa_file(
        tmp_path, family, alice):
    root = write(tmp_path / "Pictures", {
        "A/P.jpg": picture(), "A/R.jpg": picture(),
        "A/.picasa.ini": ini(photos={"P.jpg": {"keywords": "beach"}, "R.jpg": {"keywords": "kite"}}),
        "B/.picasa.ini": ini(photos={"P.jpg": {"keywords": "boat"}})})
    _import(root)
    (root / "A" / "P.jpg").rename(root / "B" / "P.jpg")
    _import(root)
    photo = Photo.objects.get(original_filename="P.jpg")
    assert [os.path.basename(os.path.dirname(path)) for path in
            PhotoXmpSidecar.objects.filter(photo=photo).values_list("path", flat=True)] == ["B"]

    write(root, {"B/.picasa.ini": ini(photos={"P.jpg": {"keywords": "sea"}})})
    _import(root)

    assert tags("P.jpg") == {"sea": "embedded"}
    assert tags("R.jpg") == {"kite": "embedded"}


def test_a_photo_that_cant_be_read_now_keeps_its_picasa_file(tmp_path, family, alice, settings):
    root = write(tmp_path / "Pictures", {"P.jpg": picture(), ".picasa.ini": ini(photos={"P.jpg": {"keywords": "sea"}})})
    _import(root)
    settings.UPLOAD_MAX_BYTES = 100

    assert "gone since" not in _import(root)

    assert PhotoXmpSidecar.objects.filter(photo__original_filename="P.jpg").count() == 1


def test_a_folders_picasa_file_is_read_once_however_many_subfolders_come_between_its_photos(
        tmp_path, family, alice, caplog):
    files = {f"A/m{n}/IMG_{n}.JPG": picture() for n in range(10)}
    root = write(tmp_path / "Pictures", files | {
        "A/a.jpg": picture(), "A/z.jpg": picture(),
        "A/.picasa.ini": "[a.jpg]\r\nkeywords=Zoë\r\n[z.jpg]\r\nkeywords=Zoë\r\n".encode("cp1252")})

    with caplog.at_level(logging.WARNING):
        assert "Imported 12," in _import(root)

    assert tags("a.jpg") == tags("z.jpg") == {"Zoë": "embedded"}
    assert caplog.text.count("A/.picasa.ini: not UTF-8") == 1


@pytest.mark.parametrize("content", [
    pytest.param(b"faces=rect64(1),e54a1b8b4c2d5e34\r\nkeywords=beach\r\n", id="no sections"),
    pytest.param(b"\x00\x01\xff\xfe[IMG_0001.JPG\r\n=\r\n]]]\r\n[[", id="garbage"),
    pytest.param(b"[DEFAULT]\r\nkeywords=everywhere\r\n[IMG_0002.JPG]\r\nstar=yes\r\n", id="a DEFAULT section"),
    pytest.param(b"[IMG_0001.JPG]\r\nkeywords=%(x)s\r\n  indented\r\nkeywords\r\n[Contacts2]\r\n=;;\r\n",
                 id="interpolation, continuation and empty keys"),
])
def test_a_broken_picasa_ini_costs_only_what_it_says(tmp_path, family, alice, content):
    root = write(tmp_path / "Pictures", {"IMG_0001.JPG": picture(), "IMG_0002.JPG": picture(),
                                         ".picasa.ini": content + b"\r\n[IMG_0002.JPG]\r\nkeywords=kite\r\n"})

    out = _import(root)

    assert "Imported 2," in out
    assert tags("IMG_0002.JPG") == {"kite": "embedded"}  # (what can be read is)
    assert "everywhere" not in tags("IMG_0001.JPG")
    assert set(tags("IMG_0001.JPG")) <= {"%(x)s indented", "%(x)s"}


def test_duplicate_sections_and_keys_are_read_as_picasa_would_the_last_key_winning(tmp_path, family, alice):
    root = write(tmp_path / "Pictures", {"IMG_0001.JPG": picture(), ".picasa.ini": (
        b"[Contacts2]\r\ne54a1b8b4c2d5e34=John;;\r\n[IMG_0001.JPG]\r\nkeywords=old\r\nkeywords=beach\r\n"
        b"[img_0001.jpg]\r\nfaces=rect64(3f845bcb59418507),e54a1b8b4c2d5e34\r\n"
        b"[Contacts2]\r\n8e62398ebda8c1a5=Mary;;\r\n")})

    assert "Imported 1," in _import(root)

    assert tags("IMG_0001.JPG") == {"beach": "embedded", "John": "embedded"}


def test_a_picasa_ini_in_windows_1252_is_read_as_such_with_a_log_line(tmp_path, family, alice, caplog):
    root = write(tmp_path / "Pictures", {"IMG_0001.JPG": picture(), ".picasa.ini": (
        "[Contacts2]\r\ne54a1b8b4c2d5e34=Zoë Müller;;\r\n[IMG_0001.JPG]\r\n"
        "faces=rect64(3f845bcb59418507),e54a1b8b4c2d5e34\r\nkeywords=Grandma’s garden\r\n").encode("cp1252")})

    with caplog.at_level(logging.WARNING):
        _import(root)

    assert tags("IMG_0001.JPG") == {"Zoë Müller": "embedded", "Grandma’s garden": "embedded"}
    assert ".picasa.ini: not UTF-8, read as Windows-1252" in caplog.text


def test_a_picasa_ini_too_large_unreadable_or_a_folder_is_skipped_and_every_photo_stored(
        tmp_path, family, alice, caplog, monkeypatch):
    monkeypatch.setattr(picasa_ini, "MAX_BYTES", 200)
    root = write(tmp_path / "Pictures", {
        "big/IMG_0001.JPG": picture(),
        "big/.picasa.ini": ini(photos={"IMG_0001.JPG": {"keywords": "x" * 300}}),
        "dir/IMG_0002.JPG": picture(),
        "dir/.picasa.ini/IMG_0003.JPG": picture(),  # (hidden: not imported)
        "io/IMG_0004.JPG": picture(),
    })
    (root / "io" / ".picasa.ini").symlink_to("/proc/self/mem")  # (a read fails: EIO)

    with caplog.at_level(logging.WARNING):
        out = _import(root)

    assert "Imported 3," in out
    assert tags("IMG_0001.JPG") == tags("IMG_0002.JPG") == tags("IMG_0004.JPG") == {}
    assert "big/.picasa.ini: skipped: larger than" in caplog.text
    assert "io/.picasa.ini: not read:" in caplog.text
    assert "Picasa files that could not be read: 2 (skipped, their photos imported: the log says why)" in out

    # One that can't be read takes nothing off what it gave before.
    monkeypatch.setattr(picasa_ini, "MAX_BYTES", 10_000)
    write(root, {"big/.picasa.ini": ini(photos={"IMG_0001.JPG": {"keywords": "kite"}})})
    _import(root)
    write(root, {"big/.picasa.ini": ini(photos={"IMG_0001.JPG": {"keywords": "y" * 20_000}})})
    _import(root)
    assert tags("IMG_0001.JPG") == {"kite": "embedded"}


def test_reading_the_stored_file_again_alone_keeps_the_people_its_picasa_file_named(tmp_path, family, alice):
    root = write(tmp_path / "Pictures", {"IMG_0001.JPG": picture(xmp={"Xmp.dc.subject": ["Lisbon"]})})
    _import(root)
    write(root, {".picasa.ini": ini(contacts={JOHN: "John"}, photos={"IMG_0001.JPG": {"faces": faces(JOHN)}})})
    _import(root)

    call_command("read_embedded", "--all", "--no-progress", stdout=io.StringIO())

    assert tags("IMG_0001.JPG") == {"Lisbon": "embedded", "John": "embedded"}


def test_a_name_taken_off_one_copys_picasa_file_stays_while_another_copy_gives_it(tmp_path, family, alice):
    data = picture()
    both = ini(contacts={JOHN: "John", MARY: "Mary"}, photos={"IMG_0001.JPG": {"faces": faces(JOHN, MARY)}})
    root = write(tmp_path / "Pictures", {"A/IMG_0001.JPG": data, "A/.picasa.ini": both,
                                         "B/IMG_0001.JPG": data, "B/.picasa.ini": both})
    _import(root)
    write(root, {"A/.picasa.ini": ini(contacts={JOHN: "John"}, photos={"IMG_0001.JPG": {"faces": faces(JOHN)}})})

    _import(root)

    assert tags("IMG_0001.JPG") == {"John": "embedded", "Mary": "embedded"}
    write(root, {"B/.picasa.ini": ini(contacts={JOHN: "John"}, photos={"IMG_0001.JPG": {"faces": faces(JOHN)}})})
    _import(root)
    assert tags("IMG_0001.JPG") == {"John": "embedded"}


def test_a_picasa_file_deleted_since_it_was_read_leaves_what_it_gave_and_the_summary_says_so(tmp_path, family,
                                                                                            alice):
    root = write(tmp_path / "Pictures", {"IMG_0001.JPG": picture(), "IMG_0002.JPG": picture(),
                                         ".picasa.ini": ini(photos={"IMG_0001.JPG": {"keywords": "kite"}})})
    _import(root)
    (root / ".picasa.ini").unlink()

    out = _import(root)

    assert "Picasa files gone since they were last read: 1 (what they gave stays" in out
    assert "XMP sidecars gone" not in out
    assert tags("IMG_0001.JPG") == {"kite": "embedded"} and not PhotoXmpSidecar.objects.exists()


def test_a_re_run_over_a_picasa_library_costs_no_query_per_photo(tmp_path, family, alice):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def library(n: int) -> dict[str, bytes]:
        return {f"IMG_{i:04}.JPG": picture() for i in range(n)} | {".picasa.ini": ini(
            contacts={JOHN: "John"}, photos={f"IMG_{i:04}.JPG": {"faces": faces(JOHN)} for i in range(0, n, 2)})}

    root = write(tmp_path / "Pictures", library(2))
    _import(root)

    def queries() -> int:
        with CaptureQueriesContext(connection) as run:
            out = _import(root)
        assert "Imported 0, already there " in out and "Picasa files unchanged since they were last read: 1 " in out
        return len(run.captured_queries)

    few = queries()
    write(root, library(6))
    _import(root)
    assert queries() == few


def test_a_picasa_ini_of_countless_sections_and_names_is_read_within_bounds(tmp_path, family, alice, caplog):
    """configparser kept an object for every section and every key: a 4 MB file of empty sections took it 17 s and
    900 MB. The reader keeps only the keys it reads; a photo's names are read up to MAX_NAMES, a face's unknown
    contact logged once, escaped (the file's text on a terminal)."""
    spam = b"".join(b"[%d.jpg]\n" % n for n in range(200_000))
    root = write(tmp_path / "Pictures", {"IMG_0001.JPG": picture(), ".picasa.ini": spam + (
        b"[IMG_0001.JPG]\nkeywords=" + b",".join(b"k%d" % n for n in range(3000)) + b"\nfaces="
        + b";".join(b"rect64(1),\x1b[2J%d" % n for n in range(3000)) + b"\n")})

    with caplog.at_level(logging.INFO):
        assert "Imported 1," in _import(root)

    assert len(tags("IMG_0001.JPG")) == MAX_TAGS  # (the tag limit, with a log line, as for any keywords read)
    assert caplog.text.count("3000 faces") == 1
    assert "3000 faces of contacts not in its [Contacts2], no tag: \\x1b[2j0" in caplog.text
    assert "\x1b" not in caplog.text


def album_ini(albums: dict[str, dict[str, str]], photos: dict[str, dict[str, str]]) -> bytes:
    """A `.picasa.ini` with Picasa 3's album sections (`[.album:<token>]`, name=, token=, date=) before its files'."""
    lines = ["[Picasa]", "name=2009"]
    for token, values in albums.items():
        lines += [f"[.album:{token}]", *(f"{key}={value}" for key, value in values.items())]
    for name, values in photos.items():
        lines += [f"[{name}]", *(f"{key}={value}" for key, value in values.items())]
    return ("\r\n".join(lines) + "\r\n").encode()


BEST = "4b5914837de8a11f7029631a2c9280f9"


def album_photos(name: str) -> list[str]:
    album = Album.objects.get(name=name)
    return sorted(album.entries.values_list("photo__original_filename", flat=True))


def test_picasas_albums_become_the_familys_albums_once_holding_their_photos(tmp_path, family, alice, caplog):
    """An album's photos may be in several folders, each folder's file naming the album; a token no section names and
    an album section without a name make no album, with a log line."""
    best = {"name": "Best of 2009", "token": BEST, "date": "2009-12-31T10:00:00+01:00"}
    root = write(tmp_path / "Pictures", {
        "2009/IMG_0001.JPG": picture(), "2009/IMG_0002.JPG": picture(),
        "2009/.picasa.ini": album_ini({BEST: best, "a1": {"token": "a1"}}, {
            "IMG_0001.JPG": {"albums": f"{BEST},0123456789abcdef"}, "IMG_0002.JPG": {"albums": f"{BEST},a1"}}),
        "2010/IMG_0003.JPG": picture(),
        "2010/.picasa.ini": album_ini({BEST: best}, {"IMG_0003.JPG": {"albums": BEST}}),
    })

    with caplog.at_level(logging.INFO):
        out = _import(root)

    assert list(Album.objects.values_list("name", flat=True)) == ["Best of 2009"]
    assert album_photos("Best of 2009") == ["IMG_0001.JPG", "IMG_0002.JPG", "IMG_0003.JPG"]
    assert "Albums: Best of 2009 (3 photos put in)" in out
    assert "[IMG_0001.JPG]: 1 album without a named [.album:…] section, no album: 0123456789abcdef" in caplog.text
    assert "[IMG_0002.JPG]: 1 album without a named [.album:…] section, no album: a1" in caplog.text

    # A member takes a photo out; a photo is added to the album in Picasa: a re-run puts in the new one alone.
    album = Album.objects.get()
    album_remove_photos(user=alice, album=album, photo_ids=[Photo.objects.get(original_filename="IMG_0002.JPG").pk])
    write(root, {"2010/IMG_0004.JPG": picture(), "2010/.picasa.ini": album_ini(
        {BEST: best}, {"IMG_0003.JPG": {"albums": BEST}, "IMG_0004.JPG": {"albums": BEST}})})
    out = _import(root)

    assert album_photos("Best of 2009") == ["IMG_0001.JPG", "IMG_0003.JPG", "IMG_0004.JPG"]
    assert Album.objects.count() == 1 and "Albums: Best of 2009 (1 photo put in)" in out


def test_a_photo_imported_before_its_picasa_file_was_there_goes_into_its_albums(tmp_path, family, alice):
    """A family album of the same name (in any case) is used rather than a second one made."""
    album_create(user=alice, family=family, name="best OF 2009")
    root = write(tmp_path / "Pictures", {"IMG_0001.JPG": picture()})
    _import(root)
    write(root, {".picasa.ini": album_ini({BEST: {"name": "Best of 2009"}}, {"IMG_0001.JPG": {"albums": BEST}})})

    _import(root)

    assert album_photos("best OF 2009") == ["IMG_0001.JPG"] and Album.objects.count() == 1


def test_a_hostile_album_list_puts_a_photo_in_a_bounded_number_of_albums(tmp_path, family, alice, caplog):
    tokens = [f"{n:032x}" for n in range(3000)]
    root = write(tmp_path / "Pictures", {"IMG_0001.JPG": picture(), ".picasa.ini": album_ini(
        {token: {"name": f"Album {n}\x1b[2J"} for n, token in enumerate(tokens)} | {"e" * 32: {"name": "x" * 300}},
        {"IMG_0001.JPG": {"albums": ",".join(["e" * 32, *tokens, *tokens])}})})

    with caplog.at_level(logging.WARNING):
        assert "Imported 1," in _import(root)

    assert Album.objects.count() == picasa_ini.MAX_ALBUMS
    assert Album.objects.filter(name="x" * 100).exists()  # (an album's name is at most 100 characters)
    assert not Album.objects.filter(name__contains="\x1b").exists()
    assert "albums past the first" in caplog.text and "\x1b" not in caplog.text


def test_a_picasa_caption_fills_the_description_nobody_wrote(tmp_path, family, alice):
    """Picasa kept the caption of a file it could not write into (a raw file) in its section: the photo's description
    when neither its file nor its XMP sidecar has one, a new photo or one already there; never over a member's."""
    root = write(tmp_path / "Pictures", {
        "IMG_0001.JPG": picture(),
        "IMG_0002.JPG": picture(), "IMG_0002.JPG.xmp": sidecar_xml(subject=["kite"], description="The sidecar's"),
        "IMG_0003.JPG": picture(),
        ".picasa.ini": ini(photos={"IMG_0001.JPG": {"caption": "Grandma\x1b[2J at 80 " + "x" * 20_000},
                                   "IMG_0002.JPG": {"caption": "Picasa's"}}),
    })
    _import(root)

    def description(name: str) -> tuple[str, str]:
        photo = Photo.objects.get(original_filename=name)
        return photo.description, photo.description_source

    text, source = description("IMG_0001.JPG")
    assert text.startswith("Grandma[2J at 80 xx") and len(text) == 10_000 and source == "embedded"
    assert description("IMG_0002.JPG") == ("The sidecar's", "embedded")
    assert description("IMG_0003.JPG") == ("", "")

    photo_update(photo=Photo.objects.get(original_filename="IMG_0001.JPG"), user=alice, description="Ours")
    write(root, {".picasa.ini": ini(photos={"IMG_0001.JPG": {"caption": "Another"},
                                            "IMG_0003.JPG": {"caption": "Found later"}})})
    _import(root)

    assert description("IMG_0001.JPG") == ("Ours", "member")
    assert description("IMG_0003.JPG") == ("Found later", "embedded")


def test_an_unchanged_picasa_file_read_for_its_stars_logs_nothing_of_its_photos_again(tmp_path, family, alice, bob,
                                                                                     caplog):
    root = write(tmp_path / "Pictures", {"IMG_0001.JPG": picture(), "IMG_0002.JPG": picture(), ".picasa.ini": ini(
        photos={"IMG_0001.JPG": {"star": "yes"}, "IMG_0002.JPG": {"faces": faces("0123456789abcdef")}})})
    _import(root)
    caplog.clear()

    with caplog.at_level(logging.INFO):
        _import(root, user="bob")

    assert "0123456789abcdef" not in caplog.text
    assert set(Favourite.objects.values_list("user__username", flat=True)) == {"alice", "bob"}


def test_a_picasa_file_read_by_the_first_reader_is_read_again_for_its_albums_and_captions(tmp_path, family, alice):
    """The first reader (version 1) read neither albums nor captions: a family that imported with it gets them from
    its unchanged files, as the reader's version is in the fingerprint."""
    data = album_ini({BEST: {"name": "Best of 2009"}}, {"IMG_0001.JPG": {"albums": BEST, "caption": "Grandma"},
                                                        "IMG_0002.JPG": {"albums": BEST}})
    root = write(tmp_path / "Pictures", {"IMG_0001.JPG": picture(), "IMG_0002.JPG": picture(), ".picasa.ini": data})
    _import(root)
    # As the first reader left them: the file fingerprinted by version 1, no album nor caption from it.
    Album.objects.all().delete()
    Photo.objects.update(description="", description_source=Photo.FieldSource.NONE)
    PhotoXmpSidecar.objects.update(sha256=reader_fingerprint(b"picasa ini", 1, data), description=None, albums=None)

    out = _import(root)

    assert "Picasa files read: 1 " in out
    assert album_photos("Best of 2009") == ["IMG_0001.JPG", "IMG_0002.JPG"]
    assert Photo.objects.get(original_filename="IMG_0001.JPG").description == "Grandma"


@pytest.mark.parametrize("elsewhere", ["copy", "bob"])
def test_a_photo_taken_out_of_a_picasa_album_stays_out_when_its_file_is_read_at_another_path(
        tmp_path, family, alice, bob, elsewhere):
    """"Read for the first time" is the photo's Picasa files, not this path's: the library copied elsewhere (another
    member's copy, a remounted disk) puts back no photo a member took out."""
    files = {"IMG_0001.JPG": picture(), "IMG_0002.JPG": picture(), ".picasa.ini": album_ini(
        {BEST: {"name": "Best of 2009"}}, {"IMG_0001.JPG": {"albums": BEST}, "IMG_0002.JPG": {"albums": BEST}})}
    _import(write(tmp_path / "alice" / "Pictures", files))
    album_remove_photos(user=alice, album=Album.objects.get(),
                        photo_ids=[Photo.objects.get(original_filename="IMG_0002.JPG").pk])

    _import(write(tmp_path / elsewhere / "Pictures", files), user="alice" if elsewhere == "copy" else "bob")

    assert album_photos("Best of 2009") == ["IMG_0001.JPG"]


def test_a_picasa_caption_fills_the_description_of_a_photo_a_member_dated(tmp_path, family, alice):
    """Takeout's rule "a member's date: nothing is given" is no rule for a caption: nobody wrote the description."""
    root = write(tmp_path / "Pictures", {"IMG_0001.JPG": picture(), "IMG_0002.JPG": picture()})
    _import(root)
    for photo in Photo.objects.all():
        photo_date_set(photo=photo, taken_at=datetime(2009, 7, 14, 12, tzinfo=dt_timezone.utc), user=alice)
    photo_update(photo=Photo.objects.get(original_filename="IMG_0002.JPG"), user=alice, description="Ours")
    write(root, {".picasa.ini": ini(photos={"IMG_0001.JPG": {"caption": "Grandma"},
                                            "IMG_0002.JPG": {"caption": "Picasa's"}})})

    _import(root)

    assert Photo.objects.get(original_filename="IMG_0001.JPG").description_source == Photo.FieldSource.EMBEDDED
    assert {photo.original_filename: photo.description for photo in Photo.objects.all()} == {
        "IMG_0001.JPG": "Grandma", "IMG_0002.JPG": "Ours"}


def test_a_changed_picasa_file_of_captioned_photos_costs_no_query_per_caption(tmp_path, family, alice):
    """A star given to one photo changes the folder's file: the captions of the others, filled already, are not
    written again (nor their photos locked). (A changed file is remembered again with each photo: its captions add
    nothing to that.)"""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def library(n: int, star: str, caption: str) -> dict[str, bytes]:
        return {".picasa.ini": ini(photos={f"IMG_{i:04}.JPG": {"caption": f"{caption} {i}" if caption else ""}
                                           | {"star": star if i == 0 else "no"} for i in range(n)})}

    def queries(n: int, caption: str) -> int:
        root = write(tmp_path / f"{n}{caption}", {f"IMG_{i:04}.JPG": picture() for i in range(n)}
                     | library(n, "no", caption))
        _import(root)
        write(root, library(n, "yes", caption))
        with CaptureQueriesContext(connection) as run:
            assert "Picasa files read: 1 " in _import(root)
        return len(run.captured_queries)

    assert queries(6, "Caption") - queries(6, "") == queries(2, "Caption") - queries(2, "")


def test_a_picasa_library_read_at_another_path_reads_no_photo_again_for_the_same_keywords(tmp_path, family, alice):
    """The library copied elsewhere (another member's copy, a remounted disk): its files are new paths, but what they
    say of each photo another Picasa file of it said already; no photo is read again (exiv2) for its keywords."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries(n: int, keywords: str) -> int:
        files = {f"IMG_{i:04}.JPG": picture() for i in range(n)} | {".picasa.ini": ini(
            contacts={JOHN: "John"}, photos={f"IMG_{i:04}.JPG": {"keywords": keywords} for i in range(n)})}
        _import(write(tmp_path / f"{n}{keywords}" / "Pictures", files))
        with CaptureQueriesContext(connection) as run:
            _import(write(tmp_path / f"{n}{keywords}" / "Copy", files))
        return len(run.captured_queries)

    assert queries(6, "kite,beach") - queries(6, "") == queries(2, "kite,beach") - queries(2, "")
    assert tags("IMG_0000.JPG") == {"kite": "embedded", "beach": "embedded"}


def test_a_picasa_file_read_by_the_first_reader_puts_its_photos_in_an_album_the_family_has_already(
        tmp_path, family, alice):
    """The first reader read no albums: a file it read was never read with its photos for their albums, so they go
    into the family's album of the name (made by hand meanwhile, or by an earlier run from a changed file)."""
    data = album_ini({BEST: {"name": "Best of 2009"}}, {"IMG_0001.JPG": {"albums": BEST},
                                                        "IMG_0002.JPG": {"albums": BEST}})
    root = write(tmp_path / "Pictures", {"IMG_0001.JPG": picture(), "IMG_0002.JPG": picture(), ".picasa.ini": data})
    _import(root)
    # As the first reader left them, the album made by hand since (empty: no photo was ever in it).
    Album.objects.get().entries.all().delete()
    PhotoXmpSidecar.objects.update(sha256=reader_fingerprint(b"picasa ini", 1, data), description=None, albums=None)

    _import(root)

    assert album_photos("Best of 2009") == ["IMG_0001.JPG", "IMG_0002.JPG"] and Album.objects.count() == 1


def descriptions() -> dict[str, tuple[str, str]]:
    return {photo.original_filename: (photo.description, photo.description_source) for photo in Photo.objects.all()}


def test_a_caption_changed_in_picasa_replaces_the_one_it_wrote_and_one_taken_off_there_clears_it(
        tmp_path, family, alice):
    """Only a description nobody wrote was filled: a caption changed in Picasa after it had filled one was never
    read again. The description the Picasa file wrote, nobody having edited it since, follows its caption: changed
    there, it is replaced; taken off there, it is cleared (as an XMP sidecar's dc:description taken off clears the one
    it wrote). A member's edit stays, and so does a description the photo's own file wrote (Picasa wrote a JPEG's
    caption into the file: the file's section holds one only for a file it could not write into)."""
    root = write(tmp_path / "Pictures", {
        "IMG_0001.JPG": picture(), "IMG_0002.JPG": picture(),
        "IMG_0003.JPG": picture(iptc={"Iptc.Application2.Caption": "The file's own"}),
        ".picasa.ini": ini(photos={"IMG_0001.JPG": {"caption": "Grandma"}, "IMG_0002.JPG": {"caption": "Picasa's"},
                                   "IMG_0003.JPG": {"caption": "Picasa's too"}})})
    _import(root)
    photo_update(photo=Photo.objects.get(original_filename="IMG_0002.JPG"), user=alice, description="Ours")
    write(root, {".picasa.ini": ini(photos={"IMG_0001.JPG": {"caption": "Grandma at 80"},
                                            "IMG_0002.JPG": {"caption": "Changed"},
                                            "IMG_0003.JPG": {"caption": "Changed too"}})})

    out = _import(root)

    assert descriptions() == {"IMG_0001.JPG": ("Grandma at 80", "embedded"), "IMG_0002.JPG": ("Ours", "member"),
                              "IMG_0003.JPG": ("The file's own", "embedded")}
    assert "1 photo was already there and changed by its Picasa file: 1 caption replaced" in out

    write(root, {".picasa.ini": ini(photos={"IMG_0001.JPG": {"keywords": ""}, "IMG_0002.JPG": {"keywords": ""},
                                            "IMG_0003.JPG": {"keywords": ""}})})
    out = _import(root)

    assert descriptions() == {"IMG_0001.JPG": ("", ""), "IMG_0002.JPG": ("Ours", "member"),
                              "IMG_0003.JPG": ("The file's own", "embedded")}
    assert "1 photo was already there and changed by its Picasa file: 1 caption removed" in out
    # Given again in Picasa: the description nobody wrote, filled.
    write(root, {".picasa.ini": ini(photos={"IMG_0001.JPG": {"caption": "Grandma again"}})})
    assert "1 caption given" in _import(root)
    assert descriptions()["IMG_0001.JPG"] == ("Grandma again", "embedded")
    assert "Picasa files unchanged since they were last read: 1 " in _import(root)


def test_a_description_the_photos_file_or_another_sidecar_still_gives_stays_when_one_takes_it_off(
        tmp_path, family, alice):
    """A caption taken off in Picasa cleared the description it wrote even when the photo's own file (Picasa wrote a
    JPEG's caption into its IPTC) or its XMP sidecar still gave the same; and a dc:description taken off in digiKam
    cleared one the photo's Picasa file still gave. It stays; cleared when nothing gives it any more."""
    root = write(tmp_path / "Pictures", {
        "IMG_0001.JPG": picture(iptc={"Iptc.Application2.Caption": "Beach"}),
        "IMG_0002.JPG": picture(), "IMG_0002.JPG.xmp": sidecar_xml(subject=["kite"], description="Kites"),
        "IMG_0003.JPG": picture(), "IMG_0003.JPG.xmp": sidecar_xml(subject=["kite"], description="Sea"),
        "IMG_0004.JPG": picture(),
        ".picasa.ini": ini(photos={"IMG_0001.JPG": {"caption": "Beach"}, "IMG_0002.JPG": {"caption": "Kites"},
                                   "IMG_0003.JPG": {"caption": "Sea"}, "IMG_0004.JPG": {"caption": "Grandma"}})})
    _import(root)
    given = {"IMG_0001.JPG": ("Beach", "embedded"), "IMG_0002.JPG": ("Kites", "embedded"),
             "IMG_0003.JPG": ("Sea", "embedded"), "IMG_0004.JPG": ("Grandma", "embedded")}
    assert descriptions() == given
    write(root, {"IMG_0003.JPG.xmp": sidecar_xml(subject=["kite"]),
                 ".picasa.ini": ini(photos={"IMG_0003.JPG": {"caption": "Sea"}})})

    out = _import(root)

    assert descriptions() == given | {"IMG_0004.JPG": ("", "")}
    assert "1 caption removed" in out and "description removed" not in out
    write(root, {".picasa.ini": ini(photos={})})  # (the last to give IMG_0003's)
    _import(root)
    assert descriptions() == given | {"IMG_0003.JPG": ("", ""), "IMG_0004.JPG": ("", "")}


TRIP = "9a8b7c6d5e4f30211203f4e5d6c7b8a9"


def test_a_photo_added_in_picasa_to_an_album_joins_it_unless_a_member_took_it_out(tmp_path, family, alice):
    """A photo already read with its Picasa file joined only the albums of its first reading: one added to a Picasa
    album since (its albums= list gained it) stayed out of the family's album of that name. It joins now, unless a
    member took it out of that album in the gallery (kept as they do it); an album listed before stays as the member
    left it."""
    albums = {BEST: {"name": "Best of 2009"}, TRIP: {"name": "Trip"}}
    root = write(tmp_path / "Pictures", {f"IMG_000{n}.JPG": picture() for n in range(1, 5)} | {
        ".picasa.ini": album_ini(albums, {"IMG_0001.JPG": {"albums": BEST}, "IMG_0002.JPG": {"albums": BEST},
                                          "IMG_0004.JPG": {"albums": TRIP}})})
    _import(root)
    best, trip = Album.objects.get(name="Best of 2009"), Album.objects.get(name="Trip")
    album_remove_photos(user=alice, album=best, photo_ids=[Photo.objects.get(original_filename="IMG_0002.JPG").pk])
    album_remove_photos(user=alice, album=trip, photo_ids=[Photo.objects.get(original_filename="IMG_0004.JPG").pk])
    write(root, {".picasa.ini": album_ini(albums, {
        "IMG_0001.JPG": {"albums": f"{BEST},{TRIP}"}, "IMG_0002.JPG": {"albums": f"{BEST},{TRIP}"},
        "IMG_0003.JPG": {"albums": BEST}, "IMG_0004.JPG": {"albums": f"{TRIP},{BEST}"}})})

    out = _import(root)

    assert album_photos("Best of 2009") == ["IMG_0001.JPG", "IMG_0003.JPG", "IMG_0004.JPG"]
    assert album_photos("Trip") == ["IMG_0001.JPG", "IMG_0002.JPG"]
    assert "Best of 2009 (2 photos put in)" in out and "Trip (2 photos put in)" in out

    # Taken out again by a member; in Picasa, taken out of the album and put back: it stays out.
    album_remove_photos(user=alice, album=trip, photo_ids=[Photo.objects.get(original_filename="IMG_0001.JPG").pk])
    for listed in (BEST, f"{BEST},{TRIP}"):
        write(root, {".picasa.ini": album_ini(albums, {"IMG_0001.JPG": {"albums": listed}})})
        _import(root)
    assert album_photos("Trip") == ["IMG_0002.JPG"]
    assert "Picasa files unchanged since they were last read: 1 " in _import(root)


def test_a_picasa_file_read_before_its_albums_were_kept_puts_back_no_photo_a_member_took_out(tmp_path, family, alice):
    """A file read before what it listed was kept (read again once, as the reader's version changed): what its list
    gained since is not known, nor which photos a member took out before that was kept: none is put in then; an
    album its list gains after that is."""
    files = {"IMG_0001.JPG": picture(), "IMG_0002.JPG": picture(), ".picasa.ini": album_ini(
        {BEST: {"name": "Best of 2009"}, TRIP: {"name": "Trip"}},
        {"IMG_0001.JPG": {"albums": BEST}, "IMG_0002.JPG": {"albums": f"{BEST},{TRIP}"}})}
    root = write(tmp_path / "Pictures", files)
    _import(root)
    album_remove_photos(user=alice, album=Album.objects.get(name="Best of 2009"),
                        photo_ids=[Photo.objects.get(original_filename="IMG_0002.JPG").pk])
    # As the reader before left them: no list kept, the file fingerprinted by version 2, no taking out kept.
    PhotoXmpSidecar.objects.update(albums=None, description=None,
                                   sha256=reader_fingerprint(b"picasa ini", 2, files[".picasa.ini"]))
    RemovedAlbumPhoto.objects.all().delete()

    assert "Picasa files read: 1 " in _import(root)
    assert album_photos("Best of 2009") == ["IMG_0001.JPG"] and album_photos("Trip") == ["IMG_0002.JPG"]

    write(root, {".picasa.ini": album_ini({BEST: {"name": "Best of 2009"}, TRIP: {"name": "Trip"}}, {
        "IMG_0001.JPG": {"albums": f"{BEST},{TRIP}"}, "IMG_0002.JPG": {"albums": f"{BEST},{TRIP}"}})})
    _import(root)
    assert album_photos("Best of 2009") == ["IMG_0001.JPG"] and album_photos("Trip") == ["IMG_0001.JPG",
                                                                                       "IMG_0002.JPG"]


def contacts_xml(contacts: dict[str, str]) -> bytes:
    """Picasa's own contacts.xml (%LOCALAPPDATA%\\Google\\Picasa2\\contacts\\contacts.xml), as Picasa 3 writes it."""
    return ('<?xml version="1.0" encoding="utf-8" ?>\r\n<contacts>\r\n' + "".join(
        f' <contact id="{key}" name="{name}" display="{name.split()[0]}" modified_time="2011-02-03T10:11:12+01:00" '
        'local_contact="1"/>\r\n' for key, name in contacts.items()) + "</contacts>\r\n").encode()


def _import_saying(directory, *args) -> tuple[str, str]:
    """What the import says on its output and on its errors."""
    out, err = io.StringIO(), io.StringIO()
    call_command("import_photos", str(directory), "--family", "Smiths", "--user", "alice", *args, "--no-progress",
                 stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_picasas_contacts_xml_names_the_faces_a_folders_contacts2_does_not(tmp_path, family, alice):
    """Older Picasa versions kept the names of people in Picasa's own contacts.xml alone, not in each folder's
    [Contacts2]: their faces gave no tag. `--picasa-contacts` reads it: a face of a contact [Contacts2] lacks is named
    by it ([Contacts2] first). A library imported without it is read again with it (the names it gives a file are in
    the file's fingerprint), an unchanged one with it again reads nothing, and one read without it again keeps the
    names it gave (PhotoXmpSidecar.contact_names) while their faces are there."""
    root = write(tmp_path / "Pictures", {"IMG_0001.JPG": picture(), "IMG_0002.JPG": picture(), ".picasa.ini": ini(
        contacts={JOHN: "John Smith"}, photos={"IMG_0001.JPG": {"faces": faces(JOHN, MARY)},
                                               "IMG_0002.JPG": {"faces": faces(MARY), "keywords": "beach"}})})
    contacts = tmp_path / "contacts.xml"
    contacts.write_bytes(contacts_xml({MARY: "Mary Smith", JOHN: "Johnny"}))
    _import(root)
    assert tags("IMG_0001.JPG") == {"John Smith": "embedded"} and tags("IMG_0002.JPG") == {"beach": "embedded"}

    out, err = _import_saying(root, "--picasa-contacts", str(contacts))

    assert err == "" and "Picasa files read: 1 " in out and "Picasa contacts: 2 (contacts.xml" in out
    assert tags("IMG_0001.JPG") == {"John Smith": "embedded", "Mary Smith": "embedded"}
    assert tags("IMG_0002.JPG") == {"beach": "embedded", "Mary Smith": "embedded"}
    assert "Picasa files unchanged since they were last read: 1 " in _import(root, "--picasa-contacts", str(contacts))

    assert "Picasa files read: 1 " in _import(root)  # (without it: read again, its names kept)
    assert tags("IMG_0002.JPG") == {"beach": "embedded", "Mary Smith": "embedded"}
    assert PhotoXmpSidecar.objects.get(photo__original_filename="IMG_0002.JPG").contact_names == {MARY: "Mary Smith"}
    # Changed in Picasa, read without it again and again: the name it gave stays, what Picasa took off goes.
    for keywords, kept in (("sea", {"sea", "Mary Smith"}), ("", {"Mary Smith"})):
        write(root, {".picasa.ini": ini(contacts={JOHN: "John Smith"}, photos={
            "IMG_0001.JPG": {"faces": faces(JOHN, MARY)},
            "IMG_0002.JPG": {"faces": faces(MARY), "keywords": keywords}})})
        _import(root)
        assert tags("IMG_0002.JPG") == dict.fromkeys(kept, "embedded")
    # Mary's face untagged in Picasa: her name goes too.
    write(root, {".picasa.ini": ini(contacts={JOHN: "John Smith"}, photos={"IMG_0001.JPG": {"faces": faces(JOHN)}})})
    _import(root)
    assert tags("IMG_0001.JPG") == {"John Smith": "embedded"}


UNKNOWN = "0123456789abcdef"  # (a contact neither the file's [Contacts2] nor contacts.xml names)


def test_a_face_picasa_cannot_name_keeps_nothing_else_from_being_taken_off(tmp_path, family, alice):
    """A face of a contact whose name is not known made the photo's people not known whole (36f48c1): no keyword nor
    person taken off in Picasa left it, nor one taken off in its XMP sidecar (digiKam's), and each change to the
    folder's file read it again (exiv2). Such a face keeps only the name contacts.xml gave it once (below)."""
    root = write(tmp_path / "Pictures", {
        "IMG_0001.JPG": picture(), "IMG_0001.JPG.xmp": sidecar_xml(subject=["kite", "wind"]),
        ".picasa.ini": ini(contacts={JOHN: "John Smith"}, photos={
            "IMG_0001.JPG": {"faces": faces(JOHN, UNNAMED, UNKNOWN), "keywords": "beach,sea"}})})
    _import(root)
    assert tags("IMG_0001.JPG") == dict.fromkeys(["kite", "wind", "John Smith", "beach", "sea"], "embedded")
    # John's face untagged and "sea" taken off in Picasa; "wind" taken off in digiKam.
    write(root, {"IMG_0001.JPG.xmp": sidecar_xml(subject=["kite"]), ".picasa.ini": ini(
        contacts={JOHN: "John Smith"},
        photos={"IMG_0001.JPG": {"faces": faces(UNNAMED, UNKNOWN), "keywords": "beach"}})})

    out = _import(root)

    assert tags("IMG_0001.JPG") == {"kite": "embedded", "beach": "embedded"}
    assert "2 keywords removed" in out
    picasa = PhotoXmpSidecar.objects.get(path__endswith=".picasa.ini")
    assert picasa.keywords == ["beach"] and picasa.contact_names is None


@pytest.mark.parametrize("known", [None, {MARY: "Mary Smith"}], ids=["without contacts.xml", "lacking it"])
def test_a_contact_whose_name_picasa_left_empty_gives_no_tag_and_the_import_goes_on(tmp_path, family, alice, caplog,
                                                                                     known):
    """`[Contacts2]` `e54a…=;;`: a contact whose name is empty, whose face is named by no one (as an unnamed face, not
    one of a contact the file lacks). The import stopped on it (KeyError) when contacts.xml was not given or lacked
    it."""
    root = write(tmp_path / "Pictures", {"IMG_0001.JPG": picture(), ".picasa.ini": ini(
        contacts={JOHN: ""}, photos={"IMG_0001.JPG": {"faces": faces(JOHN), "keywords": "beach"}})})
    args = ()
    if known is not None:
        (tmp_path / "contacts.xml").write_bytes(contacts_xml(known))
        args = ("--picasa-contacts", str(tmp_path / "contacts.xml"))

    with caplog.at_level(logging.INFO):
        assert "Imported 1," in _import(root, *args)

    assert tags("IMG_0001.JPG") == {"beach": "embedded"}
    assert "not in its [Contacts2]" not in caplog.text


def test_a_contact_id_written_without_its_leading_zeros_is_the_same_contact(tmp_path, family, alice):
    """Picasa writes a contact id as a number, its leading zeros dropped (`rect64(…),d04ca592f8868c2`), in a face, in
    [Contacts2] or in contacts.xml alike: one id however many digits it has. contacts.xml's name of such a face was
    not in the file's fingerprint (16 digits were looked for), so a library imported without it was not read again
    with it; nor was that of a contact whose [Contacts2] name is empty."""
    short, ann = "d04ca592f8868c2", "0a1b2c3d4e5f6071"
    root = write(tmp_path / "Pictures", {"IMG_0001.JPG": picture(), ".picasa.ini": ini(
        contacts={ann: "Ann", "0" + short: ""}, photos={"IMG_0001.JPG": {"faces": faces(short, ann.lstrip("0"))}})})
    (tmp_path / "contacts.xml").write_bytes(contacts_xml({"0" + short: "Mary Smith"}))
    _import(root)
    assert tags("IMG_0001.JPG") == {"Ann": "embedded"}

    out = _import(root, "--picasa-contacts", str(tmp_path / "contacts.xml"))

    assert "Picasa files read: 1 " in out
    assert tags("IMG_0001.JPG") == {"Ann": "embedded", "Mary Smith": "embedded"}


@pytest.mark.parametrize("content", [
    pytest.param(None, id="missing"),
    pytest.param("folder", id="a folder"),
    pytest.param("fifo", id="a FIFO"),  # (would wait for a writer for ever)
    pytest.param(b"", id="empty"),
    pytest.param(b"[Contacts2]\ne54a1b8b4c2d5e34=Mary;;\n", id="no XML"),
    pytest.param(b'<?xml version="1.0"?><contacts><contact id="8e62398ebda8c1a5" name="Mary', id="cut short"),
    pytest.param(b'<?xml version="1.0"?><!DOCTYPE c [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
                 b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]><contacts><contact id="8e62398ebda8c1a5" name="&c;"/>'
                 b'</contacts>', id="billion laughs"),
    pytest.param(b'<?xml version="1.0"?><!DOCTYPE c [<!ENTITY x SYSTEM "file:///etc/passwd">]><contacts>'
                 b'<contact id="8e62398ebda8c1a5" name="&x;"/></contacts>', id="external entity"),
    pytest.param(b'<?xml version="1.0"?><contacts/>', id="no contact"),
    pytest.param(b"<contacts>" + b'<contact id="8e62398ebda8c1a5" name="Mary"/>' * 400 + b"</contacts>",
                 id="too large"),
])
def test_a_contacts_xml_that_cant_be_read_is_said_in_one_line_and_the_import_goes_on(tmp_path, family, alice,
                                                                                      monkeypatch, content):
    monkeypatch.setattr(picasa_ini, "CONTACTS_MAX_BYTES", 16 * 1024)
    root = write(tmp_path / "Pictures", {"IMG_0001.JPG": picture(), ".picasa.ini": ini(
        contacts={JOHN: "John Smith"}, photos={"IMG_0001.JPG": {"faces": faces(JOHN, MARY)}})})
    contacts = tmp_path / "contacts.xml"
    if content == "folder":
        contacts.mkdir()
    elif content == "fifo":
        os.mkfifo(contacts)
    elif content is not None:
        contacts.write_bytes(content)

    out, err = _import_saying(root, "--picasa-contacts", str(contacts))

    assert err.count("\n") == 1 and err.startswith(f"--picasa-contacts {contacts}: not read (")
    assert "the import goes on without it" in err and "passwd" not in err and "root:" not in err
    assert "Imported 1," in out and "Picasa contacts" not in out
    assert tags("IMG_0001.JPG") == {"John Smith": "embedded"}


def test_a_contacts_xml_in_utf_16_is_read(tmp_path, family, alice):
    """XML says its encoding by a byte-order mark: a contacts.xml saved as UTF-16 (an editor's "Unicode") is read."""
    root = write(tmp_path / "Pictures", {"IMG_0001.JPG": picture(), ".picasa.ini": ini(
        photos={"IMG_0001.JPG": {"faces": faces(MARY)}})})
    contacts = tmp_path / "contacts.xml"
    contacts.write_bytes(contacts_xml({MARY: "Zoë Smith"}).decode().replace('"utf-8"', '"utf-16"').encode("utf-16"))

    out, err = _import_saying(root, "--picasa-contacts", str(contacts))

    assert err == "" and "Picasa contacts: 1 " in out
    assert tags("IMG_0001.JPG") == {"Zoë Smith": "embedded"}


@pytest.mark.parametrize("with_contacts", [False, True])
def test_an_unchanged_library_of_captions_albums_and_contacts_costs_no_query_per_photo(tmp_path, family, alice,
                                                                                        with_contacts):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def library(n: int) -> dict[str, bytes]:
        return {f"IMG_{i:04}.JPG": picture() for i in range(n)} | {".picasa.ini": album_ini(
            {BEST: {"name": "Best of 2009"}}, {f"IMG_{i:04}.JPG": {"faces": faces(MARY), "caption": f"Photo {i}",
                                                                  "albums": BEST} for i in range(n)})}

    contacts = tmp_path / "contacts.xml"
    contacts.write_bytes(contacts_xml({MARY: "Mary Smith"}))
    args = ("--picasa-contacts", str(contacts)) if with_contacts else ()
    root = write(tmp_path / "Pictures", library(2))
    _import(root, *args)

    def queries() -> int:
        with CaptureQueriesContext(connection) as run:
            out = _import(root, *args)
        assert "Picasa files unchanged since they were last read: 1 " in out and "Picasa files read" not in out
        return len(run.captured_queries)

    few = queries()
    write(root, library(6))
    _import(root, *args)
    assert queries() == few
    assert Album.objects.get().entries.count() == Photo.objects.count() == 8  # (library(6) wrote 6 new photos)
    assert tags("IMG_0005.JPG") == ({"Mary Smith": "embedded"} if with_contacts else {})


def test_a_picasa_files_keywords_are_told_apart_as_the_database_tells_tag_names_apart(tmp_path, family, alice):
    """Kept once by Python's str.lower(): "İstanbul" and "istanbul" were two keywords, though one tag; told apart by
    the database's key now (folded: "ΟΔΟΣ" and "οδος" one name, as a member typing both gets one tag)."""
    root = write(tmp_path / "Pictures", {
        "IMG_0001.JPG": picture(),
        ".picasa.ini": ini(photos={"IMG_0001.JPG": {"keywords": "ΟΔΟΣ,οδος,İstanbul,istanbul"}}),
    })
    _import(root)

    assert tags("IMG_0001.JPG") == {"ΟΔΟΣ": "embedded", "İstanbul": "embedded"}


def test_an_import_of_a_folder_with_sidecars_and_a_picasa_file_reads_each_names_key_once(tmp_path, family, alice):
    """The XMP sidecars' and the Picasa file's names became tags through the run's keys (TagKeys) on a first import,
    but each photo whose sidecar and Picasa file changed since read its names' keys (names_folded) four times again
    (each one's names, and those the other gave): 80 reads for a folder of 20 photos. The run's keys serve the whole
    import now; the counts are pinned."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    names = [f"IMG_{i:04}.JPG" for i in range(20)]
    root = write(tmp_path / "Pictures", {name: picture(xmp={"Xmp.dc.subject": ["Lisbon"]}) for name in names})

    def sidecars(keywords: tuple[str, ...], people: str) -> dict[str, bytes]:
        return ({f"{name}.xmp": sidecar_xml(subject=keywords) for name in names}
                | {".picasa.ini": ini(contacts={JOHN: people, MARY: "Mary"},
                                      photos={name: {"faces": faces(JOHN, MARY), "keywords": "kite,beach"}
                                              for name in names})})

    write(root, sidecars(("Summer", "Grandma"), "John"))
    with CaptureQueriesContext(connection) as first:
        assert "Imported 20," in _import(root)
    assert tags("IMG_0007.JPG") == dict.fromkeys(["Lisbon", "Summer", "Grandma", "John", "Mary", "kite", "beach"],
                                                 "embedded")
    write(root, sidecars(("Summer", "Grandpa"), "Johnny"))
    with CaptureQueriesContext(connection) as again:
        assert "Imported 0, already there 20," in _import(root)
    assert tags("IMG_0007.JPG") == dict.fromkeys(["Lisbon", "Summer", "Grandpa", "Johnny", "Mary", "kite", "beach"],
                                                 "embedded")
    # (the new names of the sidecars' first photo, of its Picasa file's, and the names of the Picasa file's that it
    # keeps from the XMP sidecar's: three sets, whatever the number of photos; 1 and 80 before)
    assert (name_key_reads(first.captured_queries), name_key_reads(again.captured_queries)) == (1, 3)
    # (774 and 1175 before; the re-import reads each changed XMP sidecar's photo's name once, 20 reads, for the rule
    # that a title that is only the photo's name is no title: gallery.embedded.without_file_name_title; and one look for
    # the names merged away, TagMerge, each time the run makes tags: _names_merged_followed)
    assert len(first.captured_queries) <= 675 and len(again.captured_queries) <= 1120


def test_picasa_album_names_are_told_apart_as_the_gallery_tells_album_names_apart(tmp_path, family, alice):
    """A Picasa file's album names were merged by Python's str.lower() ("STRAẞE" and "straße" one album), while the
    gallery found an album by its name as PostgreSQL's upper() reads it (name__iexact): there those were two albums.
    The gallery now finds an album by its name folded, as tag names (album_find_or_create: same_name, which "New
    album…" uses too): "STRAẞE", "straße" and "Strasse" are one album, "ΟΔΟΣ" and "οδος" one, and a name differing
    from an album the family has by letter case alone is that album. Picasa's albums follow that one rule."""
    album_create(user=alice, family=family, name="Summer TRIP")
    names = {"t1": "ΟΔΟΣ", "t2": "οδος", "t3": "STRAẞE", "t4": "straße", "t5": "summer trip", "t6": "Strasse"}
    root = write(tmp_path / "Pictures", {
        "IMG_0001.JPG": picture(), "IMG_0002.JPG": picture(), "IMG_0003.JPG": picture(),
        ".picasa.ini": album_ini({token: {"name": name} for token, name in names.items()}, {
            "IMG_0001.JPG": {"albums": "t1,t3,t5"}, "IMG_0002.JPG": {"albums": "t2,t6"},
            "IMG_0003.JPG": {"albums": "t1,t2,t3,t4"}})})

    out = _import(root)

    assert sorted(Album.objects.values_list("name", flat=True)) == ["STRAẞE", "Summer TRIP", "ΟΔΟΣ"]
    assert album_photos("ΟΔΟΣ") == ["IMG_0001.JPG", "IMG_0002.JPG", "IMG_0003.JPG"]
    assert album_photos("STRAẞE") == ["IMG_0001.JPG", "IMG_0002.JPG", "IMG_0003.JPG"]
    assert album_photos("Summer TRIP") == ["IMG_0001.JPG"]
    assert "ΟΔΟΣ (3 photos put in)" in out


def test_a_library_imported_before_keeps_its_photos_in_the_album_the_old_rule_merged(tmp_path, family, alice):
    """The reader before (version 3) merged a file's album names by Python's str.lower(): "straße"'s photos went into
    "STRAẞE". Its version was not raised when album names came to be told apart otherwise, so the next import found
    each file unchanged and read none. It is raised: the file is read once more; "straße" is "STRAẞE" to the gallery
    too now (album names fold as tag names do), so no second album is made, and what the old rule put in "STRAẞE"
    stays there."""
    data = album_ini({"t3": {"name": "STRAẞE"}, "t4": {"name": "straße"}},
                     {"IMG_0001.JPG": {"albums": "t3"}, "IMG_0002.JPG": {"albums": "t4"}})
    root = write(tmp_path / "Pictures", {"IMG_0001.JPG": picture(), "IMG_0002.JPG": picture(), ".picasa.ini": data})
    _import(root)
    # As the reader before left them (the two names one album, as the gallery reads them now), the file
    # fingerprinted by version 3.
    assert sorted(Album.objects.values_list("name", flat=True)) == ["STRAẞE"]
    PhotoXmpSidecar.objects.update(sha256=reader_fingerprint(b"picasa ini", 3, data))

    out = _import(root)

    assert "Picasa files read: 1 " in out
    assert sorted(Album.objects.values_list("name", flat=True)) == ["STRAẞE"]
    assert album_photos("STRAẞE") == ["IMG_0001.JPG", "IMG_0002.JPG"]


def test_max_names_bounds_the_names_a_photo_takes_from_a_picasa_file(tmp_path, caplog):
    """Spellings of one name count once against MAX_NAMES, but a name had no bound on its spellings: one keywords line
    of case variants (16 of each of 800 names) gave a photo 7,744 names, and faces= has no length limit. A photo takes
    at most 2 * MAX_NAMES names whatever their spellings, with the log line."""
    words = ["".join(letters) for letters in itertools.product(*[(c, c.upper()) for c in "abcd"])]  # 16 spellings
    stems = [f"{a}{b}" for a in "efghijklmnopqrstuvwxyz" for b in "efghijklmnopqrstuvwxyz"][:800]
    keywords = ",".join(stem[0] + word + stem[1] for stem in stems for word in words)
    path = write(tmp_path, {".picasa.ini": ini(photos={"IMG_0001.JPG": {"keywords": keywords}})}) / ".picasa.ini"

    with caplog.at_level(logging.WARNING, logger="gallery.picasa_ini"):
        entry = picasa_ini.read_picasa_ini(path).entry("IMG_0001.JPG")

    assert len(entry.keywords) == 2 * picasa_ini.MAX_NAMES
    assert f"names past the first {picasa_ini.MAX_NAMES} left out" in caplog.text


def test_a_photos_album_names_count_against_max_albums_as_the_gallery_finds_albums(tmp_path, caplog):
    """An album name in another letter case is the same album where albums are found (by upper()), but counted against
    MAX_ALBUMS as written: a later spelling of a kept album was "left out" with a log line, and stopped the reading.
    Spellings of one album count once, and a photo takes at most twice MAX_ALBUMS names as written."""
    count = picasa_ini.MAX_ALBUMS
    albums = ({f"t{n}": {"name": f"Album {n}"} for n in range(count)}
              | {f"u{n}": {"name": f"ALBUM {n}"} for n in range(count)}
              | {f"v{n}": {"name": f"album {n}"} for n in range(count)})
    path = write(tmp_path, {".picasa.ini": album_ini(albums, {
        "IMG_0001.JPG": {"albums": ",".join([*(f"t{n}" for n in range(count)), "u0"])},
        "IMG_0002.JPG": {"albums": ",".join(albums)}})}) / ".picasa.ini"
    read = picasa_ini.read_picasa_ini(path)

    with caplog.at_level(logging.WARNING, logger="gallery.picasa_ini"):
        assert read.entry("IMG_0001.JPG").albums[-2:] == (f"Album {count - 1}", "ALBUM 0")
    assert "left out" not in caplog.text
    with caplog.at_level(logging.WARNING, logger="gallery.picasa_ini"):
        assert len(read.entry("IMG_0002.JPG").albums) == 2 * count
    assert f"albums past the first {count} left out" in caplog.text


def test_a_photos_names_in_other_letter_cases_count_once_against_max_names(tmp_path):
    """A photo's names were cut at MAX_NAMES as written: "k1" and "K1" counted as two, so a file listing each keyword
    in two cases lost half its names (and the last ones). Spellings of one name count once (their case folded; where
    they become tags, the database tells them apart)."""
    keywords = ",".join(f"k{n},K{n}" for n in range(picasa_ini.MAX_NAMES - 1)) + ",last"
    path = write(tmp_path, {".picasa.ini": ini(photos={"IMG_0001.JPG": {"keywords": keywords}})}) / ".picasa.ini"

    entry = picasa_ini.read_picasa_ini(path).entry("IMG_0001.JPG")

    assert len(entry.keywords) == 2 * (picasa_ini.MAX_NAMES - 1) + 1 and entry.keywords[-1] == "last"


def test_a_picasa_file_read_before_its_keywords_were_kept_as_written_reads_no_photo_again_for_them(
        tmp_path, family, alice):
    """The reader before kept "Beach" of a file listing "Beach,beach" (merged by Python's str.lower()); read as written
    now, the two spellings differed from what was kept, and the next change of the file (a star given to another
    photo) read the photo again (its file through exiv2, its row locked) for keywords it has. They are compared by
    their keys, as their tags are told apart."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def library(**other: str) -> dict[str, bytes]:
        return {".picasa.ini": ini(photos={"IMG_0001.JPG": {"keywords": "Beach,beach"}, "IMG_0002.JPG": other})}

    root = write(tmp_path / "Pictures", {"IMG_0001.JPG": picture(), "IMG_0002.JPG": picture()} | library())
    _import(root)
    PhotoXmpSidecar.objects.filter(photo__original_filename="IMG_0001.JPG").update(keywords=["Beach"])
    write(root, library(star="yes"))
    with CaptureQueriesContext(connection) as run:
        _import(root)

    locked = [query["sql"] for query in run.captured_queries
              if 'FROM "gallery_photo"' in query["sql"] and query["sql"].endswith("FOR UPDATE")]
    assert locked == []
    assert tags("IMG_0001.JPG") == {"Beach": "embedded"}
