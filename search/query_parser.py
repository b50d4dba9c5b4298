"""One box that understands: the typed query → places, dates, exclusions and the text that remains.

Pure: no HTTP and no database. What the parser must know about the user's families (where their photos were
taken, which words are concepts to them, their hemisphere and country) arrives in a `ParserContext`, built by
`search.selectors.parser_context`. Country names come from the offline list shipped with `reverse_geocode`,
holidays from the `holidays` package (through gallery.date_words). `parse_query` never raises.

Rules (issue 9, point 6):
- A place is a family place (a city or region where some photo of the user's families was taken) or a country.
  After "in"/"at"/"near"/"from" any of them is a place. A bare word or phrase is a place only when it is not
  also a concept: a word of the synonym table, a tag of the family, a month, season or holiday word, or one of
  `AMBIGUOUS` (English words that are also places: "jersey", "china", "turkey", "orange"...). The synonym
  table is the concept vocabulary search already understands; the family's tags are the words it uses for
  things ("turkey" tagged at Thanksgiving); the small list covers everyday words the other two may miss.
- A date is a year ("2023"), a month, season or holiday with a year ("june 2021", "summer 2023",
  "christmas 2019"), an ISO day or month ("2023-06-14", "2023-06"), a relative phrase ("last year",
  "last summer", "this month") or a range of those ("between 2019 and 2021", "from june 2020 to may 2021",
  "2019-2021", "since 2019", "before 2020"). A month, season or holiday alone is left to metadata search (the
  photos' documents carry those words). A day and its month without a year ("3 june", "the 3rd of june") and the eves
  ("christmas eve", "new year's eve") are that day of every year: a filter of its own kind (`days_of_year`, within
  the dates said elsewhere: "3 june 2019-2021"), negated as dates are ("not on 3 june": `not_days_of_year`).
- Seasons are meteorological and flip south of the equator (`ParserContext.southern`, unless every place the query
  searches in lies on the other side: "summer 2023 in Auckland" is Auckland's summer); a season that spans New Year
  belongs to the year of its January ("winter 2023" in the north: Dec 2022 to Feb 2023).
- Holiday + year: the days that holiday falls on that year in the family's country (`holiday_country`, from
  `holidays`; the country the query searches in, when it names one: "christmas 2023 in Russia"); when the country
  doesn't keep it, or isn't known, a window of ±2 days around its usual date (`USUAL_HOLIDAYS`).
- An exclusion is "-dog", "not dog", "without dog" (or a quoted phrase: -"hot dog"): a concept whose photos go
  down. A negated place ("not in Lisbon", "without Portugal", "-Lisbon") is a filter instead, as a place is: the
  photos taken there are left out (those with no known place stay). So is a negated date ("not in 2023", "-2023", "except
  summer 2021"): the photos taken then are left out. A negation runs over a list of its kind joined by "or", "nor",
  "and" or a comma: "not in Lisbon or Porto" leaves out both (`_Parser.listed`).
- A chip whose key is in `removed` (the user un-chipped it) stays plain text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from functools import cache
from typing import Literal, NamedTuple

from gallery.date_words import MONTHS, SOUTHERN_COUNTRIES
from gallery.places import country_name, geonames_country_names
from search.query_dates import (
    DASHES,
    EARLIEST_YEAR,
    RANGE_JOINS,
    HOLIDAY_WORDS,
    MONTH_NAMES,
    SEASONS,
    dates_no_photo_has,
    day_and_month,
    day_number,
    day_or_none,
    holiday_span,
    hull,
    impossible_date_end,
    periods_label,
    is_date_word,
    month_span,
    range_label,
    open_year_range,
    day_of_year_label,
    fixed_holiday,
    is_day_of_year,
    season_span,
    the_day,
    unread_range_end,
    year_span,
)

# ("day_of_year": a day of every year, "3 june", "christmas eve": Chip.month and Chip.day)
ChipKind = Literal["place", "not_place", "date", "not_date", "day_of_year", "not_day_of_year", "exclusion"]
NEGATED_KINDS = frozenset({"not_place", "not_date", "not_day_of_year", "exclusion"})
LIST_KINDS = NEGATED_KINDS | {"place"}  # chips that head a list of their kind ("in Lisbon or Porto")

PLACE_WORDS = frozenset({"in", "at", "near", "from", "around"})
DATE_WORDS = frozenset({"in", "during", "of", "from", "on"})  # ("on": a day's, "on june 3 2021")
NEGATIONS = frozenset({"not", "without", "except", "excluding"})
LIST_WORDS = frozenset({"or", "nor", "and", "&"})  # join the items a negation runs over ("not in Lisbon or Porto")
ARTICLES = frozenset({"a", "an", "the", "any"})
STOPWORDS = frozenset({
    "a", "an", "the", "and", "or", "of", "in", "at", "on", "to", "for", "with", "by", "from", "near", "around",
    "during", "is", "it", "my", "our", "we", "us", "me", "i", "you", "some", "this", "that", "these", "those",
    "not", "without", "except", "excluding", "no", "&", "+", "-", "photo", "photos", "picture", "pictures",
})
# Everyday English words that are also places: bare, they keep their ordinary meaning.
AMBIGUOUS = frozenset({
    "jersey", "guernsey", "china", "turkey", "orange", "chile", "chad", "jordan", "georgia", "guinea", "panama",
    "reunion", "bermuda", "nice", "reading", "bath", "split", "mobile", "cork", "sandwich", "victoria", "florence",
    "christmas", "easter", "hope", "deal", "wells", "phoenix", "buffalo", "eagle", "mars", "java", "champagne",
    "cognac", "burgundy", "lima", "cheddar", "man", "home", "beach", "park", "lake", "city", "sale", "battle",
    # words of direction that GeoNames names whole provinces with ("Central", "Northern", "Western Province")
    "north", "south", "east", "west", "northern", "southern", "eastern", "western", "central", "centre", "center",
    "capital", "coast", "upper", "lower", "middle",
})
# Names people use for countries whose ISO name is formal or long.
COUNTRY_ALIASES = {  # (the everyday names of gallery.places.EVERYDAY_COUNTRY_NAMES are known already)
    "usa": "US", "u.s.a.": "US", "u.s.": "US", "us": "US",  # ("us", a stopword: only as _Parser._said_as_us says)
    "united states of america": "US", "america": "US", "uk": "GB", "u.k.": "GB",
    "britain": "GB", "great britain": "GB", "holland": "NL", "the netherlands": "NL", "korea": "KR",
    "czechia": "CZ", "vatican": "VA", "ivory coast": "CI", "east timor": "TL", "burma": "MM", "eswatini": "SZ",
    "cabo verde": "CV", "palestine": "PS", "drc": "CD", "democratic republic of the congo": "CD",
    "the bahamas": "BS", "the gambia": "GM", "the philippines": "PH", "the united states": "US",
    "the united kingdom": "GB",
}
# Words before "the us" that make it the country ("in the us", "to the us"; "all of the us kids" is the word).
US_PLACE_WORDS = PLACE_WORDS | {"to", "across", "visiting", "visit"}
# Words before "30s" that make it an age, not a decade ("in her 30s", "under 10s").
AGE_WORDS = frozenset({"her", "his", "their", "my", "our", "your", "under", "over", "aged"})
# Words before "40s" that make it a count, a chart or a size, not a decade ("top 40s hits", "size 10s", "two 20s"; a
# number before it too: "3 20s").
COUNT_WORDS = frozenset({"top", "size", "sizes", "number", "no", "pair", "pack", "few", "several", "two", "three",
                         "four", "five", "six", "seven", "eight", "nine", "ten"})
# Months whose names are everyday words too ("kids march 4 peace", "may be"): before a day's number they are still
# that day of every year (nothing around them tells "march 4" from a march), and the page says so (day_word_notes).
MONTHS_ALSO_WORDS = frozenset({"may", "march"})
DECADE_PARTS = {"early": (0, 3), "mid": (4, 6), "late": (7, 9)}  # years of a decade: "late 80s" is 1987 to 1989
MAX_PHRASE = 6


@dataclass(frozen=True)
class KnownPlace:
    """A city or region where some photo of the user's families was taken (or a country), as stored."""

    name: str
    country_code: str


