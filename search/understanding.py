"""The query box's understanding, between the request and the engine: what the parser needs to know about the
user's families (one selector, `parser_context`), the parse, and the merge with the explicit filters
(`understand_search`), which win over what the parser found."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, replace
from datetime import date

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.db.models import Count, Q
from django.utils import timezone

from gallery.date_words import MONTHS, SOUTHERN_COUNTRIES
from gallery.models import Family, Membership, Photo, Tag
from gallery.name_fold import NAME_FOLDED_SQL, name_folded
from gallery.places import country_name
from search.engine import MAX_QUERY_CHARS, SearchParams
from search.expansion import synonym_groups
from search.models import FamilyPlace
from search.metadata import decade_word
from search.query_dates import range_label, writes_month_first
from search.query_notes import DateWordNote, date_word_notes, family_photo_dates
from search.query_parser import (
    EARLIEST_YEAR,
    EDGE_PUNCT,
    MAX_PHRASE,
    KnownPlace,
    ParsedQuery,
    ParserContext,
    candidate_phrases,
    countries,
    mentions_season,
    normalise,
    parse_query,
    tokenize,
)



@dataclass(frozen=True)
class Understanding:
    params: SearchParams  # what the engine is asked
    parsed: ParsedQuery
    truncated: bool  # the query was longer than the engine reads
    explicit_where: bool = False  # an explicit place or country replaced the query's places
    explicit_when: bool = False  # an explicit date (either end) replaced the query's dates
    query: str = ""  # the query as typed (spaces collapsed, cut to what the engine reads)
    # A holiday or season searched as a word where no photo's words can name it (no country, no dates): said why
    date_word_notes: tuple[DateWordNote, ...] = ()

    @property
    def nothing_to_search(self) -> bool:
        """Something was typed, but no word to search for, place or date: punctuation alone ("-", "?!")."""
        return bool(self.parsed.tokens) and not self.parsed.text and not self.parsed.chips

    def shown(self, searched: str) -> str:
        """The query as the page and the API name it: the words searched (`searched`, the engine's), or, for a query
        of only places and dates (searched by its filter's words, "2021 2022") or of no words, as typed."""
        return searched if self.parsed.text else self.query

    @property
    def other_side_note(self) -> str:
        """What a season in the query names across the equator, where its photos are searched by their own seasons
        ("" when none does): "Taken 1 Dec 2022 – 28 Feb 2023 south of the equator, …"."""
        params, parts = self.params, []
        where = "north" if params.southern else "south"
        if params.other_side is not None and any(params.other_side):
            parts.append(f"taken {range_label(*params.other_side)} {where} of the equator")
        left_out = [range_label(*span) for span in params.other_side_not_dates]
        if left_out and params.other_side_not_dates != params.not_dates:
            parts.append(f"left out {', '.join(left_out)} {where} of the equator")
        if not parts:
            return ""
        said = "; ".join(parts)
        return f"{said[0].upper()}{said[1:]}, where the seasons are the other way round."

    def nothing_searched(self) -> str:
        """Why nothing was searched for a query that was typed ("" when something was): it has no word to search
        for, or it only says what to leave out. The page says the same in its own words."""
        if self.nothing_to_search:
            return (f"Nothing to search for in “{self.query}”: type what you remember about a photo (who or what is "
                    "in it, where, when).")
        params = self.params
        if self.query and not params.query and (params.excluded or params.not_places or params.not_countries
                                                or params.not_dates or params.not_days_of_year):
            return f"“{self.query}” only says what to leave out: add what you are looking for."
        return ""

    def replaced_by(self, chip) -> str:
        """The filters of the form that replace this chip of the query ("" when it is in force)."""
        if chip.kind == "place" and self.explicit_where:
            return "Place and Country"
        if chip.kind == "date" and self.explicit_when:
            return "Taken from/until"
        return ""

    def interpreted(self) -> dict:
        """The API's `interpreted`: the places and dates in effect from the query, exclusions, remaining text."""
        return {
            "places": [] if self.explicit_where else self.parsed.place_names,
            "not_places": self.parsed.not_place_names,
            "not_dates": [{"taken_after": after, "taken_before": before} for after, before in self.parsed.not_dates],
            "taken_after": self.params.taken_after,
            "taken_before": self.params.taken_before,
            "periods": [{"taken_after": after, "taken_before": before} for after, before in self.params.periods],
            "days_of_year": [{"month": month, "day": day} for month, day in self.params.days_of_year],
            "not_days_of_year": [{"month": month, "day": day} for month, day in self.params.not_days_of_year],
            "other_hemisphere": None if self.params.other_side is None and not self.params.other_side_not_dates else {
                "taken_after": (self.params.other_side or (None, None))[0],
                "taken_before": (self.params.other_side or (None, None))[1],
                "not_dates": [{"taken_after": after, "taken_before": before}
                              for after, before in self.params.other_side_not_dates]},
            "excluded": list(self.parsed.excluded),
            "text": self.parsed.text,
            "date_notes": list(self.parsed.date_notes),
            "day_word_notes": list(self.parsed.day_word_notes),
            "date_word_notes": [note.as_data() for note in self.date_word_notes],
        }


def parser_context(*, family_ids: list[int], query: str, today: date | None = None,
                   facts: _Facts | None = None) -> ParserContext:
    """What the parser must know about these families (the caller has checked they are the user's): the places
    their photos were taken in, which of the query's phrases are their concepts, their hemisphere and the
    country whose holidays name their dates. Reads only what this query can use: usually one round trip
    (`facts`, when the caller has them already: none)."""
    today = today or timezone.localdate()
    facts = facts or _family_facts(family_ids=family_ids)
    defaults = facts.defaults
    places = family_places(family_ids=family_ids, version=facts.places_version)
    known = countries()
    # Only a phrase that names a place can be a place and a concept at once: ask about those alone.
    ambiguous = [phrase for phrase in candidate_phrases(query) if phrase in places or phrase in known]
    # (a holiday's days: with a year, or the latest one, "last christmas")
    years = any((len(word) == 4 and word.isdecimal()) or word in ("last", "this")
                for word in (normalise(t) for t in tokenize(query)))
    return ParserContext(
        today=today,
        places=places,
        concepts=_concepts(family_ids, ambiguous, query) if ambiguous else frozenset(),
        southern=_southern(facts) if mentions_season(query) else False,
        holiday_country=(defaults[0] if defaults else _usual_country(facts)) if years else "",
        # (a day in numbers both orders make, "05/06/2021": as most of the families' countries write it)
        month_first=sum(map(writes_month_first, defaults)) * 2 > len(defaults),
        photos_until=_photos_until(facts) if _names_a_year_ahead(query, today) else 0,
    )


def _names_a_year_ahead(query: str, today: date) -> bool:
    """Whether the query holds a number past next year (as "2031" or "june 2031" write one): only then does the
    parser need the families' latest photo's year."""
    return any(int(number) > today.year + 1 for number in re.findall(r"\d{4,12}", query))


def _photos_until(facts: _Facts) -> int:
    """The year of the latest day any live photo of these families was taken on (0: none): a camera set ahead can
    date one past next year. Read once per version of their photos (_per_version: a date set or shifted moves it on)."""
    def latest_year() -> int:
        latest = (Photo.objects.filter(family_id__in=facts.family_ids).order_by("-taken_day")
                  .values_list("taken_day", flat=True).first())
        return latest.year if latest else 0

    return _per_version("photos_until", facts, latest_year)


_places_cache: dict[tuple[int, ...], tuple[tuple, dict[str, KnownPlace]]] = {}
_places_lock = threading.Lock()
_PLACES_CACHE_SIZE = 256


@dataclass(frozen=True)
class _Facts:
    family_ids: list[int]
    defaults: list[str]  # the families' default countries (set ones)
    places_version: tuple  # of their place lists: each family's highest FamilyPlace id (see family_places)
    photos_version: tuple = ()  # of their photos (Family.photos_version), in the order of family_ids
    countries: tuple[str, ...] = ()  # each one's default country ("" for none), in the order of family_ids

    @property
    def unplaced(self) -> dict[int, str]:
        """Those that never had a placed photo (no place list: places_version's None; a country alone is a place,
        search.family_places.PLACED) → their default country ("" for none): their photos' words name that country's
        holidays alone. (A place whose last photo went stays listed until rebuilt: a note is only missed, never said
        wrongly.)"""
        return {family_id: country for family_id, country, top in zip(self.family_ids, self.countries,
                                                                      self.places_version) if top is None}


def _family_facts(*, family_ids: list[int] | None = None, user_id: int | None = None,
                  family_id: int | None = None) -> _Facts:
    """These families (or the user's, or the user's family `family_id`), their default countries and their place
    list's version, in one round trip."""
    scope = ("SELECT unnest(%(ids)s::bigint[])" if family_ids is not None else
             f"SELECT family_id FROM {Membership._meta.db_table} WHERE user_id = %(user)s"
             " AND (%(family)s::bigint IS NULL OR family_id = %(family)s::bigint)")
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH scope(id) AS ({scope})
            SELECT ARRAY(SELECT id FROM scope ORDER BY id),
                   ARRAY(SELECT default_country FROM {Family._meta.db_table}
                         WHERE id IN (SELECT id FROM scope) ORDER BY id),
                   ARRAY(SELECT (SELECT max(p.id) FROM {FamilyPlace._meta.db_table} p WHERE p.family_id = s.id)
                         FROM scope s ORDER BY s.id),
                   ARRAY(SELECT photos_version FROM {Family._meta.db_table}
                         WHERE id IN (SELECT id FROM scope) ORDER BY id)
            """,
            {"ids": list(family_ids or []), "user": user_id, "family": family_id},
        )
        ids, countries, highest, photos_versions = cursor.fetchone()
    return _Facts(list(ids), [code for code in countries if code], tuple(highest), tuple(photos_versions),
                  tuple(countries))


def family_places(*, family_ids: list[int], version: tuple | None = None) -> dict[str, KnownPlace]:
    """normalised city or region name → the place, for every place these families' photos were taken in.

    Built once per process and scope, and rebuilt when the list changes: a family's list only grows between
    rebuilds (which delete and re-insert), so each family's highest id tells, one index probe per family,
    instead of reading and normalising a few thousand names on every keystroke of search-as-you-type.
    Callers must not modify the result."""
    key = tuple(sorted(set(family_ids)))
    if version is None:
        version = _family_facts(family_ids=list(key)).places_version
    with _places_lock:
        cached = _places_cache.get(key)
    if cached is not None and cached[0] == version:
        return cached[1]
    places: dict[str, KnownPlace] = {}
    stored = [(name, code) for city, region, code in FamilyPlace.objects.filter(family_id__in=key).order_by("pk")
              .values_list("city", "region", "country_code") for name in (city, region) if name and normalise(name)]
    for name, code in stored:
        places.setdefault(normalise(name), KnownPlace(name, code))
    # Then the other ways people type them, where no stored name is spelt so ("london" is London, not "City of London").
    for name, code in stored:
        for spelling in _spellings(normalise(name)):
            places.setdefault(spelling, KnownPlace(name, code))
    with _places_lock:
        if len(_places_cache) >= _PLACES_CACHE_SIZE:
            _places_cache.clear()
        _places_cache[key] = (version, places)
    return places


def _spellings(name: str) -> set[str]:
    """Other ways people type a place's stored name (normalised): without its hyphens ("stratford upon avon"), "st" for
    "saint" and back ("st petersburg", "saint ives"), and a city state's bare name (GeoNames' "State of Berlin", "City
    state Bremen": "berlin")."""
    spellings = {name, name.replace("-", " ")}
    for spelling in list(spellings):
        for said, other in (("saint ", "st "), ("st ", "saint ")):
            if spelling.startswith(said):
                spellings.add(other + spelling[len(said):])
        bare = re.sub(r"^(state of|city state|city of|region of|province of) ", "", spelling)
        if bare:
            spellings.add(bare)
    spellings.discard(name)
    return {spelling for spelling in spellings if spelling.strip()}


def family_places_cache_reset() -> None:
    with _places_lock:
        _places_cache.clear()
        _vocabulary_memo.clear()
        _by_version.clear()


def _concepts(family_ids: list[int], phrases: list[str], query: str) -> frozenset[str]:
    """Which of these phrases are concepts to these families: a word of their synonym table (global or their
    own entries; the per-process groups query expansion keeps) or a tag of theirs (on the tag index: the
    phrases as typed, lower case, and without accents, case-folded as tag names are)."""
    vocabulary = _synonym_vocabulary(synonym_groups(family_ids=family_ids))
    concepts = {phrase for phrase in phrases if phrase in vocabulary}
    rest = [phrase for phrase in phrases if phrase not in concepts]
    if not rest:
        return frozenset(concepts)
    typed = [" ".join(words) for words in _runs([token.strip(EDGE_PUNCT).lower() for token in tokenize(query)])]
    folded = NAME_FOLDED_SQL.format("name")  # (the expression of the unique index of tags: the index finds them)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT {folded} FROM {Tag._meta.db_table} WHERE {folded} = ANY(%s) "
                       "AND family_id = ANY(%s)",
                       [[name_folded(phrase) for phrase in (*rest, *typed)], list(family_ids)])
        tags = {normalise(row[0]) for row in cursor.fetchall()}
    return frozenset(concepts | {phrase for phrase in rest if phrase in tags})


_vocabulary_memo: list[tuple[dict, frozenset[str]]] = []  # the last groups seen and their words, normalised


def _synonym_vocabulary(groups: dict[str, list[str]]) -> frozenset[str]:
    """The synonym groups' words as the parser normalises them; recomputed only when expansion rebuilt them."""
    with _places_lock:
        for seen, words in _vocabulary_memo:
            if seen is groups:
                return words
    words = frozenset(normalise(word) for word in groups)
    with _places_lock:
        _vocabulary_memo[:] = [*_vocabulary_memo[-7:], (groups, words)]
    return words


def _runs(words: list[str]) -> list[list[str]]:
    return [words[i:j] for i in range(len(words)) for j in range(i + 1, min(len(words), i + MAX_PHRASE) + 1)]


def _southern(facts: _Facts) -> bool:
    """The families' default countries say; else most of their photos with a position (counted once per version of
    their photos, _per_version); else north."""
    if facts.defaults:
        return sum(code.upper() in SOUTHERN_COUNTRIES for code in facts.defaults) * 2 > len(facts.defaults)

    def mostly_south() -> bool:
        counts = Photo.objects.filter(family_id__in=facts.family_ids, latitude__isnull=False).aggregate(
            south=Count("id", filter=Q(latitude__lt=0)), placed=Count("id"))
        return counts["south"] * 2 > counts["placed"]

    return _per_version("southern", facts, mostly_south)


def _usual_country(facts: _Facts) -> str:
    """The country most of these families' photos were taken in (the first by code of those tied; "" when none has a
    place): whose holidays "last christmas" means when they set no default country. Counted over every photo, once
    per version of their photos (_per_version), not over a sample on every search."""
    def most_common() -> str:
        common = (Photo.objects.filter(family_id__in=facts.family_ids).exclude(place_country_code="")
                  .values("place_country_code").annotate(n=Count("id")).order_by("-n", "place_country_code")
                  .values_list("place_country_code", flat=True)[:1])
        return next(iter(common), "")

    return _per_version("usual_country", facts, most_common)


_by_version: dict[tuple, object] = {}  # (what, family ids, their photos' versions) → what it was (or one family's)


def _per_version(what: str, facts: _Facts, count):
    """`count()`, remembered for these families until one of their photos changes (Family.photos_version moves on
    with each photo added, placed, trashed…): what their photos as a whole say, read once, not on every search."""
    key = (what, tuple(facts.family_ids), facts.photos_version)
    with _places_lock:
        if key in _by_version:
            return _by_version[key]
    value = count()
    with _places_lock:
        if len(_by_version) >= _PLACES_CACHE_SIZE:
            _by_version.clear()
        _by_version[key] = value
    return value


def family_facts(*, family_id: int) -> _Facts:
    """What understanding a search of this family needs to know of it (its default country, its places' version)."""
    return _family_facts(family_ids=[family_id])


def understand_search(*, user: AbstractBaseUser, params: SearchParams, removed: frozenset[str] = frozenset(),
                      today: date | None = None, notes: bool = False) -> Understanding:
    """The engine's parameters for this search: the query's places, dates and exclusions taken out of its
    text, under the explicit filters (an explicit place or country replaces the query's places; an explicit
    date, either end, replaces the query's dates). `notes`: also why a holiday or season searched as a word can find
    no photo by its date (date_word_notes: for the pages and the API that show them, not each step of the viewer)."""
    query = " ".join((params.query or "").replace("\x00", " ").split())
    truncated = len(query) > MAX_QUERY_CHARS
    query = query[:MAX_QUERY_CHARS]
    # An id no bigint can hold names no family (the engine finds nothing either); never send it to SQL.
    in_range = params.family_id is None or -(2**63) <= params.family_id < 2**63
    facts = (_family_facts(user_id=user.pk, family_id=params.family_id)
             if user.is_authenticated and query and in_range else None)
    understood = _understood(params, query, facts, removed=removed, truncated=truncated, today=today)
    if facts is None or not notes:
        return understood
    said = date_word_notes(
        user_id=user.pk, family_ids=facts.family_ids, unplaced=facts.unplaced,
        parsed=understood.parsed,
        photo_dates=lambda: _photo_dates(facts))
    return replace(understood, date_word_notes=said)


def _photo_dates(facts: _Facts) -> tuple[frozenset[int], frozenset[int]]:
    """family_photo_dates of these families, each remembered by its own photos' version (a query saved: a photo added
    to another of the user's families, each of an import's, does not have it asked again)."""
    keys = {family_id: ("photo_dates", family_id, version)
            for family_id, version in zip(facts.family_ids, facts.photos_version)}
    with _places_lock:
        known = {family_id: _by_version[key] for family_id, key in keys.items() if key in _by_version}
    if missing := [family_id for family_id in facts.family_ids if family_id not in known]:
        with_photos, undated = family_photo_dates(family_ids=missing)
        read = {family_id: (family_id in with_photos, family_id in undated) for family_id in missing}
        with _places_lock:
            if len(_by_version) + len(read) > _PLACES_CACHE_SIZE:
                _by_version.clear()
            _by_version.update({keys[family_id]: said for family_id, said in read.items() if family_id in keys})
        known |= read
    return (frozenset(family_id for family_id, (has, _) in known.items() if has),
            frozenset(family_id for family_id, (_, undated) in known.items() if undated))


def understand_family_search(*, family_id: int, params: SearchParams, removed: frozenset[str] = frozenset(),
                             today: date | None = None, facts: _Facts | None = None) -> Understanding:
    """As understand_search, for one family whoever asks (a smart album, which the caller has checked). `facts`: the
    family's (family_facts), when the caller understands many searches of it at once."""
    query = " ".join((params.query or "").replace("\x00", " ").split())
    truncated = len(query) > MAX_QUERY_CHARS
    query = query[:MAX_QUERY_CHARS]
    facts = (facts or family_facts(family_id=family_id)) if query else None
    return _understood(params, query, facts, removed=removed, truncated=truncated, today=today)


def _understood(params: SearchParams, query: str, facts: _Facts | None, *, removed: frozenset[str],
                truncated: bool, today: date | None) -> Understanding:
    context = (parser_context(family_ids=facts.family_ids, query=query, today=today, facts=facts)
               if facts and facts.family_ids else None)
    parsed = parse_query(query, context, removed=removed) if context else ParsedQuery(text=query)
    return Understanding(params=_merged(params, parsed), parsed=parsed, truncated=truncated,
                         explicit_where=params.place is not None or params.country is not None,
                         explicit_when=params.taken_after is not None or params.taken_before is not None, query=query)


def _merged(params: SearchParams, parsed: ParsedQuery) -> SearchParams:
    where = {}
    if params.place is None and params.country is None:
        # A country that holds a named place adds nothing ("Lisbon, Portugal"); one country alone filters by its
        # code (exact), several places and countries by name (a photo in any of them).
        held = {chip.country_code for chip in parsed.chips if chip.kind == "place" and not chip.is_country}
        codes = [code for code in parsed.countries if code not in held]
        if len(codes) == 1 and not parsed.places:
            where = {"country": codes[0]}
        else:
            # (by the name photos store: country_name, "South Korea" whatever the box was given)
            names = [country_name(chip.country_code) or chip.label for chip in parsed.chips
                     if chip.kind == "place" and chip.is_country and chip.country_code in codes]
            where = {"places": (*parsed.places, *dict.fromkeys(names))}
    when = {}
    if params.taken_after is None and params.taken_before is None:
        when = {"taken_after": parsed.taken_after, "taken_before": parsed.taken_before, "periods": parsed.periods,
                "other_side": parsed.other_side}
    browse = {"query": parsed.text} if parsed.text else {"query": _browse_words(parsed), "browse": True,
                                                         "query_words": _browse_word_count(parsed)}
    return replace(params, excluded=parsed.excluded, not_places=parsed.not_places, not_countries=parsed.not_countries,
                   not_dates=parsed.not_dates, other_side_not_dates=parsed.other_side_not_dates,
                   days_of_year=parsed.days_of_year, not_days_of_year=parsed.not_days_of_year,
                   southern=parsed.southern, **where, **when, **browse)


def _browse_words(parsed: ParsedQuery) -> str:
    """A query of only places and dates ("Lisbon 2023") leaves no text, and the engine answers an empty text
    with nothing. Until it lists a filter's photos by itself, ask it for the words every photo in the filter
    carries in its metadata document: the place names and the years covered (of each date searched as either of
    them: "2019 or 2024" is 2019 and 2024, not the years between), or, for more than BROWSE_YEARS, their decades
    (every photo carries its decade too: search.metadata.decade_word)."""
    words = list(parsed.place_names)
    if parsed.taken_after or parsed.taken_before:
        # (a season's days across the equator too: "summer 2023" is December 2022 to February 2023 in the south)
        afters, befores = [parsed.taken_after], [parsed.taken_before]
        if parsed.other_side is not None:
            afters.append(parsed.other_side[0])
            befores.append(parsed.other_side[1])
        first = (date(EARLIEST_YEAR, 1, 1) if None in afters else min(afters)).year
        last = (timezone.localdate() if None in befores else max(befores)).year
        spans = [(after.year, before.year) for after, before in parsed.periods] or [(first, last)]
        years = sorted({year for start, end in spans for year in range(start, end + 1)})
        if len(years) <= BROWSE_YEARS:
            words += [str(year) for year in years]
        else:
            words += dict.fromkeys(decade_word(year) for year in years)
    # A day of every year ("3 june"): its month, which every photo taken that day carries
    words += dict.fromkeys(MONTHS[month - 1] for month, _ in parsed.days_of_year)
    return " ".join(words)[:MAX_QUERY_CHARS]


BROWSE_YEARS = 30  # a span of more years is browsed by its decades (at most 21 words since EARLIEST_YEAR)


def _browse_word_count(parsed: ParsedQuery) -> int | None:
    """How many of the browse words a photo in the filter carries, for metadata search to count the share of the
    query it holds: the words of one place name (places are alternatives) and one year (so are a range's years),
    not every alternative listed, which made a photo of "2019 2023" one word of five and hid it."""
    count = max((len(name.split()) for name in parsed.place_names), default=0)
    count += 1 if parsed.taken_after or parsed.taken_before else 0
    count += 1 if parsed.days_of_year else 0  # (one month: the days' months are alternatives too)
    return count or None
