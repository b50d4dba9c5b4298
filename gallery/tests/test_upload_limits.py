"""Request limits on uploads, enforced while the body streams in (gallery/upload_limits.py).

Bodies are built by hand (the test client's encoder takes the base name of each file, so it can't send "../") and
fed to the real request handling through a stream that measures, at every read, what has been spooled to
FILE_UPLOAD_TEMP_DIR so far."""

from __future__ import annotations

import io
import os

import pytest
from django.http.multipartparser import MultiPartParser
from django.test import RequestFactory
from django.urls import reverse

from gallery.models import Photo
from gallery.upload_limits import UNNAMED_FILE, upload_report
from tests import images
from tests.disk import disk_full_past

pytestmark = pytest.mark.django_db

BOUNDARY = "----mediasearch-test-boundary"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"
MB = 1024 * 1024


def multipart(fields: dict[str, str], files: list[tuple[str, bytes]], *, field_name: str = "files") -> bytes:
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    for filename, data in files:
        quoted = filename.replace("\\", "\\\\").replace('"', '\\"')
        head = (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{field_name}"; filename="{quoted}"\r\n'
                "Content-Type: image/jpeg\r\n\r\n")
        parts.append(head.encode() + data + b"\r\n")
    parts.append(f"--{BOUNDARY}--\r\n".encode())
    return b"".join(parts)


class MeasuringStream:
    """A request body read in pieces, like a socket. At each read it notes the bytes read so far and the largest
    spooled upload in `spool` (so what lands on disk is seen while the request is being parsed, not only after)."""

    def __init__(self, body: bytes | None, spool, *, declared: int | None = None):
        self.body = io.BytesIO(body or b"")
        self.spool = spool
        self.declared = declared  # a huge body that is never built: reads past `body` produce zeros
        self.read_bytes = 0
        self.largest_spooled = 0

    def read(self, size: int = -1) -> bytes:
        self._measure()
        data = self.body.read(size)
        if not data and self.declared:
            data = b"\0" * min(size if size > 0 else 65536, self.declared - self.read_bytes)
        self.read_bytes += len(data)
        return data

    def readline(self, size: int = -1) -> bytes:
        return self.read(size)

    def _measure(self) -> None:
        for entry in os.scandir(self.spool):
            self.largest_spooled = max(self.largest_spooled, entry.stat().st_size)


@pytest.fixture
def spool(settings, tmp_path):
    """Uploads spool into a folder of their own, and every file goes to disk (none stays in memory)."""
    folder = tmp_path / "spool"
    folder.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(folder)
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0
    return folder


def post(client, url: str, stream: MeasuringStream, length: int, **headers):
    # The test client sets the content type and body only for bytes it is given; here they stream.
    return client.generic("POST", url, b"", headers=headers,
                          **{"wsgi.input": stream, "CONTENT_LENGTH": str(length), "CONTENT_TYPE": MULTIPART})


@pytest.mark.parametrize("url_name", ["gallery:upload", "api_photos"])
def test_a_body_over_the_request_cap_is_refused_before_a_byte_is_read(client_for, alice, family, settings, spool,
                                                                      url_name):
    settings.UPLOAD_MAX_REQUEST_BYTES = 10 * MB
    gib = 1024**3
    stream = MeasuringStream(None, spool, declared=gib)

    response = post(client_for(alice), reverse(url_name), stream, gib)

    assert response.status_code == 413
    message = response.json()["detail"] if url_name == "api_photos" else response.content.decode()
    assert "The upload is too large: at most 10.0 MB per request. Nothing was uploaded" in message
    assert stream.read_bytes == 0
    assert not list(spool.iterdir())
    assert not Photo.objects.exists()


@pytest.mark.parametrize("method, url_name", [("GET", "api_photos"), ("PATCH", "api_search_preferences"),
                                              ("POST", "search:search")])
def test_a_request_over_the_cap_that_is_no_upload_is_not_told_about_files(client_for, alice, settings, method,
                                                                           url_name):
    # Any request over UPLOAD_MAX_REQUEST_BYTES by its Content-Length is refused before its body is read, and each
    # was told "The upload is too large … send fewer files at a time": a JSON PATCH or a GET holds no files (QA).
    settings.UPLOAD_MAX_REQUEST_BYTES = 10 * MB
    response = client_for(alice).generic(method, reverse(url_name), b"", content_type="application/json",
                                         **{"CONTENT_LENGTH": str(3 * 1024**3)})
    assert response.status_code == 413
    body = response.content.decode()
    assert "The request is too large: at most 10.0 MB per request. Nothing of it was read." in body, body
    assert "upload" not in body and "files" not in body


def test_a_chunked_upload_without_a_length_is_refused_in_plain_words(client_for, alice, spool):
    stream = MeasuringStream(multipart({}, [("a.jpg", images.jpeg())]), spool)

    response = client_for(alice).generic("POST", reverse("gallery:upload"), b"", headers={"Transfer-Encoding": "chunked"},
                                         **{"wsgi.input": stream, "CONTENT_TYPE": MULTIPART})

    assert response.status_code == 411
    assert "Uploads need a Content-Length header" in response.content.decode()
    assert stream.read_bytes == 0


