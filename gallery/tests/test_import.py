from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from gallery.models import Photo
from tests import images
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


RED, GREEN, BLUE = images.jpeg(colour=(220, 0, 0)), images.image_bytes("PNG", colour=(0, 220, 0)), images.image_bytes(
    "WEBP", colour=(0, 0, 220))


@pytest.fixture
def photo_dir(tmp_path) -> Path:
    root = tmp_path / "Pictures"
    files = {
        "2019/summer/beach.jpg": RED,
        "2019/garden.png": GREEN,
        "2020/winter/deep/er/snow.webp": BLUE,
        "2020/broken.jpg": images.truncated_jpeg(),
        "notes.txt": images.TEXT,
        ".thumbnails/cache.jpg": images.jpeg(colour=(1, 1, 1)),  # hidden folders are not photos
    }
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def _import(directory, *args) -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_photos", str(directory), *args, "--no-progress", stdout=out, stderr=err)
    return out.getvalue()


def test_import_walks_nested_folders_and_reports_what_it_skipped(photo_dir, family, alice):
    out = _import(photo_dir, "--family", "Smiths", "--user", "alice")

    photos = Photo.objects.filter(family=family)
    assert sorted(photos.values_list("original_filename", flat=True)) == ["beach.jpg", "garden.png", "snow.webp"]
    assert all(p.uploaded_by == alice and p.status == Photo.Status.PENDING for p in photos)
    with photos.get(original_filename="snow.webp").original.open("rb") as f:
        assert f.read() == BLUE
    assert "Imported 3, already there 0, unreadable 1, not photos 1 (of 5 files) into Smiths." in out
    assert "skipped 2020/broken.jpg: The file is incomplete (cut off)" in out
    assert "not photos, left out: 1 .txt" in out
    assert "cache.jpg" not in out


def test_rerunning_the_import_adds_nothing(photo_dir, family, alice):
    _import(photo_dir, "--family", "Smiths", "--user", "alice")
    before = set(Photo.objects.values_list("pk", flat=True))

    out = _import(photo_dir, "--family", "smiths", "--user", "alice")

    assert set(Photo.objects.values_list("pk", flat=True)) == before
    assert "Imported 0, already there 3, unreadable 1, not photos 1 (of 5 files) into Smiths." in out


def test_a_resumed_import_adds_only_the_new_files(photo_dir, family, alice):
    _import(photo_dir, "--family", "Smiths", "--user", "alice")
    (photo_dir / "2021").mkdir()
    (photo_dir / "2021" / "new.jpg").write_bytes(images.jpeg(colour=(5, 99, 5)))
    (photo_dir / "2021" / "copy of beach.jpg").write_bytes(RED)

    out = _import(photo_dir, "--family", "Smiths", "--user", "alice")

    assert Photo.objects.count() == 4
    assert "Imported 1, already there 4, unreadable 1, not photos 1 (of 7 files)" in out


def test_rerunning_the_import_leaves_a_photo_the_family_moved_to_the_trash_in_the_trash(photo_dir, family, alice):
    """Re-run to pick up new files, an import must not undo the family's deletions (a bad shot, the copy the
    Duplicates page trashed): the file's photo stays in the trash, and the summary says so."""
    from gallery.trash_services import photos_trash

    _import(photo_dir, "--family", "Smiths", "--user", "alice")
    beach = Photo.objects.get(original_filename="beach.jpg")
    photos_trash(user=alice, photo_ids=[beach.pk])

    out = _import(photo_dir, "--family", "Smiths", "--user", "alice")

    assert Photo.all_objects.get(pk=beach.pk).trashed_at is not None
    assert Photo.all_objects.filter(family=family).count() == 3
    assert ("Imported 0, already there 2, in the trash 1 (left there), unreadable 1, not photos 1 (of 5 files) into "
            "Smiths.") in out


