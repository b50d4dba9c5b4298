"""The child process that reads a file's embedded metadata (EXIF, IPTC, XMP) with exiv2, through pyexiv2.

Run as a script by gallery.embedded (which imports only its constants: the web process must not load exiv2), one per
web or worker process, serving one file at a time: the image bytes come on stdin, a JSON object goes to
stdout (each length-prefixed). exiv2 is C++ parsing hostile input, so this process limits itself before it
reads anything (address space, no core file) and its CPU time for each file, and the parent kills it after a
wall-clock time limit and starts a fresh one for the next file; a crash, a limit hit or a timeout costs only
that file's metadata, never the upload.

Only the fields we use are read and sent back, each value decoded on its own: a value that is not valid
text is left out and named in "skipped", so one bad field never costs the others. The people named in face regions
(MWG's of type Face, Microsoft Photo's) come back as one list of names, FACE_NAMES. The languages of a title or
description (an XMP language alternative, which exiv2 hands over as one text that can't be split safely) are read
from the XMP packet exiv2 serialises of what it parsed, by expat with no DTD or entity allowed. No Django here.
"""

from __future__ import annotations

import json
import re
import resource
import sys

# What we read, by exiv2 key. Values longer than MAX_VALUE characters are cut here (the parent decides what
# is too long for its use); at most MAX_ITEMS values per key.
KEYS = (
    "Xmp.dc.subject", "Xmp.dc.title", "Xmp.dc.description", "Xmp.lr.hierarchicalSubject", "Xmp.digiKam.TagsList",
    "Xmp.photoshop.City", "Xmp.photoshop.State", "Xmp.photoshop.Country", "Xmp.photoshop.Headline",
    "Xmp.exif.GPSLatitude", "Xmp.exif.GPSLongitude", "Xmp.exif.DateTimeOriginal", "Xmp.photoshop.DateCreated",
    "Iptc.Application2.Keywords", "Iptc.Application2.Caption",
    "Iptc.Application2.Headline", "Iptc.Application2.City", "Iptc.Application2.ProvinceState",
    "Iptc.Application2.CountryName",
    "Exif.Image.ImageDescription", "Exif.Image.XPKeywords", "Exif.Image.XPTitle", "Exif.Image.XPComment",
    "Exif.Photo.UserComment",
)
UCS2_KEYS = {"Exif.Image.XPKeywords", "Exif.Image.XPTitle", "Exif.Image.XPComment"}
# exiv2 hands a value typed BYTE over as its bytes' numbers, "65 83 67 73 73 0 0 0 66 111 …": so it does a
# UserComment that Pillow, and the programs built on it, write typed BYTE (a camera's, UNDEFINED, comes as
# "charset=Ascii Boat trip").
NUMBERED_TYPES = {"Byte"}
USER_COMMENT = "Exif.Photo.UserComment"
# A UserComment's first 8 bytes name its character set (EXIF 2.3, 4.6.5): the text's encoding, by those bytes.
USER_COMMENT_CHARSETS = {b"ASCII\x00\x00\x00": "utf-8", b"UNICODE\x00": "utf-16",
                         b"JIS\x00\x00\x00\x00\x00": "shift_jis", b"\x00" * 8: "utf-8"}
MAX_VALUE = 20_000
MAX_ITEMS = 1_000

# The people a photo program recognised, named in face regions: MWG regions (Lightroom, digiKam, Picasa, Apple Photos),
# each a name and a type, of which only faces count ("Face", not "Pet", "Focus" or "BarCode"; MWG makes the type
# optional, and a named region without one is a person, as Immich reads it); Microsoft Photo regions
# (Windows Live Photo Gallery, digiKam), which have no type, each a person's display name. exiv2 names each field of a
# region by the region's place in its list. Their names come back under FACE_NAMES, at most MAX_ITEMS regions read.
FACE_REGION = re.compile(r"(?P<list>Xmp\.mwg-rs\.Regions/mwg-rs:RegionList|Xmp\.MP\.RegionInfo/MPRI:Regions)"
                         r"\[(?P<index>\d{1,9})\]/(?P<field>mwg-rs:Name|mwg-rs:Type|MPReg:PersonDisplayName)")
MWG_LIST = "Xmp.mwg-rs.Regions/mwg-rs:RegionList"
FACE_LISTS = (MWG_LIST, "Xmp.MP.RegionInfo/MPRI:Regions")
FACE_NAMES = "face regions"
# exiv2's value of a structure or an array (where a region's name should be text): 'type="Struct"', 'type="Bag"'.
CONTAINER = re.compile(rb'type="(?:Struct|Bag|Seq|Alt)"')