@dataclass(frozen=True)
class ParserContext:
    """What the parser knows about the user's families. Names in `places` and `concepts` are normalised
    with `normalise` (lower case, no accents)."""

    today: date
    places: Mapping[str, KnownPlace] = field(default_factory=dict)
    concepts: frozenset[str] = frozenset()
    southern: bool = False
    holiday_country: str = ""
    # How the family's country writes a day in numbers when both orders make one ("05/06/2021"): the month first
    # (the US), else the day first (search.query_dates.writes_month_first).
    month_first: bool = False
    # The latest year some photo of the families is dated in, when later than next year (a camera set ahead dated
    # one 2031): the years a date can name run to it ("june 2031" finds that photo). 0: none is.
    photos_until: int = 0

    @property
    def latest_year(self) -> int:
        """The latest year a photo can be from: next year, or the families' latest photo's when later."""
        return max(self.today.year + 1, self.photos_until)


@dataclass(frozen=True)
class Chip:
    kind: ChipKind
    key: str  # what `removed` (the URL's `plain`) names to un-chip it: the chip's words, normalised
    label: str
    start: int  # the chip's words: tokens[start:end] of ParsedQuery
    end: int
    place: str = ""
    country_code: str = ""  # ISO code of the place's country (or of the country itself)
    is_country: bool = False
    after: date | None = None
    before: date | None = None
    month: int = 0  # a day of every year's ("day_of_year", "not_day_of_year")
    day: int = 0

    @property
    def range_label(self) -> str:
        if self.kind in ("day_of_year", "not_day_of_year"):
            return day_of_year_label(self.month, self.day)
        return range_label(self.after, self.before)

    @property
    def shows_range(self) -> bool:
        return self.kind in ("date", "not_date", "day_of_year", "not_day_of_year") and self.range_label != self.label

    @property
    def kind_label(self) -> str:
        """What the chip does, as the page names it: the place searched in, the dates taken, what is left out, or
        (an exclusion) what is lowered."""
        if self.kind == "place":
            return "Country" if self.is_country else "Place"
        if self.kind in ("not_place", "not_date", "not_day_of_year"):
            return "Left out"
        return "Taken" if self.kind in ("date", "day_of_year") else "Lowered"

    @property
    def editable(self) -> bool:
        """Whether the chip has a form of its own to change it (✎): a place, dates, a day of every year."""
        return self.kind in ("place", "date", "day_of_year")


@dataclass(frozen=True)
class ParsedQuery:
    text: str  # what remains for semantic and metadata search
    tokens: tuple[str, ...] = ()  # the query's words as typed (chip spans index into these)
    places: tuple[str, ...] = ()  # family places named (city or region names, as stored)
    countries: tuple[str, ...] = ()  # ISO codes of the countries named
    not_places: tuple[str, ...] = ()  # places named after a negation ("not in Lisbon"): their photos are left out
    not_countries: tuple[str, ...] = ()  # and countries
    not_dates: tuple[tuple[date | None, date | None], ...] = ()  # (first, last day) of dates negated ("not in 2023")
    # Days of every year, (month, day): "3 june", "christmas eve" (a photo taken on any of them), and negated ("not on
    # 3 june": none of them). Within taken_after/taken_before when the query names those too ("3 june 2019-2021").
    days_of_year: tuple[tuple[int, int], ...] = ()
    not_days_of_year: tuple[tuple[int, int], ...] = ()
    taken_after: date | None = None
    taken_before: date | None = None
    # Several dates, each with both ends ("2019 or 2024", "christmas 2019", "between 2010 and 2012"), are searched
    # as either of them: the (first, last day) of each, in order, those that meet or overlap made one and cut by the
    # bounds said apart ("since june 2019"), when gaps lie between them; taken_after/taken_before are then the first
    # and last day of them all. () for one span (one date, "2023 or 2024", a start and an end) and when a season is
    # among them that names other days across the equator (other_side: the span that covers them, as before).
    periods: tuple[tuple[date, date], ...] = ()
    excluded: tuple[str, ...] = ()
    chips: tuple[Chip, ...] = ()
    removed: tuple[str, ...] = ()  # keys of un-chipped phrases that occur in this query
    # A season names other days across the equator ("summer 2023": June to August in the north, December to February
    # in the south), and each photo is searched in its own (by its position: search.scope): `southern`, the side
    # the dates above were read for; `other_side`, the dates' (first, last day) on the other side, None when no
    # season makes them differ; `other_side_not_dates`, the negated dates there, item for item.
    southern: bool = False
    other_side: tuple[date | None, date | None] | None = None
    other_side_not_dates: tuple[tuple[date | None, date | None], ...] = ()
    # Dates typed that no photo can have, left as words, and why: "No photo is from 9999 yet: …" (dates_no_photo_has)
    date_notes: tuple[str, ...] = ()

    @property
    def place_names(self) -> list[str]:
        return [chip.label for chip in self.chips if chip.kind == "place"]

    @property
    def not_place_names(self) -> list[str]:
        return [chip.place for chip in self.chips if chip.kind == "not_place"]

    @property
    def day_word_notes(self) -> tuple[str, ...]:
        """For a day of every year written as a month that is a word too and a number ("may 5", "march 4"), what it was
        read as and how to have its words searched instead; not when the query says it is a day ("on march 4",
        "march 4th", "4 march")."""
        notes = []
        for chip in self.chips:
            words = chip.key.split()
            if chip.kind == "day_of_year" and len(words) == 2 and words[0] in MONTHS_ALSO_WORDS \
                    and words[1].isdecimal() and normalise(self.tokens[chip.start]) == words[0]:
                notes.append(f"“{chip.key}” is read as a day, {chip.day} {MONTHS[chip.month - 1].title()} of every year: "
                             "remove its chip (×) to search the words instead.")
        return tuple(dict.fromkeys(notes))

    @property
    def dates_span(self) -> str:
        """With several dates searched as one span, that span ("1 Jan 2019 – 31 Dec 2023": the span that covers
        them all, so the photos between show too); "" with one or none."""
        if sum(chip.kind == "date" for chip in self.chips) < 2:
            return ""
        return range_label(self.taken_after, self.taken_before)

    @property
    def dates_note(self) -> str:
        """With several dates, how they are searched together: either of them ("2019 or 2024"), the span that
        covers them ("2023 or 2024", or with a season across the equator), the days between a start and an end said
        apart ("since 2020 until 2022"), or that no day is in them all."""
        dated = [chip for chip in self.chips if chip.kind == "date"]
        if len(dated) < 2:
            return ""
        if self.periods:
            either = "either" if len(self.periods) == 2 else "any"
            return f"Taken {periods_label(self.periods)}: {either} of the dates you named, not the days between."
        if not _dates_searched(dated).met:
            labels = [chip.label for chip in dated]
            named = (f"both {labels[0]} and {labels[1]}" if len(labels) == 2
                     else f"in all of {', '.join(labels[:-1])} and {labels[-1]}")
            return (f"No day is {named}: taken {self.dates_span}, the span that covers them all." if self.dates_span
                    else f"No day is {named}: the dates you named narrow nothing.")
        if all(chip.after and chip.before for chip in dated):
            return f"Taken {self.dates_span}: the span that covers all the dates you named."
        return f"Taken {self.dates_span}: the days all the dates you named take in."