def test_rerunning_the_import_does_not_bring_back_a_photo_deleted_for_good(photo_dir, family, alice, other_family,
                                                                         mallory, client_for):
    """Once the trash was emptied (or purged after TRASH_DAYS), a re-run imported the deleted photo again: a nightly
    import of a phone's folder undid every deletion. The family's deleted bytes are remembered and left out, said
    in the summary; --include-deleted brings them back, and so does choosing the file on the upload page."""
    from gallery.models import DeletedPhoto
    from gallery.trash_services import photos_purge, photos_trash, trash_empty

    _import(photo_dir, "--family", "Smiths", "--user", "alice")
    beach, garden = Photo.objects.get(original_filename="beach.jpg"), Photo.objects.get(original_filename="garden.png")
    photos_trash(user=alice, photo_ids=[beach.pk, garden.pk])
    photos_purge(user=alice, photo_ids=[beach.pk])
    trash_empty(user=alice, family=family)
    assert DeletedPhoto.objects.filter(family=family).count() == 2

    out = _import(photo_dir, "--family", "Smiths", "--user", "alice")
    assert sorted(Photo.objects.filter(family=family).values_list("original_filename", flat=True)) == ["snow.webp"]
    assert ("Imported 0, already there 1, deleted for good before 2 (left out: --include-deleted imports them "
            "again), unreadable 1, not photos 1 (of 5 files) into Smiths.") in out
    # Another family's deletions are its own.
    from gallery.models import Membership

    Membership.objects.create(family=other_family, user=alice)
    assert "Imported 3" in _import(photo_dir, "--family", "Joneses", "--user", "alice")

    # Chosen on the upload page, the file is wanted after all: stored, and no longer left out.
    client_for(alice).post(reverse("gallery:upload"), {"family": family.pk, "files": [
        _named(RED, "beach.jpg")]})
    assert Photo.objects.filter(family=family, original_filename="beach.jpg").exists()
    assert list(DeletedPhoto.objects.filter(family=family).values_list("sha256", flat=True)) == [garden.sha256]

    out = _import(photo_dir, "--family", "Smiths", "--user", "alice", "--include-deleted")
    # (the page's upload, dated by the upload, is dated now by its folder, "2019": test_folder_dates.py)
    assert "Imported 1, already there 2 (1 dated now by the name of its folder), unreadable 1" in out
    assert not DeletedPhoto.objects.filter(family=family).exists()


def _named(data: bytes, name: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def test_a_deleted_familys_photos_are_not_remembered_as_deleted(photo_dir, family, alice):
    from gallery.models import DeletedPhoto
    from gallery.services import family_delete

    _import(photo_dir, "--family", "Smiths", "--user", "alice")
    family_delete(family=family)
    assert not DeletedPhoto.objects.exists()


def test_a_file_without_a_date_is_dated_by_its_modified_time_not_the_imports(photo_dir, family, alice, client_for):
    """A scan or a chat app's copy tells no date: imported, it landed on the day of the import, with every other
    such file. Its modified time is the better guess, said as such; an upload from the page keeps the upload time
    (a browser's file times are the moment it was picked or copied)."""
    import os
    from datetime import datetime, timezone as dt_timezone

    when = datetime(2019, 6, 1, 9, 30, tzinfo=dt_timezone.utc)  # (in the year its folder, "2019", tells: it says more)
    os.utime(photo_dir / "2019" / "summer" / "beach.jpg", (when.timestamp(), when.timestamp()))
    os.utime(photo_dir / "2019" / "garden.png", (4102444800, 4102444800))  # 2100: a clock that was wrong
    _import(photo_dir, "--family", "Smiths", "--user", "alice")
    beach = Photo.objects.get(original_filename="beach.jpg")
    assert (beach.taken_at, beach.taken_at_source) == (when, Photo.DateSource.FILE)
    # (no modified time to trust: its folder's year, "2019", rather than the import's moment: test_folder_dates.py)
    assert Photo.objects.get(original_filename="garden.png").taken_at_source == Photo.DateSource.FOLDER_YEAR
    page = client_for(alice).get(beach.get_absolute_url()).content.decode()
    assert "the file&#x27;s modified time" in page or "the file's modified time" in page
    assert beach.taken_at_is_an_instant  # moved to another zone, it stays that moment


def test_file_names_that_are_no_text_are_imported_with_what_can_be_read_of_them(tmp_path, family, alice, client_for):
    """A name in another encoding (Latin-1 bytes from an old camera card or a zip) is no UTF-8: it crashed the import
    (the whole batch rolled back, the summary's print of such a name too). Such names are kept readable instead, and
    a control character in a name is dropped, as text read from files loses them."""
    import os

    root = tmp_path / "Pictures"
    root.mkdir()
    os.makedirs(os.fsencode(root) + b"/caf\xe9", exist_ok=True)
    (Path(os.fsdecode(os.fsencode(root) + b"/caf\xe9/d\xe9jeuner.jpg"))).write_bytes(RED)
    (Path(os.fsdecode(os.fsencode(root) + b"/cass\xe9.jpg"))).write_bytes(images.truncated_jpeg())
    (root / "line\nbreak.jpg").write_bytes(GREEN)
    (root / "fine.webp").write_bytes(BLUE)
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")  # a terminal's stdout: no surrogates

    call_command("import_photos", str(root), "--family", "Smiths", "--user", "alice", "--no-progress", stdout=out,
                 stderr=io.StringIO())

    out.seek(0)
    printed = out.read()
    assert "Imported 3, already there 0, unreadable 1 (of 4 files) into Smiths." in printed
    assert "skipped cass\ufffd.jpg: The file is incomplete" in printed
    names = sorted(Photo.objects.filter(family=family).values_list("original_filename", flat=True))
    assert names == ["d\ufffdjeuner.jpg", "fine.webp", "line break.jpg"]  # (a line break parts words, as a space)
    client = client_for(alice)
    for photo in Photo.objects.filter(family=family):
        response = client.get(reverse("gallery:photo_original", args=[photo.pk]))
        assert response.status_code == 200 and "\n" not in response["Content-Disposition"]


def test_a_link_to_a_folder_is_not_followed_and_the_summary_says_so(photo_dir, tmp_path, family, alice):
    """A linked folder (~/Pictures/Phone -> /mnt/phone) was passed over without a word: its photos never came."""
    elsewhere = tmp_path / "Phone"
    elsewhere.mkdir()
    (elsewhere / "from-the-phone.jpg").write_bytes(images.jpeg(colour=(9, 200, 9)))
    (photo_dir / "2020" / "Phone").symlink_to(elsewhere, target_is_directory=True)

    out = _import(photo_dir, "--family", "Smiths", "--user", "alice")

    assert not Photo.objects.filter(original_filename="from-the-phone.jpg").exists()
    assert "not followed: 2020/Phone is a link to a folder; import " + str(elsewhere) + " on its own" in out


def test_import_tags_every_photo(photo_dir, family, alice):
    _import(photo_dir, "--family", "Smiths", "--user", "alice", "--tag", "Scanned", "--tag", "box 3")
    for photo in Photo.objects.all():
        assert sorted(t.name for t in photo.tags.all()) == ["Scanned", "box 3"]


def test_the_same_files_can_go_into_another_family(photo_dir, family, alice, other_family, mallory):
    _import(photo_dir, "--family", "Smiths", "--user", "alice")
    out = _import(photo_dir, "--family", "Joneses", "--user", "mallory")
    assert "Imported 3, already there 0" in out
    assert Photo.objects.filter(family=other_family).count() == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--family", "Nobody", "--user", "alice"], "No family called “Nobody”"),
        (["--family", "Smiths", "--user", "ghost"], "No user “ghost”"),
        (["--family", "Smiths", "--user", "outsider"], "outsider is not a member of Smiths"),
    ],
    ids=["unknown-family", "unknown-user", "not-a-member"],
)
def test_import_refuses_unknown_family_or_user(photo_dir, family, alice, args, message):
    UserFactory(username="outsider")
    with pytest.raises(CommandError, match=message):
        _import(photo_dir, *args)
    assert not Photo.objects.exists()


