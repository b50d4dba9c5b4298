"""Picasa's `.picasa.ini` files, read by import_photos: the people, keywords, stars and albums of a library curated in
Picasa (2002-2016).

Picasa never wrote the names of the faces it was told into the photos: it kept them in a hidden `.picasa.ini` in each
folder (versions before 3: `Picasa.ini`), with the keywords and captions of files it could not write into (raw files;
a JPEG's went into its IPTC, which the file's own reader reads) and the stars. The format, as reverse-engineered by
Franz Buchinger for Picasa 3.8 (gist fbuchinger/1073823) and read by EagleEye's PicasaIniParser (its `Contacts2` and
`faces`): an INI file, one section per file of the folder, named as the file (matched here whatever the case);
`[Contacts2]` maps a contact's id to a name, `e54a1b8b4c2d5e34=John Smith;;` (the name ends at the first `;`);
a file's `faces=rect64(3f845bcb59418507),e54a1b8b4c2d5e34;rect64(…),ffffffffffffffff` names its faces by contact
id (`ffffffffffffffff`: a face nobody named), `keywords=beach,summer 2009` its keywords, `star=yes` its star,
`caption=` its caption (a file Picasa could not write it into).
Picasa 3 kept its albums (Chromium's PicasaAlbumsIndexer reads them so) in the file of each folder holding an album's
photos: a section `[.album:<token>]` with the album's `name=` (and `token=`, `date=`), and each file's
`albums=<token>,<token>`.

What it says is what an XMP sidecar's keywords and face names say (gallery.xmp_sidecars): each person and keyword a
tag "from the file", under the same rules (the text cleaned, a person one tag whatever the name holds, one longer than
a tag left out with a log line, taken off when the changed file no longer gives it, never a member's tag); a starred
photo is the importing member's favourite, once (as Google Photos' star: services.photo_sidecar_star); a photo goes
into the family's album of the name of each Picasa album it is in, on its first reading and when its list gains one
since, never one a member took it out of (import_photos' _Albums); a caption is the description nobody wrote, and
replaces or takes off the one it wrote when changed or taken off in Picasa (services.photo_sidecar_description, as an
XMP sidecar's dc:description). A face whose id the file's `[Contacts2]` lacks (older versions kept names only in
Picasa's own contacts.xml: read_picasa_contacts, import_photos --picasa-contacts) is named by contacts.xml when given,
else gives no tag, with a log line (a name contacts.xml gave it once stays while the face is there: PicasaEntry.naming;
it keeps nothing else of the photo from being taken off). The file is kept by its path in PhotoXmpSidecar, as a
sidecar of each photo of its folder, with the fingerprint of its bytes (and of the names contacts.xml gives it) and
what it said of the photo's caption and albums: an import reads it again only when it changed.

Read by a small line reader rather than configparser, which keeps a section object and every key of every section
(a 4 MB file of empty sections took it 17 s and 900 MB) and has rules Picasa's files don't (interpolation, a
`[DEFAULT]` whose keys are every section's, continuation lines): here a line is a `[section]`, a `key=value` (the
first "=" splits; "%" is text), a comment or blank; only the keys read are kept (`faces`, `keywords`, `star`,
`albums`, `caption`, [Contacts2]'s and an album section's `name`); a section or key twice is one, its last value
winning (as configparser with strict off); lines before the first section are no photo's; other lines are left out,
counted in a log line. A file larger than MAX_BYTES or unreadable is skipped with a log line; one that is no UTF-8
(as Picasa wrote it) is read as Windows-1252, with a log line. Never raises: its photos are imported all the same.
"""

from __future__ import annotations

import io
import logging
import re
import stat
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from xml.parsers import expat

from gallery.embedded import DESCRIPTION_MAX, TAG_MAX, Embedded, description_from_file, tag_names_add
from gallery.embedded_reader import NotPlainXmp, plain_xml_parser
from gallery.name_fold import name_folded
from gallery.sidecars import files_named, reader_fingerprint, sidecar_bytes
from gallery.text import one_line, text_from_file, text_shown_from_os

logger = logging.getLogger(__name__)

