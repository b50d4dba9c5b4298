"""A file's embedded metadata: keywords, title, description and IPTC location, as written by Lightroom,
digiKam, Photoshop, Windows or a phone, in XMP, IPTC and EXIF.

exiv2 (through pyexiv2) does the parsing in a child process (gallery/embedded_reader.py, one per process,
kept between files) that limits its own address space and CPU time per file and is killed after
EMBEDDED_TIMEOUT seconds: a C++ parser fed hostile bytes can crash or hang, and that must cost the metadata
of one file, never the web process or the upload. Whatever goes
wrong (a crash, a limit, a timeout, a field that is not text, an XMP bomb exiv2 refuses) is a log line and an
empty or partial result; `read_embedded` never raises.

What we take, first found wins for single values:
- keywords: XMP dc:subject, the leaf of each lr:hierarchicalSubject ("Places|Portugal|Lisbon" gives "Lisbon":
  Lightroom writes the parents into dc:subject itself when the user asked it to) and of each digiKam TagsList
  path ("People/Grandma"), IPTC Keywords, EXIF XPKeywords (";"-separated); deduplicated case-insensitively.
  The programs' own bookkeeping is no keyword: darktable's tags ("darktable|format|nef", "darktable|changed") and
  digiKam's internal ones ("_Digikam_Internal_Tags_/…") are left out whole, not taken by their leaf ("nef").
  The people a photo program recognised are keywords too: the name of each MWG face region (Lightroom, digiKam,
  Picasa, Apple Photos; a region of type Face or of none, not a pet or the focus point) and of each Microsoft Photo
  region (Windows Live Photo Gallery, digiKam), so a person digiKam also writes as "People/Alice" is one tag "Alice".
  Keywords longer than a tag can be (64 characters) are skipped with a log line; a keyword with commas is as
  many tags (as typed ones), and control and invisible characters are removed from every text (text_from_file).
- title: XMP dc:title, IPTC Headline (or XMP photoshop:Headline), EXIF XPTitle. Of XMP's language alternatives
  (dc:title, dc:description) the first that says something: x-default, then the others by language.
- description: XMP dc:description, IPTC Caption-Abstract, EXIF ImageDescription, XPComment, UserComment (not one
  that only repeats the title, as Windows writes its "Title" into ImageDescription too),
  leaving out the placeholders cameras write ("OLYMPUS DIGITAL CAMERA", "SAMSUNG CAMERA PICTURES"), and what only a
  camera or a phone writes into EXIF ImageDescription by itself (Huawei's shooting modes, "rhdr"; a model in angle
  brackets; the folder on its card). Reading a file again takes such a description stored before away.
- location: IPTC City / Province-State / Country (or XMP photoshop:City / State / Country).
- position: XMP exif:GPSLatitude / GPSLongitude ("38,43.338N", "38,43,20.3N"), where darktable's map view and
  digiKam's geolocation editor write it into a sidecar (a file's EXIF GPS, read with its dates, comes first).
"""

from __future__ import annotations

import contextlib
import json
import logging
import ntpath
import os
import re
import select
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from django.conf import settings

from gallery.embedded_reader import FACE_NAMES, MAX_VALUE
from gallery.images import names_an_image_format, possible_date
from gallery.places import gps_position
from gallery.timezones import offset_name
from gallery.text import TAG_SEPARATOR, tag_names_from_file, text_from_file

logger = logging.getLogger(__name__)

READER = Path(__file__).with_name("embedded_reader.py")
TAG_MAX = 64
TITLE_MAX = 255
DESCRIPTION_MAX = 10_000
PLACE_MAX = 100
VALUE_MAX = MAX_VALUE  # the reader cuts every value to this many characters

