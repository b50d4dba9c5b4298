"""Google Takeout's JSON sidecars, read by import_photos.

A Google Photos export (Takeout) keeps what Google Photos knows of a photo beside it, in a JSON file, and not in the
photo: the date taken (what a member corrected there too), the position (geoData), the caption (description) and
the people named in it. The exported files' modified times are the day of the export, so a photo without EXIF (a
chat app's copy, a screenshot, a scan) would be dated to that day without it. What the sidecar says fills what the
file's own metadata lacks: its EXIF date and GPS position come first, its embedded caption too. A sidecar without
the date taken still says when the photo was added to Google Photos (creationTime): a better guess than the export's
day, which the photo page and the API name as what it is.

Takeout names the sidecar of "IMG_0042.jpg" "IMG_0042.jpg.json", since late 2024
"IMG_0042.jpg.supplemental-metadata.json", and cuts a sidecar's whole name to 51 characters ("…-metad.json";
counted in UTF-16 units, as Java does: an emoji is two); the second "IMG_0042.jpg" of a folder is "IMG_0042(1).jpg"
with "IMG_0042.jpg(1).json"; an edited copy ("IMG_0042-edited.jpg", in the account's language:
"IMG_0042-bearbeitet.jpg") shares the original's sidecar. A sidecar that can't be read or makes no sense is skipped
with a log line (the photo is stored all the same); a value that makes no sense is skipped alone. Chosen on the
upload page, a sidecar is named as one (upload does not read it).
"""

from __future__ import annotations

import json
import logging
import os
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone as dt_timezone
from functools import lru_cache
from pathlib import Path

from gallery.embedded import description_from_file, tag_names_add
from gallery.images import possible_date, sha256_of
from gallery.places import gps_position
from gallery.text import one_line, text_from_file

logger = logging.getLogger(__name__)

NAME_LIMIT = 51  # characters of a sidecar's whole name, ".json" included
SUFFIXES = (".json", ".supplemental-metadata.json")
MAX_BYTES = 1_000_000  # a sidecar is a few kilobytes: anything this big is no sidecar
MAX_PEOPLE = 50
_NUMBERED = re.compile(r"^(?P<stem>.*)\((?P<n>\d+)\)(?P<ext>\.[^.]*)$")  # "IMG_0042(1).jpg"
# What Google Photos adds to an edited copy's name, in the account's language ("IMG_0042-bearbeitet.jpg").
EDITED = ("-edited", "-effects", "-bearbeitet", "-modifié", "-modificato", "-editado", "-ha editado", "-editat",
          "-bewerkt", "-edytowane", "-düzenlendi", "-отредактировано", "-diedit", "-đã chỉnh sửa", "-編集済み",
          "-已编辑", "-편집됨")


@dataclass(frozen=True)
class Sidecar:
    path: Path
    taken_at: datetime | None = None  # aware, UTC
    added_at: datetime | None = None  # when it was added to Google Photos (creationTime): no date taken
    latitude: float | None = None
    longitude: float | None = None
    description: str = ""
    people: tuple[str, ...] = ()
    favourite: bool = False  # starred in Google Photos ("favorited": true)
    trashed: bool = False  # in Google Photos' trash when exported ("trashed": true)


def sidecar_names(name: str) -> list[str]:
    """The names Takeout may have given the sidecar of the file `name`, likeliest first."""
    names = []
    for base, number in _known_as(name):
        for suffix in SUFFIXES:
            whole = base + suffix[:-len(".json")]
            names.append(f"{_cut_to(whole, NAME_LIMIT - len('.json'))}{number}.json")
            names.append(f"{whole}{number}.json")  # (uncut: not every export kept to the limit)
    return list(dict.fromkeys(names))


