"""Which photos a search may look at: the user's families and the active filters, as one typed value.

Every part of the engine that reads photos (the nearest-neighbour walks, the metadata pass) compiles the same
`Scope` into its own statement with `Scope.where()`: a psycopg `sql.Composed` predicate on the photo table with named
parameters (`Scope.params()`), so no module hands SQL text to another, and table names come from the models.
The predicate's text depends only on which filters are set (`Scope.shape`), so statements built from it can be
cached per shape while the values travel as parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone as dt_timezone
from psycopg import sql

from gallery.date_words import SOUTHERN_COUNTRIES
from gallery.models import Family, Favourite, Photo, Tag
from gallery.name_fold import NAME_FOLDED_SQL, folded_unaccented_sql
from gallery.selectors import last_day_bound
from gallery.timezones import ZONE_SPREAD

PHOTOS = Photo._meta.db_table
PHOTO_TAGS = Photo.tags.through._meta.db_table
TAGS = Tag._meta.db_table
FAVOURITES = Favourite._meta.db_table
FAMILIES = Family._meta.db_table


def id_array(ids) -> str:
    """Photo ids as the text of a PostgreSQL array ('{1,2,3}'), for a `%(name)s::bigint[]` parameter: a few hundred
    ids cost a join of their digits this way, against ~2 µs each when the driver adapts a list item by item."""
    return "{" + ",".join(str(int(i)) for i in ids) + "}"


@dataclass(frozen=True)
class Scope:
    family_ids: tuple[int, ...]
    uploader_id: int | None = None
    tag: str | None = None  # a tag name, any case
    country: str | None = None  # ISO 3166 code of the photo's place
    place: str | None = None  # typed by a person: the start of a word of the photo's "city, region, country"
    places: tuple[str, ...] = ()  # named by the search box: a photo whose city, region or country is one of them
    not_places: tuple[str, ...] = ()  # named after a negation ("not in Lisbon"): no photo whose place is one of them
    not_countries: tuple[str, ...] = ()  # ISO codes, likewise ("not in Portugal"); a photo with no place stays
    not_dates: tuple[tuple[date | None, date | None], ...] = ()  # (first, last day; None: open) negated: "not in 2023"
    # Days of every year, (month, day), on the photo's local day (Photo.taken_day): "3 june" (taken on one of them),
    # "not on 3 june" (on none of them). A photo dated by its folder's month or year alone has no day: never on one,
    # never left out for one.
    days_of_year: tuple[tuple[int, int], ...] = ()
    not_days_of_year: tuple[tuple[int, int], ...] = ()
    taken_after: date | None = None  # inclusive: the day it was taken on where it was taken (Photo.taken_day)
    taken_before: date | None = None  # inclusive
    # Several dates searched as either of them ("2019 or 2024": search.query_parser.ParsedQuery.periods): the (first,
    # last day) of each, within taken_after/taken_before, which cover them all (and keep taken_at's index of use).
    periods: tuple[tuple[date, date], ...] = ()
    favourite_of: int | None = None  # a user's id: their favourites only
    # A season names other days across the equator (search.query_parser.ParsedQuery.other_side): the dates above
    # (and not_dates) are `southern`'s side's; a photo taken on the other side (by its latitude, else its country;
    # else it is on `southern`'s) is searched in `other_side` (first, last day) and `other_side_not_dates` instead.
    southern: bool = False
    other_side: tuple[date | None, date | None] | None = None
    other_side_not_dates: tuple[tuple[date | None, date | None], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "family_ids", tuple(sorted({int(f) for f in self.family_ids})))
        for name in ("places", "not_places", "not_countries", "not_dates"):
            object.__setattr__(self, name, tuple(value for value in getattr(self, name) if value))
        for name in ("days_of_year", "not_days_of_year"):
            object.__setattr__(self, name, tuple(dict.fromkeys((int(m), int(d)) for m, d in getattr(self, name))))
        # (a season's dates across the equator are the span that covers them: no periods)
        object.__setattr__(self, "periods", () if self.other_side is not None
                           else tuple(tuple(period) for period in self.periods))
        if len(self.other_side_not_dates) != len(self.not_dates):  # (item for item, or the same days)
            object.__setattr__(self, "other_side_not_dates", ())
        # Nothing is taken after the last day a date can name, and the bound is "before the next day", which no
        # date can name: no bound (as the photo list's filter reads it).
        object.__setattr__(self, "taken_before", last_day_bound(self.taken_before))
        if self.other_side is not None:
            object.__setattr__(self, "other_side", (self.other_side[0], last_day_bound(self.other_side[1])))

    @property
    def empty(self) -> bool:
        return not self.family_ids

    @property
    def shape(self) -> tuple[str, ...]:
        """The filters that are set: what the SQL text of `where()` depends on."""
        return tuple(name for name in ("uploader_id", "tag", "country", "place", "places", "not_places",
                                       "not_countries", "not_dates", "days_of_year", "not_days_of_year",
                                       "taken_after", "taken_before", "periods", "favourite_of",
                                       "other_side", "other_side_not_dates")
                     if getattr(self, name) not in (None, "", ()))

    @property
    def filtered(self) -> bool:
        """Whether anything beyond the families narrows the photos (then statements must read the photo row)."""
        return bool(self.shape)

    def skeleton(self) -> Scope:
        """The same families and filters with placeholder values: a cache key for statements built from `where()`
        (equal for every scope of the same shape)."""
        return Scope(family_ids=self.family_ids, uploader_id=0 if self.uploader_id is not None else None,
                     tag="-" if self.tag else None, country="-" if self.country else None,
                     place="-" if self.place else None, places=("-",) if self.places else (),
                     not_places=("-",) if self.not_places else (), not_countries=("-",) if self.not_countries else (),
                     not_dates=((None, None),) if self.not_dates else (),
                     days_of_year=((1, 1),) if self.days_of_year else (),
                     not_days_of_year=((1, 1),) if self.not_days_of_year else (),
                     taken_after=date.min if self.taken_after else None,
                     taken_before=date.min if self.taken_before else None,
                     periods=((date.min, date.min),) if self.periods else (),
                     favourite_of=0 if self.favourite_of is not None else None,
                     other_side=(date.min if self.other_side[0] else None, date.min if self.other_side[1] else None)
                     if self.other_side is not None else None,
                     other_side_not_dates=((None, None),) * len(self.other_side_not_dates))

    def where(self, photo: str = "p") -> sql.Composed:
        """A predicate on the photo table aliased `photo`, for the filters (families are each caller's own:
        their indexes are per family). TRUE when nothing is filtered."""
        p = sql.Identifier(photo)
        clauses = []
        if self.uploader_id is not None:
            clauses.append(sql.SQL("{p}.uploaded_by_id = %(scope_uploader)s").format(p=p))
        if self.tag:
            clauses.append(sql.SQL(
                "EXISTS (SELECT 1 FROM {photo_tags} pt JOIN {tags} t ON t.id = pt.tag_id "
                "WHERE pt.photo_id = {p}.id AND " + NAME_FOLDED_SQL.format("t.name") + " = "
                + NAME_FOLDED_SQL.format("%(scope_tag)s") + ")"
            ).format(photo_tags=sql.Identifier(PHOTO_TAGS), tags=sql.Identifier(TAGS), p=p))
        if self.country:
            clauses.append(sql.SQL("{p}.place_country_code = upper(%(scope_country)s)").format(p=p))
        if self.place:
            # A name typed matches from the start of a word of the place (in part: "lisb"), never inside one ("nice"
            # is no part of "Venice"): both sides case-folded, unaccented, separators made one space.
            clauses.append(sql.SQL(
                "strpos(' ' || " + _WORDS.format("concat_ws(', ', {p}.place_city, {p}.place_region, {p}.place_country)")
                + ", ' ' || btrim(" + _WORDS.format("%(scope_place)s") + ")) > 0 "
                "AND btrim(" + _WORDS.format("%(scope_place)s") + ") <> ''"
            ).format(p=p))
        if self.places:
            clauses.append(sql.SQL(_NAMED.format(names="%(scope_places)s")).format(p=p))
        if self.not_places:
            # (a photo with no place names none of them: the test is NULL, and NOT EXISTS keeps it)
            clauses.append(sql.SQL("NOT " + _NAMED.format(names="%(scope_not_places)s")).format(p=p))
        if self.not_countries:
            clauses.append(sql.SQL("coalesce({p}.place_country_code, '') <> ALL(%(scope_not_countries)s::text[])"
                                   ).format(p=p))
        if self.not_dates and self.other_side_not_dates:
            clauses.append(sql.SQL(
                "NOT EXISTS (SELECT 1 FROM unnest(%(scope_not_after)s::date[], %(scope_not_before)s::date[], "
                "%(scope_other_not_after)s::date[], %(scope_other_not_before)s::date[]) AS d(a, b, oa, ob) "
                "WHERE CASE WHEN " + _OTHER_SIDE + " THEN " + _IN_PERIOD.format(after="d.oa", before="d.ob")
                + " ELSE " + _IN_PERIOD.format(after="d.a", before="d.b") + " END)"
            ).format(p=p))
        elif self.not_dates:
            clauses.append(sql.SQL(
                "NOT EXISTS (SELECT 1 FROM unnest(%(scope_not_after)s::date[], %(scope_not_before)s::date[]) AS d(a, b) "
                "WHERE " + _IN_PERIOD.format(after="d.a", before="d.b") + ")"
            ).format(p=p))
        if self.days_of_year:
            # (the family, month and day first, as the "On this day" index reads them: a few rows of each family, not
            # every photo's day compared; a photo in the trash is no search's)
            clauses.append(sql.SQL(
                "{p}.trashed_at IS NULL AND {p}.family_id = ANY(%(scope_families)s::bigint[]) "
                "AND extract(month FROM {p}.taken_day) = ANY(%(scope_year_months)s::numeric[]) "
                "AND extract(day FROM {p}.taken_day) = ANY(%(scope_year_days)s::numeric[]) AND "
                + _ON_DAYS_OF_YEAR.format(codes="%(scope_year_codes)s")).format(p=p))
        if self.not_days_of_year:
            clauses.append(sql.SQL("NOT " + _ON_DAYS_OF_YEAR.format(codes="%(scope_not_year_codes)s")).format(p=p))
        # The local day decides; the instant, within the widest spread of zones, keeps taken_at's index of use.
        if self.other_side is not None:
            first, last = self._days_either_side()
            if first:
                clauses.append(sql.SQL("{p}.taken_at >= %(scope_after_at)s").format(p=p))
            if last:
                clauses.append(sql.SQL("{p}.taken_at < %(scope_before_at)s").format(p=p))
            clauses.append(sql.SQL(
                "CASE WHEN " + _OTHER_SIDE + " THEN " + _IN_DAYS.format(after="%(scope_other_after)s::date",
                                                                          before="%(scope_other_before)s::date")
                + " ELSE " + _IN_DAYS.format(after="%(scope_after)s::date", before="%(scope_before)s::date") + " END"
            ).format(p=p))
        if self.taken_after and self.other_side is None:
            clauses.append(sql.SQL("{p}.taken_at >= %(scope_after_at)s AND {p}.taken_day >= %(scope_after)s").format(p=p))
        if self.taken_before and self.other_side is None:
            clauses.append(sql.SQL("{p}.taken_at < %(scope_before_at)s AND {p}.taken_day <= %(scope_before)s"
                                   ).format(p=p))
        if self.periods:
            # (a photo dated by its folder's month or year alone is in one only for its whole period, as in any filter)
            clauses.append(sql.SQL(
                "EXISTS (SELECT 1 FROM unnest(%(scope_period_after)s::date[], %(scope_period_before)s::date[]) "
                "AS d(a, b) WHERE " + _IN_PERIOD.format(after="d.a", before="d.b") + ")").format(p=p))
        if any(self._days_either_side()):
            # (the family too, for its timeline index (photo_family_days) to find the period's photos: by the day
            # alone the planner reads the period's photos of every family, then joins away the others')
            clauses.append(sql.SQL("{p}.family_id = ANY(%(scope_families)s::bigint[]) AND " + _WHOLE_PERIOD).format(p=p))
        if self.favourite_of is not None:
            clauses.append(sql.SQL(
                "EXISTS (SELECT 1 FROM {favourites} f WHERE f.photo_id = {p}.id AND f.user_id = %(scope_favourite)s)"
            ).format(favourites=sql.Identifier(FAVOURITES), p=p))
        return sql.SQL(" AND ").join(clauses) if clauses else sql.SQL("TRUE")

    def params(self) -> dict:
        """The values of `where()`'s parameters."""
        values: dict = {}
        if self.uploader_id is not None:
            values["scope_uploader"] = self.uploader_id
        if self.tag:
            values["scope_tag"] = self.tag
        if self.country:
            values["scope_country"] = self.country
        if self.place:
            values["scope_place"] = self.place
        if self.places:
            values["scope_places"] = list(self.places)
        if self.not_places:
            values["scope_not_places"] = list(self.not_places)
        if self.not_countries:
            values["scope_not_countries"] = [code.upper() for code in self.not_countries]
        if self.not_dates:
            values["scope_not_after"] = [after for after, _ in self.not_dates]
            values["scope_not_before"] = [before for _, before in self.not_dates]
        if self.other_side_not_dates:
            values["scope_other_not_after"] = [after for after, _ in self.other_side_not_dates]
            values["scope_other_not_before"] = [before for _, before in self.other_side_not_dates]
        if self.other_side is not None or self.other_side_not_dates:
            values["scope_southern"] = self.southern
            values["scope_southern_countries"] = sorted(SOUTHERN_COUNTRIES)
        first, last = self._days_either_side()
        if self.other_side is not None:
            values["scope_after"], values["scope_before"] = self.taken_after, self.taken_before
            values["scope_other_after"], values["scope_other_before"] = self.other_side
        elif self.taken_after:
            values["scope_after"] = self.taken_after
        if self.taken_before and self.other_side is None:
            values["scope_before"] = self.taken_before
        if self.periods:
            values["scope_period_after"] = [after for after, _ in self.periods]
            values["scope_period_before"] = [before for _, before in self.periods]
        if self.days_of_year or first or last:
            values["scope_families"] = list(self.family_ids)
        if self.days_of_year:
            values["scope_year_months"] = sorted({month for month, _ in self.days_of_year})
            values["scope_year_days"] = sorted({day for _, day in self.days_of_year})
            values["scope_year_codes"] = [_day_code(*day) for day in self.days_of_year]
        if self.not_days_of_year:
            values["scope_not_year_codes"] = [_day_code(*day) for day in self.not_days_of_year]
        if first or last or self.periods or self.not_dates or self.days_of_year or self.not_days_of_year:
            values["scope_dayless"] = [str(source) for source in Photo.DAYLESS_DATES]
            values["scope_folder_year"] = str(Photo.DateSource.FOLDER_YEAR)
        if first or last:
            values["scope_first"], values["scope_last"] = first, last
        if first:
            values["scope_after_at"] = _day_start(first, -ZONE_SPREAD)
        if last:
            values["scope_before_at"] = _day_start(last, timedelta(days=1) + ZONE_SPREAD)
        if self.favourite_of is not None:
            values["scope_favourite"] = self.favourite_of
        return values


    def _days_either_side(self) -> tuple[date | None, date | None]:
        """The first and last day searched on either side of the equator (None: open)."""
        if self.other_side is None:
            return self.taken_after, self.taken_before
        afters, befores = (self.taken_after, self.other_side[0]), (self.taken_before, self.other_side[1])
        return (None if None in afters else min(afters)), (None if None in befores else max(befores))


