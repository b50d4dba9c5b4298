"""Why a query's date words can find no photo by its date in a family, where the reason is certain and cheap to know,
said under the query as its date notes are (search.understanding.Understanding.date_word_notes; the API's
`interpreted.date_word_notes`).

A holiday or a season alone ("christmas", "summer") is a word of the photos' search documents
(search.metadata._when_where): a photo's season is known from the day it was taken, and its holidays are those of its
country on that day, its place's or else its family's default country. So
- in a family with no default country whose photos have no place, no document names a holiday (`no_country`);
- in a family whose photos have no place, a holiday its default country's calendar never names is in no document
  ("christmas" in Japan, "thanksgiving" in the United Kingdom: `not_kept`);
- in a family none of whose photos tells the day it was taken (only a guess: the upload, the file's time, the day it
  was added to Google Photos; or its folder's month or year), none names a season nor a holiday (`no_dated_photos`);
- a holiday no country's calendar names ("halloween", "valentine's day": query_dates.IN_NO_CALENDAR) is in no
  document, whatever the family's country, places or dates: said once, of no family (`no_calendar`).
A holiday or a season with a year ("christmas 2020", "summer 2021") or a day ("25 december") is a date and is
searched by the photos' dates, not their words: no note.

A month alone ("june") is no such word: every photo's document names its month, a guessed date's too, except one
dated by its folder's year alone."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

from django.db.models import Exists, OuterRef
from django.urls import reverse

from gallery.models import Family, Membership, Photo
from gallery.places import country_name
from gallery.text import text_isolated
from search.query_dates import (
    SEASONS,
    country_keeps,
    holiday_word,
    holidays_in,
    in_no_calendar,
    phrase_for_day,
    usual_day_of_year,
)
from search.query_parser import EDGE_PUNCT, ParsedQuery, normalise

Why = Literal["no_country", "not_kept", "no_dated_photos", "no_calendar"]


@dataclass(frozen=True)
class DateWord:
    """A holiday or a season the query searches as a word (no chip took it)."""

    start: int  # its words: tokens[start:end] of the ParsedQuery
    end: int
    word: str  # a season as the photos' words name it ("summer"), a holiday as USUAL_HOLIDAYS does ("christmas day")
    holiday: bool


@dataclass(frozen=True)
class DateWordNote:
    """A date word searched in a family of the user's whose photos' words can't name it, and why (no_calendar: in no
    family's, and of none: family_id None, family_name "")."""

    family_id: int | None
    family_name: str
    admin: bool  # the user may set the family's country (its page's setting)
    why: Why
    said: str  # the words as typed ("xmas")
    word: str  # as the photos' words name it ("christmas" for "xmas" or "christmas day": query_dates.holiday_word)
    # the day of every year that finds a holiday's photos now ("25 december"); "" when none does, or the query has it
    date_instead: str
    query_instead: str  # the query typed with that day for the holiday's words ("" likewise)
    country: str = ""  # the family's default country (not_kept)
    # the family's other words of the same reason, as typed, in the query's order (no_dated_photos: notes_merged)
    also_said: tuple[str, ...] = ()

    @property
    def reason(self) -> str:
        if self.why == "no_calendar":
            return (f"Holidays are found by each photo's country, and no country's calendar of public holidays has "
                    f"“{self.said}”, so “{self.said}” finds no photo by its date.")
        family = text_isolated(self.family_name)
        if self.why == "no_country":
            return (f"Holidays are found by each photo's country: the family “{family}” has no country set, nor places "
                    f"on its photos, so “{self.said}” finds none by its date.")
        if self.why == "not_kept":
            return (f"Holidays are found by each photo's country: no photo of the family “{family}” has a place, and "
                    f"the calendar of its country ({country_name(self.country)}) has no “{self.said}”, so "
                    f"“{self.said}” finds none by its date.")
        return (f"Seasons and holidays are found by the day each photo was taken, and no photo of the family “{family}” "
                f"tells it (their dates are guesses, or a folder's month or year), so {self._words_find} none by "
                f"{'their' if self.also_said else 'its'} date.")

    @property
    def _words_find(self) -> str:
        """“summer” finds; “summer”, “winter” and “xmas” find."""
        quoted = [f"“{said}”" for said in (self.said, *self.also_said)]
        if len(quoted) == 1:
            return f"{quoted[0]} finds"
        return f"{', '.join(quoted[:-1])} and {quoted[-1]} find"

    @property
    def settings_url(self) -> str:
        """The family page's country setting, for an admin ("" for a member: the page shows them no such form)."""
        if self.why != "no_country" or not self.admin:
            return ""
        return f"{reverse('gallery:family_detail', args=[self.family_id])}#country"

    def parts(self, instead_url: str = "") -> list[tuple[str, str]]:
        """The note as (words, the address they link to or "") in order: the page links the family's setting and
        `instead_url`, the search of the day instead; the API's `note` is their words (text)."""
        if self.why == "no_dated_photos":
            return [(f"{self.reason} A photo's page sets the day it was taken.", "")]
        if self.why in ("not_kept", "no_calendar"):
            instead = [(" Search ", ""), (f"“{self.date_instead}”", instead_url), (" instead.", "")]
            return [(self.reason, ""), *(instead if self.date_instead else [])]
        way = "Set the family's country" if self.admin else "Ask a family admin to set its country"
        instead = [(", or search ", ""), (f"“{self.date_instead}”", instead_url)] if self.date_instead else []
        return [(f"{self.reason} ", ""), (way, self.settings_url), *instead, (".", "")]

    @property
    def text(self) -> str:
        return "".join(words for words, _ in self.parts())

    def as_data(self) -> dict:
        family_name = self.family_name if self.family_id is not None else None  # (no_calendar: of no family)
        return {"family": self.family_id, "family_name": family_name, "why": self.why, "word": self.word,
                "date_instead": self.date_instead or None, "family_settings": self.settings_url or None,
                "note": self.text}