def sidecar_path(path: Path) -> Path | None:
    """The Takeout sidecar beside the image at `path`, if there is one: by the names Takeout gives (sidecar_names),
    else a JSON file of the folder whose name is the start of the image's cut a few characters shorter or longer
    than those (Takeout's limit has not always been 51). A cut name may be that of several photos' sidecars (two
    long names alike in their first 46 characters: Takeout numbers the second, "…(1).json"): of those, the one
    whose title is the photo's name, and none when no title tells which."""
    beside = _json_names(path.parent)
    if not beside:
        return None
    names = sidecar_names(path.name)
    found = next((name for name in names if name in beside), None)
    numbered = _NUMBERED.match(path.name)
    if found is not None and (not _cut(found, path.name) or (numbered and _CUT_NUMBERED.match(found)["n"] ==
                                                              numbered["n"])):  # ("…_m(2).jpg": "…_(2).json")
        return path.with_name(found)
    whole = path.name + SUFFIXES[-1][:-len(".json")]
    cut = [name for name, stem in _cut_json_names(path.parent) if whole.startswith(stem)]
    cut = list(dict.fromkeys([*([found] if found else []), *cut]))
    if len(cut) <= 1:
        return path.with_name(cut[0]) if cut else None
    titled = next((name for name in cut if _titled(path.with_name(name), names_of=path.name)), None)
    if titled is None:
        logger.warning("%s: not given a Google Takeout sidecar: %s could each be its, and no title tells which",
                       path, ", ".join(cut))
    return path.with_name(titled) if titled else None


_CUT_NUMBERED = re.compile(r"^(?P<stem>.*?)(?:\((?P<n>\d+)\))?\.json$", re.IGNORECASE)  # "…box 1975-(1).json"


def _units(text: str) -> int:
    """The length of `text` as Takeout counts it: in UTF-16 units, as Java does (an emoji is two)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _cut_to(text: str, units: int) -> str:
    """`text` cut to `units` UTF-16 units (an emoji cut in half is left out)."""
    return text.encode("utf-16-le", "surrogatepass")[:units * 2].decode("utf-16-le", "ignore")


def _cut(sidecar: str, name: str) -> bool:
    """Whether the sidecar's name is a cut one (which another photo's sidecar may share)."""
    stem = _CUT_NUMBERED.match(sidecar)["stem"]
    return not any(stem in (base, base + suffix[:-len(".json")]) for base in _bases(name) for suffix in SUFFIXES)


def _known_as(name: str) -> list[tuple[str, str]]:
    """The names Google Photos knew the file `name` by, likeliest first, each with the number its sidecar's name
    carries: the first of its name ("IMG_0042(1).jpg": "IMG_0042.jpg", sidecar "IMG_0042.jpg(1).json"), its own,
    the original of an edited copy ("IMG_0042-edited.jpg": "IMG_0042.jpg")."""
    numbered = _NUMBERED.match(name)
    known = [(numbered["stem"] + numbered["ext"], f"({numbered['n']})"), (name, "")] if numbered else [(name, "")]
    original = edited_original(name)
    return [*known, (original, "")] if original else known


def _bases(name: str) -> list[str]:
    """The names Google Photos knew the file `name` by (_known_as)."""
    return [base for base, _ in _known_as(name)]


def edited_original(name: str) -> str | None:
    """The original's name of an edited copy ("IMG_0042-modifié.jpg": "IMG_0042.jpg"), in the file name's own
    Unicode form (a Mac unzips "é" as "e" and an accent: NFD)."""
    stem, dot, ext = name.rpartition(".")
    composed = unicodedata.normalize("NFC", stem)
    edited = next((word for word in EDITED if dot and composed.lower().endswith(word) and len(composed) > len(word)),
                  None)
    if edited is None:
        return None
    original = composed[:-len(edited)]
    return f"{unicodedata.normalize('NFD', original) if stem != composed else original}.{ext}"


def _titled(sidecar: Path, *, names_of: str) -> bool:
    """Whether the sidecar's title (the name Google Photos knew the photo by) is that of the file `names_of`."""
    title = _title(sidecar)
    if title is None:
        return False
    stem, _, ext = title.rpartition(".")
    # (Takeout cuts long names of photos too: "…_m.jpg" for "…_morning.jpg")
    bases = _bases(names_of)
    return title in bases or any(base_ext == ext and base_stem and stem.startswith(base_stem)
                                 for base_stem, _, base_ext in (base.rpartition(".") for base in bases))


@lru_cache(maxsize=4096)
def _title(sidecar: Path) -> str | None:
    """A sidecar's title, read once an import (a series of scans cut alike has each photo try every sidecar)."""
    try:
        title = _read_json(sidecar).get("title")
    except (OSError, ValueError):
        return None
    return title if isinstance(title, str) else None