def test_import_refuses_a_missing_directory(tmp_path, family, alice):
    with pytest.raises(CommandError, match="Not a directory"):
        _import(tmp_path / "nope", "--family", "Smiths", "--user", "alice")


def test_import_puts_every_photo_in_an_album_and_each_folders_in_its_own(photo_dir, family, alice, mallory,
                                                                          other_family):
    """--album NAME: every photo of the import goes in the family's album of that name (made when it has none, used
    when it has); --album-per-folder: each folder's photos in an album named as the folder (the folder given makes
    none). A re-run adds nothing twice; another family's album of that name is not touched."""
    from gallery.album_services import album_create
    from gallery.models import Album

    theirs = album_create(user=mallory, family=other_family, name="Scans 2019")
    out = _import(photo_dir, "--family", "Smiths", "--user", "alice", "--album", "Scans 2019", "--album-per-folder")
    again = _import(photo_dir, "--family", "Smiths", "--user", "alice", "--album", "Scans 2019", "--album-per-folder")

    albums = {a.name: sorted(p.original_filename for p in a.photos.all()) for a in Album.objects.filter(family=family)}
    # (the folder "2019", named by a date alone, makes none: test_folder_dates.py)
    assert albums == {"Scans 2019": ["beach.jpg", "garden.png", "snow.webp"], "summer": ["beach.jpg"],
                      "er": ["snow.webp"]}
    assert not theirs.photos.exists()
    assert "Albums: " in out and "Scans 2019 (3 photos put in)" in out and "summer (1 photo put in)" in out
    assert "Albums:" not in again

    # A nightly re-run does not undo a member's curation: a photo taken out of the album stays out; a new file goes in.
    from gallery.album_services import album_remove_photos
    scans = Album.objects.get(family=family, name="Scans 2019")
    album_remove_photos(user=alice, album=scans, photo_ids=[Photo.objects.get(original_filename="garden.png").pk])
    (photo_dir / "2019" / "new.jpg").write_bytes(images.jpeg(colour=(3, 200, 90)))
    third = _import(photo_dir, "--family", "Smiths", "--user", "alice", "--album", "Scans 2019")
    assert sorted(p.original_filename for p in scans.photos.all()) == ["beach.jpg", "new.jpg", "snow.webp"]
    assert "Albums: Scans 2019 (1 photo put in)" in third


