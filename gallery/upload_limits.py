"""Limits on upload requests, enforced while the body streams in, before anything is spooled to disk.

Django's own limits come too late or say too little: DATA_UPLOAD_MAX_MEMORY_SIZE covers form fields only, every
file is written to FILE_UPLOAD_TEMP_DIR whole before our code could look at its size (a 1 GiB body landed in /tmp
before it was refused), DATA_UPLOAD_MAX_NUMBER_FILES answers a bare 400, and a file whose name reduces to nothing
("../", "\\x00") is silently dropped. So:

- `UploadLimitMiddleware` refuses a body whose Content-Length is over UPLOAD_MAX_REQUEST_BYTES before anyone reads
  it, and a multipart body sent chunked without a Content-Length (Django would read it as empty);
- `LimitedUploadHandler`, first in FILE_UPLOAD_HANDLERS, sees every chunk before the memory and temp-file handlers:
  a file over UPLOAD_MAX_BYTES is skipped at the chunk that crosses the limit (the other files of the same upload are
  kept), files past UPLOAD_MAX_FILES are counted but never stored, and the body is cut off at
  UPLOAD_MAX_REQUEST_BYTES. What it refused is reported, not raised: parsing also happens inside the CSRF middleware
  and DRF's authentication, where an exception would become a 500. The upload page and API read the report through
  `upload_report(request)` and answer with a row, or a 400/413, for each refusal;
- `SpoolUploadHandler`, last, is Django's temp-file handler, except that a temporary space that is full (or can't be
  written) skips that file with a reason in the same report instead of failing the whole request with a 500.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile
from django.core.files.uploadhandler import (
    FileUploadHandler,
    SkipFile,
    StopFutureHandlers,
    StopUpload,
    TemporaryFileUploadHandler,
)
from django.http import HttpRequest
from django.http.multipartparser import MultiPartParser

from gallery.files import NO_ROOM
from gallery.images import human_size
from gallery.text import refusal

logger = logging.getLogger(__name__)

# A file whose name reduces to nothing ("../", "///", "\x00", only control characters) is kept under this name
# (gallery.services.photo_upload keeps an empty name under it too), so it gets a result row like any other.
UNNAMED_FILE = "upload"


@dataclass
class UploadReport:
    """What the upload handler refused in one request."""

    files_sent: int = 0  # files in the body, whether stored or not
    too_large: list[str] = field(default_factory=list)  # names of the files skipped for their size
    request_too_large: bool = False  # the body passed UPLOAD_MAX_REQUEST_BYTES: the rest was not read
    not_received: list[tuple[str, str]] = field(default_factory=list)  # (name, reason): the server could not spool it

    @property
    def too_many_files(self) -> bool:
        return self.files_sent > settings.UPLOAD_MAX_FILES

    def problem(self) -> tuple[int, str] | None:
        """(HTTP status, message) when the request as a whole is refused; None otherwise."""
        if self.request_too_large:
            return 413, request_too_large_message()
        if self.too_many_files:
            return 400, (f"At most {settings.UPLOAD_MAX_FILES} files per upload; you sent {self.files_sent}. "
                         "Nothing was uploaded; send them in smaller batches.")
        return None


def request_too_large_message(*, upload: bool = True) -> str:
    """What a request over UPLOAD_MAX_REQUEST_BYTES is told: an upload (a multipart body) to send fewer files, any
    other (a JSON body, a GET claiming a body) only that it is too large."""
    most = human_size(settings.UPLOAD_MAX_REQUEST_BYTES)
    if not upload:
        return f"The request is too large: at most {most} per request. Nothing of it was read."
    return f"The upload is too large: at most {most} per request. Nothing was uploaded; send fewer files at a time."


def upload_report(request: HttpRequest) -> UploadReport:
    """What the upload handler refused while reading `request`'s body (an empty report when it read none)."""
    request.FILES  # noqa: B018 - parse the body now, if nothing has yet
    return _report(request)


def _report(request: HttpRequest) -> UploadReport:
    for handler in request.upload_handlers:
        if isinstance(handler, LimitedUploadHandler):
            return handler.report
    return UploadReport()


# How HTML's form encoding writes the three characters a multipart header can't hold in a file name (browsers and
# urllib3 do it; `%` itself is sent as it is, so a name holding "%22" can't be told apart, and reads as a quote).
FORM_NAME_ESCAPES = {"%22": '"', "%0D": "\r", "%0A": "\n"}


class _NamingMultiPartParser(MultiPartParser):
    """Django's parser, but a file name's form escapes are undone (`Mum's "best" cake.jpg` arrives as `Mum's
    %22best%22 cake.jpg`), and a file whose name reduces to nothing keeps a generated name instead of vanishing.
    (A part with no name at all, an empty file input, is still no file.)"""

    def sanitize_file_name(self, file_name: str) -> str:
        if file_name:
            file_name = re.sub("|".join(FORM_NAME_ESCAPES), lambda m: FORM_NAME_ESCAPES[m.group().upper()], file_name,
                               flags=re.IGNORECASE)
        return super().sanitize_file_name(file_name) or UNNAMED_FILE