@lru_cache(maxsize=8)
def _cut_json_names(folder: Path) -> tuple[tuple[str, str], ...]:
    """The folder's JSON names that may be cut ones, longest first, each with its stem (worked out once a folder,
    not once a photo: every modern phone's sidecar name is cut)."""
    longest_first = sorted(_json_names(folder), key=len, reverse=True)
    return tuple((name, _CUT_NUMBERED.match(name)["stem"]) for name in longest_first if _units(name) >= NAME_LIMIT - 5)


def files_named(folder: Path, extension: str) -> frozenset[str]:
    """The names of a folder's sidecars by their extension (".json", ".xmp", in any case): files, or links to one.
    A FIFO, a device or a folder so named is none (opening a FIFO waits for a writer for ever); an unreadable folder
    has none. (Each kind's reader keeps what it listed: an import walks folder by folder.)"""
    try:
        return frozenset(entry.name for entry in os.scandir(folder)
                         if entry.name.lower().endswith(extension) and entry.is_file())
    except OSError:
        return frozenset()


@lru_cache(maxsize=8)
def _json_names(folder: Path) -> frozenset[str]:
    """The names of the JSON files in a folder (an import walks folder by folder: each is listed once)."""
    return files_named(folder, ".json")


class SidecarUnreadable(Exception):
    """A sidecar's file could not be read as JSON: cut off, another encoding, too large, gone. The message says why."""


def read_sidecar(path: Path) -> Sidecar | None:
    """A sidecar's values that make sense (None when it holds none: no Takeout sidecar). SidecarUnreadable when the
    file can't be read (logged here), for the import to count apart from those it used."""
    try:
        data = _read_json(path)
    except (OSError, ValueError) as exc:  # (UnicodeDecodeError and JSONDecodeError are ValueErrors)
        logger.warning("%s: not read as a Google Takeout sidecar: %s", path, exc)
        raise SidecarUnreadable(str(exc)) from exc
    latitude, longitude = _position(data.get("geoData")) or _position(data.get("geoDataExif")) or (None, None)
    description = data.get("description")
    description = description_from_file(description) if isinstance(description, str) else ""
    sidecar = Sidecar(path=path, taken_at=_taken(data.get("photoTakenTime")), added_at=_taken(data.get("creationTime")),
                      latitude=latitude, longitude=longitude, description=description,
                      people=_people(data.get("people")), favourite=data.get("favorited") is True,
                      trashed=data.get("trashed") is True)
    return sidecar if sidecar.taken_at or sidecar.added_at or sidecar.latitude is not None or sidecar.description \
        or sidecar.people or sidecar.favourite or sidecar.trashed else None


def _read_json(path: Path) -> dict:
    """The JSON object in the file at `path` (OSError, ValueError as _json_object's)."""
    with path.open("rb") as stream:
        return _json_object(stream.read(MAX_BYTES + 1))


def _json_object(raw: bytes) -> dict:
    """The JSON object in a file's first bytes (ValueError when there is none, or too much, or nested too deep)."""
    if len(raw) > MAX_BYTES:
        raise ValueError(f"over {MAX_BYTES:,} bytes")
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except RecursionError:  # (a few hundred kilobytes of "[[[[": no ValueError, it stopped an import, failed an upload)
        raise ValueError("nested deeper than a sidecar is") from None
    if not isinstance(data, dict):
        raise ValueError("no JSON object")
    return data


@dataclass(frozen=True)
class TakeoutAlbum:
    """A Google Photos album, as Takeout exports it: a folder of its photos with the album's own JSON (its name in
    the account's language: metadata.json, métadonnées.json, metadatos.json, …)."""

    title: str
    description: str
    year: bool = False  # "Photos from 2019": the export's folder of a year's photos, no album


# The export's folders of a year's photos, in the account's language (some exports give them a JSON of their own).
_YEAR_FOLDER = re.compile(r"(?:photos from|fotos von|photos de|fotos de|foto dal|foto del|foto's uit|fotos fra|"
                          r"foton från|zdjęcia z|fotky z|фото за) (?:19|20)\d\d", re.IGNORECASE)


def is_a_year_folder(name: str) -> bool:
    """Whether a folder named `name` is a Google Photos export's folder of a year's photos ("Photos from 2019", in the
    account's language), a folder by date, no album."""
    return bool(_YEAR_FOLDER.fullmatch(one_line(text_from_file(name))))