def limit_self(memory_bytes: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def decode(raw: bytes, *, key: str, latin1_ok: bool, type_name: str = "", notes: list[str] | None = None) -> str:
    """A value as text: UTF-8, or for IPTC that is not UTF-8 (IPTC's old default is Latin-1; a file may also declare
    UTF-8 and hold something else) Windows-1252, what old Windows programs wrote there: Latin-1 with ’ “ ” – … €
    where Latin-1 has control characters (a byte Windows-1252 leaves undefined makes the value Latin-1's); raises
    UnicodeDecodeError otherwise. EXIF's XP* tags are UCS-2, which exiv2 hands over as byte numbers, as it does any value typed BYTE
    (NUMBERED_TYPES): a UserComment so written is read by the character set its first bytes name. What is worth
    saying about a value read all the same goes into `notes`."""
    if key in UCS2_KEYS:
        text = ucs2(bytes(int(n) for n in raw.decode("ascii").split()), key=key, notes=notes)
    elif type_name in NUMBERED_TYPES and (octets := from_numbers(raw)) is not None:
        text = user_comment(octets) if key == USER_COMMENT else octets.decode("utf-8")
    else:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            if not latin1_ok:
                raise
            try:
                text = raw.decode("cp1252")
            except UnicodeDecodeError:
                text = raw.decode("latin-1")
    return text.replace("\x00", "")


def ucs2(octets: bytes, *, key: str, notes: list[str] | None) -> str:
    """EXIF XP* text: UCS-2, little-endian. A byte left over past the last whole character (a single NUL written as a
    terminator, a value cut short) is dropped and said in `notes`, rather than losing every character before it."""
    if len(octets) % 2:
        if notes is not None:
            notes.append(f"{key}: a byte left over after {len(octets) // 2} UCS-2 characters, dropped")
        octets = octets[:-1]
    return octets.decode("utf-16le")


def from_numbers(raw: bytes) -> bytes | None:
    """The bytes whose numbers exiv2 wrote ("66 111 97 116"), or None when `raw` is not such a list (its own text)."""
    numbers = raw.split()
    if not numbers or not all(number.isdigit() and int(number) < 256 for number in numbers):
        return None
    return bytes(int(number) for number in numbers)


def user_comment(octets: bytes) -> str:
    """A UserComment's text, by the character set its first 8 bytes name (raises UnicodeDecodeError or ValueError
    for one it does not name). UNICODE is in the file's byte order, unknown here: the one its text reads in, which
    puts the NUL of a Latin letter's UCS-2 at the odd bytes for little-endian."""
    charset, body = USER_COMMENT_CHARSETS.get(octets[:8]), octets[8:].rstrip(b"\x00")
    if charset is None:
        raise ValueError(f"no character set of a UserComment: {octets[:8]!r}")
    if charset == "utf-16" and not body.startswith((b"\xff\xfe", b"\xfe\xff")):
        body += b"\x00" * (len(body) % 2)
        charset = "utf-16be" if body[0::2].count(0) > body[1::2].count(0) else "utf-16le"
    return body.decode(charset)


def read(data: bytes) -> dict:
    import pyexiv2

    pyexiv2.set_log_level(4)  # exiv2's own warnings go to stderr otherwise: we report what we skip
    fields: dict[str, list[str]] = {}
    skipped: list[str] = []
    image = pyexiv2.ImageData(data)
    try:
        raw = exiv2_data(image, skipped)
        xmp, split = has_xmp(raw), languages_to_split(raw)
        packet = xmp_packet(image) if split or not xmp else b""
    finally:
        image.close()
    if packet.strip() and not xmp and not says_nothing(packet):
        # exiv2 (its log muted) drops an XMP packet it can't parse (bad XML, bad UTF-8, entity tricks)
        # and goes on with the rest: say so. (One it parsed that holds no property gives no datum either.)
        skipped.append(f"xmp: a {len(packet)}-byte XMP packet exiv2 could not parse")
    datums = [(d.get("tag", b"").decode("ascii", "replace"), d.get("value", b""), d.get("typeName", "")) for d in raw]
    wanted = [(key, value, type_name) for key, value, type_name in datums if key in KEYS]
    alternatives = packet_alternatives(packet, notes=skipped) if split else None
    for key, value, type_name in wanted:
        values = value if isinstance(value, (list, tuple)) else [value]
        for item in values[:MAX_ITEMS]:
            try:
                text = decode(item, key=key, latin1_ok=key.startswith("Iptc."), type_name=type_name, notes=skipped)
            except (UnicodeDecodeError, ValueError) as exc:
                skipped.append(f"{key}: not valid text ({type(exc).__name__})")
                continue
            # (cut only now: a language alternative's 'lang="x-default" ' would count against it, and the parent
            # tells a value cut here by its length)
            texts = (language_texts(text, (alternatives or {}).get(key), key=key, notes=skipped)
                     if type_name == "LangAlt" else [text])
            fields.setdefault(key, []).extend(text[:MAX_VALUE] for text in texts)
        if len(values) > MAX_ITEMS:
            skipped.append(f"{key}: {len(values) - MAX_ITEMS} values past the first {MAX_ITEMS}")
    if names := face_names(datums, notes=skipped):
        fields[FACE_NAMES] = names
    return {"fields": fields, "skipped": skipped}


def face_names(datums: list[tuple[str, object, str]], *, notes: list[str]) -> list[str]:
    """The names of the people in a file's face regions (FACE_REGION), the MWG list's first: of each MWG region of type
    Face or of none (a type blank or missing) and each Microsoft Photo region, those that have one. A name that is no
    text (a list, a structure, a language alternative, bytes that don't decode), a region whose type is no text, and
    the regions past the first MAX_ITEMS are left out, said in `notes`."""
    regions: dict[tuple[bool, int], dict[str, tuple[str, object, str]]] = {}
    past: set[tuple[bool, int]] = set()  # the regions after the first MAX_ITEMS exiv2 gives: counted, not kept
    for key, value, type_name in datums:
        if key.startswith(FACE_LISTS) and (match := FACE_REGION.fullmatch(key)):
            place = (match["list"] != MWG_LIST, int(match["index"]))
            if place in regions or len(regions) < MAX_ITEMS:
                regions.setdefault(place, {})[match["field"]] = (key, value, type_name)
            else:
                past.add(place)
    if past:
        notes.append(f"{FACE_NAMES}: {len(past)} past the first {MAX_ITEMS}")
    names = []
    for place in sorted(regions):
        region = regions[place]
        kind = "" if place[0] else region_text(region.get("mwg-rs:Type"), notes=notes)
        if kind is None or kind.strip().casefold() not in ("", "face"):
            continue  # (a pet, the focus point, a barcode, a type that is no text: no person)
        if name := region_text(region.get("mwg-rs:Name") or region.get("MPReg:PersonDisplayName"), notes=notes):
            names.append(name[:MAX_VALUE])
    return names


def region_text(datum: tuple[str, object, str] | None, *, notes: list[str]) -> str | None:
    """A face region's name or type as text; "" when it has none; None when it is no text (said in `notes`)."""
    if datum is None:
        return ""
    key, value, type_name = datum
    container = isinstance(value, bytes) and CONTAINER.fullmatch(value)
    if type_name != "XmpText" or not isinstance(value, bytes) or container:
        shape = "a structure" if container else type_name or "no value"
        notes.append(f"{FACE_NAMES}: {key}: not a text ({shape})")
        return None
    try:
        return decode(value, key=key, latin1_ok=False)
    except (UnicodeDecodeError, ValueError) as exc:
        notes.append(f"{FACE_NAMES}: {key}: not valid text ({type(exc).__name__})")
        return None


def exiv2_data(image, skipped: list[str]) -> list[dict]:
    """Every datum exiv2 reads of the file's EXIF, IPTC and XMP; a block exiv2 refuses is named in `skipped`."""
    raw = []
    for family, reader in (("exif", image._exiv2api_image.read_exif), ("iptc", image._exiv2api_image.read_iptc),
                           ("xmp", image._exiv2api_image.read_xmp)):
        try:
            raw.extend(reader())
        except Exception as exc:  # exiv2 refused this block (e.g. XMP it can't parse): the others stay
            skipped.append(f"{family}: {type(exc).__name__}: {str(exc)[:200]}")
    return raw


def has_xmp(raw: list[dict]) -> bool:
    return any(datum.get("tag", b"").startswith(b"Xmp.") for datum in raw)


def languages_to_split(raw: list[dict]) -> bool:
    """Whether exiv2 read a language alternative we use whose text (exiv2's, 'lang="x-default" Text, lang="de-DE"
    Text') may not tell its languages apart: one with ', lang="' in it, so more than one language, or a text that
    holds those words itself. Then the XMP packet is read for them (language_texts); one language alone is no puzzle."""
    return any(datum.get("typeName") == "LangAlt" and datum.get("tag", b"").decode("ascii", "replace") in
               ALTERNATIVES.values() and b', lang="' in bytes(datum.get("value", b"")) for datum in raw)


def xmp_packet(image) -> bytes:
    """The XMP packet: what exiv2 read of it, serialised again by exiv2 (Image::xmpPacket re-encodes the XMP it
    parsed: plain RDF, a language alternative's entries as rdf:li, an empty one left out), else when it parsed none
    the packet as the file holds it; b"" when there is none, or exiv2 won't hand it over."""
    try:
        return bytes(image._exiv2api_image.read_raw_xmp())
    except Exception:
        return b""


# The language alternatives we read from the XMP packet itself (packet_alternatives), by their expanded XML name.
DC = "http://purl.org/dc/elements/1.1/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
XML_LANG = "http://www.w3.org/XML/1998/namespace lang"
X_XMPMETA = "adobe:ns:meta/ xmpmeta"
ALTERNATIVES = {f"{DC} title": "Xmp.dc.title", f"{DC} description": "Xmp.dc.description"}


class NotPlainXmp(ValueError):
    """An XMP packet with a DTD or an entity declared: XMP has neither, and we read none."""


def plain_xml_parser(start, end, text):
    """An expat parser (namespaces joined by a space) calling `start`, `end` and `text`, that refuses a DTD and any
    entity declaration (XMP has neither: no entity expansion, no external file) by raising NotPlainXmp."""
    from xml.parsers import expat

    def refuse(*args) -> None:
        raise NotPlainXmp("a DTD or an entity declaration")

    parser = expat.ParserCreate(namespace_separator=" ")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = parser.EntityDeclHandler = parser.ExternalEntityRefHandler = refuse
    parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, text
    return parser


def packet_alternatives(packet: bytes, *, notes: list[str]) -> dict[str, list[tuple[str, str]]] | None:
    """The language alternatives of dc:title and dc:description in an XMP packet (xmp_packet's), by exiv2 key:
    (language, text) of each rdf:li of their rdf:Alt, in the packet's order. Parsed by expat with no DTD at all: a
    DOCTYPE or an entity declaration is refused (XMP has neither: no entity expansion, no external file), as is XML
    that is not well-formed; None then, with the reason in `notes` (exiv2's own text is read instead:
    language_texts)."""
    from xml.parsers import expat

    found: dict[str, list[tuple[str, str]]] = {}
    stack: list[str] = []
    item: list | None = None  # the rdf:li being read: [key, language, its text's pieces, its depth]

    def start(name: str, attributes: dict[str, str]) -> None:
        nonlocal item
        if (item is None and name == f"{RDF} li" and stack[-1:] == [f"{RDF} Alt"] and len(stack) > 1
                and stack[-2] in ALTERNATIVES):
            item = [ALTERNATIVES[stack[-2]], attributes.get(XML_LANG, ""), [], len(stack)]
        stack.append(name)

    def end(name: str) -> None:
        nonlocal item
        stack.pop()
        if item is not None and len(stack) == item[3]:
            found.setdefault(item[0], []).append((item[1], "".join(item[2])))
            item = None

    def text(data: str) -> None:
        if item is not None and len(stack) == item[3] + 1:  # (the item's own text, not a qualifier's)
            item[2].append(data)

    parser = plain_xml_parser(start, end, text)
    try:
        parser.Parse(packet, True)
    except (expat.ExpatError, NotPlainXmp) as exc:
        # (named by the keys it costs, as a value's note is: "xmp:" says the XMP block was lost, keywords with it)
        notes.append(f"{', '.join(ALTERNATIVES.values())}: its packet is no plain XML ({str(exc)[:200]})")
        return None
    return found


def says_nothing(packet: bytes) -> bool:
    """Whether an XMP packet is plain XML that holds no property: an x:xmpmeta (or a bare rdf:RDF) whose
    rdf:Description elements, if any, carry no attribute but rdf:about and hold nothing, as digiKam leaves a sidecar
    once every keyword, the title and the rating are taken off (`<rdf:Description rdf:about=""/>`). exiv2 reads no
    datum of it, as of a packet it could not parse; this one says nothing (its keywords are known: none)."""
    from xml.parsers import expat

    stack: list[str] = []
    said = False
    description = f"{RDF} Description"

    def start(name: str, attributes: dict[str, str]) -> None:
        nonlocal said
        if not stack and name not in (X_XMPMETA, f"{RDF} RDF"):
            said = True  # no XMP at all
        elif f"{RDF} RDF" in stack and not (stack[-1] == f"{RDF} RDF" and name == description
                                            and set(attributes) <= {f"{RDF} about"}):
            said = True  # a property (an element or an attribute), or a typed node, which is one
        stack.append(name)

    def text(data: str) -> None:
        nonlocal said
        said = said or (bool(data.strip()) and f"{RDF} RDF" in stack)

    parser = plain_xml_parser(start, lambda name: stack.pop(), text)
    try:
        parser.Parse(packet, True)
    except (expat.ExpatError, NotPlainXmp):
        return False
    return not said


def language_texts(text: str, parsed: list[tuple[str, str]] | None, *, key: str, notes: list[str]) -> list[str]:
    """A language alternative's texts, the default first, then by language ("de-DE" before "fr-FR"): all of them, not
    the default alone: a program may leave x-default blank beside the user's language, and the parent takes the first
    that says something. Each language's text as the XMP packet holds it (`parsed`: packet_alternatives'), when that is
    what exiv2 read (`text`, exiv2's 'lang="x-default" Text, lang="de-DE" Text', whose texts may hold ', lang="en" '
    themselves: a caption quoting HTML); else exiv2's text split at each ', lang="…" ' (lang_alt), said in `notes`
    when that may cut a text."""
    if parsed is not None and _as_exiv2_writes(parsed, text):
        return [content for _, content in _by_language(parsed)[:MAX_ITEMS]]
    if ', lang="' in text:
        notes.append(f"{key}: its languages read from exiv2's text, where one holding ', lang=\"' may be cut")
    return lang_alt(text)


def _as_exiv2_writes(parsed: list[tuple[str, str]], text: str) -> bool:
    """Whether exiv2's text of a language alternative holds these (language, text) entries, each as exiv2 writes one
    (its text may hold more: an empty entry, which exiv2's packet leaves out)."""
    return bool(parsed) and all(f'lang="{language}" {content}' in text for language, content in parsed)


def _by_language(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """x-default first, then by language (exiv2 keeps the entries in an order of its own, not the file's)."""
    return sorted(pairs, key=lambda pair: (pair[0].lower() != "x-default", pair[0]))


def lang_alt(text: str) -> list[str]:
    """exiv2's text of a language alternative, 'lang="x-default" Text, lang="de-DE" Text', split at each
    ', lang="…" ': each text, in language_texts' order. Only where the packet could not be read: a text that holds
    ', lang="xx" ' itself is cut there."""
    if not text.startswith("lang="):
        return [text]
    parts = re.split(r'(?:^|, )lang="([^"]*)" ', text)[1:]
    pairs = list(zip(parts[0::2], parts[1::2]))
    return [content for _, content in _by_language(pairs)[:MAX_ITEMS]]


def main() -> int:
    """Serve files until stdin closes: each request is an 8-byte big-endian length and the file's bytes, each
    answer an 8-byte length and the JSON. The CPU limit is re-armed per file (this many seconds from now)."""
    memory, cpu = int(sys.argv[1]), int(sys.argv[2])
    limit_self(memory)
    import pyexiv2  # noqa: F401  (loading exiv2 can fail under the limits: that is the reader failing, exit 1)

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        header = stdin.read(8)
        if len(header) < 8:
            return 0
        size = int.from_bytes(header, "big")
        data = stdin.read(size)
        if len(data) < size:
            return 0
        usage = resource.getrusage(resource.RUSAGE_SELF)
        _, hard = resource.getrlimit(resource.RLIMIT_CPU)
        resource.setrlimit(resource.RLIMIT_CPU, (int(usage.ru_utime + usage.ru_stime) + cpu + 1, hard))
        try:
            result = read(data)
        except Exception as exc:  # a file exiv2 can't open at all: nothing embedded, said plainly
            result = {"fields": {}, "skipped": [f"unreadable: {type(exc).__name__}: {str(exc)[:200]}"]}
        answer = json.dumps(result, ensure_ascii=True).encode()
        stdout.write(len(answer).to_bytes(8, "big") + answer)
        stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