# --- normalising ---------------------------------------------------------------------------------------------

EDGE_PUNCT = "\"'“”‘’«»()[]{}<>,.;:!?¡¿…"


def normalise(text: str) -> str:
    """Lower case, accents and possessive 's dropped, punctuation trimmed from each word's ends."""
    words = []
    for word in _fold(text).split():
        word = word.strip(EDGE_PUNCT)
        word = re.sub(r"['’]s$", "", word).replace("'", "").replace("’", "")
        if word:
            words.append(word)
    return " ".join(words)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


# Double quotes as keyboards curl them (a phone's as they are typed, other languages' own): a phrase's, as '"' is.
CURLY_QUOTES = str.maketrans(dict.fromkeys("“”„‟«»", '"'))


def tokenize(query: str) -> tuple[str, ...]:
    """The query's words as typed (control characters and lone surrogates become spaces, curled double quotes
    straight ones), composed (NFC: "é" typed as "e" and a combining accent is the letter é)."""
    cleaned = "".join(" " if unicodedata.category(ch) in ("Cc", "Cs") else ch for ch in query)  # keep ZWJ emoji
    cleaned = unicodedata.normalize("NFC", cleaned)
    return tuple(cleaned.translate(CURLY_QUOTES).split())


def has_words(text: str) -> bool:
    """Whether `text` holds anything to search for: a letter, a digit or a symbol such as an emoji, not only
    punctuation ("-", "?!", "...", "—") and spaces."""
    return any(unicodedata.category(ch)[0] in "LN" or unicodedata.category(ch) == "So" for ch in text)


def candidate_phrases(query: str) -> list[str]:
    """Every run of up to MAX_PHRASE words of the query, normalised: what the context needs to know about."""
    norms = [normalise(token) for token in tokenize(query)]
    phrases = {" ".join(norms[i:j]).strip() for i in range(len(norms))
               for j in range(i + 1, min(len(norms), i + MAX_PHRASE) + 1)}
    return sorted(phrase for phrase in phrases if phrase)


def mentions_season(query: str) -> bool:
    return any(normalise(token) in SEASONS for token in tokenize(query))


# --- countries -------------------------------------------------------------------------------------------------

@cache
def countries() -> dict[str, KnownPlace]:
    """normalised country name or alias → (the name people say, ISO code), offline (reverse_geocode's list)."""
    names = {}
    for code, formal in geonames_country_names().items():
        display = country_name(code)
        if "," not in formal and "(" not in formal:
            names[normalise(formal)] = KnownPlace(display, code)
        names.setdefault(normalise(display), KnownPlace(display, code))
    for alias, code in COUNTRY_ALIASES.items():
        names.setdefault(normalise(alias), KnownPlace(country_name(code) or alias.title(), code))
    return names


# --- parsing ---------------------------------------------------------------------------------------------------

@dataclass
class _Match:
    end: int  # index after the last token consumed
    chip: Chip | None  # None: a match that stays text as a whole ("not in 2023")
    excluded: str = ""


def parse_query(query: str, context: ParserContext, *, removed: frozenset[str] | set[str] = frozenset()) -> ParsedQuery:
    """Understand `query`. Never raises: on any internal surprise the whole query is plain text."""
    try:
        return _parse(query, context, frozenset(removed))
    except Exception:  # noqa: BLE001 - a query box must never fail; the words are still searched
        return ParsedQuery(text=" ".join(tokenize(str(query or ""))), tokens=tokenize(str(query or "")))


def _parse(query: str, context: ParserContext, removed: frozenset[str]) -> ParsedQuery:
    shown = _numeric_order(query)
    if shown is not None and shown != context.month_first:  # "05/06/2021-14/06/2021": the 14 says the day first
        context = replace(context, month_first=shown)
    parsed = _parse_with(query, context, removed)
    # Where the query searches says whose seasons and holidays its dates are: "summer 2023 in Auckland" is
    # Auckland's summer, "christmas 2023 in Russia" Russia's 7 January, whatever the family's own.
    codes = {chip.country_code.upper() for chip in parsed.chips if chip.kind == "place" and chip.country_code}
    sides = {code in SOUTHERN_COUNTRIES for code in codes}
    southern = sides.pop() if len(sides) == 1 and mentions_season(query) else context.southern
    country = codes.pop() if len(codes) == 1 and re.search(r"\d{4}", query) else context.holiday_country
    if (southern, country) != (context.southern, context.holiday_country):
        context = replace(context, southern=southern, holiday_country=country)
        parsed = _parse_with(query, context, removed)
    covered = {i for chip in parsed.chips for i in range(chip.start, chip.end)}
    notes = dates_no_photo_has(parsed.tokens, tuple(normalise(token) for token in parsed.tokens), covered,
                               context.latest_year, month_first=context.month_first)
    return _across_the_equator(replace(parsed, date_notes=notes), query, context, removed)


def _numeric_order(query: str) -> bool | None:
    """Whether the query's numeric days that show their order (a part above 12) put the month first; None when none
    shows it, or they disagree."""
    orders = set()
    for token in tokenize(query):
        word = token.strip(EDGE_PUNCT + "-")
        for part in (word, *re.split(r"[-–—]", word)):  # ("05/06/2021-14/06/2021": a range's two sides)
            found = _numeric_date(part)  # (not with dots: those are the day first everywhere, whatever the query's)
            if found and found[2] != "." and (int(found[1]) > 12) != (int(found[3]) > 12):
                orders.add(int(found[3]) > 12)
    return orders.pop() if len(orders) == 1 else None


def _across_the_equator(parsed: ParsedQuery, query: str, context: ParserContext,
                        removed: frozenset[str]) -> ParsedQuery:
    """`parsed` with the days its seasons name on the other side of the equator (ParsedQuery.other_side)."""
    if not mentions_season(query):
        return parsed
    other = _parse_with(query, replace(context, southern=not context.southern), removed)
    if [(c.kind, c.key) for c in other.chips] != [(c.kind, c.key) for c in parsed.chips]:
        return replace(parsed, southern=context.southern)  # (read otherwise there: cannot happen, but never mixed)
    spans = (other.taken_after, other.taken_before)
    if spans == (parsed.taken_after, parsed.taken_before) and other.not_dates == parsed.not_dates \
            and other.periods == parsed.periods:
        return replace(parsed, southern=context.southern)
    # (each side's periods are not searched: dates with such a season are the span that covers them on each side)
    return replace(parsed, southern=context.southern, other_side=spans, other_side_not_dates=other.not_dates,
                   periods=())


def _parse_with(query: str, context: ParserContext, removed: frozenset[str]) -> ParsedQuery:
    tokens = tokenize(query)
    norms = tuple(normalise(token) for token in tokens)
    parser = _Parser(tokens, norms, context)
    kept, chips, excluded, used_removed = [], [], [], []
    heading = None  # the last chip, when negated or a place: the list it heads may go on ("not in Lisbon or Porto")
    taken = None  # the chip the tokens just before made, if they made one
    i = 0
    while i < len(tokens):
        match = (heading and parser.listed(i, heading)) or parser.match_at(i)
        if match is None:
            if taken is not None and parser.joins(i, taken, removed):
                i += 1  # "2023 or 2024": the word joining two dates to search in is neither's, nor words to search
                continue
            heading = taken = None
            kept.append(tokens[i])
            i += 1
            continue
        # (an item taken back as words still heads its list: "not in Lisbon or Porto" without its first chip)
        heading = match.chip if match.chip is not None and match.chip.kind in LIST_KINDS else None
        taken = None
        if match.chip is None or match.chip.key in removed:
            if match.chip is not None:
                used_removed.append(match.chip.key)
            kept.extend(tokens[i:match.end])
        else:
            chips.append(match.chip)
            taken = match.chip
            if match.excluded:
                excluded.append(match.excluded)
        i = match.end
    return _result(tokens, kept, chips, excluded, used_removed)


