from __future__ import annotations

import gzip
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from gallery.images import NOT_AN_IMAGE
from gallery.models import Photo, PhotoTag
from gallery.services import UploadResult, photo_upload
from tests import images
from tests.queries import name_key_reads, tag_inserts

pytestmark = pytest.mark.django_db

ACCEPTED = [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp"), ("GIF", "image/gif"),
            ("TIFF", "image/tiff"), ("HEIF", "image/heif")]


@pytest.mark.parametrize(("fmt", "mime"), ACCEPTED)
def test_every_accepted_format_is_stored_with_its_metadata(family, alice, fmt, mime):
    data = images.image_bytes(fmt, size=(80, 60))
    result = photo_upload(family=family, uploaded_by=alice, stream=io.BytesIO(data), filename=f"Beach_day-{fmt}.bin")

    assert result.outcome == UploadResult.SAVED, result.reason
    photo = result.photo
    assert photo.mime_type == mime
    assert (photo.width, photo.height) == (80, 60)
    assert photo.title == f"Beach day {fmt}"
    assert photo.status == Photo.Status.PENDING
    assert photo.taken_at_source == Photo.DateSource.UPLOAD
    assert len(photo.sha256) == 64 and len(photo.phash) == 16
    with photo.original.open("rb") as f:
        assert f.read() == data  # original bytes untouched
    with photo.thumbnail.open("rb") as f:
        assert Image.open(f).format == "JPEG"