NAMES = (".picasa.ini", "picasa.ini")  # Picasa 3's, then the older versions' (lower-cased)
# A folder of 5,000 photos with faces and keywords has a file of about 1 MB.
MAX_BYTES = 4 * 1024 * 1024
MAX_NAMES = 1000  # people and keywords a photo takes from the file (as the face regions of an XMP file)
MAX_ALBUMS = 50  # albums a photo is put in by the file (a hostile file's list of thousands: the first ones)
# Spellings in other letter cases of a name (or an album's name) count once against those, and each name as written
# against that many times as many: a line of one name's case variants ("beach,Beach,bEach,…") is bounded too.
SPELLINGS_PER_NAME = 2
UNNAMED_FACE = "ffffffffffffffff"
CONTACTS = "contacts2"
ALBUM = ".album:"  # Picasa 3's album sections, "[.album:<token>]", named by their `name=`
READ = frozenset({"faces", "keywords", "star", "albums", "caption"})  # the keys of a photo's section this reader uses
# The reader, as a number: raised when it reads more, so that the next import reads each file once more (2: albums
# and captions, which files fingerprinted by 1 were never read for; 3: what each file says of each photo's caption and
# albums kept, PhotoXmpSidecar.description and .albums, to tell what a later change of it changed; 4:
# album names told apart as the gallery tells them apart, no longer merged by str.lower(), and names past MAX_NAMES as
# written kept when they spell kept ones in other letter cases: a file read by 3 gave its photos less).
READER_VERSION = 4
ALBUMS_SINCE = 2  # the first version that read albums: a file read by an earlier one was never read for them
_STAR = re.compile(rb"(?i)star[ \t]*=")  # (a file that may star a photo: looked for in its bytes, not parsed)
# The contacts its faces name, and those its [Contacts2] names (`<id>=<name>;…`, a name not empty), looked for in its
# bytes (not parsed): what Picasa's contacts.xml adds to a file is folded into its fingerprint (read_picasa_ini). An id
# is a 64-bit number in hex, written without its leading zeros (`d04ca592f8868c2`): any 1 to 16 digits (_contact_id).
_FACE_CONTACT = re.compile(rb"rect64\([0-9A-Fa-f]*\)[ \t]*,[ \t]*([0-9A-Fa-f]{1,16})(?![0-9A-Fa-f])")
_CONTACT_LINE = re.compile(rb"(?m)^[ \t]*([0-9A-Fa-f]{1,16})[ \t]*=[ \t]*[^;\s]")
# Picasa's own contacts.xml (every contact the user named, a few hundred bytes each): anything larger is no such file.
CONTACTS_MAX_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class PicasaEntry:
    """What a Picasa file says of one photo: its people and keywords (tag names, cleaned) and its star."""

    keywords: tuple[str, ...] = ()
    starred: bool = False
    albums: tuple[str, ...] = ()  # the names of the Picasa albums it is in (cleaned, each once as written)
    caption: str = ""  # (cleaned, cut to a description's length)
    unknown_faces: tuple[str, ...] = ()  # the contact ids of its faces neither its [Contacts2] nor contacts.xml names
    contact_names: dict[str, str] = field(default_factory=dict)  # the names contacts.xml gave its faces, by contact id

    def embedded(self) -> Embedded:
        """As embedded metadata, its keywords known whole (a face whose name is not known gives none)."""
        return Embedded(keywords=self.keywords, keywords_complete=True)

    def naming(self, names: dict[str, str]) -> PicasaEntry:
        """With the faces whose names are not known named by `names` (the names contacts.xml gave them when the file
        was last read with the photo: PhotoXmpSidecar.contact_names), so that a run without contacts.xml keeps the
        names it gave while their faces are there. (Itself when they name none.)"""
        named = {contact: names[contact] for contact in self.unknown_faces if names.get(contact)}
        if not named:
            return self
        keywords = {name: name for name in self.keywords}  # (as tag_names_add keeps them)
        for name in named.values():
            tag_names_add(keywords, name, person=True)
        return replace(self, keywords=_first_names(keywords.values(), most=MAX_NAMES)[0],
                       unknown_faces=tuple(contact for contact in self.unknown_faces if contact not in named),
                       contact_names=self.contact_names | named)


