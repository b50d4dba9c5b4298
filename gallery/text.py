"""Rules for text people type: NUL characters (below), control characters and tag names (the end of the module).

NUL characters in user input. PostgreSQL refuses them in text, so a NUL that reached a query or a row
would be a 500.

Forms and serializers refuse them (Django's and DRF's CharField validators: "Null characters are not
allowed."), so every parameter and field is read through one. What no form reads, cookies and headers, is
cleaned by the middleware below, and text read from inside files is cleaned before it is stored. Should a
NUL still reach the database by a path written later, the middleware answers 400 with a plain message
instead of a 500."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DataError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.deconstruct import deconstructible

from gallery.name_fold import name_folded

NUL = "\x00"
REFUSED = "Text can't contain NUL characters (\\0). Remove them and try again."


def id_from_text(value: Any) -> int | None:
    """A database id typed into a form or URL ("42"), or None: only ASCII digits, from 1 to bigint's largest.
    (str.isdigit() is also true for "²" and "፩", which int() refuses, and digits can run past bigint; past 4,300 of
    them int() refuses to read them at all, so no more than bigint's 19 are read.)"""
    digits = value.lstrip("0") if isinstance(value, str) and value.isascii() and value.isdigit() else ""
    if 0 < len(digits) <= 19 and int(digits) < 2**63:
        return int(digits)
    return None


def json_strings(value: Any) -> Iterator[str]:
    """Every string in a parsed JSON value, keys included, walked without recursion (so however deep it nests)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def without_nul(value: Any) -> Any:
    """`value` without NUL characters when it is a string; anything else as it is."""
    if isinstance(value, str) and NUL in value:
        return value.replace(NUL, "")
    return value


def is_nul_refusal(exc: BaseException) -> bool:
    """Whether this is the database driver refusing a NUL in text (psycopg raises it before sending the query,
    so the transaction is still usable)."""
    return isinstance(exc, DataError) and "NUL (0x00)" in str(exc)


class NulGuardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if any(NUL in key or NUL in value for key, value in request.COOKIES.items()):
            # A cookie with a NUL in it is no cookie this site set: as if it had not been sent.
            request.COOKIES = {key: value for key, value in request.COOKIES.items() if NUL not in key + value}
        for key, value in request.META.items():
            if key.startswith("HTTP_") and isinstance(value, str) and NUL in value:
                request.META[key] = without_nul(value)  # e.g. "Authorization: Token ...": then simply no such token
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_nul_refusal(exception):
            return None
        return refusal(request, 400, REFUSED)


API_PREFIX = "/api/"  # (mediasearch/urls.py mounts the API there)


def is_api(request: HttpRequest) -> bool:
    """Whether the request is the API's, which answers errors and refusals in its own JSON shape."""
    return request.path.startswith(API_PREFIX)


def refusal(request: HttpRequest, status: int, message: str) -> HttpResponse:
    """A refused request: JSON `{"detail": ...}` for the API, plain text for a page (upload.js shows it as is).
    Here, in a module that imports nothing of the project's, so any middleware or view can use it."""
    if is_api(request):
        return JsonResponse({"detail": message}, status=status)
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


# --- control characters and tag names -----------------------------------------------------------------------------
# One rule for what people type as names and text (family, album, tag names, photo titles, descriptions): control
# characters (Unicode category Cc: ESC, BEL, DEL, C1 codes …) are invisible, break the layout of pages and of
# exported files, and can't be typed back; a person's text holding one is refused with the codes named, so nothing
# is changed behind their back. Whitespace among them (tab, line breaks) is a space in a one-line name and kept in
# a description. Text read from inside files (embedded title, description, keywords) has them removed instead:
# there is no person to ask.

MULTILINE_ALLOWED = "\t\n\r"
TAG_SEPARATOR = ","
TAG_NAME_MAX = 64  # (Tag.name's max_length)
TAG_COMMA_REFUSED = ("A tag name can't contain a comma (commas separate tags where they are typed): “{name}”. "
                     "Write it as two tags, or without the comma.")


def _controls(value: str, *, multiline: bool) -> list[str]:
    """The control characters of `value` a text of its kind may not hold, each once, in order. NUL aside: it has
    its own rule and message (above), read before this one."""
    found: dict[str, None] = {}
    for ch in value:
        allowed = ch in MULTILINE_ALLOWED if multiline else ch.isspace()
        if ch != NUL and not allowed and unicodedata.category(ch) == "Cc":
            found.setdefault(ch)
    return list(found)


def control_characters_refuse(value: str, *, what: str, multiline: bool = False, field: str | None = None) -> None:
    """Raise ValidationError when `value` holds a control character (other than whitespace), or a direction code
    that would turn letters around (direction_codes_loose), naming it (under `field`, when given, for the form or the
    API to show it there)."""
    error = None
    if bad := _controls(value or "", multiline=multiline):
        codes = ", ".join(f"U+{ord(ch):04X}" for ch in bad)
        error = ValidationError(f"{what} can't contain control characters (invisible codes; here {codes}). "
                                "Remove them and try again.", code="control_characters")
    elif one_line(value) and (loose := direction_codes_loose(value)):  # (nothing but marks: blank, its own rule)
        codes = ", ".join(f"U+{ord(ch):04X}" for ch in dict.fromkeys(value[i] for i in loose))
        error = ValidationError(f"{what} can't contain direction overrides, nor direction codes opened and not "
                                f"closed (invisible codes that turn letters around on the page; here {codes}). "
                                "Remove them and try again.", code="direction_codes")
    if error:
        raise ValidationError({field: error}) if field else error


# Direction codes (Unicode's explicit directional formatting characters). Right-to-left writers need the marks
# (LRM U+200E, RLM U+200F, ALM U+061C: not here, always kept), and text pasted from chat apps wraps names in
# isolates (U+2066-U+2068 … U+2069); embeddings (U+202A, U+202B … U+202C) come from older tools. Closed where
# they open, these only lay out the text they hold. An override (U+202D, U+202E) shows letters in the order it
# says, not as typed: "\u202eevil" shows as "live", the spoofing tool, and nothing a person writes needs one. A
# code opened and not closed (or a closing one with nothing open) reaches past the text into the page around it.
DIRECTION_OVERRIDES = frozenset("\u202d\u202e")
DIRECTION_OPENERS = {"\u202a": "\u202c", "\u202b": "\u202c", "\u2066": "\u2069", "\u2067": "\u2069", "\u2068": "\u2069"}
DIRECTION_CODES = frozenset({*DIRECTION_OVERRIDES, *DIRECTION_OPENERS, "\u202c", "\u2069"})
_PARAGRAPH_ENDS = frozenset("\n\r\x1c\x1d\x1e\x85\u2029")  # where Unicode's bidi algorithm closes every code


def direction_codes_loose(value: str) -> list[int]:
    """The positions in `value` of its overrides and of its direction codes not closed where they open (in
    nesting order, in the same line or paragraph), or closing nothing: what may not be typed, and what
    text_isolated leaves out of text stored before."""
    loose: list[int] = []
    open_: list[int] = []
    for i, ch in enumerate(value):
        if ch in _PARAGRAPH_ENDS:
            loose += open_
            open_ = []
        elif ch in DIRECTION_OVERRIDES:
            loose.append(i)
        elif ch in DIRECTION_OPENERS:
            open_.append(i)
        elif ch in DIRECTION_CODES:  # a closing code: it closes the innermost code open, if it is its kind
            if open_ and DIRECTION_OPENERS[value[open_[-1]]] == ch:
                open_.pop()
            else:
                loose.append(i)
    return sorted(loose + open_)


def text_isolated(value: Any) -> str:
    """People's text as a page shows it (the `isolated` template filter), so it can't lay out the page around it:
    text with a right-to-left letter or a direction code in it is wrapped in a first-strong isolate (U+2068 …
    U+2069, what HTML's <bdi> does, and it works in an attribute, an <option> and a <title> too), without its
    overrides and its codes opened and not closed (direction_codes_loose: stored before they were refused), which
    would reverse the letters or break out of the isolate. "Hebrew name · 3 photos" keeps its "· 3 photos" after
    the name. Left-to-right text without codes is returned as it is: it changes nothing around it."""
    text = "" if value is None else str(value)
    if text.isascii():  # (no right-to-left letter nor direction code: most names, at no per-character cost)
        return text
    if not any(ch in DIRECTION_CODES or unicodedata.bidirectional(ch) in ("R", "AL") for ch in text):
        return text
    return "\u2068" + without_loose_direction_codes(text) + "\u2069"


def without_loose_direction_codes(text: str) -> str:
    """`text` without its overrides and its direction codes not closed where they open (direction_codes_loose)."""
    loose = set(direction_codes_loose(text))
    return "".join(ch for i, ch in enumerate(text) if i not in loose) if loose else text


def without_controls(value: str, *, multiline: bool = False) -> str:
    """`value` without the control characters control_characters_refuse would refuse: for text read from files."""
    bad = {*_controls(value or "", multiline=multiline), NUL}
    return "".join(ch for ch in value if ch not in bad)


# Invisible characters that change only how text compares or which way it is laid out, left in by the tools that
# wrote a file: a byte-order mark (text written as UTF-8 or UTF-16 with one), zero-width space, word joiner, soft
# hyphen, and the bidirectional embeddings, overrides and isolates ("\u202eevil" shows as "live"). Text read from
# files loses them with its control characters, or "\ufeffEaster" is a tag of its own beside "Easter", looking the
# same and never found by typing it. (The zero-width joiner and non-joiner stay: emoji sequences and Persian or
# Indic words need them; so do the left-to-right and right-to-left marks.)
INVISIBLE_IN_FILES = frozenset("\ufeff\u200b\u2060\u00ad\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def text_from_file(value: str, *, multiline: bool = False) -> str:
    """Text read from inside a file (keywords, title, description): without control characters and without the
    invisible characters of INVISIBLE_IN_FILES, its accents composed (NFC: "e" + U+0301, as macOS and some tools
    write it, is the "é" people type, or "école" from one file is a tag of its own beside another's)."""
    text = "".join(ch for ch in without_controls(value, multiline=multiline) if ch not in INVISIBLE_IN_FILES)
    return unicodedata.normalize("NFC", text)


def text_from_os(value: str) -> str:
    """A file name as the operating system gave it, as text: bytes that were no UTF-8 (a Latin-1 name from an old
    camera card or zip; Python keeps them as lone surrogates, which neither PostgreSQL nor a terminal takes) become
    U+FFFD, "caf\ufffd.jpg"."""
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def text_shown_from_os(value: str) -> str:
    """A file name as the operating system gave it, to print on a terminal: as text_from_os, its control and
    invisible characters escaped as `ls -b` shows them ("bad\\x1b[2J.jpg"), so a name written into a folder by someone
    else can't clear the screen, retitle the terminal or print a line of its own, and can still be found."""
    return "".join(ch.encode("unicode_escape").decode("ascii")
                   if unicodedata.category(ch) == "Cc" or ch in INVISIBLE_IN_FILES else ch
                   for ch in text_from_os(value))


_INVISIBLE_OR_SPACE = "".join(INVISIBLE_IN_FILES) + " "


def one_line(value: str) -> str:
    """A name as stored: whitespace runs (tabs and line breaks too) one space, no NUL, ends trimmed; "" when it is
    nothing but invisible marks (a zero-width space pasted alone, a byte-order mark: INVISIBLE_IN_FILES), which
    would show as nothing, as a name of spaces alone."""
    line = " ".join(without_nul(value or "").split())
    return line if line.strip(_INVISIBLE_OR_SPACE) else ""


# Cyrillic and Greek letters that show as Latin ones in the fonts pages use, each case (PostgreSQL's lower() leaves
# them be under the C collation) as the Latin letter its lower case or capital looks like: "Smіths" with a Cyrillic
# і, "Ѕmiths" with a Cyrillic Ѕ. Not the whole of Unicode's confusables (UTS #39), the ones a family name meets.
LATIN_LOOKALIKES = {
    **dict.fromkeys("Аа", "a"), **dict.fromkeys("Вв", "b"), **dict.fromkeys("Ее", "e"), **dict.fromkeys("Кк", "k"),
    **dict.fromkeys("Мм", "m"), **dict.fromkeys("Нн", "h"), **dict.fromkeys("Оо", "o"), **dict.fromkeys("Рр", "p"),
    **dict.fromkeys("Сс", "c"), **dict.fromkeys("Тт", "t"), **dict.fromkeys("Уу", "y"), **dict.fromkeys("Хх", "x"),
    **dict.fromkeys("Іі", "i"), **dict.fromkeys("Јј", "j"), **dict.fromkeys("Ѕѕ", "s"), **dict.fromkeys("Үү", "y"),
    **dict.fromkeys("Һһ", "h"), **dict.fromkeys("Ԁԁ", "d"), **dict.fromkeys("Ԛԛ", "q"), **dict.fromkeys("Ԝԝ", "w"),
    **dict.fromkeys("Ӏӏ", "l"),
    **dict.fromkeys("Αα", "a"), **dict.fromkeys("Ββ", "b"), **dict.fromkeys("Εε", "e"), **dict.fromkeys("Ζζ", "z"),
    **dict.fromkeys("Ιι", "i"), **dict.fromkeys("Κκ", "k"), **dict.fromkeys("Νν", "v"), **dict.fromkeys("Οο", "o"),
    **dict.fromkeys("Ρρ", "p"), **dict.fromkeys("Ττ", "t"), **dict.fromkeys("Υυ", "u"), **dict.fromkeys("Χχ", "x"),
}
_LATIN_LOOKALIKES_TABLE = str.maketrans(LATIN_LOOKALIKES)


def name_key(name: str) -> str:
    """What a name reads as, to tell two apart: its invisible marks (INVISIBLE_IN_FILES) left out, full-width and other
    compatibility letters as their plain ones (NFKC), any case (the fold of tag names, gallery.name_fold.name_folded:
    "Straße" is "STRASSE", "οδος" is "ΟΔΟΣ", "İstanbul" is "Istanbul", "ΤΑΪ́ΖΩ" is "ταΐζω"), Cyrillic and Greek
    letters that look Latin as those (LATIN_LOOKALIKES). "Smiths" with a zero-width space, in full-width letters or
    with a Cyrillic і reads as "smiths". gallery.selectors.name_key_sql reads it in SQL, step by step the same: a
    family refused as a twin of another (families_named_as) is one the pickers tell apart (family_list), and back."""
    plain = unicodedata.normalize("NFKC", "".join(ch for ch in name if ch not in INVISIBLE_IN_FILES))
    return name_folded(plain).translate(_LATIN_LOOKALIKES_TABLE)


@deconstructible
class NoControlCharacters:
    """The model fields' validator (the admin's forms run it): control_characters_refuse."""

    def __init__(self, what: str = "This text", multiline: bool = False):
        self.what, self.multiline = what, multiline

    def __call__(self, value) -> None:
        control_characters_refuse(str(value), what=self.what, multiline=self.multiline)

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and (self.what, self.multiline) == (other.what, other.multiline)


@deconstructible
class EachNoControlCharacters(NoControlCharacters):
    """NoControlCharacters for each text of a list (a JSON list field, such as a synonym's related terms)."""

    def __call__(self, value) -> None:
        for text in value if isinstance(value, list) else [value]:
            super().__call__(text)


def tag_name_clean(name: str) -> str:
    """A tag name as a person gives it (web, API, admin, an accepted suggestion's concept), as stored: one line
    (whitespace collapsed, no NUL); refused (ValidationError) with a control character or a comma in it, as the
    comma-separated tag fields could never give it back, or longer than a tag holds (TAG_NAME_MAX: cut short, two
    names alike in their first 64 characters were one tag). "" stays "" (the caller drops or refuses it). (Keywords
    read from files longer than that are left out where they are read: gallery.embedded, gallery.sidecars.)"""
    name = one_line(str(name))
    control_characters_refuse(name, what="A tag name")
    if TAG_SEPARATOR in name:
        raise ValidationError(TAG_COMMA_REFUSED.format(name=name), code="tag_comma")
    if len(name) > TAG_NAME_MAX:
        raise ValidationError(f"A tag name has at most {TAG_NAME_MAX} characters; “{name[:40]}…” has {len(name)}. "
                              "Write it shorter.", code="tag_too_long")
    return name


def tag_names_from_file(raw: str) -> list[str]:
    """Tag names in a keyword read from a file: control and invisible characters removed (text_from_file), split at
    commas as typed ones are ("Beach, Summer" from a tool that stored a keyword list as one keyword is two tags)."""
    return [name for part in text_from_file(str(raw)).split(TAG_SEPARATOR) if (name := one_line(part))]


# The validators of each kind of text, shared by the models (admin), the forms (pages) and the serializers (API).
NAME_TEXT = NoControlCharacters("A name")
TITLE_TEXT = NoControlCharacters("A title")
DESCRIPTION_TEXT = NoControlCharacters("A description", multiline=True)
