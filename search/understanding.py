"""The query box's understanding, between the request and the engine: what the parser needs to know about the
user's families (one selector, `parser_context`), the parse, and the merge with the explicit filters
(`understand_search`), which win over what the parser found."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import date

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.utils import timezone

from gallery.models import Family, Membership, Photo, Tag
from search.engine import MAX_QUERY_CHARS, SearchParams
from search.expansion import synonym_groups
from search.models import FamilyPlace
from search.query_parser import (
    KnownPlace,
    ParsedQuery,
    ParserContext,
    candidate_phrases,
    mentions_season,
    normalise,
    parse_query,
    tokenize,
)

# Countries whose people live mostly south of the equator: their families' seasons are flipped.
SOUTHERN_COUNTRIES = frozenset({
    "AR", "AU", "BO", "BR", "BW", "CL", "FJ", "LS", "MG", "MW", "MZ", "NA", "NZ", "PE", "PY", "SZ", "UY", "ZA",
    "ZM", "ZW", "AO", "FK", "NC", "PF", "RE", "MU", "CK", "TO", "WS", "ID", "TL", "PG", "SB", "VU",
})
SAMPLE = 500  # photos read to guess a family's hemisphere or country when no default country is set


@dataclass(frozen=True)
class Understanding:
    params: SearchParams  # what the engine is asked
    parsed: ParsedQuery
    truncated: bool  # the query was longer than the engine reads
    explicit_where: bool = False  # an explicit place or country replaced the query's places

    def interpreted(self) -> dict:
        """The API's `interpreted`: the places and dates in effect from the query, exclusions, remaining text."""
        return {
            "places": [] if self.explicit_where else self.parsed.place_names,
            "taken_after": self.params.taken_after,
            "taken_before": self.params.taken_before,
            "excluded": list(self.parsed.excluded),
            "text": self.parsed.text,
        }


def parser_context(*, family_ids: list[int], query: str, today: date | None = None) -> ParserContext:
    """What the parser must know about these families (the caller has checked they are the user's): the places
    their photos were taken in, which of the query's phrases are their concepts, their hemisphere and the
    country whose holidays name their dates. Reads only what this query can use."""
    today = today or timezone.localdate()
    phrases = candidate_phrases(query)
    defaults = [code for code in Family.objects.filter(pk__in=family_ids).values_list("default_country", flat=True)
                if code]
    years = any(len(word) == 4 and word.isdigit() for word in (normalise(t) for t in tokenize(query)))
    return ParserContext(
        today=today,
        places=_family_places(family_ids),
        concepts=_concepts(family_ids, phrases),
        southern=_southern(family_ids, defaults) if mentions_season(query) else False,
        holiday_country=(defaults[0] if defaults else _usual_country(family_ids)) if years else "",
    )


def _family_places(family_ids: list[int]) -> dict[str, KnownPlace]:
    places: dict[str, KnownPlace] = {}
    for city, region, code in FamilyPlace.objects.filter(family_id__in=family_ids).values_list(
            "city", "region", "country_code"):
        for name in (city, region):
            if name and normalise(name):
                places.setdefault(normalise(name), KnownPlace(name, code))
    return places


def _concepts(family_ids: list[int], phrases: list[str]) -> frozenset[str]:
    """The query's phrases that are concepts to these families: synonym-table words or their tags."""
    if not phrases:
        return frozenset()
    vocabulary = {normalise(word) for word in synonym_groups(family_ids=family_ids)}
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT lower(unaccent(name)) FROM {Tag._meta.db_table} "
                       "WHERE family_id = ANY(%s) AND lower(unaccent(name)) = ANY(%s)", [family_ids, phrases])
        tags = {normalise(row[0]) for row in cursor.fetchall()}
    return frozenset(phrase for phrase in phrases if phrase in vocabulary or phrase in tags)


def _southern(family_ids: list[int], defaults: list[str]) -> bool:
    """The families' default countries say; else most of a sample of their photos' latitudes; else north."""
    if defaults:
        return sum(code.upper() in SOUTHERN_COUNTRIES for code in defaults) * 2 > len(defaults)
    latitudes = Photo.objects.filter(family_id__in=family_ids, latitude__isnull=False).values_list(
        "latitude", flat=True)[:SAMPLE]
    south = sum(1 for latitude in latitudes if latitude < 0)
    return south * 2 > len(latitudes)


def _usual_country(family_ids: list[int]) -> str:
    codes = Photo.objects.filter(family_id__in=family_ids).exclude(place_country_code="").values_list(
        "place_country_code", flat=True)[:SAMPLE]
    common = Counter(codes).most_common(1)
    return common[0][0] if common else ""


def user_family_ids(*, user: AbstractBaseUser, family_id: int | None = None) -> list[int]:
    if not user.is_authenticated:
        return []
    ids = Membership.objects.filter(user=user).values_list("family_id", flat=True)
    return sorted(f for f in ids if family_id is None or f == family_id)


def understand_search(*, user: AbstractBaseUser, params: SearchParams, removed: frozenset[str] = frozenset(),
                      today: date | None = None) -> Understanding:
    """The engine's parameters for this search: the query's places, dates and exclusions taken out of its
    text, under the explicit filters (an explicit place or country replaces the query's places; an explicit
    date, either end, replaces the query's dates)."""
    query = " ".join((params.query or "").replace("\x00", " ").split())
    truncated = len(query) > MAX_QUERY_CHARS
    query = query[:MAX_QUERY_CHARS]
    family_ids = user_family_ids(user=user, family_id=params.family_id)
    context = parser_context(family_ids=family_ids, query=query, today=today) if family_ids and query else None
    parsed = parse_query(query, context, removed=removed) if context else ParsedQuery(text=query)
    return Understanding(params=_merged(params, parsed), parsed=parsed, truncated=truncated,
                         explicit_where=params.place is not None or params.country is not None)


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
            names = [chip.label for chip in parsed.chips if chip.kind == "place" and chip.is_country
                     and chip.country_code in codes]
            where = {"places": (*parsed.places, *dict.fromkeys(names))}
    when = {}
    if params.taken_after is None and params.taken_before is None:
        when = {"taken_after": parsed.taken_after, "taken_before": parsed.taken_before}
    return replace(params, query=parsed.text or _browse_words(parsed), excluded=parsed.excluded, **where, **when)


def _browse_words(parsed: ParsedQuery) -> str:
    """A query of only places and dates ("Lisbon 2023") leaves no text, and the engine answers an empty text
    with nothing. Until it lists a filter's photos by itself, ask it for the words every photo in the filter
    carries in its metadata document: the place names and the years covered."""
    words = list(parsed.place_names)
    if parsed.taken_after or parsed.taken_before:
        first = (parsed.taken_after or date(1900, 1, 1)).year
        last = (parsed.taken_before or timezone.localdate()).year
        words += [str(year) for year in range(max(first, last - 60), last + 1)]
    return " ".join(words)[:MAX_QUERY_CHARS]
