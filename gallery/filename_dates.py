"""The date taken that a file's name tells, for a photo whose file tells none: chat apps strip EXIF but name their
copies by the day (WhatsApp's `IMG-20230614-WA0003.jpg`), phones and screenshots by the moment
(`IMG_20230614_153012.jpg`, `PXL_20230614_153012345.jpg`, `Screenshot_20230614-153012.png`,
`Screenshot 2023-06-14 at 15.30.12.png`, in French `Capture d'écran 2023-06-14 à 15.30.12.png`, Telegram's
`photo_2023-06-14_15-30-12.jpg`, Signal's `signal-2023-06-14-153012.jpg`), and families name their scans
(`1987-07-04 beach.jpg`; a scanner's counter after the date, `1987-07-04 000123.jpg`, is no time).

A name gives the camera's wall-clock reading (read in the photo's zone, as an EXIF date is); a name with only the
day gives its noon, so the day stays the day in any zone it is shown in. Numbers that only look like a date are not
one: the date must exist, not be in the future, and an 8-digit run with no separators counts from 1980 (the
oldest phones' names) while a date written with separators counts from 1900 ("1952-08-15 wedding.jpg").

Where a name's date stands among the others (gallery.services): after the file's own EXIF date, before a Google
Takeout sidecar's, except that a sidecar's date taken on the day a name tells alone gives that day its time."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone

# Year, month and day written together or split by one of - _ . or a space, then optionally the time (hours, minutes,
# seconds, split the same way or by ":", and a Pixel's milliseconds), after "T", "_", "-", " ", a Mac screenshot's
# " at " (in the Mac's language: " à ", " um ", " a las ", " às ", " alle ", " om ") or nothing; or, after " at ", a
# 12-hour clock's (macOS and WhatsApp's exports set so: "at 3.30.12 PM", a narrow no-break space before "PM" on recent
# macOS). No digit may touch the date on either side: "IMG_1234567890" or a hash's run of digits is no date. Which
# times are one: _time_of.
_AT = r"\s(?:at|à|às|um|a\s+las|alle|om)\s"
_DATE = re.compile(
    r"(?<!\d)(?P<year>(?:19|20)\d\d)(?P<sep>[-_. ]?)(?P<month>[01]\d)(?P=sep)(?P<day>[0-3]\d)"
    rf"(?:\sat\s(?P<hour12>1[0-2]|0?[1-9])[.:](?P<minute12>[0-5]\d)[.:](?P<second12>[0-5]\d)\s?(?P<half>[ap])\.?m\b"
    rf"|(?P<join>[T_ -]|{_AT})?(?P<hour>[0-2]\d)(?P<hsep>[-_.:]?)(?P<minute>[0-5]\d)(?P<msep>[-_.:]?)"
    r"(?P<second>[0-5]\d)(?P<ms>\d{3})?)?"
    r"(?!\d)", re.IGNORECASE)
# A name that says it is a screenshot, in the languages of the Macs and PCs that name them so: the digits after its
# date are its time, whatever the separators (Windows 11's Snipping Tool: "Screenshot 2023-09-15 145845.png").
_SCREENSHOT = re.compile(r"screen\s?shot|capture d.écran|bildschirmfoto|captura de (?:pantalla|tela)|schermata|"
                         r"istantanea|schermafbeelding", re.IGNORECASE)
# A hash (hex, with a letter: digits alone may be a moment, "20230614153012345") or a UUID.
_HASH = re.compile(r"(?=\d*[a-f])[0-9a-f]{16,}|[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}", re.IGNORECASE)
EARLIEST_COMPACT_YEAR = 1980
EARLIEST_YEAR = 1900
NOON = time(12, 0)


@dataclass(frozen=True)
class NamedDate:
    """The date a file's name tells: a naive wall-clock time, the day's noon when the name tells only the day."""

    when: datetime
    day_only: bool


def date_in_filename(name: str) -> NamedDate | None:
    """The date taken that the file name `name` tells, or None."""
    stem = unicodedata.normalize("NFC", name.rsplit("/", 1)[-1])  # (a Mac's "à" may be "a" and a combining accent)
    if _HASH.fullmatch(stem.split(".", 1)[0]):  # a hash or a UUID as the name: its digits are no date
        return None
    for match in _DATE.finditer(stem):
        year, month, day = int(match["year"]), int(match["month"]), int(match["day"])
        if year < (EARLIEST_YEAR if match["sep"] else EARLIEST_COMPACT_YEAR):
            continue
        try:
            day_taken = date(year, month, day)
        except ValueError:  # 2023-02-30
            continue
        # A day later than today anywhere is no date taken (a name made up of other numbers).
        if day_taken > (timezone.now() + timedelta(days=1)).date():
            continue
        if match["half"] is not None:  # 12 AM is midnight, 12 PM noon
            hour = int(match["hour12"]) % 12 + (12 if match["half"].lower() == "p" else 0)
            return NamedDate(datetime.combine(day_taken, time(hour, int(match["minute12"]), int(match["second12"]))),
                             day_only=False)
        if (taken := _time_of(match, screenshot=bool(_SCREENSHOT.search(stem, 0, match.start())))) is not None:
            return NamedDate(datetime.combine(day_taken, taken), day_only=False)
        return NamedDate(datetime.combine(day_taken, NOON), day_only=True)
    return None


def _time_of(match: re.Match, *, screenshot: bool = False) -> time | None:
    """The time of day the digits after a name's date tell, when they are one (else the name tells the day alone):
    split by one separator throughout ("15.30.12", "15-30-12"), or six digits together after a date written the same
    way ("20230614_153012", a Pixel's "20230614_153012345" with its milliseconds) or joined to a date with separators
    by its own ("signal-2023-06-14-153012"), by ISO's "T", or in a screenshot's name (`screenshot`: Windows' "Screenshot
    2023-09-15 145845"). A scan's counter after a date with separators ("1987-07-04 000123"), more digits than a time,
    or no such time (25:00) is none."""
    if match["hour"] is None or int(match["hour"]) > 23 or match["hsep"] != match["msep"]:
        return None
    together = not match["hsep"]
    if match["ms"] and (match["sep"] or not together):  # (milliseconds: a Pixel's, whose date and time are compact)
        return None
    if together and match["sep"] and match["join"] != match["sep"] and (match["join"] or "").upper() != "T" \
            and not screenshot:
        return None
    return time(int(match["hour"]), int(match["minute"]), int(match["second"]))


# --- dates in folder names --------------------------------------------------------------------------------------

# How precisely a folder's name dates its photos (Photo.DateSource: FOLDER_DAY, FOLDER_MONTH, FOLDER_YEAR).
DAY, MONTH, YEAR = "day", "month", "year"
_MONTH_NAMES = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
                "november", "december")
_MONTH_WORD = r"(?P<name>" + "|".join(f"{m[:3]}(?:{m[3:]})?" for m in _MONTH_NAMES) + r")\.?"
# "2019-07 Italy", "2019_07", "2019.07 - Rome": a year and its month, then no more digits (no day: "2019-07-14");
# split by a space only when nothing follows ("2019 07": "2019 12 days" is no December). A second number that reads
# as the next year's last two digits, alone or before a school year's or a season's word, is a span ("2010-11",
# "2005_06 season"), no month: _month_of, _SPAN.
_YEAR_MONTH = re.compile(r"(?P<year>(?:19|20)\d\d)(?:[-_.](?P<month>0[1-9]|1[0-2])(?![-_.]?\d)(?:\b.*)?"
                         r"| (?P<month2>0[1-9]|1[0-2]))", re.IGNORECASE)
# What follows a year and the next year's last two digits when they are a span, no month: nothing, or a school year's
# or a season's word ("2010-11", "2010-11 school year", "2005_06 season", "2010-11 Ski").
_SPAN = re.compile(r"\s*[-_.]?\s*(?:$|(?:school|academic|season|year|term|ski|winter|fy)\b)", re.IGNORECASE)
# "July 2019", "Jul 2019", "2019 July": a month's English name and a year, nothing else but words after.
_NAMED_MONTH = re.compile(rf"(?:{_MONTH_WORD}[\s,]+(?P<year>(?:19|20)\d\d)|(?P<year2>(?:19|20)\d\d)[\s,]+{_MONTH_WORD.replace('name', 'name2')})"
                          r"(?!\d)(?:\b.*)?", re.IGNORECASE)
_YEAR = re.compile(r"(?:19|20)\d\d")
# Below a year: "07", "7", or the number with its month's name ("07 - July", "7 Jul"); "3 Kids" is no month.
_MONTH_NUMBER = re.compile(rf"(?P<month>0?[1-9]|1[0-2])(?:[-_. ]+{_MONTH_WORD})?", re.IGNORECASE)
_DAY_NUMBER = re.compile(r"(?P<day>0?[1-9]|[12]\d|3[01])")  # "14" below a month ("14 Kids" may be anything)


@dataclass(frozen=True)
class FolderDate:
    """The date a photo's folders tell: the day (at noon, as a name's day alone), else the first of the month or of the
    year, and how precisely (DAY, MONTH or YEAR)."""

    when: datetime
    precision: str

    def holds(self, day: date) -> bool:
        """Whether `day` is in the day, month or year the folder tells (a file's modified time may say more of it)."""
        return (day.year == self.when.year and (self.precision == YEAR or day.month == self.when.month)
                and (self.precision != DAY or day.day == self.when.day))


def date_in_folders(parts: list[str] | tuple[str, ...], *, year_folder=None) -> FolderDate | None:
    """The date the folders a photo is in tell, innermost first (`parts`: the folder names from the outermost to the
    photo's own): one named by its day ("2019-07-14 Beach day", "20190714"), by its month ("2019-07 Italy", "July
    2019") or by its year alone ("2019"; `year_folder(name)`: also a Google Photos export's "Photos from 2019"), or a
    day, a month, under a year ("2019/07/14", "2019/07"). Only names that can mean nothing else: "Summer 2019", "Trip
    2019" or "07" alone tell nothing. A folder that tells nothing lets the one around it speak ("2019-07 Italy/Rome")."""
    names = [unicodedata.normalize("NFC", " ".join(part.split())) for part in parts]
    for i in range(len(names) - 1, -1, -1):
        found = _folder_date(names[i], names[:i], year_folder=year_folder)
        if found is not None:
            return found if found.when.date() <= (timezone.now() + timedelta(days=1)).date() else None
    return None


def is_a_date_folder(name: str) -> bool:
    """Whether a folder's name is a date and nothing else, in figures: a year, a month or a day ("2019", "2019-07",
    "2019-07-14", "20190714"), or a month's or a day's number below its year and month ("08", "14"): a folder by date,
    as photo programs file their imports, no album."""
    name = " ".join(name.split())
    if not re.fullmatch(r"[\d\-_. ]+", name):
        return False
    return (date_in_filename(name) is not None or _month_of(name) is not None
            or _YEAR.fullmatch(name) is not None or _DAY_NUMBER.fullmatch(name) is not None)


def _folder_date(name: str, outer: list[str], *, year_folder=None) -> FolderDate | None:
    """The date one folder's name tells (with the folders around it for a bare day or month number)."""
    if (day := _day_of(name)) is not None:
        return FolderDate(datetime.combine(day, NOON), DAY)
    if (month := _month_of(name)) is not None:
        return FolderDate(datetime.combine(month, NOON), MONTH)
    if (year := _year_of(name, year_folder=year_folder)) is not None:
        return FolderDate(datetime(year, 1, 1, 12), YEAR)
    if outer and (match := _month_number(name)) and (year := _year_of(outer[-1])) is not None:
        return FolderDate(datetime(year, int(match["month"]), 1, 12), MONTH)  # "2019/07"
    if len(outer) >= 2 and (match := _DAY_NUMBER.fullmatch(name)):  # "2019/07/14", "2019/2019-07/14"
        month = _month_of(outer[-1])
        if month is None and (number := _month_number(outer[-1])) \
                and (year := _year_of(outer[-2])) is not None:
            month = date(year, int(number["month"]), 1)
        if month is not None:
            try:
                return FolderDate(datetime.combine(month.replace(day=int(match["day"])), NOON), DAY)
            except ValueError:  # 2019/02/30
                return None
    return None


def _day_of(name: str) -> date | None:
    """The day a folder's name starts with ("1987-07-04 Beach day", "19870704"), as a file's name tells it, or None.
    A date further in is no folder's date (the day of a backup or an export: "iPhone backup 2021-03-04"), nor one
    with a time (when something was made: "takeout-20230105T101010Z-001", a Takeout zip unpacked in a folder of its
    name, would date the whole export)."""
    start = _DATE.match(name)
    named = date_in_filename(name) if start is not None else None
    if named is None or not named.day_only:
        return None
    day = named.when.date()
    # (the name's first date that is one must be the one it starts with: "2019-02-30 2019-03-01" tells none)
    return day if (day.year, day.month, day.day) == (int(start["year"]), int(start["month"]), int(start["day"])) \
        else None


def _month_number(name: str) -> re.Match | None:
    """A folder named by a month's number, alone or with that month's name ("07", "07 - July"), below a year."""
    match = _MONTH_NUMBER.fullmatch(name)
    if match is None or (match["name"] and not _MONTH_NAMES[int(match["month"]) - 1].startswith(match["name"].lower())):
        return None
    return match


def _month_of(name: str) -> date | None:
    """The month a folder's name tells with its year ("2019-07 Italy", "July 2019"), or None."""
    if (match := _YEAR_MONTH.fullmatch(name)) is not None:
        year, month = int(match["year"]), int(match["month"] or match["month2"])
        if month == (year + 1) % 100 and _SPAN.match(name, match.end("month") if match["month"] else len(name)):
            return None  # "2010-11", "2010-11 school year", "2005_06 season": no month ("2005-06 Italy" is June)
    elif (match := _NAMED_MONTH.fullmatch(name)) is not None:
        year = int(match["year"] or match["year2"])
        month = next(n for n, m in enumerate(_MONTH_NAMES, 1) if m.startswith((match["name"] or match["name2"]).lower()))
    else:
        return None
    return date(year, month, 1) if year >= EARLIEST_YEAR else None


def _year_of(name: str, *, year_folder=None) -> int | None:
    """The year a folder named by it alone tells ("2019"; with `year_folder`, "Photos from 2019" too), or None."""
    if _YEAR.fullmatch(name) or (year_folder is not None and year_folder(name)):
        year = int(re.search(r"(?:19|20)\d\d", name)[0])
        return year if year >= EARLIEST_YEAR else None
    return None
