"""XMP sidecar files, read by import_photos: the keywords, title, description and place that a raw workflow keeps
beside a photo rather than in it.

darktable, digiKam, RawTherapee, Lightroom and Capture One never touch the originals (or can't: a raw file), so what
a family wrote there lives in an XMP file beside each photo. darktable and digiKam (by default) name it after the
whole file, `IMG_0001.jpg.xmp`; Lightroom, Capture One and digiKam (as an option) after its stem, `IMG_0001.xmp`;
the extension in any case (`.XMP`). When both are there, the whole name's wins: it is this file's alone, while
`IMG_0001.xmp` may be the raw file's of a raw+JPEG pair (`IMG_0001.CR2` beside `IMG_0001.JPG`), and is read only
when there is no other. A darktable duplicate's (`IMG_0001_01.jpg.xmp`) belongs to no file of its own and is left.

A sidecar is read by the same exiv2 child process, with the same time and memory limits, as the XMP embedded in a
file (gallery.embedded.read_embedded), and means the same: its keywords become tags "from the file", and its title,
description, place, XMP position and XMP date come before the file's own (gallery.embedded.embedded_merged: those
programs write a user's later edits into the sidecar, not the file), never over a member's edit; a tag from the file
that a changed sidecar and the file no longer give is taken off (a keyword removed in digiKam), never a member's, nor
one another sidecar of the photo gave (the same file in two folders); a description taken off a changed sidecar leaves
the photo when it is still the one the sidecar wrote (PhotoXmpSidecar.description); a sidecar deleted takes nothing
off. A re-read of the stored file alone (read_embedded) then fills only what nothing wrote, and takes no keyword off. A
sidecar larger than MAX_BYTES, unreadable or hostile is skipped with a log line; its photo is imported all the same.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from django.conf import settings

from gallery.embedded import Embedded, read_embedded
from gallery.sidecars import files_named, reader_fingerprint, sidecar_bytes
from gallery.text import text_shown_from_os

logger = logging.getLogger(__name__)

EXTENSION = ".xmp"
# A darktable sidecar carries the whole edit history (base64 parameters of every step): a heavily edited photo's is a
# few hundred kilobytes. Anything this big is no sidecar worth the reader's time.
MAX_BYTES = 8 * 1024 * 1024


def xmp_sidecar_path(path: Path) -> Path | None:
    """The XMP sidecar beside the photo at `path`: `IMG_0001.jpg.xmp`, else `IMG_0001.xmp` (the extension in any
    case; a name's own case as it is, then in any case); None when it has none."""
    beside = _xmp_names(path.parent)
    if not beside:
        return None
    for wanted in (path.name + EXTENSION, path.stem + EXTENSION):
        found = beside.get(wanted.lower())
        if found is not None:
            return path.parent / (wanted if wanted in found else sorted(found)[0])
    return None


@lru_cache(maxsize=4096)
def _xmp_names(folder: Path) -> dict[str, frozenset[str]]:
    """The names of a folder's .xmp files, by their lower-cased name (one listing per folder and import)."""
    found: dict[str, set[str]] = {}
    for name in files_named(folder, EXTENSION):  # (files only: a FIFO so named would hang the import)
        found.setdefault(name.lower(), set()).add(name)
    return {key: frozenset(value) for key, value in found.items()}


def xmp_names_forget() -> None:
    """Forget the folders listed (an import starting: they may have changed since the last in this process)."""
    _xmp_names.cache_clear()


def is_an_xmp_sidecar(data: bytes) -> bool:
    """Whether these bytes are an XMP file (a sidecar) by what they begin with, whatever their name: an XMP packet
    (`<?xpacket`, `<x:xmpmeta`), or an XML declaration before one, as darktable writes it."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith((b"<?xpacket", b"<x:xmpmeta")) or (head.startswith(b"<?xml") and b"<x:xmpmeta" in head)


@dataclass(frozen=True)
class XmpSidecar:
    """An XMP sidecar as read_xmp_sidecar found it."""

    embedded: Embedded | None  # what it says; None when its bytes are those read before (not read again)
    sha256: str = ""  # its fingerprint, when it was read whole and understood: what a later import compares with

    @property
    def unreadable(self) -> bool:
        return self.embedded is not None and bool(self.embedded.problems) and not self.embedded


# What the reader takes from a sidecar, as a number: raised when it takes something more (2: the people named in face
# regions; 3: those named in MWG regions without a type), so that the next import reads each sidecar read before
# once more, as a sidecar changed since (its stored fingerprint no longer matches), and gives its photo what only the
# new reader sees.
READER_VERSION = 3


def sidecar_fingerprint(data: bytes) -> str:
    """What tells a sidecar already read from one to read: the SHA-256 of its bytes as READER_VERSION reads them (the
    first reader's, before there was a version, was of its bytes alone: none of those matches)."""
    return reader_fingerprint(b"xmp sidecar", READER_VERSION, data)


def read_xmp_sidecar(path: Path, *, read_before: str = "") -> XmpSidecar:
    """What the XMP sidecar at `path` says (gallery.embedded.Embedded); empty, with a log line, when it can't be
    read, is too large or is no XMP; not read at all when its fingerprint is `read_before` (that of the one read at its
    path with its photo before, by this reader: PhotoXmpSidecar.sha256, sidecar_fingerprint). Never raises."""
    label = text_shown_from_os(f"{path.name} (XMP sidecar)")
    data, problem = sidecar_bytes(path, max_bytes=MAX_BYTES, label=label, kind="sidecar")
    if data is None:
        return XmpSidecar(Embedded(problems=(problem,)))
    digest = sidecar_fingerprint(data)
    if read_before and digest == read_before:
        return XmpSidecar(None, digest)
    if not is_an_xmp_sidecar(data):  # (a JPEG renamed .xmp: exiv2 would read its EXIF and IPTC as the photo's)
        logger.warning("%s: skipped: no XMP file", label)
        return XmpSidecar(Embedded(problems=("no XMP",)))
    sidecar = XmpSidecar(read_embedded(data, label=label))
    # (One that could not be understood is no sidecar read: the next import tries it again, the reader may have
    # timed out on a loaded machine; nor is one while reading metadata is off, EMBEDDED_METADATA.)
    return replace(sidecar, sha256=digest) if settings.EMBEDDED_METADATA and not sidecar.unreadable else sidecar