@dataclass
class PicasaIni:
    """A folder's Picasa file as read: its fingerprint ("" when it could not be read), and what it says of each photo
    (parsed when first asked, once)."""

    path: Path
    sha256: str = ""
    data: bytes = field(default=b"", repr=False)
    may_star: bool = False  # whether it holds "star=" at all (an unchanged one without is never parsed)
    sha256_without_albums: str = ""  # its fingerprint by the reader before ALBUMS_SINCE (which read no albums)
    contacts: dict[str, str] = field(default_factory=dict, repr=False)  # Picasa's contacts.xml's (read_picasa_contacts)
    _sections: dict[str, dict[str, str]] | None = field(default=None, repr=False)  # (_sections; [Contacts2] apart)
    _contacts: dict[str, str] = field(default_factory=dict, repr=False)
    _albums: dict[str, str] = field(default_factory=dict, repr=False)  # (album names by token)
    _entries: dict[str, PicasaEntry | None] = field(default_factory=dict, repr=False)  # (each photo's, once)

    @property
    def unreadable(self) -> bool:
        return not self.sha256

    @property
    def parsed(self) -> bool:
        return self._sections is not None

    def entry(self, name: str) -> PicasaEntry | None:
        """What the file says of the photo named `name` (in any case); None when it names none so. (The file is
        parsed once, a photo's section read when asked: a file of sections no photo has costs no more.)"""
        sections = self._parsed()
        if name not in self._entries:
            keys = sections.get(_name_key(name))
            self._entries[name] = None if keys is None else _entry(
                keys, self._contacts, self._albums, self.contacts,
                label=f"{_label(self.path)} [{text_shown_from_os(name)}]")
        return self._entries[name]

    def starred(self, name: str) -> bool:
        """Whether the file stars the photo named `name` (its star alone: nothing else of its section is read, nor
        logged again)."""
        return _starred(self._parsed().get(_name_key(name), {}))

    def _parsed(self) -> dict[str, dict[str, str]]:
        """The file's photos' sections, parsed once (its [Contacts2] and album sections apart)."""
        if self._sections is None:
            label = _label(self.path)
            self._sections = _sections(_text(self.data, label=label), label=label) if self.sha256 else {}
            self._contacts = {_contact_id(key): value.split(";", 1)[0]
                              for key, value in self._sections.pop(CONTACTS, {}).items()}
            self._albums = {name[len(ALBUM):].strip(): one_line(text_from_file(self._sections.pop(name)["name"]))
                            for name in [name for name in self._sections if name.startswith(ALBUM)]}
            self.data = b""  # (read: not kept in memory)
        return self._sections


def picasa_ini_path(folder: Path) -> Path | None:
    """The folder's Picasa file: `.picasa.ini`, else `Picasa.ini`, in any case; files only (a folder or a FIFO so
    named is none)."""
    found: dict[str, str] = {}
    for name in sorted(files_named(folder, ".ini")):  # (two names in different cases: the first in order)
        found.setdefault(name.lower(), name)
    return next((folder / found[name] for name in NAMES if name in found), None)


def is_a_picasa_ini(path: str | Path) -> bool:
    """Whether the file at `path` is named as a Picasa file."""
    return Path(path).name.lower() in NAMES


def read_picasa_ini(path: Path, *, contacts: dict[str, str] | None = None) -> PicasaIni:
    """The Picasa file at `path`, its bytes read (not yet parsed), the names of Picasa's contacts.xml (`contacts`) for
    the faces its [Contacts2] does not name. Never raises: one too large or unreadable is a PicasaIni without a
    fingerprint, with a log line. Its fingerprint holds the names contacts.xml gives it (none: its bytes alone), so
    that a file read without them is read again with them."""
    data, _ = sidecar_bytes(path, max_bytes=MAX_BYTES, label=_label(path), kind="Picasa file")
    if data is None:
        return PicasaIni(path)
    given = _contacts_given(data, contacts or {})
    return PicasaIni(path, reader_fingerprint(b"picasa ini", READER_VERSION, data + given), data,
                     may_star=_STAR.search(data) is not None,
                     sha256_without_albums=reader_fingerprint(b"picasa ini", ALBUMS_SINCE - 1, data),
                     contacts=contacts or {})


