"""A file's embedded metadata: keywords, title, description and IPTC location, as written by Lightroom,
digiKam, Photoshop, Windows or a phone, in XMP, IPTC and EXIF.

exiv2 (through pyexiv2) does the parsing in a child process (gallery/embedded_reader.py) that limits its own
address space and CPU time and is killed after EMBEDDED_TIMEOUT seconds: a C++ parser fed hostile bytes can
crash or hang, and that must cost the metadata of one file, never the web process or the upload. Whatever goes
wrong (a crash, a limit, a timeout, a field that is not text, an XMP bomb exiv2 refuses) is a log line and an
empty or partial result; `read_embedded` never raises.

What we take, first found wins for single values:
- keywords: XMP dc:subject, the leaf of each lr:hierarchicalSubject ("Places|Portugal|Lisbon" gives "Lisbon":
  Lightroom writes the parents into dc:subject itself when the user asked it to) and of each digiKam TagsList
  path ("People/Grandma"), IPTC Keywords, EXIF XPKeywords (";"-separated); deduplicated case-insensitively.
  Keywords longer than a tag can be (64 characters) are skipped with a log line.
- title: XMP dc:title, IPTC Headline (or XMP photoshop:Headline), EXIF XPTitle.
- description: XMP dc:description, IPTC Caption-Abstract, EXIF ImageDescription, XPComment, UserComment,
  leaving out the placeholders cameras write ("OLYMPUS DIGITAL CAMERA").
- location: IPTC City / Province-State / Country (or XMP photoshop:City / State / Country).
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

logger = logging.getLogger(__name__)

READER = Path(__file__).with_name("embedded_reader.py")
TAG_MAX = 64
TITLE_MAX = 255
DESCRIPTION_MAX = 10_000
PLACE_MAX = 100

# What cameras and editors write when nobody wrote anything (compared case-insensitively, spaces collapsed).
PLACEHOLDERS = {
    "olympus digital camera", "sony dsc", "digital camera", "default", "minolta digital camera",
    "kodak digital still camera", "image", "picture", "photo", "untitled", "no title", "ascii", "unicode",
    "samsung", "lg", "exif_jpeg_picture", "created with gimp", "screenshot", "jpeg", "sanyo digital camera",
    "konica minolta digital camera", "panasonic", "fujifilm", "nikon", "canon", "hpim", "my beautiful picture",
}


@dataclass(frozen=True)
class Embedded:
    keywords: tuple[str, ...] = ()
    title: str = ""
    description: str = ""
    city: str = ""
    region: str = ""
    country: str = ""
    problems: tuple[str, ...] = field(default=(), compare=False)  # what was skipped, as logged

    def __bool__(self) -> bool:
        return bool(self.keywords or self.title or self.description or self.city or self.region or self.country)


def read_embedded(data: bytes, *, label: str = "") -> Embedded:
    """The embedded metadata of an image file's bytes; empty when the file has none or it can't be read.
    `label` names the file in log lines. Never raises."""
    if not settings.EMBEDDED_METADATA or not data:
        return Embedded()
    label = label or "file"
    memory = settings.EMBEDDED_MAX_MEMORY + 4 * len(data)
    command = [sys.executable, "-I", str(READER), str(memory), str(max(1, settings.EMBEDDED_TIMEOUT))]
    started = time.monotonic()
    try:
        done = subprocess.run(command, input=data, capture_output=True, timeout=settings.EMBEDDED_TIMEOUT,
                              check=False)
    except subprocess.TimeoutExpired:
        return _failed(label, f"the metadata reader took over {settings.EMBEDDED_TIMEOUT} s and was stopped")
    except OSError as exc:
        return _failed(label, f"the metadata reader could not start ({exc})")
    if done.returncode != 0:
        how = f"signal {-done.returncode}" if done.returncode < 0 else f"exit code {done.returncode}"
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        return _failed(label, f"the metadata reader failed ({how}) {tail[0][:200]}".strip())
    try:
        result = json.loads(done.stdout)
        fields, skipped = dict(result["fields"]), [str(s) for s in result["skipped"]]
    except (ValueError, KeyError, TypeError) as exc:
        return _failed(label, f"the metadata reader's answer was unreadable ({type(exc).__name__})")
    logger.debug("%s: embedded metadata read in %.0f ms", label, 1000 * (time.monotonic() - started))
    embedded = interpret(fields, skipped=skipped)
    for problem in embedded.problems:
        logger.warning("%s: embedded metadata skipped: %s", label, problem)
    return embedded


def _failed(label: str, problem: str) -> Embedded:
    logger.warning("%s: embedded metadata skipped: %s", label, problem)
    return Embedded(problems=(problem,))


def interpret(fields: dict[str, list[str]], *, skipped: list[str] = ()) -> Embedded:
    """What the reader's fields (exiv2 key -> values) mean to us."""
    problems = list(skipped)

    def values(key: str) -> list[str]:
        found = fields.get(key) or []
        return [str(v) for v in (found if isinstance(found, list) else [found])]

    keywords: dict[str, str] = {}

    def keyword(raw: str, key: str) -> None:
        name = " ".join(raw.split())
        if not name:
            return
        if len(name) > TAG_MAX:
            problems.append(f"{key}: a {len(name)}-character keyword (tags hold {TAG_MAX}): {name[:40]}…")
            return
        keywords.setdefault(name.lower(), name)

    for raw in values("Xmp.dc.subject"):
        keyword(raw, "Xmp.dc.subject")
    for key, separator in (("Xmp.lr.hierarchicalSubject", "|"), ("Xmp.digiKam.TagsList", "/")):
        for raw in values(key):
            keyword(raw.rsplit(separator, 1)[-1], key)
    for raw in values("Iptc.Application2.Keywords"):
        keyword(raw, "Iptc.Application2.Keywords")
    for raw in values("Exif.Image.XPKeywords"):
        for part in raw.split(";"):
            keyword(part, "Exif.Image.XPKeywords")

    title = _first(fields, ("Xmp.dc.title", "Iptc.Application2.Headline", "Xmp.photoshop.Headline",
                            "Exif.Image.XPTitle"), limit=TITLE_MAX, one_line=True)
    description = _first(fields, ("Xmp.dc.description", "Iptc.Application2.Caption", "Exif.Image.ImageDescription",
                                  "Exif.Image.XPComment", "Exif.Photo.UserComment"), limit=DESCRIPTION_MAX)
    return Embedded(
        keywords=tuple(keywords.values()),
        title=title,
        description=description,
        city=_first(fields, ("Iptc.Application2.City", "Xmp.photoshop.City"), limit=PLACE_MAX, one_line=True),
        region=_first(fields, ("Iptc.Application2.ProvinceState", "Xmp.photoshop.State"), limit=PLACE_MAX,
                      one_line=True),
        country=_first(fields, ("Iptc.Application2.CountryName", "Xmp.photoshop.Country"), limit=PLACE_MAX,
                       one_line=True),
        problems=tuple(problems),
    )


_CHARSET_PREFIX = re.compile(r'^charset=("[^"]*"|\S+)\s?', re.IGNORECASE)


def _first(fields: dict, keys: tuple[str, ...], *, limit: int, one_line: bool = False) -> str:
    for key in keys:
        for raw in fields.get(key) or []:
            text = _CHARSET_PREFIX.sub("", str(raw)) if key == "Exif.Photo.UserComment" else str(raw)
            text = " ".join(text.split()) if one_line else text.strip()
            if text and not _placeholder(text):
                return text[:limit].strip()
    return ""


def _placeholder(text: str) -> bool:
    return " ".join(text.lower().split()) in PLACEHOLDERS or not any(ch.isalnum() for ch in text)