def date_words_searched(parsed: ParsedQuery) -> list[DateWord]:
    """The holidays and seasons the query searches as words, in order (no query)."""
    covered = {i for chip in parsed.chips for i in range(chip.start, chip.end)}
    norms = tuple(normalise(token) for token in parsed.tokens)
    found = [DateWord(start, end, holiday, True) for start, end, holiday in holidays_in(norms, covered)]
    found += [DateWord(i, i + 1, "autumn" if norm == "fall" else norm, False) for i, norm in enumerate(norms)
              if norm in SEASONS and i not in covered]
    return sorted(found, key=lambda word: word.start)


def date_word_notes(*, user_id: int, family_ids: list[int], unplaced: dict[int, str], parsed: ParsedQuery,
                    photo_dates: Callable[[], tuple[frozenset[int], frozenset[int]]]) -> tuple[DateWordNote, ...]:
    """For each holiday or season the query searches as a word, in order (a word searched twice, once), a note for each
    of these families of the user whose photos' words can't name it (for a holiday no country's calendar names, one
    note of no family, when any of them has photos: no family's setup is the reason). `unplaced`: those with no placed
    photo → their default country ("" for none); `photo_dates()`: which of them have photos, and which of those none
    that tells its day (family_photo_dates, remembered by the caller). No query without such a word; then, besides
    photo_dates, one for the families' names when some family is to be told of."""
    named = date_words_searched(parsed)
    if not named or not family_ids:
        return ()
    with_photos, undated = photo_dates()
    reasons = [(word, _reasons(word, with_photos=with_photos, undated=undated, unplaced=unplaced))
               for word in _each_once(named)]
    told = sorted({family_id for _, why in reasons for family_id in why if family_id is not None})
    families = _families(user_id=user_id, family_ids=told) if told else []
    said = []
    for word, why in reasons:
        if None in why:
            said.append(_note(parsed, word, None, "", "", why[None]))
            continue
        said += [_note(parsed, word, family_id, name, role, why[family_id],
                       country=unplaced.get(family_id, "") if why[family_id] == "not_kept" else "")
                 for family_id, name, role in families if family_id in why]
    return tuple(said)