def _result(tokens, kept, chips, excluded, used_removed) -> ParsedQuery:
    text = " ".join(kept)
    if chips and all(normalise(word) in STOPWORDS or not normalise(word) for word in kept):
        text = ""  # only connecting words are left ("Lisbon and Porto")
    if not has_words(text):
        text = ""  # punctuation alone ("-", "?!", "…"): the model reads some picture into it all the same
    places = tuple(dict.fromkeys(c.place for c in chips if c.kind == "place" and not c.is_country))
    codes = tuple(dict.fromkeys(c.country_code for c in chips if c.kind == "place" and c.is_country))
    not_places = tuple(dict.fromkeys(c.place for c in chips if c.kind == "not_place" and not c.is_country))
    not_codes = tuple(dict.fromkeys(c.country_code for c in chips if c.kind == "not_place" and c.is_country))
    not_dates = tuple(dict.fromkeys((c.after, c.before) for c in chips if c.kind == "not_date"))
    days = tuple(dict.fromkeys((c.month, c.day) for c in chips if c.kind == "day_of_year"))
    not_days = tuple(dict.fromkeys((c.month, c.day) for c in chips if c.kind == "not_day_of_year"))
    searched = _dates_searched([c for c in chips if c.kind == "date"])
    return ParsedQuery(text=text, tokens=tokens, places=places, countries=codes, not_places=not_places,
                       not_countries=not_codes, not_dates=not_dates, days_of_year=days, not_days_of_year=not_days,
                       taken_after=searched.after, taken_before=searched.before, periods=searched.periods,
                       excluded=tuple(dict.fromkeys(excluded)), chips=tuple(chips),
                       removed=tuple(dict.fromkeys(used_removed)))


class _Searched(NamedTuple):
    after: date | None
    before: date | None
    periods: tuple[tuple[date, date], ...]  # (ParsedQuery.periods)
    met: bool  # some day is in the dates named (False: "since 2024 until 2020")


def _dates_searched(dated: list[Chip]) -> _Searched:
    """Several dates: either of those with both ends ("2019 or 2024": their union, the periods that meet or overlap
    made one), within the bounds said apart ("since 2020 until 2022": the days between; "2019 or 2021 since june
    2019": from June 2019); where no day is in them all ("since 2024 until 2020", "2019 since 2021 until 2022"), the
    span that covers them all."""
    starts = [c.after for c in dated if c.before is None and c.after is not None]
    ends = [c.before for c in dated if c.after is None and c.before is not None]
    first, last = max(starts, default=None), min(ends, default=None)
    closed = [(c.after, c.before) for c in dated if c.after is not None and c.before is not None]
    periods = [(max(a, first) if first else a, min(b, last) if last else b) for a, b in _union(closed)] \
        or [(first, last)]
    periods = [(a, b) for a, b in periods if not (a and b and a > b)]
    if not periods:
        return _Searched(*_covering(dated), periods=(), met=False)
    return _Searched(periods[0][0], periods[-1][1], periods=tuple(periods) if len(periods) > 1 else (), met=True)


def _union(periods: list[tuple[date, date]]) -> list[tuple[date, date]]:
    """The days in any of `periods`, as periods in order: those that meet or overlap made one."""
    joined: list[tuple[date, date]] = []
    for after, before in sorted(periods):
        if joined and (after - joined[-1][1]).days <= 1:  # (no day after the last a date can name is computed)
            joined[-1] = (joined[-1][0], max(joined[-1][1], before))
        else:
            joined.append((after, before))
    return joined


def _covering(dated: list[Chip]) -> tuple[date | None, date | None]:
    if not dated:
        return None, None
    after = None if any(c.after is None for c in dated) else min(c.after for c in dated)
    before = None if any(c.before is None for c in dated) else max(c.before for c in dated)
    return after, before


