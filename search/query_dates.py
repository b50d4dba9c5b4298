"""Dates for the query parser: the spans of years, months, seasons and holidays, and a span's label and words.

Seasons are meteorological and flip south of the equator; a season that spans New Year belongs to the year of
its January ("winter 2023" in the north: Dec 2022 to Feb 2023). A holiday in a given year is the days it falls
on in the family's country (the `holidays` package, through gallery.date_words), else a window of ±2 days
around its usual day (`USUAL_HOLIDAYS`)."""

from __future__ import annotations

import calendar
import re
import unicodedata
from datetime import date, timedelta
from functools import lru_cache

from dateutil.easter import easter

from gallery.date_words import MONTHS, holiday_calendar

SEASONS = {"spring": 3, "summer": 6, "autumn": 9, "fall": 9, "winter": 12}  # first month, northern hemisphere
MONTH_NAMES = {name[:3]: n for n, name in enumerate(MONTHS, start=1)} | {
    name: n for n, name in enumerate(MONTHS, start=1)} | {"sept": 9}
# Holidays most people name, for a family whose country doesn't keep them (or isn't known): the usual day.
USUAL_HOLIDAYS = {
    "christmas": lambda y: date(y, 12, 25), "christmas day": lambda y: date(y, 12, 25),
    "christmas eve": lambda y: date(y, 12, 24), "boxing day": lambda y: date(y, 12, 26),
    "new year": lambda y: date(y, 1, 1), "new years day": lambda y: date(y, 1, 1),
    "new year day": lambda y: date(y, 1, 1), "new years eve": lambda y: date(y, 12, 31),
    "new year eve": lambda y: date(y, 12, 31), "easter": easter, "easter sunday": easter,
    "halloween": lambda y: date(y, 10, 31), "valentine": lambda y: date(y, 2, 14),
    "valentines": lambda y: date(y, 2, 14), "valentine day": lambda y: date(y, 2, 14),
    "valentines day": lambda y: date(y, 2, 14), "thanksgiving": lambda y: _nth_weekday(y, 11, 3, 4),
}
HOLIDAY_WINDOW = timedelta(days=2)
# Holidays that are one day of the calendar, whatever the country: an eve is the day before, never a window around it
# ("christmas eve 2022" is 24 December 2022), and without a year it is that day of every year (a day of the year).
FIXED_HOLIDAYS = {"christmas eve": (12, 24), "new years eve": (12, 31), "new year eve": (12, 31)}
# Words people write for a holiday's own: "xmas 2022" is Christmas 2022, looked up under that name.
HOLIDAY_ALIASES = {"xmas": "christmas", "nye": "new years eve"}
HOLIDAY_WORDS = frozenset(w for name in USUAL_HOLIDAYS for w in name.split()) | {"day", "eve"} | set(HOLIDAY_ALIASES)


@lru_cache(maxsize=256)
def writes_month_first(country_code: str) -> bool:
    """Whether people in this country write a day in numbers with the month first ("6/14/2021"): CLDR's short date of
    the country's main language there (Babel ships it, offline) has the month before the day and the year last. In
    Babel 2.18: the US and its territories, the Philippines, Panama, Eritrea. Elsewhere the day comes first, or the
    year first and then month and day ("2021/06/14", read as such everywhere); unknown countries read the day first."""
    from babel import Locale, UnknownLocaleError
    from babel.languages import get_official_languages

    code = (country_code or "").upper()
    languages = get_official_languages(code, de_facto=True) if len(code) == 2 and code.isalpha() else ()
    if not languages:
        return False
    try:
        pattern = Locale.parse(f"{languages[0]}_{code}").date_formats["short"].pattern
    except (UnknownLocaleError, ValueError, KeyError):
        return False
    where = {field: pattern.find(field) for field in "dMy"}
    return -1 not in where.values() and where["M"] < where["d"] < where["y"]


def year_span(year: int) -> tuple[date, date]:
    return date(year, 1, 1), date(year, 12, 31)