def test_exif_rotated_jpeg_gets_an_upright_thumbnail_and_its_exif_facts(family, alice):
    result = photo_upload(family=family, uploaded_by=alice, stream=io.BytesIO(images.rotated_jpeg()), filename="r.jpg")
    photo = result.photo

    assert (photo.width, photo.height) == (100, 200)
    with photo.thumbnail.open("rb") as f:
        thumb = Image.open(f).convert("RGB")
    assert thumb.height > thumb.width
    top, bottom = thumb.getpixel((thumb.width // 2, 5)), thumb.getpixel((thumb.width // 2, thumb.height - 5))
    assert top[0] > 200 and top[2] < 60, top  # red on top
    assert bottom[2] > 200 and bottom[0] < 60, bottom
    assert photo.taken_at_source == Photo.DateSource.EXIF
    assert (photo.taken_at.year, photo.taken_at.month, photo.taken_at.day, photo.taken_at.hour) == (2019, 7, 14, 18)
    assert (photo.camera_make, photo.camera_model) == ("Canon", "EOS 5D")
    assert photo.latitude == pytest.approx(52 + 22 / 60 + 12 / 3600)
    assert photo.longitude == pytest.approx(4 + 53 / 60 + 30 / 3600)


BAD_FILES = [
    ("truncated.jpg", images.truncated_jpeg(), "The file is incomplete (cut off): truncated.jpg"),
    ("empty.jpg", b"", "empty"),
    ("notes.jpg", images.TEXT, "Not an image"),
    ("drawing.svg", images.SVG, "Not an image"),
    ("bomb.png", images.decompression_bomb_png(), "too large to decode safely"),
]


@pytest.mark.parametrize(("name", "data", "reason"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_files_are_rejected_with_a_reason(family, alice, name, data, reason):
    result = photo_upload(family=family, uploaded_by=alice, stream=io.BytesIO(data), filename=name)
    assert result.outcome == UploadResult.REJECTED
    assert reason in result.reason
    assert not Photo.objects.exists()


def test_oversize_file_is_rejected_without_reading_it_all(family, alice, settings):
    settings.UPLOAD_MAX_BYTES = 1000
    result = photo_upload(family=family, uploaded_by=alice, stream=io.BytesIO(images.jpeg(size=(300, 300))), filename="big.jpg")
    assert result.outcome == UploadResult.REJECTED
    assert "too large" in result.reason


def test_pixel_limit_is_configurable(family, alice, settings):
    settings.UPLOAD_MAX_PIXELS = 100
    result = photo_upload(family=family, uploaded_by=alice, stream=io.BytesIO(images.image_bytes("PNG", size=(20, 20))),
                          filename="a.png")
    assert result.outcome == UploadResult.REJECTED
    assert "400 pixels" not in result.reason and "100 pixels" in result.reason


def test_jpeg_pixel_limit_is_its_own_setting(family, alice, settings):
    """JPEGs decode at reduced scale, so they have a limit of their own (UPLOAD_MAX_PIXELS_JPEG)."""
    settings.UPLOAD_MAX_PIXELS = 100
    saved = photo_upload(family=family, uploaded_by=alice, stream=io.BytesIO(images.jpeg(size=(20, 20))), filename="a.jpg")
    assert saved.outcome == UploadResult.SAVED, saved.reason
    settings.UPLOAD_MAX_PIXELS_JPEG = 100
    result = photo_upload(family=family, uploaded_by=alice, stream=io.BytesIO(images.jpeg(size=(21, 20))), filename="b.jpg")
    assert result.outcome == UploadResult.REJECTED
    assert "420 pixels" not in result.reason and "100 pixels" in result.reason


def test_a_cut_off_file_is_said_in_our_words_and_pillows_go_to_the_log(family, alice, caplog):
    caplog.set_level("INFO", logger="gallery")
    result = photo_upload(family=family, uploaded_by=alice, stream=io.BytesIO(images.truncated_jpeg()),
                          filename="IMG_0042.jpg")
    assert result.outcome == UploadResult.REJECTED
    assert result.reason.startswith("The file is incomplete (cut off): IMG_0042.jpg ")
    assert "truncated" not in result.reason and "bytes not processed" not in result.reason
    assert any("IMG_0042.jpg" in r.getMessage() and "image file is truncated" in r.getMessage() for r in caplog.records)


def test_other_damage_is_said_in_our_words_too(family, alice, caplog):
    caplog.set_level("INFO", logger="gallery")
    webp = images.image_bytes("WEBP", size=(200, 200))
    result = photo_upload(family=family, uploaded_by=alice, stream=io.BytesIO(webp[: len(webp) // 2]),
                          filename="half.webp")
    assert result.outcome == UploadResult.REJECTED
    assert result.reason.startswith("The image data is damaged or incomplete")
    assert "decoder" not in result.reason  # Pillow's "could not create decoder object" goes to the log
    assert any("half.webp" in r.getMessage() and "decoder" in r.getMessage() for r in caplog.records)


def test_a_whole_png_with_oversized_embedded_text_is_not_called_damaged(family, alice, caplog):
    """Pillow refuses a PNG whose metadata text (an editor's XMP with its whole history: Photoshop's
    DocumentAncestors grows to megabytes) unpacks to more than 1 MB. The picture is whole, yet the upload said
    "The image data is damaged or incomplete ... Upload it again from the original", which can only fail again."""
    from PIL import Image, PngImagePlugin

    caplog.set_level("INFO", logger="gallery")
    info = PngImagePlugin.PngInfo()
    info.add_text("XML:com.adobe.xmp", "<x:xmpmeta>" + "a" * 2_000_000 + "</x:xmpmeta>", zip=True)
    out = io.BytesIO()
    Image.new("RGB", (80, 60), (200, 100, 50)).save(out, "PNG", pnginfo=info)

    result = photo_upload(family=family, uploaded_by=alice, stream=io.BytesIO(out.getvalue()), filename="logo.png")

    assert result.outcome == UploadResult.REJECTED
    assert "damaged" not in result.reason and "embedded" in result.reason and "without its metadata" in result.reason
    assert any("logo.png" in r.getMessage() and "MAX_TEXT_CHUNK" in r.getMessage() for r in caplog.records)


def test_same_bytes_twice_in_a_family_is_a_duplicate_not_a_second_copy(family, alice, other_family, mallory):
    data = images.jpeg()
    first = photo_upload(family=family, uploaded_by=alice, stream=io.BytesIO(data), filename="a.jpg")
    again = photo_upload(family=family, uploaded_by=alice, stream=io.BytesIO(data), filename="copy of a.jpg")
    elsewhere = photo_upload(family=other_family, uploaded_by=mallory, stream=io.BytesIO(data), filename="a.jpg")

    assert again.outcome == UploadResult.DUPLICATE and again.photo == first.photo
    assert elsewhere.outcome == UploadResult.SAVED  # another family keeps its own copy
    assert Photo.objects.filter(family=family).count() == 1


def test_upload_page_keeps_good_files_when_others_in_the_same_request_are_bad(client_for, family, alice, settings):
    settings.UPLOAD_MAX_BYTES = 20_000
    files = [
        SimpleUploadedFile("good1.jpg", images.jpeg(colour=(1, 2, 3))),
        SimpleUploadedFile("truncated.jpg", images.truncated_jpeg()),
        SimpleUploadedFile("empty.jpg", b""),
        SimpleUploadedFile("notes.jpg", images.TEXT),
        SimpleUploadedFile("drawing.svg", images.SVG),
        SimpleUploadedFile("bomb.png", images.decompression_bomb_png()),
        SimpleUploadedFile("huge.png", images.image_bytes("PNG", size=(300, 300)) + b"\0" * 30_000),
        SimpleUploadedFile("good2.heic", images.image_bytes("HEIF", colour=(9, 200, 9))),
    ]
    response = client_for(alice).post(reverse("gallery:upload"), {"family": family.pk, "files": files, "tags": "holiday, beach"})

    assert response.status_code == 200
    body = response.content.decode()
    assert body.count('data-outcome="saved"') == 2
    assert body.count('data-outcome="rejected"') == 6
    assert "too large" in body and "The file is incomplete (cut off): truncated.jpg" in body and "empty" in body
    photos = Photo.objects.filter(family=family)
    assert sorted(p.original_filename for p in photos) == ["good1.jpg", "good2.heic"]
    assert all(sorted(t.name for t in p.tags.all()) == ["beach", "holiday"] for p in photos)


def test_a_google_takeout_sidecar_chosen_with_its_photo_is_named_as_one_and_the_import_that_reads_it(
        client_for, family, alice):
    """A Google Photos export holds a JSON file beside each photo (its date, place, caption, people): chosen on the
    upload page with the photos, it is not "an image we can't read" to puzzle over, but what it is, with the way to
    have it read. A JSON file that is no sidecar is refused as before."""
    sidecar = ('{"title": "IMG-20190715-WA0007.jpg", "description": "", "photoTakenTime": {"timestamp": "1563215400", '
               '"formatted": "15 Jul 2019, 18:30:00 UTC"}, "geoData": {"latitude": 41.1496, "longitude": -8.6109}}')
    files = [SimpleUploadedFile("IMG-20190715-WA0007.jpg", images.jpeg(colour=(5, 6, 7))),
             SimpleUploadedFile("IMG-20190715-WA0007.jpg.json", sidecar.encode()),
             SimpleUploadedFile("package.json", b'{"name": "x"}')]

    response = client_for(alice).post(reverse("gallery:upload"), {"family": family.pk, "files": files})

    body = response.content.decode()
    assert body.count('data-outcome="saved"') == 1 and body.count('data-outcome="rejected"') == 2
    assert body.count("Google Takeout sidecar") == 1 and "import_photos" in body
    # What it says of the photo's date is what happened: the WhatsApp copy is dated by its name, not the upload time.
    assert Photo.objects.get(family=family).taken_at_source == Photo.DateSource.FILENAME
    assert "dated by its own file, else by the date in its name, else by the upload time" in body
    result = photo_upload(family=family, uploaded_by=alice, stream=io.BytesIO(b'{"name": "x"}'), filename="a.json")
    assert result.reason == NOT_AN_IMAGE
    # A JSON file nested deeper than Python's parser recurses was a 500 (RecursionError asking whether it is a sidecar).
    nested = b"[" * 100_000 + b"]" * 100_000
    result = photo_upload(family=family, uploaded_by=alice, stream=io.BytesIO(nested), filename="deep.json")
    assert result.reason == NOT_AN_IMAGE


def test_an_xmp_sidecar_chosen_with_its_photo_is_named_as_one_and_the_import_that_reads_it(client_for, family, alice):
    """A darktable or digiKam folder dropped on the upload page holds an .xmp beside each photo: named as what it is
    (its keywords, title and description), with the way to have it read, not "an image we can't read"."""
    from gallery.tests.test_xmp_sidecars import sidecar_xml

    files = [SimpleUploadedFile("IMG_0001.jpg", images.jpeg(colour=(5, 9, 7))),
             SimpleUploadedFile("IMG_0001.jpg.xmp", sidecar_xml(subject=["beach"])),
             SimpleUploadedFile("IMG_0002.xmp", sidecar_xml(subject=["kite"], declaration=False)),
             SimpleUploadedFile("notes.xmp", b"not xmp at all")]

    body = client_for(alice).post(reverse("gallery:upload"), {"family": family.pk, "files": files}).content.decode()

    assert body.count('data-outcome="saved"') == 1 and body.count('data-outcome="rejected"') == 3
    assert body.count("An XMP sidecar, not a photo") == 2 and "import_photos" in body
    result = photo_upload(family=family, uploaded_by=alice, stream=io.BytesIO(b"not xmp"), filename="a.xmp")
    assert result.reason == NOT_AN_IMAGE


def _zip(names: dict[str, bytes]) -> bytes:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in names.items():
            archive.writestr(name, data)
    return out.getvalue()


def _tar() -> bytes:
    import tarfile

    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        data = images.jpeg(colour=(1, 2, 3))
        info = tarfile.TarInfo("IMG_0001.jpg")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def test_an_archive_is_refused_as_one_with_the_advice_to_unpack_it(client_for, family, alice):
    """A .zip (a Google Takeout part, a folder a phone sent zipped), .tar, .7z or .rar chosen on the upload page was
    "Not an image file we can read", as if the photos in it were unreadable: uploading does not open archives, and the
    row says so, and to unpack it first. Told by its bytes, not its name; a document that is a ZIP inside (.docx) is
    no archive of photos."""
    photo = images.jpeg(colour=(4, 5, 6))
    archives = {"takeout-20230105T101010Z-001.zip": _zip({"Takeout/Google Photos/IMG_0001.jpg": photo}),
                "photos.tar": _tar(), "photos.tar.gz": gzip.compress(_tar()),
                "photos.7z": b"7z\xbc\xaf\x27\x1c\x00\x04" + b"\x00" * 40,
                "photos.rar": b"Rar!\x1a\x07\x01\x00" + b"\x00" * 40, "renamed.jpg": _zip({"a.jpg": photo})}
    files = [SimpleUploadedFile(name, data) for name, data in archives.items()]
    files.append(SimpleUploadedFile("letter.docx",
                                    _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b""})))

    body = client_for(alice).post(reverse("gallery:upload"), {"family": family.pk, "files": files}).content.decode()

    assert body.count('data-outcome="rejected"') == 7 and not Photo.objects.exists()
    assert body.count("not a photo: uploading does not open archives. Unpack it first") == 6
    for kind in ("ZIP", "TAR", "gzip", "7-Zip", "RAR"):
        assert f"An archive ({kind}" in body
    result = photo_upload(family=family, uploaded_by=alice, stream=io.BytesIO(archives["photos.7z"]), filename="x")
    assert result.reason.startswith("An archive (7-Zip), not a photo")

    docx = photo_upload(family=family, uploaded_by=alice, stream=io.BytesIO(_zip({"[Content_Types].xml": b"<Types/>"})),
                        filename="letter.docx")
    assert docx.reason == NOT_AN_IMAGE


def test_a_video_a_phone_picker_sent_with_the_photos_is_said_to_be_a_video_not_kept(client_for, family, alice):
    """A phone's picker hands over its videos with the photos (.MOV from an iPhone, .mp4 from Android): their rows read
    "Not an image file we can read", as if a photo were broken. They say they are videos, which the gallery does not
    keep; the photos chosen with them are saved. Told by the bytes (ISO media, Matroska, AVI), not by the name; a
    damaged HEIC (ISO media too) is not called a video."""
    videos = {"IMG_5003.MOV": b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  " + b"\x00" * 40,
              "VID_5004.mp4": b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 40,
              "clip.webm": b"\x1a\x45\xdf\xa3" + b"\x00" * 40,
              "old.avi": b"RIFF\x00\x00\x00\x00AVI LIST" + b"\x00" * 40,
              "renamed.jpg": b"\x00\x00\x00\x1cftyp3gp4\x00\x00\x00\x00" + b"\x00" * 40}
    files = [SimpleUploadedFile(name, data) for name, data in videos.items()]
    files.append(SimpleUploadedFile("IMG_5000.HEIC", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 40))
    files.append(SimpleUploadedFile("IMG_0001.JPG", images.jpeg()))

    body = client_for(alice).post(reverse("gallery:upload"), {"family": family.pk, "files": files}).content.decode()

    assert body.count('data-outcome="rejected"') == 6 and Photo.objects.count() == 1
    assert body.count("A video, not a photo: the gallery keeps photos only, so this file was not uploaded.") == 5
    assert body.count("Not an image file we can read") == 1  # (the HEIC)


def test_upload_script_request_gets_only_the_result_rows(client_for, family, alice):
    response = client_for(alice).post(
        reverse("gallery:upload"), {"family": family.pk, "files": [SimpleUploadedFile("x.png", images.image_bytes("PNG"))]},
        headers={"X-Upload-Script": "1"},
    )
    body = response.content.decode().strip()
    assert body.startswith("<li") and "<html" not in body
    assert 'data-outcome="saved"' in body


def test_cannot_upload_into_a_family_you_are_not_in(client_for, family, alice, other_family):
    response = client_for(alice).post(
        reverse("gallery:upload"), {"family": other_family.pk, "files": [SimpleUploadedFile("x.jpg", images.jpeg())]}
    )
    assert response.status_code == 404
    assert not Photo.objects.exists()


def test_too_many_tags_reject_the_files_with_a_reason_not_a_server_error(client_for, family, alice):
    tags = ", ".join(f"tag{n}" for n in range(60))
    response = client_for(alice).post(
        reverse("gallery:upload"), {"family": family.pk, "tags": tags,
                                    "files": [SimpleUploadedFile("x.png", images.image_bytes("PNG"))]},
        headers={"X-Upload-Script": "1"},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-outcome="rejected"' in body and "At most 50 tags per photo." in body
    assert not Photo.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_parallel_uploads_with_the_same_new_tag_both_succeed(family, alice):
    """Two requests creating the same tag at once: the second waits for the first's row instead of failing."""
    import threading

    from django.db import connection

    from gallery.services import photo_create_from_bytes
    barrier, results = threading.Barrier(2), []

    def upload(n):
        barrier.wait()
        try:
            results.append(photo_create_from_bytes(family=family, uploaded_by=alice, data=images.jpeg(colour=(100 * n, 250 - 100 * n, 30)),
                                                   filename=f"{n}.jpg", tags=["Beach"]).outcome)
        finally:
            connection.close()

    threads = [threading.Thread(target=upload, args=(n,)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [UploadResult.SAVED] * 2


def test_an_upload_of_many_photos_with_the_same_keywords_reads_their_names_once(client_for, family, alice):
    """Each file of an upload read its typed tags' and its keywords' keys (names_folded) again and made their tags again
    (an insert, a lock, a read: three queries for each list), 14 queries of tags a file. The keys are kept for the
    upload (a mapping passed down, no cache), and tags the family has are locked and read in one query."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    files = [SimpleUploadedFile(f"p{n}.jpg", data) for n, data in enumerate(images.jpegs_sharing_keywords(20))]
    with CaptureQueriesContext(connection) as upload:
        response = client_for(alice).post(reverse("gallery:upload"),
                                          {"family": family.pk, "files": files, "tags": "trip, Kids"})

    assert response.content.decode().count('data-outcome="saved"') == 20
    for photo in Photo.objects.filter(family=family):
        assert sorted(PhotoTag.objects.filter(photo=photo).values_list("tag__name", "source")) == [
            ("Beach", "embedded"), ("Grandma", "embedded"), ("Kids", "member"), ("Lisbon", "embedded"),
            ("Summer", "embedded"), ("trip", "member")]
    # the typed tags' keys, the keywords' (their tags made with the typed ones): for the first file only
    assert (name_key_reads(upload.captured_queries), tag_inserts(upload.captured_queries)) == (2, 1)
    assert len(upload.captured_queries) <= 574  # (689 before: 14 queries of tags a file, 8 now)


def test_a_new_photo_reads_neither_its_tags_nor_its_removals_to_take_its_files_keywords(family, alice):
    """A photo just stored has no tags but those added in the same transaction, and no removal: its file's keywords
    read the photo's tags and removed tags back (two queries, each empty but for the typed tags) all the same. What
    those reads kept out is kept out without them: a keyword of a typed tag's name in another case is that tag, the
    member's; one of the file given twice in two cases is one tag."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from gallery.services import photo_create_from_bytes
    from pathlib import Path

    from gallery.sidecars import Sidecar

    data = images.with_metadata(images.jpeg(colour=(12, 200, 70)),
                                xmp={"Xmp.dc.subject": ["beach", "Lisbon", "LISBON"]})
    with CaptureQueriesContext(connection) as stored:
        result = photo_create_from_bytes(family=family, uploaded_by=alice, data=data, filename="p.jpg",
                                         tags=["Beach"], sidecar=Sidecar(Path("p.jpg.json"), people=("Grandma", "lisbon")))

    assert result.outcome == UploadResult.SAVED, result.reason
    assert sorted(PhotoTag.objects.filter(photo=result.photo).values_list("tag__name", "source")) == [
        ("Beach", "member"), ("Grandma", "sidecar"), ("Lisbon", "embedded")]
    read_back = [sql for sql in (query["sql"] for query in stored.captured_queries) if 'FROM "gallery_removedtag"' in sql
                 or 'FROM "gallery_photo_tags"' in sql and ('LOWER(' in sql or '"gallery_photo_tags"."tag_id" IN' in sql)]
    assert read_back == [], read_back