class _Parser:
    def __init__(self, tokens: tuple[str, ...], norms: tuple[str, ...], context: ParserContext):
        self.tokens, self.norms, self.context = tokens, norms, context

    def match_at(self, i: int) -> _Match | None:
        return self._unread_range(i) or self._exclusion(i) or self._date_chip(i) or self._place(i)

    def _unread_range(self, i: int) -> _Match | None:
        """A range with a year no photo can have at one end stays words whole, as the note says (dates_no_photo_has):
        not its other end as a chip ("from 2019 to 2040" searched 2019 alone), nor its month alone ("since june 9999"
        was since this June)."""
        unread = unread_range_end(self.norms, i, self.context.latest_year)
        return _Match(end=unread[0], chip=None) if unread else None

    def joins(self, i: int, previous: Chip, removed: frozenset[str]) -> bool:
        """Whether the word at `i` joins the date chip before it to another date chip after it ("2023 or 2024"),
        both kept as chips (a list a negation or a place heads is `listed`'s)."""
        if previous.kind not in ("date", "day_of_year") or self.norms[i] not in LIST_WORDS or i + 1 >= len(self.tokens):
            return False
        following = self.match_at(i + 1)  # (a day of every year with another: "3 june or 5 july", either)
        return following is not None and following.chip is not None and following.chip.kind == previous.kind \
            and following.chip.key not in removed

    # lists a negation runs over -----------------------------------------------------------------------------------
    def listed(self, i: int, previous: Chip) -> _Match | None:
        """The next item of a list whose first item was negated: "not in Lisbon or Porto", "without 2019, 2020 and
        2021", "without dogs or cats" leave out (or lower) every item, not the first alone. An item follows "or",
        "nor", "and" or a comma and is of the first one's kind; anything else ends the list and is read as usual
        ("not in Lisbon 2023": the 2023 photos not taken in Lisbon). After a comma, an item that is no date is one
        only where the commas run on to "or", "nor", "and" ("without dogs, cats or birds"; "without dogs, sunset" and
        "without dogs, cats, birds" leave out the dogs alone), and is read as a place only where a place would be
        read anyway ("in Lisbon, turkey and wine" is no trip to Turkey). A list of places to search in ("in Lisbon
        or Porto") reads the items after "or" as places, though the family tags them."""
        joined = self.norms[i] in LIST_WORDS
        if not joined and not self.tokens[i - 1].endswith(","):
            return None
        first = i + 1 if joined else i
        if first >= len(self.tokens):
            return None
        item = self._listed_item(i, first, previous, joined=joined)
        if item is None or joined or previous.kind in ("not_date", "not_day_of_year"):
            return item
        return item if self._commas_run_to_a_list_word(item.end, previous) else None

    def _commas_run_to_a_list_word(self, end: int, previous: Chip) -> bool:
        """Whether the items after the one ending at `end`, each after a comma, end in "or", "nor", "and" and one
        more: "dogs, cats, or birds" and "dogs, cats or birds" are one list, "dogs, cats, birds" none."""
        while end < len(self.tokens):
            if self.norms[end] in LIST_WORDS:
                return True
            if not self.tokens[end - 1].endswith(","):
                return False
            following = self._listed_item(end, end, previous, joined=False)
            if following is None:
                return False
            end = following.end
        return False

    def _listed_item(self, i: int, first: int, previous: Chip, *, joined: bool) -> _Match | None:
        if previous.kind == "exclusion":
            return self._excluded_phrase(i, first, self.tokens[first])
        if previous.kind == "place":
            place = self._place(first, listed=joined)
            return None if place is None else _Match(end=place.end, chip=replace(place.chip, start=first))
        said = previous.label.split()[0]  # the negation as it was said: "not", "without", "except"
        if previous.kind == "not_place":
            place = self._place(first, listed=joined)  # a place's list: "Lisbon" is one though the family tags it
            if place is None:
                return None
            said = previous.label[: -len(previous.place)].strip() or said  # "not in", "without"
            return self._not_place(place, said, start=i)
        dated = self._date_chip(first)
        if dated is None:
            return None
        return self._not_date(" ".join(self.norms[first:dated.end]),
                              f"{said} {' '.join(self.tokens[first:dated.end])}".strip(EDGE_PUNCT),
                              dated.chip, start=i, end=dated.end)

    # exclusions ------------------------------------------------------------------------------------------------
    def _exclusion(self, i: int) -> _Match | None:
        token, norm = self.tokens[i], self.norms[i]
        dash = norm.startswith("-") and len(norm) > 1 and norm[1] != "-"
        phrase = token.startswith("-") and len(token) > 1 and not token[1].isdigit() and token[1] != "-"
        # The query with this word's "-" taken off, read as the box reads it (only for a word that has one).
        bare = _Parser(self.tokens, (*self.norms[:i], norm[1:], *self.norms[i + 1:]), self.context) \
            if dash or phrase else None
        dated = bare._date_atom(i) if dash else None
        if dated is not None:  # "-2023", "-12/2023", "-yesterday": its photos are left out, as with "not"
            end, span = dated
            words = " ".join(self.tokens[i:end])[1:].strip(EDGE_PUNCT)
            return self._not_date(" ".join(bare.norms[i:end]), f"not {words}",
                                  Chip("not_date", key="", label="", start=i, end=end, after=span[0], before=span[1]),
                                  start=i, end=end)
        yearly = bare._day_of_year(i) if dash else None
        if yearly is not None and yearly[0] == i:  # "-3 june", "-christmas eve": so are those of that day every year
            _, end, (month, day) = yearly
            words = " ".join(self.tokens[i:end])[1:].strip(EDGE_PUNCT)
            return self._not_date(" ".join(bare.norms[i:end]), f"not {words}",
                                  Chip("day_of_year", key="", label="", start=i, end=end, month=month, day=day),
                                  start=i, end=end)
        impossible = impossible_date_end(bare.norms, i, self.context.latest_year) if dash else None
        if impossible is not None:
            return _Match(end=impossible, chip=None)  # "-june 9999": words, as its note says
        if phrase:
            # "-Lisbon", "-Sao Paulo": a place (not a concept, as a bare name is read) is left out as "not Lisbon" is.
            place = bare._place(i)
            if place is not None:
                return self._not_place(place, "not", start=i)
            return self._excluded_phrase(i, i, token[1:])
        if norm in NEGATIONS and i + 1 < len(self.tokens):
            place = self._place(i + 1)
            if place is not None:  # "not in Lisbon": a filter, its photos are left out
                said = "not in" if self.norms[i + 1] in PLACE_WORDS else "not"
                return self._not_place(place, said, start=i)
            dated = self._date_chip(i + 1)
            if dated is not None:  # "not in 2023", "except summer 2021", "not on 3 june": so are those taken then
                words = " ".join(self.tokens[i + 1:dated.end])
                return self._not_date(" ".join(self.norms[i + 1:dated.end]), f"{norm} {words}".strip(EDGE_PUNCT),
                                      dated.chip, start=i, end=dated.end)
            unread = self._unread_range(i + 1)
            if unread is not None:
                return unread  # "not since 9999": words, as its note says
            impossible = impossible_date_end(self.norms, i + 1, self.context.latest_year)
            if impossible is not None:
                return _Match(end=impossible, chip=None)  # "not june 9999": so is this
            if self.norms[i + 1] in PLACE_WORDS:
                return _Match(end=i + 2, chip=None)  # "not in Xanadu": text
            first = i + 2 if self.norms[i + 1] in ARTICLES and i + 2 < len(self.tokens) else i + 1
            return self._excluded_phrase(i, first, self.tokens[first])
        return None

    @staticmethod
    def _not_date(key: str, label: str, dated: Chip, *, start: int, end: int) -> _Match:
        """The dates of `dated` (a date chip, or a day of every year's) left out: their chip ("not in 2023",
        "-12/2023", "not on 3 june"), keyed by the dates' words."""
        kind = "not_day_of_year" if dated.kind == "day_of_year" else "not_date"
        return _Match(end=end, chip=replace(dated, kind=kind, key=f"-{key}", label=label, start=start, end=end))

    @staticmethod
    def _not_place(place: _Match, said: str, *, start: int) -> _Match:
        """The place matched, left out: its chip as said ("not in Lisbon", "without Portugal", "not Lisbon")."""
        return _Match(end=place.end, chip=replace(place.chip, kind="not_place", key=f"-{place.chip.key}",
                                                  label=f"{said} {place.chip.place}", start=start, end=place.end))

    def _excluded_phrase(self, start: int, first: int, head: str) -> _Match | None:
        words, end = [head], first + 1
        if head.startswith('"') and not (len(head) > 1 and head.endswith('"')):
            while end < len(self.tokens) and len(words) < MAX_PHRASE:
                words.append(self.tokens[end])
                end += 1
                if self.tokens[end - 1].endswith('"'):
                    break
        phrase = " ".join(words).strip(EDGE_PUNCT + "-").strip()
        concept = " ".join(phrase.lower().split())
        if not re.search(r"[^\W\d_]", concept) or normalise(concept) in STOPWORDS:
            return None
        return self._excluded(start, end, concept, f"not {concept}")

    @staticmethod
    def _excluded(start: int, end: int, concept: str, label: str) -> _Match:
        return _Match(end=end, chip=Chip("exclusion", key=f"-{normalise(concept)}", label=label, start=start, end=end),
                      excluded=concept)

    # places ----------------------------------------------------------------------------------------------------
    def _place(self, i: int, *, listed: bool = False) -> _Match | None:
        """A place at token i; `listed`: an item of a list of places, which reads as one after "in" does."""
        start = i
        preposition = self.norms[i] in PLACE_WORDS
        if preposition:
            i += 1
            if i < len(self.norms) and self.norms[i] == "the" and not self._known(i, i + 1):
                i += 1
        preposition = preposition or listed
        for end in range(min(len(self.norms), i + MAX_PHRASE), i, -1):
            name = " ".join(self.norms[i:end])
            place = self._known(i, end)
            if place is None:
                continue
            if not preposition and (name in self.context.concepts or name in AMBIGUOUS or is_date_word(name)):
                continue
            if (name in STOPWORDS and not self._said_as_us(i, end)) or len(name) < 2:
                continue
            chip = Chip("place", key=name, label=place.name, start=start, end=end, place=place.name,
                        country_code=place.country_code, is_country=place is countries().get(name))
            return _Match(end=end, chip=chip)
        return None

    def _said_as_us(self, start: int, end: int) -> bool:
        """Whether "us" at `start` is the country, not the word ("photos of us"; "U.S." is no stopword): "US" typed so
        in a query not all in capitals ("US beach"; in "PHOTOS OF US AT THE BEACH" the case says nothing), or "the us"
        said of a place: "the" begins the query or follows a place word ("in the us", "to the us"; "all of the us
        kids" is the word), or, in capitals, "IN US", "FROM US"."""
        if end != start + 1 or self.norms[start] != "us":
            return False
        typed = self.tokens[start].strip(EDGE_PUNCT)
        before = self.norms[start - 1] if start > 0 else ""
        if typed == "US" and not self._in_capitals(start):
            return True
        if before == "the":
            return start == 1 or self.norms[start - 2] in US_PLACE_WORDS
        return typed == "US" and before in ("in", "from")

    def _in_capitals(self, i: int) -> bool:
        """Whether the query is typed all in capitals: some word besides the one at `i` has letters, none lower case."""
        others = [token for at, token in enumerate(self.tokens) if at != i and any(ch.isalpha() for ch in token)]
        return bool(others) and not any(ch.islower() for token in others for ch in token)

    def _known(self, start: int, end: int) -> KnownPlace | None:
        name = " ".join(self.norms[start:end])
        if not name:
            return None
        return self.context.places.get(name) or countries().get(name)

    # dates -----------------------------------------------------------------------------------------------------
    def _date_chip(self, i: int) -> _Match | None:
        found = self._date_range(i) or self._date_atom(i)
        if found:
            return self._chip(i, found[0], found[1], key_start=i)
        if the_day(self.norms, i) and (found := self._day(i + 1)):  # "the 3rd of june 2021 kids": the day's "the"
            return self._chip(i, found[0], found[1], key_start=i + 1)
        if self.norms[i] in DATE_WORDS and i + 1 < len(self.norms):  # "in 2023", "from june 2021"
            at = i + 2 if the_day(self.norms, i + 1) else i + 1  # "on the 3rd of june 2021"
            found = self._date_range(at) or self._date_atom(at, led=self.norms[i] != "of")
            if found:
                return self._chip(i, found[0], found[1], key_start=at)
        # a day of every year: "3 june", "the 3rd of june", "on june 3", "christmas eve"
        yearly = self._day_of_year(i + 1 if self.norms[i] == "on" and i + 1 < len(self.norms) else i)
        if yearly:
            key_start, end, (month, day) = yearly
            key = " ".join(self.norms[key_start:end])
            return _Match(end=end, chip=Chip("day_of_year", key=key, start=i, end=end, month=month, day=day,
                                             label=" ".join(self.tokens[key_start:end]).strip(EDGE_PUNCT) or key))
        return None

    def _day_of_year(self, i: int) -> tuple[int, int, tuple[int, int]] | None:
        """A day and month without a year, or a holiday that is one day ("3 june", "3rd of june", "the 3rd of june",
        "june 3", "june the 3rd", "christmas eve", "new year's eve", "nye"): that day of every year, (where its words
        start, after a "the" the day takes; the index after it; (month, day)), else None. A day no month has ("31
        june") is none (dates_no_photo_has says so), 29 February is (leap years'); nor is one a year or a number
        follows ("3 june 9999", "christmas eve of 1700": a date no photo can have, said as such)."""
        found = self._fixed_holiday(i) or day_and_month(self.norms, i)
        if found is None or not is_day_of_year(*found[2]) or self._number_follows(found[1]):
            return None
        return found

    def _fixed_holiday(self, i: int) -> tuple[int, int, tuple[int, int]] | None:
        """A holiday that is one day of every year at i ("christmas eve", "new years eve", "nye"): (i, the index after
        it, (month, day)), else None."""
        for end in range(min(len(self.norms), i + 3), i, -1):
            held = fixed_holiday(" ".join(self.norms[i:end]))
            if held:
                return i, end, held
        return None

    def _number_follows(self, i: int) -> bool:
        """Whether a number (or "of" and one) comes at i: the year of the day before it, read or not."""
        at = i + 1 if i < len(self.norms) and self.norms[i] == "of" else i
        return at < len(self.norms) and (self.norms[at].isdecimal() or self._year_at(at) is not None)

    def _chip(self, start: int, end: int, span: tuple[date | None, date | None], key_start: int) -> _Match:
        key = " ".join(self.norms[key_start:end])
        label = " ".join(self.tokens[key_start:end]).strip(EDGE_PUNCT) or key
        # "between 2022-06-01 and 2023-12-31", "14.6.2021-20.6.2021" read better as their range
        if re.search(r"\d{4}-\d|\d\s*[-–—]\s*\d", label) and not re.fullmatch(r"\d{1,2}-\d{4}", label):
            label = range_label(*span) or label
        return _Match(end=end, chip=Chip("date", key=key, label=label, start=start, end=end,
                                         after=span[0], before=span[1]))

    def _date_range(self, i: int):
        if opened := open_year_range(self.norms, i, self.context.latest_year):  # "before 2030", "from 2019 to 2040"
            return opened
        word = self.norms[i]
        if word in ("between", "from") and i + 1 < len(self.norms):
            first = self._date_atom(i + 1, led=True)
            if first and first[0] < len(self.norms) and self.norms[first[0]] in RANGE_JOINS:
                second = self._date_atom(first[0] + 1, led=True)
                if second:
                    return second[0], hull(first[1], second[1])
            return None
        if word in ("since", "after", "before", "until", "till") and i + 1 < len(self.norms):
            atom = self._date_atom(i + 1, led=True) or self._latest(i + 1)
            if atom is None:
                return None
            begin, finish = atom[1]
            return atom[0], {"since": (begin, None), "after": (finish + timedelta(days=1), None),
                             "before": (None, begin - timedelta(days=1)), "until": (None, finish),
                             "till": (None, finish)}[word]
        years = re.fullmatch(r"(\d{4})[-–—/](\d{4})", word)
        if years and self._year(years[1]) and self._year(years[2]):
            return i + 1, hull(year_span(int(years[1])), year_span(int(years[2])))
        return self._dashed(i)

    def _dashed(self, i: int):
        """Two dates joined by a dash, as "between … and …": "2021-06-14 – 2021-06-20", "june 2021 - august 2021",
        or in one word, "2021/06/14-2021/06/20", "14.6.2021-20.6.2021" (split at the dash whose two sides are each a
        date of one word; an ISO day's own dashes are not that)."""
        first = self._date_atom(i)
        if first and first[0] + 1 < len(self.norms) and self.norms[first[0]] in DASHES:
            second = self._date_atom(first[0] + 1, led=True)
            if second:
                return second[0], hull(first[1], second[1])
        word = self.norms[i]
        for dash in re.finditer(r"[-–—]", word):
            left, right = self._one_word_date(i, word[:dash.start()]), self._one_word_date(i, word[dash.end():])
            if left and right:
                return i + 1, hull(left, right)
        return self._of_one_year(i)

    def _of_one_year(self, i: int):
        """Months or days of one year, the year said once: "june–august 2021", "june - august of 2021" (a span
        across New Year begins the year before, as a season does: "december–february 2021"), "14–20 june 2021"."""
        pair = re.fullmatch(r"([^-–—]+)[-–—]([^-–—]+)", self.norms[i])
        if pair:
            first, second, at = pair[1], pair[2], i + 1
        elif i + 2 < len(self.norms) and self.norms[i + 1] in DASHES:
            first, second, at = self.norms[i], self.norms[i + 2], i + 3
        else:
            return None
        if first in MONTH_NAMES and second in MONTH_NAMES:
            year = self._year_at(at) or (at < len(self.norms) and self.norms[at] == "of" and self._year_at(at + 1))
            if not year:
                return None
            start, end = MONTH_NAMES[first], MONTH_NAMES[second]
            return (at + 1 if self._year_at(at) else at + 2), (
                month_span(year - (start > end), start)[0], month_span(year, end)[1])
        if day_number(first) and day_number(second) and at < len(self.norms) and self.norms[at] in MONTH_NAMES:
            year, month = self._year_at(at + 1), MONTH_NAMES[self.norms[at]]
            days = [day_or_none(year, month, day_number(word)) for word in (first, second)] if year else [None]
            if all(days):
                return at + 2, (min(days), max(days))
        return None

    def _one_word_date(self, i: int, word: str) -> tuple[date, date] | None:
        """The span of `word` read at token i as a date of one word ("2021/06/14", "14.6.2021"), else None."""
        if not word:
            return None
        atom = _Parser(self.tokens, (*self.norms[:i], word, *self.norms[i + 1:]), self.context)._date_atom(i)
        return atom[1] if atom and atom[0] == i + 1 else None

    def _date_atom(self, i: int, *, led: bool = False):
        """A date expression at token i: (index after it, (first day, last day)). `led`: a date word ("in", "since",
        "between"…, not "of") or the date a range begins with comes just before, so a bare year with an apostrophe is
        one ("in '87"; "'57 chevy", "class of '87" are words: a year there only when the query is nothing else)."""
        if i >= len(self.norms):
            return None
        word = self.norms[i]
        nxt = self._year_at(i + 1)
        of_year = self._year_at(i + 2) if i + 1 < len(self.norms) and self.norms[i + 1] == "of" else None
        if word in ("last", "this") and i + 1 < len(self.norms):
            return self._relative(i)
        day = self._day(i)
        if day:
            return day
        if word in MONTH_NAMES and (nxt or of_year):
            year = nxt or of_year
            return (i + 2 if nxt else i + 3), month_span(year, MONTH_NAMES[word])
        if word in SEASONS and (nxt or of_year):
            year = nxt or of_year
            return (i + 2 if nxt else i + 3), self._season_span(word, year)
        holiday = self._holiday(i)
        if holiday:
            return holiday
        if word in ("today", "yesterday"):
            day = self.context.today - timedelta(days=int(word == "yesterday"))
            return i + 1, (day, day)
        decade = self._decade(i)
        if decade:  # (before the year: "1990's" reads "1990" once its 's is dropped)
            return decade
        year = self._year_at(i)
        if year and not (led or self._year(self.norms[i]) or len(self.tokens) == 1):
            year = None  # "dad's '65 mustang": a car's year, not the photos'
        if year:
            # the year first ("2021 june", "1987 july 4", as "2021年6月" and Hungarian write it), unless the month has its
            # own year
            after = self.norms[i + 1] if i + 1 < len(self.norms) else ""
            day = self._year_day_month(i, year)
            if day:  # "2021 3 june", "2021 3rd of june"
                return day
            if (after in MONTH_NAMES or after in SEASONS) and not self._year_at(i + 2) and not (
                    i + 2 < len(self.norms) and self.norms[i + 2] == "of"):
                found = day_and_month(self.norms, i + 1) if after in MONTH_NAMES else None  # "2021 june the 3rd"
                day = day_or_none(year, *found[2]) if found else None
                if day:  # and the day after it: "1987 july 4"
                    return found[1], (day, day)
                return i + 2, (month_span(year, MONTH_NAMES[after]) if after in MONTH_NAMES
                               else self._season_span(after, year))
            return i + 1, year_span(year)
        # as Chinese and Japanese write it: "2021年6月5日", "2021年6月", "2021年" (full-width digits are folded already)
        cjk = re.fullmatch(r"(\d{4})年(?:(\d{1,2})月(?:(\d{1,2})日)?)?", word)
        if cjk and self._year(cjk[1]):
            year = int(cjk[1])
            if cjk[2] is None:
                return i + 1, year_span(year)
            if not 1 <= int(cjk[2]) <= 12:
                return None
            if cjk[3] is None:
                return i + 1, month_span(year, int(cjk[2]))
            day = day_or_none(year, int(cjk[2]), int(cjk[3]))
            return (i + 1, (day, day)) if day else None
        # a month and its year in one word: "june-2021", "Jun/2021", "dec.2021"
        worded = re.fullmatch(r"([a-z]+)[-/.,](\d{4})", word)
        if worded and worded[1] in MONTH_NAMES and self._year(worded[2]):
            return i + 1, month_span(int(worded[2]), MONTH_NAMES[worded[1]])
        # A month as a form or a phone writes it, the month first: "12/2023", "6.2021", "12-2023".
        numeric = re.fullmatch(r"(\d{1,2})[/.-](\d{4})", word)
        if numeric and self._year(numeric[2]) and 1 <= int(numeric[1]) <= 12:
            return i + 1, month_span(int(numeric[2]), int(numeric[1]))
        day = self._numeric_day(word)
        if day:
            return i + 1, (day, day)
        iso = re.fullmatch(r"(\d{4})([-/.])(\d{1,2})(?:\2(\d{1,2}))?", word)
        if iso and iso[2] == "." and iso[4] is None:
            iso = None  # "1999.5" is a number: a year and month with a dot are no month (a whole day is: "2021.06.14")
        if iso and self._year(iso[1]) and 1 <= int(iso[3]) <= 12:
            if iso[4] is None:
                return i + 1, month_span(int(iso[1]), int(iso[3]))
            day = day_or_none(int(iso[1]), int(iso[3]), int(iso[4]))
            if day:
                return i + 1, (day, day)
        return None

    def _year_day_month(self, i: int, year: int):
        """The year at i, then a day and its month ("2021 3 june", "2021 3rd of june"): (index after it, (the day, the
        day)), unless the month has its own year ("2021 3 june 2022") or has no such day (left to the words, and the
        note of a day no month has)."""
        found = day_and_month(self.norms, i + 1)  # (also "2021 the 3rd of june")
        # the day first only: a month first is the caller's, whatever follows it ("2021 june 3 2022": 3 June 2021, 2022)
        if found is None or day_number(self.norms[found[0]]) is None or self._year_at(found[1]):
            return None
        day = day_or_none(year, *found[2])
        return (found[1], (day, day)) if day else None

    def _numeric_day(self, word: str) -> date | None:
        """A day in numbers, the year last: "14/06/2021", "6/14/2021", "14.06.2021", "14-06-2021", "14/06/21". A day
        or month above 12 says the order; when both orders make a day ("05/06/2021"), the family's country's way
        (`ParserContext.month_first`; the chip shows the day understood), but with dots the day first everywhere (no
        country writes the month first with them: "05.06.2021" is 5 June in the US too). A two-digit year is the
        latest such year not after this one ("21" is 2021, "98" 1998), and only after slashes ("14/06/21"): with
        dots or dashes it is no year ("firmware 1.2.10", "10.10.10", a code "1-2-10", "21-06-14" written year first);
        a date missed is its words searched, a wrong one would hide every photo of other days."""
        found = _numeric_date(word)
        if not found:
            return None
        year = int(found[4])
        if len(found[4]) == 2:
            year += 2000 if 2000 + year <= self.context.today.year else 1900
        if not self._year(str(year)):
            return None
        first, second = int(found[1]), int(found[3])
        month_first = self.context.month_first and found[2] != "."
        orders = ((second, first), (first, second)) if month_first else ((first, second), (second, first))
        days = (day_or_none(year, month, day) for day, month in orders if 1 <= month <= 12)
        return next((day for day in days if day), None)

    def _decade(self, i: int):
        """A decade: "1990s", "1990's", "the 1950s", "the 90s", "80s" (every photo's words carry it:
        metadata.decade_word), or its early, mid or late years ("late 80s": 1987 to 1989)."""
        at = i + 1 if self.norms[i] == "the" and i + 1 < len(self.norms) else i
        part = self.norms[at] if self.norms[at] in DECADE_PARTS and at + 1 < len(self.norms) else ""
        at += bool(part)
        typed = self.tokens[at].strip(EDGE_PUNCT.replace("'", "").replace("’", "")).casefold()
        hyphened = re.fullmatch(r"(early|mid|late)[-–](.+)", typed) if not part else None
        if hyphened:  # "mid-80s"
            part, typed = hyphened[1], hyphened[2]
        before = i - 1 - (i >= 1 and self.norms[i - 1] in DECADE_PARTS)
        # "in her (late) 30s", "under 10s" are ages, "top 40s", "two 20s" counts
        age = before >= 0 and (self.norms[before] in AGE_WORDS | COUNT_WORDS or self.norms[before].isdecimal())
        found = (re.fullmatch(r"(\d{3}0)s", typed if hyphened else self.norms[at])  # ("-1990s": norm without dash)
                 or re.fullmatch(r"(\d{3}0)['’]s", typed)
                 # two digits: "the 90s", "80s party" (a chip, un-chipped with a click for a party of that theme),
                 # never an age nor a count
                 or (not age and (re.fullmatch(r"(\d0)s", typed if hyphened else self.norms[at])
                                  or re.fullmatch(r"['’]?(\d0)['’]?s", typed))))
        if not found:
            return None
        first = int(found[1])
        if first < 100:  # "the 90s": the latest such decade begun
            first += 2000 if 2000 + first <= self.context.today.year else 1900
        if not (self._year(str(first)) or self._year(str(first + 9))):
            return None
        low, high = DECADE_PARTS.get(part, (0, 9))
        return at + 1, (date(first + low, 1, 1), date(first + high, 12, 31))

    def _day(self, i: int):
        """A day with its month and year, either way round: "14 june 2021", "14th of june 2021", "june 14, 2021",
        "june 14th 2021". A day its month lacks ("june 31") is none."""
        if day_number(self.norms[i]) and i + 2 < len(self.norms):  # the day first
            number, month_at = day_number(self.norms[i]), i + (2 if self.norms[i + 1] == "of" else 1)
        elif self.norms[i] in MONTH_NAMES and i + 1 < len(self.norms) and day_number(self.norms[i + 1]):
            number, month_at = day_number(self.norms[i + 1]), i
        else:
            return None
        if month_at >= len(self.norms) or self.norms[month_at] not in MONTH_NAMES:
            return None
        year_at = max(month_at, i + 1) + 1
        year = self._year_at(year_at)
        day = day_or_none(year, MONTH_NAMES[self.norms[month_at]], number) if year else None
        return (year_at + 1, (day, day)) if day else None

    def _relative(self, i: int):
        word, what = self.norms[i], self.norms[i + 1]
        today = self.context.today
        if what == "year":
            year = today.year - (word == "last")
            return i + 2, (year_span(year) if word == "last" else (date(year, 1, 1), today))
        if what == "month":
            first = today.replace(day=1)
            if word == "this":
                return i + 2, (first, today)
            previous = first - timedelta(days=1)
            return i + 2, (previous.replace(day=1), previous)
        if what == "week":
            monday = today - timedelta(days=today.weekday())
            return i + 2, ((monday - timedelta(days=7), monday - timedelta(days=1)) if word == "last"
                           else (monday, today))
        if what == "weekend":  # "this weekend" on a weekday is the latest too: no photo is from the next one
            saturday = today - timedelta(days=(today.weekday() - 5) % 7)
            if word == "last" and today.weekday() >= 5:
                saturday -= timedelta(days=7)
            return i + 2, (saturday, min(today, saturday + timedelta(days=1)))
        if what in MONTH_NAMES:  # "last june": the latest June before this month; "this june": this year's
            month = MONTH_NAMES[what]
            return i + 2, month_span(today.year - (word == "last" and month >= today.month), month)
        if what in SEASONS:
            return i + 2, self._latest_season(what, ended=word == "last")
        return self._latest_holiday(i + 1, ended=word == "last")

    def _latest_holiday(self, i: int, *, ended: bool):
        """"last christmas": the latest one that has ended; "this christmas": this year's (in the family's country,
        else around its usual day, as "christmas 2025" is)."""
        today = self.context.today
        for end in range(min(len(self.norms), i + 3), i, -1):
            name = " ".join(self.norms[i:end])
            if name in MONTH_NAMES or name in SEASONS or name in ("last", "this") or not is_date_word(name):
                continue
            years = (today.year, today.year - 1) if ended else (today.year,)
            spans = [span for year in years if (span := holiday_span(name, year, self.context.holiday_country))]
            span = next((span for span in spans if span[1] < today or not ended), None)
            if span:
                return end, span
        return None

    def _latest_season(self, season: str, *, ended: bool) -> tuple[date, date]:
        """The latest `season` that has ended, or that has begun."""
        today = self.context.today
        spans = (self._season_span(season, year) for year in range(today.year + 1, today.year - 3, -1))
        return next(span for span in spans if (span[1] < today if ended else span[0] <= today))

    def _latest(self, i: int):
        """A month or season named alone after "since", "before"…: the latest one begun ("since june" in December:
        since this June; in March: since last year's)."""
        word, today = self.norms[i], self.context.today
        if word in MONTH_NAMES:
            month = MONTH_NAMES[word]
            return i + 1, month_span(today.year - (month > today.month), month)
        if word in SEASONS:
            return i + 1, self._latest_season(word, ended=False)
        return None

    def _season_span(self, season: str, year: int) -> tuple[date, date]:
        return season_span(season, year, southern=self.context.southern)

    def _holiday(self, i: int):
        for end in range(min(len(self.norms) - 1, i + 4), i, -1):
            name = " ".join(self.norms[i:end])
            if not all(word in HOLIDAY_WORDS or word.isalpha() for word in name.split()):
                continue
            if self._known(i, end) and not is_date_word(name):
                continue  # "australia 2023" is that year there; "Australia Day 2023", said so, is the holiday

            year = self._year_at(end) or (self.norms[end] == "of" and self._year_at(end + 1))
            if not year:
                continue
            span = holiday_span(name, year, self.context.holiday_country)
            if span:
                return (end + 1 if self._year_at(end) else end + 2), span
        return None

    def _year_at(self, i: int) -> int | None:
        if 0 <= i < len(self.norms) and self._year(self.norms[i]):
            return int(self.norms[i])
        # two digits with an apostrophe ("summer '21", "christmas ’98"): the latest such year not after this one
        short = re.fullmatch(r"['’](\d{2})", self.tokens[i].rstrip(EDGE_PUNCT)) if 0 <= i < len(self.tokens) else None
        if short and self.norms[i] == short[1]:  # (not "-'21": an exclusion's)
            year = int(short[1]) + (2000 if 2000 + int(short[1]) <= self.context.today.year else 1900)
            return year if self._year(str(year)) else None
        return None

    def _year(self, word: str) -> bool:
        return len(word) == 4 and word.isdecimal() and EARLIEST_YEAR <= int(word) <= self.context.latest_year


def _numeric_date(word: str) -> re.Match | None:
    """`word` as a day in numbers, the year last (day, separator, month, year; or month and day): a four-digit year
    after "/", "." or "-", a two-digit one after "/" only (_Parser._numeric_day)."""
    found = re.fullmatch(r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})", word)
    return found if found and (len(found[4]) == 4 or found[2] == "/") else None


def replace_chip(parsed: ParsedQuery, key: str, words: str) -> str:
    """The query with the words of the chip `key` replaced by `words` (removed when empty)."""
    chip = next((chip for chip in parsed.chips if chip.key == key), None)
    if chip is None:
        return " ".join(parsed.tokens)
    if chip.kind == "place" and words and chip.start < chip.end - 1 and normalise(parsed.tokens[chip.start]) in PLACE_WORDS:
        words = f"{parsed.tokens[chip.start]} {words}"  # keep "in": an edited name is read as a place again
    elif chip.kind == "place" and words:
        words = f"in {words}"
    tokens = [*parsed.tokens[:chip.start], *words.split(), *parsed.tokens[chip.end:]]
    return " ".join(tokens)