def _contacts_given(data: bytes, contacts: dict[str, str]) -> bytes:
    """The names contacts.xml gives a Picasa file's faces that its [Contacts2] does not name, as bytes for its
    fingerprint (b"" when none: the fingerprint of its bytes alone, as without contacts.xml)."""
    if not contacts:
        return b""
    faces = {_contact_id(face.decode()) for face in _FACE_CONTACT.findall(data)}
    named = {_contact_id(contact.decode()) for contact in _CONTACT_LINE.findall(data)}
    given = sorted((contact, contacts[contact]) for contact in faces - named if contact in contacts)
    if not given:
        return b""
    return b"\0contacts.xml\0" + "\n".join(f"{contact}={name}" for contact, name in given).encode(
        "utf-8", "backslashreplace")


class PicasaContactsUnreadable(Exception):
    """Picasa's contacts.xml could not be read: why, as one line."""


def read_picasa_contacts(path: Path) -> dict[str, str]:
    """The names of Picasa's own contacts file (`%LOCALAPPDATA%\\Google\\Picasa2\\contacts\\contacts.xml`:
    `<contacts><contact id="e54a1b8b4c2d5e34" name="John Smith" display="John"/>…</contacts>`), by contact id
    (_contact_id): the name, else the display name. Older versions kept their contacts there alone, not in each
    folder's [Contacts2]. Read bounded (CONTACTS_MAX_BYTES, gallery.sidecars.sidecar_bytes) by expat with no DTD
    (gallery.embedded_reader.plain_xml_parser: a DOCTYPE or a declared entity refused, as no such file has one: a
    "billion laughs" or an external entity would), nothing fetched. Raises PicasaContactsUnreadable (why) for a file
    that is none, can't be read, is too large or no XML, or names no contact."""
    try:
        if not stat.S_ISREG(path.stat().st_mode):  # (a folder; a FIFO would wait for a writer for ever)
            raise PicasaContactsUnreadable("not a file")
    except OSError as exc:
        raise PicasaContactsUnreadable(exc.strerror or str(exc)) from None
    data, why = sidecar_bytes(path, max_bytes=CONTACTS_MAX_BYTES, label=text_shown_from_os(str(path)),
                              kind="Picasa contacts file")
    if data is None:
        raise PicasaContactsUnreadable(why)
    contacts = _contacts_parsed(data)
    if not contacts:
        raise PicasaContactsUnreadable('no <contact id="…" name="…"> in it: not Picasa\'s contacts.xml')
    return contacts


def _contacts_parsed(data: bytes) -> dict[str, str]:
    """The contacts of a contacts.xml's bytes (read_picasa_contacts), the first of an id twice."""
    contacts: dict[str, str] = {}

    def contact(tag: str, attributes: dict[str, str]) -> None:
        if tag == "contact":
            name = (attributes.get("name") or "").strip() or (attributes.get("display") or "").strip()
            if (key := _contact_id(attributes.get("id") or "")) and name:
                contacts.setdefault(key, name)

    try:
        plain_xml_parser(contact, lambda tag: None, lambda text: None).Parse(data, True)
    except NotPlainXmp:
        raise PicasaContactsUnreadable("it declares a DTD or an entity, which Picasa's never does: refused") from None
    except expat.ExpatError as exc:
        raise PicasaContactsUnreadable(f"no XML ({expat.errors.messages[exc.code]}, line {exc.lineno})") from None
    return contacts


class PicasaInis:
    """The Picasa files beside an import's photos: each folder's found and read once while the walk is in it. The
    walk's order puts a folder's files on both sides of its subfolders' (IMG_0001.JPG, Party/…, img_0002.jpg): the
    files of the folder the walk is in and of the folders around it are kept, no others (as deep as the folders go)."""

    def __init__(self, *, contacts: dict[str, str] | None = None) -> None:
        self._by_folder: dict[Path, PicasaIni | None] = {}
        self.contacts = contacts or {}  # Picasa's contacts.xml's names (read_picasa_contacts)

    def beside(self, path: Path) -> PicasaIni | None:
        """The Picasa file of the folder of the photo at `path`; None when it has none."""
        folder = path.parent
        if folder not in self._by_folder:
            self._by_folder = {kept: picasa for kept, picasa in self._by_folder.items() if kept in folder.parents}
            found = picasa_ini_path(folder)
            self._by_folder[folder] = read_picasa_ini(found, contacts=self.contacts) if found is not None else None
        return self._by_folder[folder]