# A photo taken on the other side of the equator from the one the search's seasons were read for (Scope.southern): by
# its latitude, else its place's country, else its family's default country, as search.metadata._when_where reads its
# season words (gallery.date_words.season); none of them: north.
_OTHER_SIDE = ("(CASE WHEN {p}.latitude IS NOT NULL THEN {p}.latitude < 0 WHEN {p}.place_country_code <> '' "
               "THEN {p}.place_country_code = ANY(%(scope_southern_countries)s::text[]) "
               "ELSE EXISTS (SELECT 1 FROM \"" + FAMILIES + "\" sf WHERE sf.id = {p}.family_id "
               "AND upper(sf.default_country) = ANY(%(scope_southern_countries)s::text[])) END) <> %(scope_southern)s")
# A photo dated only by the month or the year its folder's name tells (Photo.DAYLESS_DATES: its first day stands for
# it) is in a date filter only when the filter holds that whole month or year: a scan of "2003" is no January photo.
# A negated date ("not in june 2003") leaves such a photo out only when it holds its whole month or year too.
_PERIOD_START = ("date_trunc(CASE {{p}}.taken_at_source WHEN %(scope_folder_year)s THEN 'year' ELSE 'month' END, "
                 "{{p}}.taken_day::timestamp)")
_WHOLE_PERIOD_IN = (  # (`after`, `before`: the first and last day, NULL: open)
    "({{p}}.taken_at_source <> ALL(%(scope_dayless)s::text[]) OR ("
    + _PERIOD_START + "::date >= coalesce({after}, '-infinity') AND ("
    + _PERIOD_START + " + CASE {{p}}.taken_at_source WHEN %(scope_folder_year)s THEN interval '1 year' "
    "ELSE interval '1 month' END - interval '1 day')::date <= coalesce({before}, 'infinity')))")