def test_a_smart_album_of_the_name_is_said_and_no_plain_album_of_that_name_made_beside_it(photo_dir, family, alice,
                                                                                           caplog):
    """The import found the family's plain album of a name by its own query, which looked past a smart album of that
    name: --album "beach finds" made a plain "beach finds" beside the smart "Beach finds", two albums of one name.
    It finds (or makes) the album as "New album…" does: the smart album is named, no album made, the photos
    imported."""
    from gallery.models import Album

    smart = Album.objects.create(family=family, name="Beach finds", kind=Album.Kind.SMART, search={"q": "beach"},
                                 created_by=alice)

    out = _import(photo_dir, "--family", "Smiths", "--user", "alice", "--album", "beach finds")

    assert "Imported 3," in out and list(Album.objects.all()) == [smart]
    assert "album 'beach finds' not made: Smiths has a smart album named “Beach finds”" in caplog.text


def test_a_folder_named_with_decomposed_accents_fills_the_familys_album_of_that_name(tmp_path, family, alice):
    """--album-per-folder on folders copied from an old Mac (HFS+ names are decomposed: "u" + U+0308) made a second
    album "Müller" beside the family's own, the two looking the same, and one never found by typing its name. The
    folder's name is taken as text read from files is: accents composed, invisible marks left out."""
    from gallery.album_services import album_create
    from gallery.models import Album

    ours = album_create(user=alice, family=family, name="Müller")
    for name in ("Mu\u0308ller", "\u200bKo\u0308ln 2019"):
        (tmp_path / "NAS" / name).mkdir(parents=True)
    (tmp_path / "NAS" / "Mu\u0308ller" / "a.jpg").write_bytes(RED)
    (tmp_path / "NAS" / "\u200bKo\u0308ln 2019" / "b.png").write_bytes(GREEN)

    out = _import(tmp_path / "NAS", "--family", "Smiths", "--user", "alice", "--album-per-folder")

    assert sorted(Album.objects.filter(family=family).values_list("name", flat=True)) == ["Köln 2019", "Müller"]
    assert [p.original_filename for p in ours.photos.all()] == ["a.jpg"]
    assert "Müller (1 photo put in)" in out


def test_a_folder_whose_name_makes_no_album_is_named_in_the_warning(tmp_path, family, alice, caplog):
    """--album-per-folder on a folder named with spaces alone: the photos were imported, and the log said "album ''
    not made: An album needs a name.", naming neither the folder nor what became of its photos."""
    from gallery.models import Album

    (tmp_path / "NAS" / "   ").mkdir(parents=True)
    (tmp_path / "NAS" / "   " / "a.jpg").write_bytes(RED)

    out = _import(tmp_path / "NAS", "--family", "Smiths", "--user", "alice", "--album-per-folder")

    assert "Imported 1," in out and not Album.objects.exists()
    assert "no album made for the folder '   ' (its photos are imported): An album needs a name." in caplog.text


@pytest.mark.parametrize("name", ["", "x" * 101, "bell\x07"])
def test_import_refuses_an_album_name_no_album_may_have_before_reading_any_file(photo_dir, family, alice, name):
    with pytest.raises(CommandError, match="album"):
        _import(photo_dir, "--family", "Smiths", "--user", "alice", "--album", name)
    assert not Photo.objects.exists()


def test_import_with_more_tags_than_a_photo_may_carry_is_refused_before_reading_any_file(photo_dir, family, alice):
    tags = [arg for n in range(51) for arg in ("--tag", f"t{n}")]
    with pytest.raises(CommandError, match="At most 50 tags"):
        _import(photo_dir, "--family", family.name, "--user", alice.username, *tags)
    assert not Photo.objects.exists()


def test_a_nas_folder_s_thumbnail_cache_and_recycle_bin_are_not_imported(photo_dir, family, alice):
    """A Synology share keeps a thumbnail cache beside every photo (@eaDir/<name>/SYNOPHOTO_THUMB_*.jpg, up to
    five per photo) and deleted files in #recycle: importing the share imported all of them as family photos."""
    for name in ("2019/summer/@eaDir/beach.jpg/SYNOPHOTO_THUMB_M.jpg",
                 "2019/summer/@eaDir/beach.jpg/SYNOPHOTO_THUMB_XL.jpg", "#recycle/deleted-long-ago.jpg",
                 "#snapshot/2019/garden.jpg"):
        path = photo_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(images.jpeg(colour=(len(name), 9, 9)))

    out = _import(photo_dir, "--family", "Smiths", "--user", "alice")

    assert sorted(Photo.objects.filter(family=family).values_list("original_filename", flat=True)) == [
        "beach.jpg", "garden.png", "snow.webp"]
    assert "Imported 3, already there 0, unreadable 1, not photos 1 (of 5 files) into Smiths." in out