def _contact_id(text: str) -> str:
    """A contact's id as it is compared: in lower case, without leading zeros (Picasa writes the number without them in
    one place and with them in another: `d04ca592f8868c2` is `0d04ca592f8868c2`)."""
    text = text.strip().lower()
    return text.lstrip("0") or text[:1]


def _name_key(name: str) -> str:
    """A file's name as a section is matched to it: in any case, its accents composed (a Mac's file names are
    decomposed, Picasa for Windows wrote them composed)."""
    return unicodedata.normalize("NFC", name).lower()


def _label(path: Path) -> str:
    return text_shown_from_os(f"{path.parent.name}/{path.name}")


def _text(data: bytes, *, label: str) -> str:
    """A Picasa file's text: UTF-8 as Picasa wrote it, else Windows-1252 (an older version's, or an edit in Notepad)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        logger.warning("%s: not UTF-8, read as Windows-1252", label)
        text = data.decode("cp1252", errors="replace")
    return text.replace("\x00", "")


def _sections(text: str, *, label: str) -> dict[str, dict[str, str]]:
    """The file's sections by their name (_name_key), each the keys of it this reader uses (READ, lower-cased) and
    their values, [Contacts2]'s all, an album section's `name`; a section or a key twice is one, its last value
    winning. Lines before the first
    section, comments (`#`, `;`) and blank lines are no photo's; a line that is neither a section nor `key=value` is
    left out, counted in one log line."""
    sections: dict[str, dict[str, str]] = {}  # (only those with a key read: a file of empty sections costs nothing)
    name: str | None = None
    left_out = 0
    for line in io.StringIO(text):  # (lines end at "\n" alone: a name may hold U+2028 or U+0085)
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            name = _name_key(line[1:-1].strip())
        elif "=" in line:
            key, value = line.split("=", 1)
            key = key.strip().lower()
            wanted = key == "name" if name is not None and name.startswith(ALBUM) else name == CONTACTS or key in READ
            if name is not None and key and wanted:
                sections.setdefault(name, {})[key] = value.strip()
        else:
            left_out += 1
    if left_out:
        logger.warning("%s: %d line%s neither a [section] nor key=value, left out", label, left_out,
                       "" if left_out == 1 else "s")
    return sections


def _entry(keys: dict[str, str], contacts: dict[str, str], albums: dict[str, str], known: dict[str, str], *,
           label: str) -> PicasaEntry:
    """What a photo's section says (its keys read), with the names of its file's [Contacts2] and album sections, and
    those of Picasa's contacts.xml (`known`) for the faces its [Contacts2] does not name."""
    people, unknown, named = _people(keys.get("faces", ""), contacts, known, label=label)
    keywords = keys.get("keywords", "")[:MAX_NAMES * (TAG_MAX + 1)]  # (read up to what MAX_NAMES tags can hold)
    return PicasaEntry(keywords=_names(people, keywords, label=label),
                       starred=_starred(keys),
                       albums=_album_names(keys.get("albums", ""), albums, label=label),
                       caption=description_from_file(keys.get("caption", "")[:DESCRIPTION_MAX * 2]),
                       unknown_faces=unknown, contact_names=named)


def _starred(keys: dict[str, str]) -> bool:
    """Whether a photo's section (its keys read) stars it: `star=yes`, in any case."""
    return keys.get("star", "").strip().lower() == "yes"