_WHOLE_PERIOD = _WHOLE_PERIOD_IN.format(after="%(scope_first)s::date", before="%(scope_last)s::date")
# Taken on one of the days of every year `codes` names (an int[] parameter of _day_code's), by its own day (not dated by
# its folder's month or year alone, whose first day stands for the month or the year).
_ON_DAYS_OF_YEAR = ("({{p}}.taken_at_source <> ALL(%(scope_dayless)s::text[]) AND (extract(month FROM {{p}}.taken_day) "
                    "* 100 + extract(day FROM {{p}}.taken_day))::int = ANY({codes}::int[]))")
# Taken on one of the days from `after` to `before` (NULL: open).
_IN_DAYS = "({{p}}.taken_day >= coalesce({after}, '-infinity') AND {{p}}.taken_day <= coalesce({before}, 'infinity'))"
# …and, dated by a folder's month or year alone, in them for its whole period (what a negated date leaves out).
_IN_PERIOD = "(" + _IN_DAYS + " AND " + _WHOLE_PERIOD_IN + ")"

# The box names whole places, as photos store them: "York" is not "New York", "Niger" not "Nigeria". `names`: a text[]
# parameter; `{p}`: the photo.
_NAMED = ("EXISTS (SELECT 1 FROM unnest({names}::text[]) AS named(name) WHERE "
          + folded_unaccented_sql("named.name").replace("{", "{{").replace("}", "}}") + " IN ("
          + ", ".join(folded_unaccented_sql(f"{{{{p}}}}.{column}")
                      for column in ("place_city", "place_region", "place_country")) + "))")


# A place's text as words: case-folded, without accents, each run of spaces and punctuation between words one space.
_WORDS = "regexp_replace(" + folded_unaccented_sql("{}") + ", '[-[:space:],.''’/()]+', ' ', 'g')"


def _day_code(month: int, day: int) -> int:
    """A day of every year as one number, month · 100 + day (3 June: 603), as _ON_DAYS_OF_YEAR compares it."""
    return month * 100 + day


def _day_start(day: date, shift: timedelta) -> datetime:
    """Midnight starting `day` in UTC moved by `shift` (within the dates Python can name: the first and last days
    are open-ended anyway). A day starts up to 14 hours before (UTC+14) and 12 after (UTC−12) that midnight."""
    start = datetime.combine(day, datetime.min.time(), tzinfo=dt_timezone.utc)
    try:
        return start + shift
    except OverflowError:
        return datetime.min.replace(tzinfo=dt_timezone.utc) if shift < timedelta(0) else datetime.max.replace(
            tzinfo=dt_timezone.utc)