def test_an_oversize_file_is_skipped_while_streaming_and_the_good_ones_are_kept(client_for, alice, family, settings,
                                                                                spool):
    settings.UPLOAD_MAX_BYTES = 200_000
    good = [images.jpeg(colour=(200, 30, 30)), images.jpeg(colour=(30, 200, 30))]
    assert all(len(data) < settings.UPLOAD_MAX_BYTES for data in good)
    big = os.urandom(3 * MB)
    body = multipart({"family": str(family.pk)}, [("first.jpg", good[0]), ("huge.jpg", big), ("last.jpg", good[1])])
    stream = MeasuringStream(body, spool)

    response = post(client_for(alice), reverse("gallery:upload"), stream, len(body), **{"X-Upload-Script": "1"})

    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('data-outcome="saved"') == 2
    assert html.count('data-outcome="rejected"') == 1
    assert "huge.jpg" in html and "File is too large (over 195.3 KB)." in html
    assert sorted(Photo.objects.values_list("original_filename", flat=True)) == ["first.jpg", "last.jpg"]
    # On disk, the big file never grew past the per-file limit (plus at most one 64 KiB chunk of the parser's).
    assert stream.largest_spooled <= settings.UPLOAD_MAX_BYTES
    assert stream.read_bytes == len(body)
    assert not list(spool.iterdir())  # and nothing is left behind


def test_an_oversize_file_through_the_api_is_a_413_that_names_it(client_for, alice, family, settings, spool):
    settings.UPLOAD_MAX_BYTES = 200_000
    body = multipart({"family": str(family.pk)}, [("huge.jpg", os.urandom(MB))], field_name="file")
    stream = MeasuringStream(body, spool)

    response = post(client_for(alice), reverse("api_photos"), stream, len(body))

    assert response.status_code == 413
    assert response.json() == {"detail": "huge.jpg: File is too large (over 195.3 KB)."}
    assert stream.largest_spooled <= settings.UPLOAD_MAX_BYTES
    assert not Photo.objects.exists()


def _too_many(family, count: int) -> bytes:
    return multipart({"family": str(family.pk)}, [(f"p{i}.jpg", images.jpeg(colour=(i, 0, 0))) for i in range(count)])


def test_too_many_files_on_the_page_says_how_many(client_for, alice, family, settings, spool):
    settings.UPLOAD_MAX_FILES = 3
    body = _too_many(family, 5)

    response = post(client_for(alice), reverse("gallery:upload"), MeasuringStream(body, spool), len(body))

    assert response.status_code == 400
    html = response.content.decode()
    assert "At most 3 files per upload; you sent 5. Nothing was uploaded" in html
    assert '<form id="upload-form"' in html  # the whole page, to try again from
    assert not Photo.objects.exists()
    assert not list(spool.iterdir())


def test_too_many_files_from_a_script_or_htmx_is_a_plain_refusal(client_for, alice, family, settings, spool):
    settings.UPLOAD_MAX_FILES = 3
    body = _too_many(family, 4)

    response = post(client_for(alice), reverse("gallery:upload"), MeasuringStream(body, spool), len(body),
                    **{"HX-Request": "true"})

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert response.content.decode().startswith("At most 3 files per upload; you sent 4.")


def test_too_many_files_through_the_api_is_a_400_with_a_detail(client_for, alice, family, settings, spool):
    settings.UPLOAD_MAX_FILES = 1
    body = multipart({"family": str(family.pk)}, [("a.jpg", images.jpeg()), ("b.jpg", images.jpeg())],
                     field_name="file")

    response = post(client_for(alice), reverse("api_photos"), MeasuringStream(body, spool), len(body))

    assert response.status_code == 400
    assert response.json()["detail"].startswith("At most 1 files per upload; you sent 2.")
    assert not Photo.objects.exists()


EMPTY_NAMES = ["../", "...", "\x00", "///", "\u200b\u202e", "..\\..\\"]


def test_files_whose_names_reduce_to_nothing_still_get_a_row(client_for, alice, family, spool):
    files = [(name, images.jpeg(colour=(40 * i, 90, 10))) for i, name in enumerate(EMPTY_NAMES)]
    body = multipart({"family": str(family.pk)}, files)

    response = post(client_for(alice), reverse("gallery:upload"), MeasuringStream(body, spool), len(body),
                    **{"X-Upload-Script": "1"})

    html = response.content.decode()
    assert html.count('data-outcome="saved"') == len(EMPTY_NAMES), html
    assert Photo.objects.count() == len(EMPTY_NAMES)
    names = set(Photo.objects.values_list("original_filename", flat=True))
    assert names == {UNNAMED_FILE, "..."}


def test_an_empty_file_input_is_still_no_file(client_for, alice, family, spool):
    body = multipart({"family": str(family.pk)}, [("", b"")])

    response = post(client_for(alice), reverse("gallery:upload"), MeasuringStream(body, spool), len(body),
                    **{"X-Upload-Script": "1"})

    assert "No file was received." in response.content.decode()