def _album_names(tokens: str, albums: dict[str, str], *, label: str) -> tuple[str, ...]:
    """The names of the albums a photo's `albums=<token>,<token>` puts it in, by the file's `[.album:<token>]`
    sections, each once as written, the first MAX_ALBUMS of them (_first_names: counted as the gallery finds an album
    by its name, folded: name_folded); a token whose section is missing or names no album (no `name=`, or one of
    spaces) is none, named in one log line. (Names of one album in another case are one where albums are found,
    import_photos' _Albums, by the gallery's rule for album names, that of tag names: album_find_or_create's.)"""
    names: dict[str, str] = {}
    unknown = []
    for token in dict.fromkeys(token.strip().lower() for token in tokens.split(",") if token.strip()):
        if not albums.get(token):
            unknown.append(text_shown_from_os(token[:40]))  # (the file's text: no terminal escapes in a log)
        else:
            names.setdefault(albums[token], albums[token])
    kept, cut = _first_names(names.values(), most=MAX_ALBUMS)
    if cut:
        logger.warning("%s: albums past the first %d left out", label, MAX_ALBUMS)
    if unknown:
        logger.info("%s: %d album%s without a named [.album:…] section, no album: %s", label, len(unknown),
                    "" if len(unknown) == 1 else "s", ", ".join(unknown[:5]) + (", …" if len(unknown) > 5 else ""))
    return kept


def _people(faces: str, contacts: dict[str, str], known: dict[str, str], *,
            label: str) -> tuple[list[str], tuple[str, ...], dict[str, str]]:
    """The names of a photo's faces (`rect64(…),<contact id>` each, `;` between): those its [Contacts2] names, else
    Picasa's contacts.xml (`known`: older versions kept names there alone); the others in one log line. With the
    contact ids of the faces whose names are not known, and the names contacts.xml gave (by contact id)."""
    people, unknown, named, shown = [], [], {}, []
    for face in faces.split(";"):
        written = face.rsplit(",", 1)[-1].strip() if "," in face else ""
        contact = _contact_id(written)
        if not contact or contact == UNNAMED_FACE:
            continue
        if name := contacts.get(contact):
            people.append(name)
        elif name := known.get(contact):
            people.append(name)
            named[contact] = name
        elif contact not in contacts:  # (one its [Contacts2] names "", `e54a…=;;`: a face named by no one)
            unknown.append(contact[:40])
            if len(shown) < 5:  # (as written, the file's text: no terminal escapes in a log)
                shown.append(text_shown_from_os(written[:40].lower()))
    if unknown:
        logger.info("%s: %d face%s of contacts not in its [Contacts2], no tag: %s (%s)", label, len(unknown),
                    "" if len(unknown) == 1 else "s", ", ".join(shown) + (", …" if len(unknown) > 5 else ""),
                    "nor in contacts.xml" if known else "import_photos --picasa-contacts reads Picasa's contacts.xml")
    return people, tuple(dict.fromkeys(unknown)), named


def _names(people: list[str], keywords: str, *, label: str) -> tuple[str, ...]:
    """Tag names from what the file says (gallery.embedded.tag_names_add: cleaned, a person one tag, a keyword list
    split at its commas), each once as written (one tag's names in another case are one where they become tags); one
    longer than a tag, and those past MAX_NAMES (_first_names), left out with a log line."""
    names: dict[str, str] = {}
    too_long = [name for person in people for name in tag_names_add(names, person, person=True)]
    too_long += tag_names_add(names, keywords)
    if too_long:
        logger.warning("%s: %d name%s longer than a tag (%d characters) left out: %s…", label, len(too_long),
                       "" if len(too_long) == 1 else "s", TAG_MAX, too_long[0][:40])
    kept, cut = _first_names(names.values(), most=MAX_NAMES)
    if cut:
        logger.warning("%s: names past the first %d left out", label, MAX_NAMES)
    return kept


def _first_names(names: Iterable[str], *, most: int) -> tuple[tuple[str, ...], bool]:
    """The first `most` names, each with its spellings in other letter cases (counted once: alike by name_folded, as
    near as Python comes to the database's rule for tag and album names, which tells them apart where they become
    tags or albums), at most SPELLINGS_PER_NAME * `most` names as written; and whether any was left out."""
    names = list(names)
    kept: list[str] = []
    counted: set[str] = set()
    for name in names:
        if len(kept) == most * SPELLINGS_PER_NAME:
            break
        group = name_folded(name)
        if group not in counted and len(counted) >= most:
            continue
        counted.add(group)
        kept.append(name)
    return tuple(kept), len(kept) < len(names)