def month_span(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def day_or_none(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def hull(a: tuple[date, date], b: tuple[date, date]) -> tuple[date, date]:
    return min(a[0], b[0]), max(a[1], b[1])


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def season_span(season: str, year: int, *, southern: bool) -> tuple[date, date]:
    """The days of `season` in `year`; one across New Year belongs to the year of its January."""
    first = SEASONS[season]
    if southern:
        first = (first + 6 - 1) % 12 + 1
    start_year = year - 1 if first == 12 else year
    end_month = (first + 2 - 1) % 12 + 1
    end_year = start_year + 1 if end_month < first else start_year
    return date(start_year, first, 1), month_span(end_year, end_month)[1]


def is_date_word(name: str) -> bool:
    return (name in MONTH_NAMES or name in SEASONS or _holiday_name(name) in USUAL_HOLIDAYS
            or name in ("last", "this"))


def _holiday_name(name: str) -> str:
    """The holiday as USUAL_HOLIDAYS and the calendars name it: "xmas eve" → "christmas eve"."""
    return " ".join(HOLIDAY_ALIASES.get(word, word) for word in name.split())


def holiday_span(name: str, year: int, country_code: str) -> tuple[date, date] | None:
    """The days `name` falls on in `year`: from the country's calendar, else ±2 days around its usual day."""
    name = _holiday_name(name)
    days = _calendar_days(name, year, country_code)
    usual = USUAL_HOLIDAYS.get(name)
    if days:
        # With its usual day when the calendar keeps only days beside it: Germany's, France's, Australia's "easter"
        # is Easter Monday alone (the Sunday is no public holiday there), and the Sunday is Easter all the same.
        # (A usual day far from the country's, Russia's Christmas on 7 January, is not theirs.)
        near = usual(year) if usual is not None else None
        if near is not None and all(abs((near - day).days) <= 7 for day in days):
            days = [*days, near]
        return min(days), max(days)
    if usual is None:
        return None
    day = usual(year)
    if name in FIXED_HOLIDAYS:
        return day, day
    return day - HOLIDAY_WINDOW, day + HOLIDAY_WINDOW


def fixed_holiday(name: str) -> tuple[int, int] | None:
    """(month, day) of a holiday that is one day of every year ("christmas eve", "nye"), else None."""
    return FIXED_HOLIDAYS.get(_holiday_name(name))


def holidays_in(norms: tuple[str, ...], covered: set[int] = frozenset()) -> list[tuple[int, int, str]]:
    """The holidays these words name where no chip took them ("christmas", "xmas", "new year's day"): (where their
    words start, the index after them, the holiday as USUAL_HOLIDAYS names it), the longest name first, in order.
    `norms`: the query's words, normalised; `covered`: the indexes of words a chip took."""
    found, i = [], 0
    while i < len(norms):
        end = next((end for end in range(min(len(norms), i + 3), i, -1)
                    if all(norms[i:end]) and not covered & set(range(i, end))
                    and _holiday_name(" ".join(norms[i:end])) in USUAL_HOLIDAYS), None)
        if end is None:
            i += 1
            continue
        found.append((i, end, _holiday_name(" ".join(norms[i:end]))))
        i = end
    return found


def holiday_word(name: str) -> str:
    """A holiday as a photo's words name it (gallery.date_words.holiday_names: its calendar's English name without
    "day"): "christmas day" and "xmas" → "christmas", "new years day" → "new year's", "valentine day" →
    "valentine's"."""
    words = " ".join(word for word in _holiday_name(name).split() if word != "day")
    return re.sub(r"^(new year|valentine)s?(?= |$)", r"\1's", words)


# Usual holidays no country's calendar names (every country the pinned `holidays` ships, every year since 1900; as
# holiday_word names them): no photo's date words carry them, whatever its country, so searched as a word they find no
# photo by its date (search.query_notes says so). Static data: search/tests/test_query_parser.py checks it against the
# package, a 20-second read of every calendar no search should make.
IN_NO_CALENDAR = frozenset({"halloween", "valentine's"})


def in_no_calendar(name: str) -> bool:
    """Whether no country's calendar names this holiday ("halloween", "valentines day"): IN_NO_CALENDAR."""
    return holiday_word(name.casefold()) in IN_NO_CALENDAR


@lru_cache(maxsize=1024)
def country_keeps(country_code: str, name: str) -> bool:
    """Whether this country's calendar (gallery.date_words.holiday_calendar) names the holiday in any year from 1900
    to next year, so that its photos' words may: one of its names, without "day", holds every word of the holiday's
    ("thanksgiving": Japan's Labor Thanksgiving Day; "new years day": New Year's Day). A country without a calendar
    keeps none. Static data: remembered per process."""
    wanted = set(_holiday_key(holiday_word(name)).split())
    return bool(wanted) and any(wanted <= set(_holiday_key(holiday).split())
                                for year in range(date.today().year + 1, 1899, -1)
                                for _, holiday in holiday_calendar(country_code=country_code, year=year))


def usual_day_of_year(name: str) -> tuple[int, int] | None:
    """(month, day) of a holiday whose usual day is the same in every year ("christmas": 25 December), None for one
    whose day moves (Easter, Thanksgiving) or no holiday."""
    usual = USUAL_HOLIDAYS.get(_holiday_name(name))
    if usual is None:
        return None
    days = {(usual(year).month, usual(year).day) for year in (2023, 2024, 2025)}
    return days.pop() if len(days) == 1 else None


def day_of_year_label(month: int, day: int) -> str:
    """"3 Jun, any year": a day of every year, as a chip names the days it searches."""
    return f"{day} {MONTHS[month - 1][:3].title()}, any year"


def is_day_of_year(month: int, day: int) -> bool:
    """Whether some year has this day: 29 February does (leap years), 31 June none."""
    return 1 <= month <= 12 and 1 <= day <= most_days(month)


def most_days(month: int) -> int:
    """The most days `month` has in any year (February's 29: 2000 was a leap year)."""
    return calendar.monthrange(2000, month)[1]


def _calendar_days(name: str, year: int, country_code: str) -> list[date]:
    if not country_code:
        return []
    listed = _calendar_keys(country_code.upper(), year)
    wanted = _holiday_key(name)
    if not wanted:
        return []
    exact = [day for day, key in listed if key == wanted]
    if exact:
        return exact
    prefixed = [day for day, key in listed if key.startswith(wanted + " ")]
    # "easter" → Easter Sunday and Easter Monday; never a spread across the year ("new year" ≠ new year's eve).
    return prefixed if prefixed and (max(prefixed) - min(prefixed)).days <= 7 else []


@lru_cache(maxsize=512)
def _calendar_keys(country_code: str, year: int) -> tuple[tuple[date, str], ...]:
    """The country's holidays that year by matching key (static data of the `holidays` package)."""
    return tuple((day, _holiday_key(holiday)) for day, holiday in holiday_calendar(country_code=country_code, year=year))


@lru_cache(maxsize=4096)  # a few thousand names across every country's calendar, each read for every year asked
def _holiday_key(name: str) -> str:
    """"New Year's Day" → "new year": lower case, no accents, possessives or "day"."""
    folded = "".join(ch for ch in unicodedata.normalize("NFKD", name) if not unicodedata.combining(ch)).casefold()
    folded = re.sub(r"['’]s\b", "", folded)
    return " ".join(word for word in re.findall(r"[^\W_]+", folded) if word != "day")


def range_label(after: date | None, before: date | None) -> str:
    """"1 Jun – 31 Aug 2026", "since 1 Jan 2019", "until 31 Dec 2020"."""
    def day(d: date, year: bool = True) -> str:
        return f"{d.day} {MONTHS[d.month - 1][:3].title()}" + (f" {d.year}" if year else "")

    if after and before:
        if after == before:
            return day(after)
        return f"{day(after, after.year != before.year)} – {day(before)}"
    if after:
        return f"since {day(after)}"
    if before:
        return f"until {day(before)}"
    return ""


def periods_label(periods) -> str:
    """Periods a photo may be taken in any of, as a note says them: "in 2019 or 2024", "on 25 Dec 2019 or 25 Dec
    2020", "1 Jun – 31 Dec 2019 or in 2021" (a year or a month in, a day on, a span as range_label writes it)."""
    said = []
    for after, before in periods:
        if (after.month, after.day, before.month, before.day) == (1, 1, 12, 31) and after.year == before.year:
            said.append(("in", str(after.year)))
        elif after.day == 1 and before == month_span(after.year, after.month)[1]:
            said.append(("in", f"{MONTHS[after.month - 1][:3].title()} {after.year}"))
        elif after == before:
            said.append(("on", range_label(after, before)))
        else:
            said.append(("", range_label(after, before)))
    if len({word for word, _ in said}) == 1:
        words = [label for _, label in said]
        return " ".join(filter(None, (said[0][0], ", ".join(words[:-1]) + " or " + words[-1])))
    words = [" ".join(filter(None, part)) for part in said]
    return ", ".join(words[:-1]) + " or " + words[-1]


def phrase_for_range(after: date | None, before: date | None) -> str:
    """Words the parser reads back as this range (used when a date chip is edited)."""
    if after and before and after > before:
        after, before = before, after
    if after and before:
        if (after.month, after.day, before.month, before.day) == (1, 1, 12, 31):
            return str(after.year) if after.year == before.year else f"between {after.year} and {before.year}"
        if after.day == 1 and before == month_span(before.year, before.month)[1] and (after.year, after.month) == (
                before.year, before.month):
            return f"{MONTHS[after.month - 1]} {after.year}"
        if after == before:
            return after.isoformat()
        return f"between {after.isoformat()} and {before.isoformat()}"
    if after:
        return f"since {after.isoformat()}"
    if before:
        return f"until {before.isoformat()}"
    return ""


def phrase_for_day(month: int, day: int, year: int | None = None) -> str:
    """Words the parser reads back as this day of every year ("3 june"), or, with `year`, as that one day ("3 june
    2021") (used when a day of every year's chip is edited)."""
    return f"{day} {MONTHS[month - 1]}" + (f" {year}" if year is not None else "")


def note_reason(note: str) -> str:
    """A note of dates_no_photo_has without its "“…” is searched as words.": why, where the words were not searched
    (a chip's edit refused, the search left as it was)."""
    return re.sub(r"[:.]? “[^”]*” is searched as words\.$", ".", note)


EARLIEST_YEAR = 1826  # the oldest surviving photograph
DASHES = ("-", "–", "—")  # between two dates, a range: "2021-06-14 – 2021-06-20"
RANGE_JOINS = ("and", "to", "until", "till", *DASHES)  # "between 2019 and 2021", "from june 2020 to may 2021"
DIRECTIONS = frozenset({"since", "after", "before", "until", "till"})  # "since 2019": one end of a range


def open_year_range(norms: tuple[str, ...], i: int, last_year: int) -> tuple[int, tuple[date | None, date | None]] | None:
    """A range of years, a direction word's or "from"/"between"'s, with an end past the years photos can have but days
    photos can have inside it: "before 2030", "until 2040" (every photo so far), "since 1700", "after 1800" (every
    photo), "from 2019 to 2040", "between 1700 and 1900". (the index after it, (first day, last day), None for an end
    left open; an end past photos' years is the last or first day of theirs: 31 December of `last_year`, next year or
    the families' latest photo's (ParserContext.latest_year), 1 January 1826), else None. Only years written alone
    with four digits: a month's or a holiday's stay unread_range_end's ("before june 9999" is words, as its note
    says)."""
    if i + 1 >= len(norms) or (norms[i] not in DIRECTIONS and norms[i] not in ("from", "between")):
        return None
    first, last = EARLIEST_YEAR, last_year
    word = norms[i]
    a = _four_digits(norms[i + 1])
    if a is None:
        return None
    # The end past photos' years is the last (or first) day a photo can have: what is searched, and what the chip says.
    if word in DIRECTIONS:
        if word in ("before", "until", "till") and a > last:
            return i + 2, (None, date(last, 12, 31))
        if word in ("since", "after") and a < first:
            return i + 2, (date(first, 1, 1), None)
        return None
    if i + 3 >= len(norms) or norms[i + 2] not in RANGE_JOINS or (b := _four_digits(norms[i + 3])) is None:
        return None
    low, high = min(a, b), max(a, b)
    if (first <= low and high <= last) or low > last or high < first:
        return None  # all of it photos' years (the parser's own range), or none of it (unread_range_end's note)
    return i + 4, (date(max(low, first), 1, 1), date(min(high, last), 12, 31))


def _four_digits(word: str) -> int | None:
    return int(word) if len(word) == 4 and word.isdecimal() and int(word) > 0 else None


def unread_range_end(norms: tuple[str, ...], i: int, last_year: int) -> tuple[int, int] | None:
    """A date with a direction word that names a year no photo can have, which the parser leaves as words whole (the
    range it begins is no range of days): "since 9999", "before 1700", "until 0", "from 2030 to 2040", "since june
    9999". (the index after it, the first such year), else None. A number alone after the word is a year with four
    digits or more, or 0 ("after 500 miles", "from 0 to 100" say nothing of dates). A range that holds days photos
    can have is no such date ("before 2030", "from 2019 to 2040": open_year_range)."""
    if i >= len(norms) or (norms[i] not in DIRECTIONS and norms[i] not in ("from", "between")):
        return None
    if open_year_range(norms, i, last_year):
        return None
    first = _year_said_at(norms, i + 1, last_year, alone_too=norms[i] in DIRECTIONS)
    if first is None:
        return None
    end, year = first
    if norms[i] in DIRECTIONS:
        return (end, year) if year is not None else None
    if end >= len(norms) or norms[end] not in RANGE_JOINS:
        return None
    second = _year_said_at(norms, end + 1, last_year, alone_too=False)
    if second is None or (year is None and second[1] is None):
        return None
    return second[0], year if year is not None else second[1]


def _year_said_at(norms: tuple[str, ...], i: int, last_year: int, *, alone_too: bool) -> tuple[int, int | None] | None:
    """A date ending in a year at `i` ("2021", "june 9999", "june 3 9999", "christmas eve of 1700"): (the index after
    it, the year when no photo can have it, else None), or None when the words there are no such date. A year alone
    has four digits or more (or, `alone_too`, is 0); after a month, a day and its month, season, holiday or "year",
    three or more, as dates_no_photo_has reads one."""
    day_end = _day_and_month_end(norms, i)  # "june 3 9999", "the 3rd of june 9999": the year after the day's number
    for at in range(day_end if day_end is not None else i, min(len(norms), max(i + 5, (day_end or 0) + 2))):
        if not norms[at].isdecimal():
            continue
        said = norms[i:at - 1] if at - i >= 2 and norms[at - 1] == "of" else norms[i:at]
        if said and not _names_a_time(" ".join(said)) and i + len(said) != day_end:
            return None
        word = norms[at]
        if len(word) < (3 if said else 4) and not (int(word) == 0 and (said or alone_too)):
            return None
        return at + 1, None if EARLIEST_YEAR <= int(word) <= last_year else int(word)
    return None


def dates_no_photo_has(tokens: tuple[str, ...], norms: tuple[str, ...], covered: set[int], last_year: int, *,
                       month_first: bool = False) -> tuple[str, ...]:
    """What the query says of dates no photo can have, which the parser leaves as words: a year before photography or
    past `last_year` (next year, or the families' latest photo's when later: ParserContext.latest_year) after a
    month, season, holiday or "year" ("summer 9999", "christmas 1800", "year 10000", "june 0"), a day its month has
    not ("31 february", "2021-02-29", "30/02/2021"). `covered`: the indexes of words a chip took. Other numbers say
    nothing ("christmas 2", "route 66 in june": only 0 or three digits and more are years). So is a year no photo can have at either end of a range, which is left as words whole: "since 9999", "from 2030
    to 2040" (unread_range_end)."""
    notes, said = [], set()
    for i in range(len(norms)):
        unread = unread_range_end(norms, i, last_year) if i not in said else None
        if unread and not covered & set(range(i, unread[0])):
            notes.append(_no_photo_from(unread[1], " ".join(tokens[i:unread[0]]), last_year))
            said |= set(range(i, unread[0]))
    # (a word's "-" is an exclusion's: "-june 9999" names June all the same)
    bare = tuple(word[1:] if word.startswith("-") and len(word) > 1 else word for word in norms)
    for i, word in enumerate(norms):
        if i in covered or i in said:
            continue
        note = _year_no_photo_has(tokens, bare, covered, i, last_year) or _day_no_month_has(tokens, norms, covered, i,
                                                                                          month_first=month_first)
        if note:
            notes.append(note)
    return tuple(dict.fromkeys(notes))


def impossible_date_end(norms: tuple[str, ...], i: int, last_year: int) -> int | None:
    """The index after a date at `i` that names a month, a day, a season or a holiday and ends in a year no photo can
    have ("june 9999", "june 3 9999", "christmas 1700"), else None: words whole, as its note says, also negated ("not
    june 9999")."""
    if i >= len(norms) or norms[i].isdecimal():
        return None
    said = _year_said_at(norms, i, last_year, alone_too=False)
    return said[0] if said is not None and said[1] is not None else None


def _year_no_photo_has(tokens, norms, covered, i: int, last_year: int) -> str:
    """(`norms` without their exclusions' "-")"""
    word = norms[i]
    if not re.fullmatch(r"\d{1,12}", word) or (len(word) < 3 and int(word) != 0):
        return ""
    year = int(word)
    if EARLIEST_YEAR <= year <= last_year:
        return ""
    last = i - 2 if i >= 2 and norms[i - 1] == "of" else i - 1  # "christmas of 1800"
    # "3 june 9999", "june 3 9999": the whole day, in either order
    day = next((start for start in range(max(0, last - 3), last + 1) if _day_and_month_end(norms, start) == last + 1),
               None)
    leads = [start for start in ([day] if day is not None else range(max(0, last - 2), last + 1))
             if not covered & set(range(start, i)) and (start == day or _names_a_time(" ".join(norms[start:last + 1])))]
    if not leads:
        return ""
    return _no_photo_from(year, " ".join(tokens[leads[0]:i + 1]), last_year)


def day_and_month(norms: tuple[str, ...], i: int) -> tuple[int, int, tuple[int, int]] | None:
    """A day and its month at `i`, in any order the parser reads them ("3 june", "3rd of june", "the 3rd of june",
    "june 3", "june the 3rd"): (where its words start, after a "the" the day takes; the index after it; (month,
    day)), else None. The day may be one its month has not ("31 june": dates_no_photo_has says so); whether a year
    follows is the caller's to see. One reader for the parser's day of every year and the notes' dates no photo has."""
    start = i + 1 if the_day(norms, i) else i
    if start < len(norms) and (number := day_number(norms[start])) is not None:  # the day first
        month_at = start + 2 if start + 2 < len(norms) and norms[start + 1] == "of" else start + 1
        if month_at < len(norms) and norms[month_at] in MONTH_NAMES:
            return start, month_at + 1, (MONTH_NAMES[norms[month_at]], number)
        return None
    if start == i and i < len(norms) and norms[i] in MONTH_NAMES:  # the month first
        day_at = i + 2 if the_day(norms, i + 1) else i + 1
        if day_at < len(norms) and (number := day_number(norms[day_at])) is not None:
            return start, day_at + 1, (MONTH_NAMES[norms[i]], number)
    return None


def the_day(norms: tuple[str, ...], i: int) -> bool:
    """Whether the word at i is a "the" before a day's number ("the 3rd"), which then belongs to the day."""
    return i + 1 < len(norms) and norms[i] == "the" and day_number(norms[i + 1]) is not None


def _day_and_month_end(norms: tuple[str, ...], i: int) -> int | None:
    """The index after a day and its month at `i` (day_and_month), else None."""
    found = day_and_month(norms, i)
    return found[1] if found else None


def _no_photo_from(year: int, said: str, last_year: int) -> str:
    if year > last_year:
        return f"No photo is from {year} yet: “{said}” is searched as words."
    return (f"No photo is from {'the year ' if year == 0 else ''}{year}: the oldest surviving photograph is from "
            f"{EARLIEST_YEAR}. “{said}” is searched as words.")


def _names_a_time(words: str) -> bool:
    return words == "year" or (is_date_word(words) and words not in ("last", "this"))


def _day_no_month_has(tokens, norms, covered, i: int, *, month_first: bool) -> str:
    """A day its month has not: "31 february", "february 30th" (a year after either: "31 april 2021"), or written in
    figures ("2021-02-29", "30/02/2021")."""
    found = _numeric_day_parts(norms[i], month_first=month_first)
    if found:
        return _no_such_day(*found, said=tokens[i], whole=True)
    day = day_number(norms[i])
    if day is None:
        return ""
    month_at = i + 2 if i + 2 < len(norms) and norms[i + 1] == "of" else i + 1  # "31st of february"
    year_first = i >= 2 and norms[i - 1] in MONTH_NAMES and {i - 2, i - 1} <= covered and _is_year(norms[i - 2])
    if month_at < len(norms) and norms[month_at] in MONTH_NAMES:
        end = month_at
    elif i >= 1 and norms[i - 1] in MONTH_NAMES and (i - 1 not in covered or year_first):  # "february 30th"
        month_at, end = i - 1, i
    else:
        return ""
    if year_first:  # "2021 june 31": the month is a chip, the day's number words
        return _no_such_day(int(norms[i - 2]), MONTH_NAMES[norms[month_at]], day, said="", whole=False)
    if month_at > i and i >= 1 and i - 1 in covered and _is_year(norms[i - 1]):  # "2021 31 june": the year a chip
        return _no_such_day(int(norms[i - 1]), MONTH_NAMES[norms[month_at]], day, said="", whole=False)
    year_word = norms[end + 1] if end + 1 < len(norms) else ""
    year = int(year_word) if _is_year(year_word) else None
    start = min(i, month_at)
    said = " ".join(tokens[start:end + 1 + (year is not None)])
    whole = not covered & set(range(start, end + 1 + (year is not None)))
    return _no_such_day(year, MONTH_NAMES[norms[month_at]], day, said=said, whole=whole)


def _is_year(word: str) -> bool:
    return bool(re.fullmatch(r"\d{4}", word)) and int(word) >= EARLIEST_YEAR


def day_number(word: str) -> int | None:
    """A day of a month as written: "14", "14th", "1st" (1 to 31), else None."""
    found = re.fullmatch(r"(\d{1,2})(?:st|nd|rd|th)?", word)
    return int(found[1]) if found and 1 <= int(found[1]) <= 31 else None


def _numeric_day_parts(word: str, *, month_first: bool) -> tuple[int, int, int] | None:
    """(year, month, day) of a day in figures that names a month but a day it has not: "2021-02-29", "30/02/2021"."""
    iso = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", word)
    if iso:
        readings = [(int(iso[1]), int(iso[2]), int(iso[3]))]
    else:
        numeric = re.fullmatch(r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4})", word)
        if not numeric:
            return None
        first, second, year = int(numeric[1]), int(numeric[3]), int(numeric[4])
        readings = [(year, first, second), (year, second, first)]
        if not month_first:
            readings.reverse()
    if any(day_or_none(*reading) for reading in readings if reading[1] in range(1, 13)):
        return None  # a day after all: the parser reads it
    for year, month, day in readings:
        if EARLIEST_YEAR <= year and 1 <= month <= 12 and 1 <= day <= 31:
            return year, month, day
    return None


def _no_such_day(year: int | None, month: int, day: int, *, said: str, whole: bool) -> str:
    name = MONTHS[month - 1].title()
    if year is None:
        most = most_days(month)
        if day <= most:
            return ""
        said_days = f"{name} has at most {most} days" if month == 2 else f"{name} has {most} days"
        which = name
    else:
        days = calendar.monthrange(year, month)[1]
        if day <= days:
            return ""
        which = f"{name} {year}"
        said_days = f"{which} has {days} days" if month == 2 else f"{name} has {days} days"
    return f"There is no {day} {which}: {said_days}." + (f" “{said}” is searched as words." if whole else "")