def test_the_body_is_cut_off_while_streaming_when_its_length_was_understated(settings, spool):
    """A server that does not bound the body by its Content-Length (the handler's own count is the last guard)."""
    settings.UPLOAD_MAX_REQUEST_BYTES = 1 * MB
    body = multipart({"family": "1"}, [("a.jpg", os.urandom(MB // 2)), ("b.jpg", os.urandom(MB))])
    request = RequestFactory().post("/upload/")
    stream = MeasuringStream(body, spool)
    meta = {**request.META, "CONTENT_TYPE": MULTIPART, "CONTENT_LENGTH": "100"}

    post_data, files = MultiPartParser(meta, stream, request.upload_handlers).parse()
    request._post, request._files = post_data, files

    assert upload_report(request).problem()[0] == 413
    assert stream.read_bytes < 1.2 * MB  # not the whole 1.5 MB
    assert stream.largest_spooled <= 1 * MB
    request.close()  # what Django does at the end of every request: the files kept so far go too
    assert not list(spool.iterdir())


def test_a_full_temporary_space_skips_the_file_with_a_reason_and_keeps_the_others(client_for, alice, family, spool):
    """Django spools a large upload to FILE_UPLOAD_TEMP_DIR (/tmp); when that disk is full, the file that does not fit
    gets its own row and the others of the same upload are stored, instead of a 500 that loses them all."""
    good = [images.jpeg(colour=(200, 30, 30)), images.jpeg(colour=(30, 200, 30))]
    body = multipart({"family": str(family.pk)}, [("first.jpg", good[0]), ("big.jpg", os.urandom(MB)),
                                                  ("last.jpg", good[1])])

    with disk_full_past(300_000):
        response = post(client_for(alice), reverse("gallery:upload"), MeasuringStream(body, spool), len(body))

    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('data-outcome="saved"') == 2 and html.count('data-outcome="rejected"') == 1
    assert "big.jpg" in html and "no room to receive" in html
    assert sorted(Photo.objects.values_list("original_filename", flat=True)) == ["first.jpg", "last.jpg"]
    assert not list(spool.iterdir())  # the part that was spooled is gone


def test_a_full_temporary_space_through_the_api_is_a_400_that_says_so(client_for, alice, family, spool):
    body = multipart({"family": str(family.pk)}, [("big.jpg", os.urandom(MB))], field_name="file")

    with disk_full_past(300_000):
        response = post(client_for(alice), reverse("api_photos"), MeasuringStream(body, spool), len(body))

    assert response.status_code == 400
    assert "big.jpg" in response.json()["file"][0] and "no room to receive" in response.json()["file"][0]
    assert not Photo.objects.exists() and not list(spool.iterdir())


def test_the_readmes_nginx_site_lets_a_whole_upload_through_so_the_refusal_is_ours(settings):
    """The README's nginx site set client_max_body_size 60m, against its own Configuration (keep it at least
    UPLOAD_MAX_REQUEST_BYTES): the upload form without JavaScript sends every chosen file in one request, so 30 phone
    photos met nginx's bare "413 Request Entity Too Large" page instead of one result per file."""
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    sizes = re.findall(r"client_max_body_size\s+(\d+)([kmg]?);", readme)
    assert sizes, "the README no longer shows an nginx client_max_body_size"
    scale = {"": 1, "k": 1024, "m": MB, "g": 1024 * MB}
    for number, unit in sizes:
        assert int(number) * scale[unit] >= settings.UPLOAD_MAX_REQUEST_BYTES


def test_quotes_and_line_breaks_in_file_names_arrive_as_browsers_meant_them(client_for, alice, family, spool):
    """Browsers (and urllib3) write a file name's `"`, line feed and carriage return as %22, %0A and %0D in the
    upload, as HTML's form encoding says: a photo chosen as `Mum's "best" cake.jpg` was titled `Mum's %22best%22
    cake` (QA, Chromium). The escapes are undone; the line break then goes as any control character does."""
    files = [("Mum's %22best%22 cake.jpg", images.jpeg(colour=(200, 90, 10))),
             ("two%0D%0Alines.jpg", images.jpeg(colour=(10, 90, 200))),
             ("100%25 real.jpg", images.jpeg(colour=(90, 200, 10)))]  # no escape a browser writes: kept as it is
    body = multipart({"family": str(family.pk)}, files)

    response = post(client_for(alice), reverse("gallery:upload"), MeasuringStream(body, spool), len(body),
                    **{"X-Upload-Script": "1"})

    assert response.content.decode().count('data-outcome="saved"') == 3
    assert sorted(Photo.objects.values_list("original_filename", "title")) == [
        ("100%25 real.jpg", "100%25 real"), ("Mum's \"best\" cake.jpg", "Mum's \"best\" cake"),
        ("twolines.jpg", "twolines")]

    api = multipart({"family": str(family.pk)}, [("%22quoted%22.jpg", images.jpeg(colour=(1, 2, 3)))], field_name="file")
    response = post(client_for(alice), reverse("api_photos"), MeasuringStream(api, spool), len(api))
    assert response.status_code == 201 and response.json()["original_filename"] == '"quoted".jpg'