def read_takeout_album(path: Path) -> TakeoutAlbum | None:
    """The album a Takeout album folder's own JSON at `path` names (its title, else the folder's name; some exports
    give their year folders one too: `year`), or None when it is no such JSON (a photo's sidecar, anything else).
    Never raises."""
    if "." in path.stem:  # "IMG_0042.jpg.json": a photo's sidecar, not read (an album's JSON names no file)
        return None
    try:
        data = _read_json(path)
    except (OSError, ValueError):
        return None
    if _TAKEOUT_FIELDS & data.keys() or not isinstance(data.get("title"), str) \
            or not ({"date", "access"} & data.keys()):
        return None
    title = one_line(text_from_file(data["title"])) or one_line(text_from_file(path.parent.name))
    year = is_a_year_folder(title) or is_a_year_folder(path.parent.name)
    description = data.get("description")
    description = description_from_file(description) if isinstance(description, str) else ""
    return TakeoutAlbum(title=title, description=description, year=year) if title else None


def is_a_sidecar(data: bytes) -> bool:
    """Whether these bytes are a Google Takeout sidecar (a JSON object with its fields), whatever their values."""
    try:
        return bool(_TAKEOUT_FIELDS & _json_object(data[:MAX_BYTES + 1]).keys())
    except ValueError:
        return False


def is_a_sidecar_file(path: Path) -> bool:
    """Whether the JSON file at `path` is a Google Takeout sidecar."""
    try:
        return bool(_TAKEOUT_FIELDS & _read_json(path).keys())
    except (OSError, ValueError):
        return False


_TAKEOUT_FIELDS = frozenset({"photoTakenTime", "creationTime", "geoData", "geoDataExif", "googlePhotosOrigin"})


def _taken(value) -> datetime | None:
    """photoTakenTime's (or creationTime's) timestamp (seconds, as text); 0 is no date, and so is one no photo can
    have (gallery.images.possible_date: before 1826, or the year 9999, which is the year 10000 in Tokyo)."""
    if not isinstance(value, dict):
        return None
    try:
        seconds = int(str(value.get("timestamp")))
        moment = datetime.fromtimestamp(seconds, tz=dt_timezone.utc) if seconds else None
    except (TypeError, ValueError, OverflowError, OSError):
        return None
    return moment if moment is not None and possible_date(moment.replace(tzinfo=None)) else None


def _position(value) -> tuple[float, float] | None:
    """geoData's latitude and longitude; 0, 0 is Takeout's "no position"."""
    if not isinstance(value, dict):
        return None
    try:
        latitude, longitude = float(value.get("latitude")), float(value.get("longitude"))
    except (TypeError, ValueError):
        return None
    return gps_position(latitude, longitude)


def _people(value) -> tuple[str, ...]:
    """The names of the people Google Photos recognised and someone named, as tag names: each name one tag, without
    its commas ("Smith, John" is one person, "Smith John"; no tag name holds a comma); too long a name is left out."""
    if not isinstance(value, list):
        return ()
    names: dict[str, str] = {}
    for person in value[:MAX_PEOPLE]:
        name = person.get("name") if isinstance(person, dict) else None
        if isinstance(name, str):
            tag_names_add(names, name, person=True)
    return tuple(names.values())


def sidecar_bytes(path: Path, *, max_bytes: int, label: str, kind: str) -> tuple[bytes | None, str]:
    """The bytes of the file beside a photo at `path` (an XMP sidecar, a Picasa file), read up to `max_bytes` (a
    hostile one is not read whole); (None, why) with a log line (`label` its name) when it can't be read or is larger,
    as no `kind` is. Never raises."""
    try:
        with path.open("rb") as stream:
            data = stream.read(max_bytes + 1)
    except OSError as exc:
        logger.warning("%s: not read: %s", label, exc)
        return None, str(exc)
    if len(data) > max_bytes:
        logger.warning("%s: skipped: larger than %d MB, no %s is", label, max_bytes // (1024 * 1024), kind)
        return None, "too large"
    return data, ""


def reader_fingerprint(reader: bytes, version: int, data: bytes) -> str:
    """What tells a file beside a photo already read from one to read (PhotoXmpSidecar.sha256): the SHA-256 of its
    bytes as version `version` of the reader named `reader` reads them, so that a reader that reads more reads each
    file once more."""
    return sha256_of(b"%s reader %d\n" % (reader, version) + data)


def json_names_forget() -> None:
    """Forget the folders listed and the titles read (a new import reads them again)."""
    for cached in (_json_names, _cut_json_names, _title):
        cached.cache_clear()