def test_the_walk_does_not_go_into_the_folders_it_leaves_out(photo_dir, family, alice, monkeypatch, settings):
    """The folders left out (hidden ones, a NAS's thumbnail caches and recycle bins, the photo storage) were listed
    to their last file and only then dropped: on a NAS share of 100,000 photos, half a million cached thumbnails read
    over the network before the first photo, and `import_photos ~` listed every file of the app's .venv."""
    settings.MEDIA_ROOT = photo_dir / "storage"
    for name in ("2019/@eaDir/beach.jpg/SYNOPHOTO_THUMB_M.jpg", "#recycle/old/gone.jpg", ".venv/lib/icon.png",
                 "storage/originals/1/kept.jpg"):
        path = photo_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(images.jpeg(colour=(len(name), 9, 9)))
    listed = []
    scandir = os.scandir

    def listing(path="."):
        listed.append(Path(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", listing)

    out = _import(photo_dir, "--family", "Smiths", "--user", "alice")

    left_out = [photo_dir / "2019" / "@eaDir", photo_dir / "#recycle", photo_dir / ".venv", photo_dir / "storage"]
    assert listed and not [path for path in listed if any(path.is_relative_to(folder) for folder in left_out)]
    assert "left out: storage, the gallery's own photo storage (MEDIA_ROOT)" in out
    assert sorted(Photo.objects.filter(family=family).values_list("original_filename", flat=True)) == [
        "beach.jpg", "garden.png", "snow.webp"]


def test_a_link_to_a_missing_file_is_named_not_passed_over(photo_dir, tmp_path, family, alice):
    """A link to a file on a drive that is not mounted (~/Pictures/best.jpg -> /mnt/usb/best.jpg) was left out
    without a word, and out of the count: its photo never came."""
    (photo_dir / "best.jpg").symlink_to(tmp_path / "usb" / "best.jpg")

    out = _import(photo_dir, "--family", "Smiths", "--user", "alice")

    assert "Imported 3, already there 0, unreadable 2, not photos 1 (of 6 files) into Smiths." in out
    assert f"skipped best.jpg: it is a link to {tmp_path / 'usb' / 'best.jpg'}, which is missing" in out


def _ctrl_c_at_the_fourth_file(monkeypatch) -> None:
    """The person presses Ctrl-C while the fourth file is imported, two files to a commit."""
    from tqdm import tqdm

    from gallery.management import backfill
    from gallery.management.commands import import_photos

    class StoppedAfterFour(tqdm):
        files = 0

        def update(self, n=1):
            StoppedAfterFour.files += n
            if StoppedAfterFour.files == 4:
                raise KeyboardInterrupt
            return super().update(n)

    monkeypatch.setattr(import_photos, "COMMIT_EVERY", 2)
    monkeypatch.setattr(backfill, "tqdm", StoppedAfterFour)  # (the bar of every command: progress_bar)


def test_an_import_stopped_with_ctrl_c_says_what_was_kept_and_leaves_no_files_behind(photo_dir, family, alice,
                                                                                      monkeypatch):
    """Ctrl-C during a long import printed a traceback and nothing else: not what was kept (every file since the
    last commit is rolled back), nor that running the command again goes on. The files of the photos rolled back
    stayed in storage with no row, for the daily sweep."""
    from datetime import timedelta

    from gallery.files import orphan_files

    _ctrl_c_at_the_fourth_file(monkeypatch)
    out = io.StringIO()
    with pytest.raises(CommandError, match="Interrupted") as stopped:
        try:
            call_command("import_photos", str(photo_dir), "--family", "Smiths", "--user", "alice", "--no-progress",
                         stdout=out, stderr=io.StringIO())
        except KeyboardInterrupt:  # (left to escape, it would stop the whole test run)
            pytest.fail("the command let Ctrl-C through as a traceback")

    assert stopped.value.returncode == 130  # (a shell's code for a program stopped by Ctrl-C: a script can tell)
    # Files are read in name order, two to a commit: 2019/garden.png and 2019/summer/beach.jpg were committed;
    # 2020/broken.jpg and 2020/winter/deep/er/snow.webp (stored, then rolled back) were not.
    assert sorted(Photo.objects.values_list("original_filename", flat=True)) == ["beach.jpg", "garden.png"]
    assert "Imported 2, already there 0, unreadable 0 (of 5 files) into Smiths." in out.getvalue()
    assert list(orphan_files(older_than=timedelta(0))) == []

    out = _import(photo_dir, "--family", "Smiths", "--user", "alice")  # run again: it goes on
    assert "Imported 1, already there 2, unreadable 1, not photos 1 (of 5 files) into Smiths." in out


def test_an_import_stopped_with_ctrl_c_while_it_lists_the_files_says_so_in_one_line(photo_dir, family, alice,
                                                                                      monkeypatch):
    """Ctrl-C while the command still walked a large tree (a NAS share of 100,000 files takes a while to list)
    printed a traceback from the walk, and the exit code of an error, not of Ctrl-C."""
    def walk_stopped(top, *args, **kwargs):
        yield str(top), ["2019"], []
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "walk", walk_stopped)
    with pytest.raises(CommandError) as stopped:
        try:
            _import(photo_dir, "--family", "Smiths", "--user", "alice")
        except KeyboardInterrupt:  # (left to escape, it would stop the whole test run)
            pytest.fail("the command let Ctrl-C through as a traceback")

    assert stopped.value.returncode == 130
    assert str(stopped.value) == ("Interrupted while listing the files: nothing was imported. Run the same command "
                                  "again to import them.")
    assert not Photo.objects.exists()


def test_an_import_stopped_with_ctrl_c_counts_in_its_albums_only_the_photos_kept(photo_dir, family, alice,
                                                                                   monkeypatch):
    """Ctrl-C during `--album WhatsApp --album-per-folder`: the report said "Albums: WhatsApp (137 photos put in)"
    above "Imported 128" (QA, 500 files): the photos put in albums by the batch rolled back were counted, and an album
    made in that batch (none any more) was named as filled."""
    from gallery.models import Album

    _ctrl_c_at_the_fourth_file(monkeypatch)
    out = io.StringIO()
    with pytest.raises(CommandError, match="Interrupted"):
        call_command("import_photos", str(photo_dir), "--family", "Smiths", "--user", "alice", "--no-progress",
                     "--album", "WhatsApp", "--album-per-folder", stdout=out, stderr=io.StringIO())

    # 2019/garden.png and 2019/summer/beach.jpg were committed; 2020/winter/deep/er/snow.webp was rolled back, and
    # its folder's album "er" with it.
    # (the folder "2019", named by a date alone, makes none: test_folder_dates.py)
    assert sorted(Album.objects.filter(family=family).values_list("name", flat=True)) == ["WhatsApp", "summer"]
    assert "Imported 2, already there 0" in out.getvalue()
    assert "Albums: WhatsApp (2 photos put in), summer (1 photo put in)\n" in out.getvalue()


def test_an_import_stops_when_the_photo_storage_is_full_and_says_so_not_every_file_unreadable(
        photo_dir, family, alice, monkeypatch):
    """With the disk full after 19 of 30 photos, the import went on through every other file, named each "skipped
    …: Could not store the file: the photo storage is full." and ended "unreadable 11": on a folder of 10,000
    photos, thousands of lines and a count that blamed the files (QA). It stops at the first file storage refuses,
    says why and that the same command goes on once there is room; the photos before are kept."""
    import errno

    from gallery.storage import MediaFileSystemStorage

    save = MediaFileSystemStorage._save
    room = {"files": 3}  # the first photo's original, thumbnail and display rendition

    def full(self, name, content):
        if room["files"] == 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        room["files"] -= 1
        return save(self, name, content)

    monkeypatch.setattr(MediaFileSystemStorage, "_save", full)
    out = io.StringIO()
    with pytest.raises(CommandError) as stopped:
        call_command("import_photos", str(photo_dir), "--family", "Smiths", "--user", "alice", "--no-progress",
                     stdout=out, stderr=io.StringIO())
    # Files are read in name order: 2019/garden.png is stored, 2019/summer/beach.jpg finds the storage full.
    assert list(Photo.objects.values_list("original_filename", flat=True)) == ["garden.png"]
    assert str(stopped.value).startswith("Stopped at 2019/summer/beach.jpg: Could not store the file: the photo "
                                         "storage is full.")
    assert "Run the same command again" in str(stopped.value)
    assert "Imported 1, already there 0, unreadable 0 (of 5 files) into Smiths." in out.getvalue()
    assert "skipped" not in out.getvalue()

    monkeypatch.setattr(MediaFileSystemStorage, "_save", save)  # room again
    out = _import(photo_dir, "--family", "Smiths", "--user", "alice")
    assert "Imported 2, already there 1, unreadable 1, not photos 1 (of 5 files) into Smiths." in out


def test_files_that_are_no_photos_are_counted_by_kind_not_listed_as_unreadable(photo_dir, family, alice, settings):
    """A Google Takeout export holds a .json beside every photo, Lightroom and darktable an .xmp, a phone its videos:
    each was listed as "skipped …: Not an image file we can read" and counted "unreadable", thousands of lines that
    drowned the few photos really damaged. They are counted by kind on one line; a file named as an image that is
    none is still listed, and so is every damaged photo."""
    for name, data in {"2019/summer/beach.jpg.json": b'{"title": "beach.jpg"}', "2019/garden.png.json": b"{}",
                       "2019/garden.xmp": b"<x:xmpmeta/>", "2020/clip.mp4": b"\0\0\0\x18ftypmp42",
                       "2020/long.MOV": b"\0" * 20_000, "2020/fake.jpg": images.TEXT,
                       "2020/DSC0001.ARW": b"\0" * 64}.items():  # a raw format Pillow can't read: named
        (photo_dir / name).write_bytes(data)
    settings.UPLOAD_MAX_BYTES = 10_000  # the long video is over it, and the photos are not

    out = _import(photo_dir, "--family", "Smiths", "--user", "alice")

    assert "Imported 3, already there 0, unreadable 3, not photos 3 (of 12 files) into Smiths." in out
    assert "not photos, left out: 1 .mov, 1 .mp4, 1 .txt" in out
    assert "Google Takeout sidecars: 2, beside their photos" in out  # read with them (test_takeout_import.py)
    # garden.png's, Lightroom's way (test_xmp_sidecars.py), but no XMP that exiv2 reads
    assert "XMP sidecars read: 0 " in out and "; 1 could not be read" in out
    assert "skipped 2020/fake.jpg: Not an image file we can read" in out
    assert "skipped 2020/DSC0001.ARW: Not an image file we can read" in out
    assert "skipped 2020/broken.jpg: The file is incomplete" in out
    assert ".json:" not in out and "notes.txt" not in out


def test_a_file_name_with_terminal_codes_is_printed_with_them_escaped(photo_dir, family, alice):
    """A file the import names (skipped, a link) was printed as the folder holds it: a name with ESC sequences, a bell
    or a line break, written into a shared folder by whoever may write there, cleared the screen or retitled the
    terminal of the person running the import, or printed a line of its own. Those characters are printed escaped
    now, as `ls -b` shows them; the name of a photo stored from it loses them (text_from_file)."""
    (photo_dir / "bad\x1b]0;owned\x07\x1b[2J\nImported 99.jpg").write_bytes(images.TEXT)
    (photo_dir / "ok\x1b[31m.jpg").write_bytes(images.jpeg(colour=(200, 9, 9)))

    out = _import(photo_dir, "--family", "Smiths", "--user", "alice")

    assert "\x1b" not in out and "\x07" not in out
    assert "skipped bad\\x1b]0;owned\\x07\\x1b[2J\\nImported 99.jpg: Not an image file" in out
    assert Photo.objects.filter(original_filename="ok[31m.jpg").exists()


def test_invisible_marks_in_a_file_name_are_not_kept_by_an_import_as_upload_drops_them(tmp_path, family, alice):
    """A folder's file named "שלום\u202egpj.jpg" (a right-to-left override) was imported under that name and
    titled with it, so its photo page showed the name reversed and the override turned the text after the title
    around too ("Already in Smiths as “…”" on the upload page), while the same file uploaded lost the mark (the
    browser's name goes through Django's upload parser). A name is text read from the file system, and loses the
    invisible marks text read from files loses (text_from_file: the overrides, a byte-order mark, a zero-width
    space), its accents composed as a macOS folder's decomposed "e" + U+0301 is the "é" people type."""
    root = tmp_path / "Pictures"
    root.mkdir()
    (root / "שלום\u202egpj.jpg").write_bytes(RED)
    (root / "\ufeffbeach\u200b day.jpg").write_bytes(GREEN)
    (root / "E\u0301cole.jpg").write_bytes(BLUE)

    _import(root, "--family", "Smiths", "--user", "alice")

    stored = sorted(Photo.objects.filter(family=family).values_list("original_filename", "title"))
    assert stored == [("beach day.jpg", "beach day"), ("\u00c9cole.jpg", "\u00c9cole"), ("שלוםgpj.jpg", "שלוםgpj")]


def test_an_empty_folder_argument_is_refused_not_read_as_the_current_folder(tmp_path, family, alice, monkeypatch):
    """`import_photos "$PHOTOS"` with the variable unset (a cron line's typo) passes an empty argument, which pathlib
    reads as ".": the import walked the folder it was run in, the application's own, and put its test pictures and
    icons in the family."""
    (tmp_path / "icon.png").write_bytes(GREEN)
    monkeypatch.chdir(tmp_path)

    with pytest.raises(CommandError, match="No folder given"):
        _import("", "--family", "Smiths", "--user", "alice")

    assert not Photo.objects.filter(family=family).exists()


@pytest.mark.parametrize("media", ["app/var/media", "app/bin/../var/media"])  # (as set, not resolved: the same)
def test_the_galleries_own_photo_storage_is_not_imported(tmp_path, family, alice, settings, media):
    """`import_photos ~` (or /srv) where the application lives walked into its media folder too and imported every
    stored original and rendition as photos of the family: other families' photos as well, each three times over. The
    storage is left out, and the summary says so; asked to import the storage itself, or a folder in it, it refuses."""
    (tmp_path / "app" / "bin").mkdir(parents=True)
    settings.MEDIA_ROOT = tmp_path / media  # (the storage writes there: a real stored photo)
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "gallery.storage.MediaFileSystemStorage",
                                                          "OPTIONS": {"location": settings.MEDIA_ROOT}}}
    from tests.factories import photo_factory
    other = UserFactory(username="olga")
    from gallery.services import family_create
    photo_factory(family=family_create(name="Others", admin=other), user=other, data=BLUE)
    assert len([p for p in settings.MEDIA_ROOT.rglob("*") if p.is_file()]) == 3
    (tmp_path / "Pictures").mkdir()
    (tmp_path / "Pictures" / "beach.jpg").write_bytes(RED)

    out = _import(tmp_path, "--family", "Smiths", "--user", "alice")

    assert list(Photo.objects.filter(family=family).values_list("original_filename", flat=True)) == ["beach.jpg"]
    assert "left out: app/var/media, the gallery's own photo storage (MEDIA_ROOT)" in out
    for inside in (settings.MEDIA_ROOT, settings.MEDIA_ROOT / "originals"):
        with pytest.raises(CommandError, match="the gallery's own photo storage"):
            _import(inside, "--family", "Smiths", "--user", "alice")