class LimitedUploadHandler(FileUploadHandler):
    """Counts and caps while streaming; must be the first upload handler (see the module docstring)."""

    def __init__(self, request=None):
        super().__init__(request)
        self.report = UploadReport()
        self._parsing = False
        self._body_bytes = 0
        self._file_bytes = 0
        self._discard = False  # a file past UPLOAD_MAX_FILES: counted, its bytes dropped

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if self._parsing:
            return None  # called again by the parser started below
        # A Content-Length over UPLOAD_MAX_REQUEST_BYTES never gets here (UploadLimitMiddleware answered it); a body
        # longer than its Content-Length is cut off in receive_data_chunk.
        self._parsing = True
        # Parse with the naming parser instead (the hook Django documents for replacing the parsing).
        return _NamingMultiPartParser(META, input_data, self.request.upload_handlers, encoding).parse()

    def new_file(self, field_name, file_name, content_type, content_length, charset=None, content_type_extra=None):
        super().new_file(field_name, file_name, content_type, content_length, charset, content_type_extra)
        self.report.files_sent += 1
        self._file_bytes = 0
        self._discard = self.report.too_many_files
        if self._discard:
            # No other handler opens a file for it (no temp file, no open descriptor per extra file). SkipFile is
            # not raised here: the parser would close the other handlers' current file, which is the previous,
            # finished upload.
            raise StopFutureHandlers()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        # Files' bytes only: form fields are held to DATA_UPLOAD_MAX_MEMORY_SIZE by Django's parser.
        self._body_bytes += len(raw_data)
        if self._body_bytes > settings.UPLOAD_MAX_REQUEST_BYTES:
            self.report.request_too_large = True
            raise StopUpload(connection_reset=True)  # nothing more is read; the view refuses the request
        if self._discard:
            return None
        self._file_bytes += len(raw_data)
        if self._file_bytes > settings.UPLOAD_MAX_BYTES:
            self.report.too_large.append(self.file_name)
            raise SkipFile()  # the temp file written so far (at most UPLOAD_MAX_BYTES) is closed and deleted
        return raw_data

    def file_complete(self, file_size: int):
        if self._discard:
            # Stands in for the dropped file so no later handler hands back its previous file again; the request
            # is refused as a whole (UploadReport.problem), so nobody reads it.
            return SimpleUploadedFile(self.file_name, b"")
        return None


class SpoolUploadHandler(TemporaryFileUploadHandler):
    """Django's temp-file handler (files of a body over FILE_UPLOAD_MAX_MEMORY_SIZE go to FILE_UPLOAD_TEMP_DIR, /tmp
    by default). When that space is full or can't be written, the file is skipped with a reason in the request's
    UploadReport, and what was spooled of it is deleted; the other files of the upload go on."""

    def new_file(self, *args, **kwargs):
        try:
            super().new_file(*args, **kwargs)
        except OSError as exc:
            # The parser closes each handler's `file` on SkipFile: never the previous, finished upload's.
            self.file = SimpleUploadedFile(self.file_name or UNNAMED_FILE, b"")
            self._not_received(exc)
            raise SkipFile() from exc

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        try:
            return super().receive_data_chunk(raw_data, start)
        except OSError as exc:
            self._drop_spooled(exc)
            raise SkipFile() from exc

    def file_complete(self, file_size: int):
        try:
            return super().file_complete(file_size)  # its seek writes what was still buffered
        except OSError as exc:
            self._drop_spooled(exc)
            return None  # no file for this part; the report says why

    def upload_interrupted(self):
        # Called when no file of the body was kept: only a real temporary file is Django's to remove.
        if isinstance(getattr(self, "file", None), TemporaryUploadedFile):
            super().upload_interrupted()

    def _drop_spooled(self, exc: OSError) -> None:
        """Delete the temporary file (closing it flushes its buffer, which fails again on a full disk: the file is
        deleted all the same) and leave a harmless stand-in for the parser to close."""
        try:
            self.file.close()
        except OSError:
            pass
        self.file = SimpleUploadedFile(self.file_name or UNNAMED_FILE, b"")
        self._not_received(exc)

    def _not_received(self, exc: OSError) -> None:
        logger.warning("upload %r: could not spool it to the temporary space: %s", self.file_name, exc)
        if exc.errno in NO_ROOM:
            reason = ("The server has no room to receive this file right now (its temporary space is full). "
                      "Nothing of it was kept; tell the administrator, then try again.")
        else:
            reason = (f"The server could not receive this file (writing it to its temporary space failed: "
                      f"{exc.strerror or exc}). Nothing of it was kept; tell the administrator, then try again.")
        _report(self.request).not_received.append((self.file_name or UNNAMED_FILE, reason))


class UploadLimitMiddleware:
    """Answers before the body is read: over UPLOAD_MAX_REQUEST_BYTES by its Content-Length (413), or a multipart
    body without one (411: Django would read it as empty and the person would hear "no file was received")."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.UPLOAD_MAX_REQUEST_BYTES:
            return refusal(request, 413, request_too_large_message(
                upload=request.content_type == "multipart/form-data"))
        if (not length and "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
                and request.content_type == "multipart/form-data"):
            return refusal(request, 411, "Uploads need a Content-Length header; this one was sent without one.")
        return self.get_response(request)