# What cameras and editors write when nobody wrote anything (compared case-insensitively, spaces collapsed).
PLACEHOLDERS = {
    "olympus digital camera", "sony dsc", "digital camera", "default", "minolta digital camera",
    "kodak digital still camera", "image", "picture", "photo", "untitled", "no title", "ascii", "unicode",
    "samsung", "lg", "exif_jpeg_picture", "created with gimp", "screenshot", "jpeg", "sanyo digital camera",
    "konica minolta digital camera", "panasonic", "fujifilm", "nikon", "canon", "hpim", "my beautiful picture",
    "binary comment",  # exiv2's word for a UserComment that holds no text
    "samsung camera pictures", "samsung digital camera", "moultrie digital game camera", "created by imlib",
    "casio computer co.,ltd", "dvc 10.1 hdmi",
}
# What phones and cameras write into EXIF ImageDescription, and only there, by themselves: Huawei's and Honor's shooting
# modes (HDR, night, portrait, burst, front camera...), which their photos carry by the thousand, and a slide scanner's
# word; short words a person may write in a caption of their own (XMP, IPTC), where they stay. (PhotoPrism's list.)
CAMERA_MODES = {
    "rhdr", "hdrpl", "oznorwo", "frontbhdp", "fbt", "rbt", "ptr", "fbthdr", "btr", "mon", "nor", "dav", "mde",
    "mde_soft", "edf", "btfmdn", "btf", "btfhdr", "frem", "oznor", "rpt", "burst", "sdr_hdrb", "cof", "qrf", "fshbty",
    "scanner",
}
# Also only a camera's in ImageDescription: its model in angle brackets ("<KENOX S1050 / Samsung S1050>", "<Digimax i5,
# Samsung #1>") and the folder on its card ("DCIM\100OLYMP").
CAMERA_WRITTEN = re.compile(r"<[^<>]*>|DCIM[\\/]\S*", re.IGNORECASE)


@dataclass(frozen=True)
class Embedded:
    keywords: tuple[str, ...] = ()
    title: str = ""
    description: str = ""
    city: str = ""
    region: str = ""
    country: str = ""
    latitude: float | None = None  # XMP's GPS position (both or neither)
    longitude: float | None = None
    # XMP's date taken (exif:DateTimeOriginal, else photoshop:DateCreated): the wall-clock time, and its offset when
    # it tells one ("+05:30", else ""). For a file whose EXIF tells none (an iPhone screenshot, a file dated in
    # digiKam or darktable); a day alone is its noon.
    taken_local: datetime | None = None
    taken_offset: str = ""
    problems: tuple[str, ...] = field(default=(), compare=False)  # what was skipped, as logged
    # Texts the file holds where a description goes that a camera wrote by itself (left out): one stored as the file's
    # description before this rule is taken away when the file is read again.
    no_descriptions: tuple[str, ...] = field(default=(), compare=False)
    # Whether `keywords` are all the keywords the file holds (the reader answered and skipped no keyword, nor a block
    # they are in): a tag from the file that they lack is no longer in it. Never so for a file that could not be read.
    keywords_complete: bool = field(default=False, compare=False)

    def __bool__(self) -> bool:
        return bool(self.keywords or self.title or self.description or self.city or self.region or self.country
                    or self.latitude is not None or self.taken_local is not None)


def read_embedded(data: bytes, *, label: str = "") -> Embedded:
    """The embedded metadata of an image file's bytes; empty when the file has none or it can't be read.
    `label` names the file in log lines. Never raises."""
    if not settings.EMBEDDED_METADATA or not data:
        return Embedded()
    label = label or "file"
    started = time.monotonic()
    try:
        fields, skipped = _reader.read(metadata_bytes(data))
        embedded = interpret(fields, skipped=skipped)
    except ReaderFailed as exc:
        logger.warning("%s: embedded metadata skipped: %s", label, exc)
        return Embedded(problems=(str(exc),))
    except Exception:  # a bug of ours must not cost the upload either: loud in the log, the photo still stored
        logger.exception("%s: embedded metadata skipped: unexpected error", label)
        return Embedded(problems=("unexpected error",))
    logger.debug("%s: embedded metadata read in %.0f ms", label, 1000 * (time.monotonic() - started))
    for problem in embedded.problems:
        logger.warning("%s: embedded metadata skipped: %s", label, problem)
    return embedded