def test_an_archive_in_the_folder_is_said_to_be_left_unopened(photo_dir, family, alice):
    """A Takeout part or a folder sent zipped, left beside the photos: counted with the files that are no photos, as
    before, and said to be unopened, with what to do (the upload page says the same of one chosen there)."""
    import zipfile

    (photo_dir / "2021").mkdir()
    with zipfile.ZipFile(photo_dir / "2021" / "takeout-20230105T101010Z-001.zip", "w") as archive:
        archive.writestr("Takeout/Google Photos/IMG_0001.jpg", images.jpeg(colour=(9, 9, 9)))
    (photo_dir / "2021" / "old.7z").write_bytes(b"7z\xbc\xaf\x27\x1c\x00\x04" + b"\0" * 40)

    out = _import(photo_dir, "--family", "Smiths", "--user", "alice")

    assert "not photos, left out: 1 .7z, 1 .txt, 1 .zip" in out
    assert ("Archives are not opened: 2 (2021/old.7z, 2021/takeout-20230105T101010Z-001.zip). Unpack them into the "
            "folder, then import it again: the photos already imported are recognised and left as they are.") in out
    assert Photo.objects.filter(family=family).count() == 3


def test_the_apps_own_folder_is_not_imported(tmp_path, family, alice, settings):
    """`import_photos ~` where the application itself lives (~/mediasearch) imported its static icons and its test
    fixture pictures as the family's photos. The app's folder (BASE_DIR) is left out as the photo storage is, and the
    summary says so; asked to import it, or a folder in it, it refuses."""
    app = tmp_path / "home" / "mediasearch"
    for name in ("static/root/apple-touch-icon.png", "tests/fixtures/red-circle.jpg", "static/favicon.png"):
        (app / name).parent.mkdir(parents=True, exist_ok=True)
    (app / "static" / "root" / "apple-touch-icon.png").write_bytes(images.image_bytes("PNG"))
    (app / "tests" / "fixtures" / "red-circle.jpg").write_bytes(BLUE)
    settings.BASE_DIR = app
    (tmp_path / "home" / "Pictures").mkdir()
    (tmp_path / "home" / "Pictures" / "beach.jpg").write_bytes(RED)

    out = _import(tmp_path / "home", "--family", "Smiths", "--user", "alice")

    assert list(Photo.objects.filter(family=family).values_list("original_filename", flat=True)) == ["beach.jpg"]
    assert "left out: mediasearch, the app's own folder (BASE_DIR: its icons and test pictures)" in out
    assert "Imported 1, already there 0, unreadable 0 (of 1 file) into Smiths." in out  # (not "1 files")
    for inside in (app, app / "tests" / "fixtures", app / "static" / ".." / "tests"):
        said = "is" if inside == app else "is inside"
        with pytest.raises(CommandError, match=rf"{said} the app's own folder \(BASE_DIR\)"):
            _import(inside, "--family", "Smiths", "--user", "alice")
    assert Photo.objects.filter(family=family).count() == 1


def test_an_import_of_many_photos_with_the_same_keywords_reads_their_names_once(tmp_path, family, alice):
    """As an upload (test_upload's): each file read its keywords' keys and made their tags again; kept for the run."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from gallery.models import PhotoTag
    from tests.images import jpegs_sharing_keywords
    from tests.queries import name_key_reads, tag_inserts

    for n, data in enumerate(jpegs_sharing_keywords(20)):
        (tmp_path / f"p{n}.jpg").write_bytes(data)
    with CaptureQueriesContext(connection) as run:
        out = _import(tmp_path, "--family", "Smiths", "--user", "alice", "--tag", "trip")

    assert "Imported 20," in out
    assert PhotoTag.objects.filter(photo__family=family).count() == 20 * 5
    # the typed tag's key, the keywords' (their tags made with the typed one): for the first file only
    assert (name_key_reads(run.captured_queries), tag_inserts(run.captured_queries)) == (2, 1)