def notes_merged(notes: tuple[DateWordNote, ...]) -> tuple[DateWordNote, ...]:
    """The notes as the pages and reports say them: a family's no_dated_photos notes (one reason, whatever the word)
    as one, naming each word, where its first was; the others as they are. (The API keeps a note a word.)"""
    merged: list[DateWordNote] = []
    first: dict[int | None, int] = {}  # a family's merged note, by its place in `merged`
    for note in notes:
        if note.why != "no_dated_photos":
            merged.append(note)
        elif note.family_id in first:
            at = first[note.family_id]
            merged[at] = replace(merged[at], also_said=(*merged[at].also_said, note.said))
        else:
            first[note.family_id] = len(merged)
            merged.append(note)
    return tuple(merged)


def _each_once(named: list[DateWord]) -> list[DateWord]:
    """The words, each as the photos' words name it once ("xmas christmas": Christmas), in order."""
    seen: set[tuple[bool, str]] = set()
    once = []
    for word in named:
        key = (word.holiday, holiday_word(word.word) if word.holiday else word.word)
        if key not in seen:
            seen.add(key)
            once.append(word)
    return once


def _reasons(word: DateWord, *, with_photos: frozenset[int], undated: frozenset[int],
             unplaced: dict[int, str]) -> dict[int | None, Why]:
    """Why no photo of each family (None: of any) is found by this word's date; none where some can be."""
    if word.holiday and in_no_calendar(word.word):
        # (neither a country nor a photo's day names Halloween: no family's setup is the reason)
        return {None: "no_calendar"} if with_photos else {}
    why: dict[int | None, Why] = dict.fromkeys(undated, "no_dated_photos")
    if word.holiday:
        why |= {family_id: "not_kept" if country else "no_country" for family_id, country in unplaced.items()
                if family_id in with_photos and family_id not in undated
                and not (country and country_keeps(country, word.word))}
    return why


def _note(parsed: ParsedQuery, word: DateWord, family_id: int | None, name: str, role: str, why: Why,
          country: str = "") -> DateWordNote:
    tokens = parsed.tokens
    day = usual_day_of_year(word.word) if why != "no_dated_photos" else None
    # (not a day the query searches already: "christmas 25 december" was offered "25 december 25 december")
    instead = phrase_for_day(*day) if day and day not in parsed.days_of_year else ""
    return DateWordNote(
        family_id=family_id, family_name=name, admin=role == Membership.Role.ADMIN, why=why,
        said=" ".join(token.strip(EDGE_PUNCT) for token in tokens[word.start:word.end]),
        word=holiday_word(word.word) if word.holiday else word.word,
        date_instead=instead,
        query_instead=" ".join([*tokens[:word.start], instead, *tokens[word.end:]]) if instead else "",
        country=country)


def _families(*, user_id: int, family_ids: list[int]) -> list[tuple[int, str, str]]:
    """(id, name, the user's role) of these families of the user, by name."""
    return list(Membership.objects.filter(user_id=user_id, family_id__in=family_ids)
                .order_by("family__name", "family_id").values_list("family_id", "family__name", "role"))


# Dates that tell no day a photo was taken: its words name no season nor holiday (search.metadata._when_where). The
# index photo_family_day_told holds the others.
_GUESSES = (*Photo.GUESSED_DATES, *Photo.DAYLESS_DATES)


def family_photo_dates(*, family_ids: list[int]) -> tuple[frozenset[int], frozenset[int]]:
    """(these families that have live photos, those of them none of whose photos tells the day it was taken). One
    query of two index entries a family at most (photo_live_family, photo_family_day_told: 0.1 ms for a family of
    100,000 scans, 220 ms when it read them all; bench/photo_dates.py), remembered per family by its photos' version
    all the same (search.understanding._photo_dates)."""
    photos = Photo.objects.filter(family_id=OuterRef("pk"))
    rows = (Family.objects.filter(pk__in=family_ids).filter(Exists(photos))
            .annotate(dated=Exists(photos.exclude(taken_at_source__in=_GUESSES))).values_list("pk", "dated"))
    rows = list(rows)
    return frozenset(pk for pk, _ in rows), frozenset(pk for pk, dated in rows if not dated)