def metadata_bytes(data: bytes) -> bytes:
    """What exiv2 needs of a file: for a JPEG, its segments up to the image data (every APPn block, where EXIF,
    XMP and IPTC live, comes before it) and an end marker; any other file whole. Less to copy to the reader
    and less for it to hold."""
    if data[:2] != b"\xff\xd8":
        return data
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return data  # not the structure we expect: let exiv2 see it all
        marker = data[pos + 1]
        if marker == 0xDA:  # start of scan: the pixels follow
            return data[:pos] + b"\xff\xd9"
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        pos += 2 + int.from_bytes(data[pos + 2:pos + 4], "big")
    return data


class ReaderFailed(Exception):
    """The reader process crashed, hit a limit, timed out or answered nonsense (the message says which)."""


class _Reader:
    """One exiv2 reader process per Python process, started on first use and kept for the next files (starting
    Python and loading exiv2 costs far more than reading a file), one file at a time. A reader that fails in
    any way is killed and the next file gets a fresh one; it is also replaced after FILES_PER_PROCESS files
    and in a forked child (gunicorn workers each start their own)."""

    FILES_PER_PROCESS = 1000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None
        self._stderr = None
        self._owner = 0
        self._served = 0

    def read(self, data: bytes) -> tuple[dict, list[str]]:
        with self._lock:
            try:
                answer = self._exchange(data)
            except ReaderFailed:
                self._stop()
                raise
            if self._served >= self.FILES_PER_PROCESS:
                self._stop()
        try:
            result = json.loads(answer)
            return dict(result["fields"]), [str(s) for s in result["skipped"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise ReaderFailed(f"the metadata reader's answer was unreadable ({type(exc).__name__})") from None

    def _exchange(self, data: bytes) -> bytes:
        process = self._running()
        deadline = time.monotonic() + settings.EMBEDDED_TIMEOUT
        try:
            process.stdin.write(len(data).to_bytes(8, "big") + data)
            process.stdin.flush()
        except OSError:
            raise ReaderFailed(self._death()) from None
        header = self._read_exact(process, 8, deadline)
        answer = self._read_exact(process, int.from_bytes(header, "big"), deadline)
        self._served += 1
        return answer

    def _read_exact(self, process: subprocess.Popen, size: int, deadline: float) -> bytes:
        if size > MAX_ANSWER:
            raise ReaderFailed(f"the metadata reader's answer was too long ({size} bytes)")
        fd = process.stdout.fileno()
        poller = select.poll()  # (not select(): a busy process's descriptors may pass FD_SETSIZE)
        poller.register(fd, select.POLLIN)
        chunks, got = [], 0
        while got < size:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not poller.poll(remaining * 1000):
                raise ReaderFailed(f"the metadata reader took over {settings.EMBEDDED_TIMEOUT} s and was stopped")
            chunk = os.read(fd, min(size - got, 1 << 20))
            if not chunk:
                raise ReaderFailed(self._death())
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def _running(self) -> subprocess.Popen:
        command = [sys.executable, "-I", str(READER), str(settings.EMBEDDED_MAX_MEMORY),
                   str(max(1, settings.EMBEDDED_TIMEOUT))]
        if (self._process is not None and self._owner == os.getpid() and self._process.poll() is None
                and self._process.args == command):  # (limits changed: a new reader)
            return self._process
        self._stop()
        self._stderr = tempfile.TemporaryFile()
        try:
            self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                             stderr=self._stderr, close_fds=True)
        except OSError as exc:
            raise ReaderFailed(f"the metadata reader could not start ({exc})") from None
        self._owner, self._served = os.getpid(), 0
        return self._process

    def _death(self) -> str:
        """Why the reader stopped answering: its exit code or signal and the last line it wrote to stderr."""
        process = self._process
        try:
            code = process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            code = None
        how = ("still running" if code is None else f"signal {-code}" if code < 0 else f"exit code {code}")
        last = ""
        if self._stderr is not None:
            self._stderr.seek(0)
            lines = self._stderr.read()[-4000:].decode("utf-8", "replace").strip().splitlines()
            last = lines[-1][:200] if lines else ""
        return f"the metadata reader failed ({how}) {last}".strip()

    def _stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and self._owner == os.getpid():
            with contextlib.suppress(OSError):
                process.kill()
            with contextlib.suppress(Exception):
                process.wait(timeout=5)
            for stream in (process.stdin, process.stdout):
                with contextlib.suppress(OSError):
                    stream.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None


MAX_ANSWER = 64 * 1024 * 1024
_reader = _Reader()


def reader_stop() -> None:
    """Stop this process's reader (the next read starts a new one): for tests and shutdown."""
    with _reader._lock:
        _reader._stop()


def interpret(fields: dict[str, list[str]], *, skipped: list[str] = ()) -> Embedded:
    """What the reader's fields (exiv2 key -> values) mean to us."""
    problems = list(skipped)

    def values(key: str) -> list[str]:
        found = fields.get(key) or []
        return [str(v) for v in (found if isinstance(found, list) else [found])]

    keywords: dict[str, str] = {}

    def keyword(raw: str, key: str, *, person: bool = False) -> None:
        if _internal(raw):  # (a program's bookkeeping, not what the photo shows)
            return
        for name in tag_names_add(keywords, raw, person=person):
            problems.append(f"{key}: {_sized('keyword', len(name), cut=len(raw) >= VALUE_MAX)} "
                            f"(tags hold {TAG_MAX}): {name[:40]}…")

    for raw in values("Xmp.dc.subject"):
        keyword(raw, "Xmp.dc.subject")
    for key, separator in (("Xmp.lr.hierarchicalSubject", "|"), ("Xmp.digiKam.TagsList", "/")):
        for raw in values(key):
            if not _internal(raw):
                keyword(raw.rsplit(separator, 1)[-1], key)
    for raw in values("Iptc.Application2.Keywords"):
        keyword(raw, "Iptc.Application2.Keywords")
    for raw in values("Exif.Image.XPKeywords"):
        for part in raw.split(";"):
            keyword(part, "Exif.Image.XPKeywords")
    for raw in values(FACE_NAMES):  # the people named in face regions (a keyword path's leaf names them the same)
        if raw.strip().casefold() not in UNNAMED_FACES:  # (the names digiKam gives faces nobody named: nobody's)
            keyword(raw, FACE_NAMES, person=True)

    title = _first(fields, ("Xmp.dc.title", "Iptc.Application2.Headline", "Xmp.photoshop.Headline",
                            "Exif.Image.XPTitle"), limit=TITLE_MAX, one_line=True, problems=problems)
    no_descriptions: list[str] = []
    description = _first(fields, ("Xmp.dc.description", "Iptc.Application2.Caption", "Exif.Image.ImageDescription",
                                  "Exif.Image.XPComment", "Exif.Photo.UserComment"), limit=DESCRIPTION_MAX,
                         problems=problems, left_out=no_descriptions, besides=title)
    latitude, longitude = _position(fields, problems)
    taken_local, taken_offset = _taken(fields, problems)
    return Embedded(
        taken_local=taken_local, taken_offset=taken_offset,
        keywords=tuple(keywords.values()),
        latitude=latitude, longitude=longitude,
        title=title,
        description=description,
        city=_first(fields, ("Iptc.Application2.City", "Xmp.photoshop.City"), limit=PLACE_MAX, one_line=True,
                    problems=problems),
        region=_first(fields, ("Iptc.Application2.ProvinceState", "Xmp.photoshop.State"), limit=PLACE_MAX,
                      one_line=True, problems=problems),
        country=_first(fields, ("Iptc.Application2.CountryName", "Xmp.photoshop.Country"), limit=PLACE_MAX,
                       one_line=True, problems=problems),
        problems=tuple(problems), no_descriptions=tuple(no_descriptions),
        keywords_complete=not any(note.startswith(_KEYWORDS_LOST) for note in skipped),
    )


# What digiKam names the faces it found that nobody named or confirmed (its "People" tags of its own): no person.
UNNAMED_FACES = frozenset({"unknown", "unconfirmed", "ignored"})


# Where the reader's notes of what it skipped begin when keywords may be lost with it: a block exiv2 refused
# ("xmp: …", "iptc: …", "exif: …"), a file it could not open, a keyword's value it could not decode or cut off. A note
# about other values begins with their keys ("Xmp.dc.title, Xmp.dc.description: its packet is no plain XML"): the
# keywords are known whole all the same.
_KEYWORDS_LOST = ("xmp:", "iptc:", "exif:", "unreadable:", "Xmp.dc.subject:", "Xmp.lr.hierarchicalSubject:",
                  "Xmp.digiKam.TagsList:", "Iptc.Application2.Keywords:", "Exif.Image.XPKeywords:", f"{FACE_NAMES}:")


# The roots under which photo programs keep tags of their own (darktable: the file's format, "changed", "exported";
# digiKam: colour and pick labels), written into the same keyword lists as the family's.
_INTERNAL_TAGS = re.compile(r"^\s*(?:darktable\s*\||_digikam_internal_tags_\s*[/|])", re.IGNORECASE)


def description_from_file(value: str) -> str:
    """A description a file beside a photo gives (a Takeout sidecar's or album's, a Picasa file's caption): its text
    cleaned (no control characters but line breaks and tabs), stripped, cut to a description's length."""
    return text_from_file(value, multiline=True).strip()[:DESCRIPTION_MAX]


def tag_names_add(names: dict[str, str], raw: str, *, person: bool = False) -> list[str]:
    """Add to `names` (each once as written, in order) the tag names a value read from a file gives: cleaned and split
    at its commas as typed tags are (tag_names_from_file: a tag name holds no comma nor control character), or, for a
    `person`, one tag whatever the name holds ("Smith, John" is "Smith John", in a face region, a Google Photos person
    or a Picasa contact alike). The names longer than a tag (TAG_MAX) are left out and returned, for the caller to say
    so.

    Names of one tag in another case ("Beach", "beach") are told apart where they become tags, the first spelling
    kept, by the key of the tags' unique index (gallery.services' _names_keyed: names_folded, case-folded), as a
    member's typed tags are; not here by Python's str.lower(), which reads some otherwise: "STRASSE" and "Straße" are
    two keywords to it, one tag name to the database."""
    too_long = []
    for name in tag_names_from_file(raw.replace(TAG_SEPARATOR, " ") if person else raw):
        if len(name) > TAG_MAX:
            too_long.append(name)
        else:
            names.setdefault(name, name)
    return too_long


def _internal(raw: str) -> bool:
    """Whether a keyword (or a keyword path) is a photo program's own bookkeeping rather than a keyword."""
    return bool(_INTERNAL_TAGS.match(raw))


def embedded_merged(*, file: Embedded, sidecar: Embedded) -> Embedded:
    """What a file's own embedded metadata and its XMP sidecar's say together. The sidecar wins: darktable, digiKam and
    Lightroom (set to write sidecars) write a user's later edits there, never into the file (and can't into a raw
    one), and Immich too takes a sidecar before what is embedded; so the title, the description, the place (city,
    region and country as one), the XMP position and the XMP date taken are the sidecar's when it has one, else the
    file's. The keywords are those of both, once each case-insensitively (the sidecar's spelling first). (The file's
    EXIF GPS position and date taken, read apart, still come first: gallery.services._photo_store.)"""
    first, then = sidecar, file
    # (each once as written, the sidecar's first: where they become tags, one tag's names in another case are one, the
    # first spelling kept, by the database's key: tag_names_add)
    keywords = dict.fromkeys((*first.keywords, *then.keywords))
    place = first if (first.city or first.region or first.country) else then
    position = first if first.latitude is not None else then
    dated = first if first.taken_local is not None else then
    return Embedded(
        keywords=tuple(keywords),
        title=first.title or then.title,
        description=first.description or then.description,
        city=place.city, region=place.region, country=place.country,
        latitude=position.latitude, longitude=position.longitude,
        taken_local=dated.taken_local, taken_offset=dated.taken_offset,
        problems=(*then.problems, *first.problems),
        no_descriptions=(*then.no_descriptions, *first.no_descriptions),
        keywords_complete=first.keywords_complete and then.keywords_complete,
    )


# How a browser names a download whose name its folder already holds: "IMG_1234 (1).jpg" (Chrome, Firefox, Edge).
_BROWSER_COPY = re.compile(r" \(\d+\)$")


def names_the_file_only(title: str, *, filename: str) -> bool:
    """Whether a file's title is only the name of the file `filename` ("IMG_1234.jpg", "IMG_1234"; with the folders
    some exporters write before it, "C:\\Users\\Ann\\IMG_1234.jpg"; as it was before a browser saved a second download
    of it as "IMG_1234 (1).jpg"), which says no more than the title made from the name. Compared in any case, not in
    any punctuation ("Mother-in-law" on "Mother in law.jpg" is a title); an extension only when it names an image
    format ("Anna.Maria" on "Anna.jpg" is a title), folders only before the name of an image file ("Mum/Dad" is a
    title)."""
    written = title.strip()
    named = ntpath.basename(written)  # (either separator: "/" or "\\")
    stem, extension = os.path.splitext(named)
    if names_an_image_format(extension[1:].lower()):
        named = stem
    elif named != written:
        return False
    own, _ = os.path.splitext(filename)
    return bool(own) and named.casefold() in {own.casefold(), _BROWSER_COPY.sub("", own).casefold()}


def without_file_name_title(embedded: Embedded, *, filename: str) -> Embedded:
    """What a file, or its XMP sidecar, says, without its title when that is only the name of the file `filename`
    (names_the_file_only): no title, so that merged with the other's (embedded_merged) it hides no real one."""
    if embedded.title and names_the_file_only(embedded.title, filename=filename):
        return replace(embedded, title="")
    return embedded


# XMP's dates: ISO 8601 ("2021-05-04T10:33:05.250+05:30", "2021-05-04T10:33Z", "2021-05-04"), or EXIF's own way of
# writing them ("2019:07:14 10:11:12.000", as darktable writes its sidecars). A month or a year alone tells no day.
_XMP_DATE = re.compile(r"\s*(\d{4})[-:](\d{2})[-:](\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?"
                       r"\s*(Z|[+-]\d{2}:?\d{2})?)?\s*")


def _taken(fields: dict, problems: list[str]) -> tuple[datetime | None, str]:
    """The date taken XMP gives (exif:DateTimeOriginal, else photoshop:DateCreated) and its offset, or (None, "");
    one that is no date a photo can have (gallery.images.possible_date: a clock never set) is said in `problems`."""
    for key in ("Xmp.exif.DateTimeOriginal", "Xmp.photoshop.DateCreated"):
        raw = str((fields.get(key) or [""])[0])
        if not raw.strip():
            continue
        match = _XMP_DATE.fullmatch(raw)
        try:
            year, month, day, hour, minute, second = (int(part) if part else None for part in match.groups()[:6])
            when = datetime(year, month, day, 12 if hour is None else hour, minute or 0, second or 0)
        except (AttributeError, TypeError, ValueError):  # (no match; no such day or time)
            when = None
        if when is None or not possible_date(when):
            problems.append(f"{key}: no date taken: {raw[:40]!r}")
            continue
        return when, offset_name(match[7])
    return None, ""


# XMP's GPS coordinate: degrees, then minutes with a fraction or minutes and seconds, then the hemisphere.
_XMP_COORDINATE = re.compile(r"\s*(\d{1,3}),(\d{1,2}(?:\.\d+)?)(?:,(\d{1,2}(?:\.\d+)?))?\s*([NSEW])\s*", re.IGNORECASE)


def _position(fields: dict, problems: list[str]) -> tuple[float | None, float | None]:
    """The GPS position XMP gives (exif:GPSLatitude, exif:GPSLongitude), or (None, None); one that makes no sense is
    said in `problems`."""
    raw = [(fields.get(key) or [""])[0] for key in ("Xmp.exif.GPSLatitude", "Xmp.exif.GPSLongitude")]
    if not any(raw):
        return None, None
    latitude, longitude = (_coordinate(value, hemispheres) for value, hemispheres in zip(raw, ("NS", "EW")))
    if latitude is None or longitude is None or abs(latitude) > 90 or abs(longitude) > 180:
        problems.append(f"Xmp.exif.GPS: no position: {str(raw[0])[:40]!r}, {str(raw[1])[:40]!r}")
        return None, None
    return gps_position(latitude, longitude) or (None, None)  # (0, 0: a camera without a fix, as EXIF's)


def _coordinate(value: str, hemispheres: str) -> float | None:
    match = _XMP_COORDINATE.fullmatch(str(value))
    if match is None or match[4].upper() not in hemispheres:
        return None
    degrees, minutes, seconds = int(match[1]), float(match[2]), float(match[3] or 0)
    if minutes >= 60 or seconds >= 60:
        return None
    magnitude = degrees + minutes / 60 + seconds / 3600
    return -magnitude if match[4].upper() in "SW" else magnitude


_CHARSET_PREFIX = re.compile(r'^charset=("[^"]*"|\S+)\s?', re.IGNORECASE)


def _first(fields: dict, keys: tuple[str, ...], *, limit: int, problems: list[str], one_line: bool = False,
           left_out: list[str] | None = None, besides: str = "") -> str:
    """The first text of these keys that says something, and more than `besides` (a description that only repeats the
    title: Windows writes the "Title" it is given into EXIF ImageDescription as well), cut to `limit` characters
    (said in `problems`); the placeholders passed over go into `left_out`, when given."""
    repeated = " ".join(besides.casefold().split()) or None
    for key in keys:
        for raw in fields.get(key) or []:
            text = _CHARSET_PREFIX.sub("", str(raw)) if key == "Exif.Photo.UserComment" else str(raw)
            text = text_from_file(text, multiline=not one_line)
            text = " ".join(text.split()) if one_line else text.strip()
            if text and _placeholder(text, key=key):
                if left_out is not None:
                    left_out.append(text)
            elif text and " ".join(text.casefold().split()) != repeated:
                if len(text) > limit:
                    problems.append(f"{key}: {_sized('text', len(text), cut=len(str(raw)) >= VALUE_MAX)} cut to {limit}")
                return text[:limit].strip()
    return ""


def _sized(what: str, length: int, *, cut: bool) -> str:
    """"a 300-character keyword"; for a value the reader already cut to VALUE_MAX, what we know of it: "a keyword of
    at least 20000 characters"."""
    return f"a {what} of at least {VALUE_MAX} characters" if cut else f"a {length}-character {what}"


def _placeholder(text: str, *, key: str) -> bool:
    """Whether `text`, read from `key`, is what a camera or a program writes when nobody wrote anything."""
    said = " ".join(text.lower().split())
    if key == "Exif.Image.ImageDescription" and (said in CAMERA_MODES or CAMERA_WRITTEN.fullmatch(said)):
        return True
    return said in PLACEHOLDERS or not any(ch.isalnum() for ch in text)
