"""The timeline: a user's photos newest first by date taken, under month and day headings, read in keyset pages.

A page starts from a position, never an OFFSET: the top, after a cursor (the last photo shown: its day, taken_at and
id, "load more"), before one ("newer photos"), the start of a month (the jump) or around a photo (back from the
viewer). Each is one range on the (taken_day, taken_at, id) order that the family days index serves, so a page deep
in a large library costs what the first one does, and photos arriving meanwhile never shift or repeat tiles.

Days are each photo's local day: the day in the zone it was taken in (Photo.taken_day, from Photo.taken_tz; the
site's TIME_ZONE when unknown), and the order is by that day first, then the instant: 00:30 on New Year's Day in
Sydney is under 1 January even though 23:30 on New Year's Eve in Los Angeles came later, and the month list and the
jump to a month count the same days. A cursor carries the day it ended on, so the next page continues that day
under the heading already shown (infinite scroll), or names it again, "continued", when the page is a new one (the
plain link without JavaScript).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from urllib.parse import urlencode

from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.db.models import Count, F, OuterRef, QuerySet
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan
from django.db.models.functions import TruncMonth
from django.urls import reverse
from django.utils import timezone

from gallery.models import Family, Photo
from gallery.places import country_name
from gallery.photo_lists import ListContext, Neighbours, PhotoListKind
from gallery.selectors import family_list, photo_list, rows_count

# Back from the viewer, the list is drawn from the top when the photo is within this many pages of it (as the
# person left it after scrolling); further down it starts at the photo, with a link to the newer ones.
NEAR_PAGES = 10
# What a tile shows (its link, picture and name): the page loads nothing else of a photo.
TILE_FIELDS = ("id", "family_id", "title", "original_filename", "taken_at", "taken_tz", "taken_day", "rotation")
_EPOCH = datetime(1970, 1, 1, tzinfo=dt_timezone.utc)
# The timeline's order: by the local day taken (each photo under its own day's heading, whatever zones interleave at
# midnight), then the instant, then the id; the index photo_family_days serves it.
ORDER = ("-taken_day", "-taken_at", "-id")
OLDEST_FIRST = ("taken_day", "taken_at", "id")
_ORDER_COLUMNS = Tuple(F("taken_day"), F("taken_at"), F("id"))
_CURSOR = re.compile(r"^(-?\d{1,17})_(\d{1,18})_(\d{8})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class TimelineFilters:
    family_id: int | None = None
    tag: str | None = None
    favourite: bool = False  # the user's favourites only
    city: str | None = None  # taken in this city (its name as stored, any case: the Explore page's links)
    country: str | None = None  # taken in this country (ISO code)

    @classmethod
    def from_cleaned(cls, cleaned: dict) -> TimelineFilters:
        """From TimelineFilterForm.filters()."""
        return cls(family_id=cleaned["family"], tag=cleaned["tag"], favourite=bool(cleaned["favourite"]),
                   city=cleaned["city"], country=cleaned["country"])

    @property
    def place(self) -> str:
        """Where the photos shown were taken, as a heading says it ("Lisbon, Portugal"); "" for anywhere."""
        return ", ".join(part for part in (self.city, country_name(self.country or "") or self.country) if part)


@dataclass(frozen=True)
class Cursor:
    """A photo's place in the timeline order, and the local day it is in (the heading a following page continues).

    In URLs: "<taken_at in µs since 1970>_<photo id>_<YYYYMMDD>"."""

    taken_at: datetime
    photo_id: int
    day: date

    @classmethod
    def of(cls, entry: TimelineEntry) -> Cursor:
        return cls(entry.photo.taken_at, entry.photo.pk, entry.day)

    def encode(self) -> str:
        micros = (self.taken_at - _EPOCH) // timedelta(microseconds=1)
        return f"{micros}_{self.photo_id}_{self.day:%Y%m%d}"

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """The cursor in `text`; ValueError when it is not one."""
        match = _CURSOR.match(text or "")
        if match is None:
            raise ValueError("not a timeline position")
        micros, photo_id, day = match.groups()
        try:
            taken_at = _EPOCH + timedelta(microseconds=int(micros))
            return cls(taken_at, int(photo_id), datetime.strptime(day, "%Y%m%d").date())
        except (OverflowError, ValueError) as exc:
            raise ValueError("not a timeline position") from exc

    @property
    def key(self) -> tuple[date, datetime, int]:
        return self.day, self.taken_at, self.photo_id


def parse_month(text: str) -> date:
    """"2023-05" → 1 May 2023; ValueError for anything else."""
    match = _MONTH.match(text or "")
    if match is None:
        raise ValueError("not a month")
    return date(int(match.group(1)), int(match.group(2)), 1)


@dataclass(frozen=True)
class Start:
    """Where a page starts. At most one of the positions is set; none: the top."""

    after: Cursor | None = None  # the page continues after this photo (exclusive)
    before: Cursor | None = None  # the page is the one just above this photo (newer photos)
    month: date | None = None  # the page starts at the newest photo of this month or older
    near: int | None = None  # the page shows this photo, drawn from the top when it is not too far down


@dataclass
class TimelineEntry:
    photo: Photo
    day: date  # the day whose heading it is under (its own local day, but for zones interleaving at midnight)
    month_heading: bool  # a month section starts here
    day_heading: bool  # a day starts here (or is named again at the top of a new page)
    continued: bool = False  # the day started on the previous page


@dataclass
class TimelinePage:
    entries: list[TimelineEntry] = field(default_factory=list)
    next_cursor: Cursor | None = None  # older photos follow ("load more")
    newer_cursor: Cursor | None = None  # the page does not start at the top: the first photo's cursor

    @property
    def photos(self) -> list[Photo]:
        return [entry.photo for entry in self.entries]


def local_day(photo: Photo) -> date:
    """The day it was taken on where it was taken."""
    return photo.taken_day or photo.taken_at_local.date()


def timeline_photos(*, user: AbstractBaseUser, filters: TimelineFilters) -> QuerySet[Photo]:
    """The photos of the timeline (the user's families, the filters), newest first, with only what tiles show (and
    `is_favourite`, the tile's heart)."""
    photos = photo_list(user=user, family_id=filters.family_id, tag=filters.tag, favourite=filters.favourite,
                        city=filters.city, country=filters.country)
    return photos.select_related(None).prefetch_related(None).only(*TILE_FIELDS).order_by(*ORDER)


def older_than(key: tuple[date, datetime, int]) -> TupleLessThan:
    """After `key` in the newest-first order: one row comparison, (taken_day, taken_at, id) < key, which the index
    serves as a range (an OR of per-column conditions it could not)."""
    return TupleLessThan(_ORDER_COLUMNS, tuple(key))


def newer_than(key: tuple[date, datetime, int]) -> TupleGreaterThan:
    return TupleGreaterThan(_ORDER_COLUMNS, tuple(key))


def timeline_page(*, user: AbstractBaseUser, filters: TimelineFilters, start: Start, size: int,
                  continuing: bool = False) -> TimelinePage:
    """One page of the timeline from `start`. `continuing`: the page is appended under the previous one (infinite
    scroll), so a day or month that goes on from there gets no heading again."""
    photos = timeline_photos(user=user, filters=filters)
    rows, has_more = _rows(photos, start, size)
    previous_day = start.after.day if start.after else None
    page = TimelinePage(entries=_entries(rows, previous_day=previous_day, continuing=continuing))
    if has_more:
        page.next_cursor = Cursor.of(page.entries[-1])
    if rows and _starts_below_top(photos, start, rows[0]):
        page.newer_cursor = Cursor.of(page.entries[0])
    return page


def _rows(photos: QuerySet[Photo], start: Start, size: int) -> tuple[list[Photo], bool]:
    """The page's photos, newest first, and whether older ones follow (one query: a row past the page says so)."""
    if start.before:
        above = list(photos.filter(newer_than(start.before.key)).order_by(*OLDEST_FIRST)[:size])
        if len(above) == size:
            return above[::-1], True
        start = Start()  # less than a page above: that is the top
    if start.near is not None:
        start, size = _near(photos, start.near, size)
    if start.after:
        photos = photos.filter(older_than(start.after.key))
    elif start.month and start.month < date(9999, 12, 1):
        photos = photos.filter(taken_day__lt=_month_after(start.month))
    rows = list(photos[: size + 1])
    return rows[:size], len(rows) > size


def _near(photos: QuerySet[Photo], photo_id: int, size: int) -> tuple[Start, int]:
    """The start and size of a page showing `photo_id`: from the top through the end of its page when it is at
    most NEAR_PAGES pages down (what the person had after scrolling), else from the photo itself.
    A photo that is not in the list (another family's, deleted) changes nothing: the top."""
    key = photos.filter(pk=photo_id).values_list("taken_day", "taken_at", "id").first()
    if key is None:
        return Start(), size
    above = photos.filter(newer_than(key)).order_by()[: NEAR_PAGES * size].count()
    if above < NEAR_PAGES * size:
        return Start(), (above // size + 1) * size
    # Inclusive of the photo: start after the position of a photo id one above it at the same day and instant.
    return Start(after=Cursor(key[1], key[2] + 1, key[0])), size


def _starts_below_top(photos: QuerySet[Photo], start: Start, first: Photo) -> bool:
    if start.after is None and start.before is None and start.month is None and start.near is None:
        return False
    return photos.filter(newer_than((local_day(first), first.taken_at, first.pk))).exists()


def _entries(rows: list[Photo], *, previous_day: date | None, continuing: bool) -> list[TimelineEntry]:
    entries = []
    current = previous_day if continuing else None
    for photo in rows:
        day = local_day(photo)
        if current is not None and day > current:
            day = current  # a later local day after an earlier one (zones at midnight): stays under its heading
        new_day = day != current
        entries.append(TimelineEntry(
            photo=photo, day=day, day_heading=new_day,
            month_heading=current is None or (day.year, day.month) != (current.year, current.month),
            continued=new_day and current is None and day == previous_day,
        ))
        current = day
    return entries


def _month_after(month: date) -> date:
    """The first day after `month`."""
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


@dataclass(frozen=True)
class MonthCount:
    month: date
    count: int

    @property
    def value(self) -> str:
        return f"{self.month:%Y-%m}"


@dataclass
class YearMonths:
    year: int
    months: list[MonthCount]

    @property
    def newest(self) -> MonthCount:
        return self.months[0]


# The month list is one aggregate over every photo in the timeline (~130 ms at 100,000 photos): kept this long per
# user, filters, set of families (leaving a family changes the key) and version of their photos (Family.photos_version,
# moved on by every upload, edit, date shift, trash, restore and favourite), so Esc back and jumps don't pay it again,
# and a change shows at once.
MONTHS_CACHE_SECONDS = 60


def timeline_months(*, user: AbstractBaseUser, filters: TimelineFilters) -> list[YearMonths]:
    """The months that have photos in the timeline, newest first and grouped by year, with their counts (one
    aggregate query, cached briefly): what the jump list offers."""
    versions = sorted(Family.objects.filter(memberships__user=user).values_list("pk", "photos_version"))
    key = "timeline-months:" + hashlib.sha256(repr(
        (user.pk, versions, filters, timezone.get_current_timezone_name())
    ).encode()).hexdigest()
    rows = cache.get(key)
    if rows is None:
        rows = [(month, count) for month, count in _month_counts(user, filters)]
        cache.set(key, rows, MONTHS_CACHE_SECONDS)
    years: list[YearMonths] = []
    for month, count in rows:
        if not years or years[-1].year != month.year:
            years.append(YearMonths(month.year, []))
        years[-1].months.append(MonthCount(month, count))
    return years


def timeline_families(*, user: AbstractBaseUser, filters: TimelineFilters) -> list[Family]:
    """The user's families for the timeline's picker, each with `timeline_count`: how many photos the timeline
    shows for it under the other filters (tag, favourites), counted over the list's own query (a subquery of the
    families' query, so no query more)."""
    shown = timeline_photos(user=user, filters=replace(filters, family_id=None))
    # A correlated count per family (the live photos' index), not a count DISTINCT over a join of every family with
    # every photo (a quarter of a second at 100,000 photos).
    return list(family_list(user=user).annotate(timeline_count=rows_count(shown.filter(family_id=OuterRef("pk")))))


def _month_counts(user: AbstractBaseUser, filters: TimelineFilters) -> list[tuple[date, int]]:
    rows = (timeline_photos(user=user, filters=filters).order_by()
            .annotate(month=TruncMonth("taken_day")).values_list("month").annotate(count=Count("id"))
            .order_by("-month"))
    return [(month, count) for month, count in rows if month is not None]


class TimelineList(PhotoListKind):
    """The timeline as a list the viewer walks: newest first, with the timeline's filters."""

    name = "timeline"
    params = ("family", "tag", "favourite", "city", "country")

    @staticmethod
    def filters(params: dict[str, str]) -> TimelineFilters:
        from gallery.forms import TimelineFilterForm

        return TimelineFilters.from_cleaned(TimelineFilterForm(params).filters())

    @classmethod
    def context(cls, filters: TimelineFilters) -> ListContext:
        """The list context of the timeline with these filters (what its tiles add to photo URLs)."""
        values = {"family": filters.family_id, "tag": filters.tag, "favourite": 1 if filters.favourite else None,
                  "city": filters.city, "country": filters.country}
        return ListContext(cls.name, tuple((name, str(values[name])) for name in cls.params if values[name]))

    def label(self, *, user: AbstractBaseUser, params: dict[str, str]) -> str:
        filters = self.filters(params)
        photos = "your favourite photos" if filters.favourite else "photos"
        if filters.place:
            photos += f" taken in {filters.place}"
        return f"{photos} tagged “{filters.tag}”" if filters.tag else photos

    def neighbours(self, *, user: AbstractBaseUser, photo: Photo, params: dict[str, str]) -> Neighbours:
        filters = self.filters(params)
        photos = timeline_photos(user=user, filters=filters)
        key = (local_day(photo), photo.taken_at, photo.pk)
        newer = photos.filter(newer_than(key)).order_by(*OLDEST_FIRST).values_list("pk", flat=True).first()
        older = photos.filter(older_than(key)).values_list("pk", flat=True).first()
        # A filtered list may have lost the photo since it was opened (untagged, unfavourited in another tab): said,
        # as search results and albums say it; its neighbours are those of where it was. The whole timeline holds
        # every photo the viewer shows (photo_get), so it is not asked.
        in_list = filters == TimelineFilters() or photos.filter(pk=photo.pk).exists()
        return Neighbours(previous_id=newer, next_id=older, in_list=in_list)

    def list_url(self, *, user: AbstractBaseUser, photo: Photo, params: dict[str, str],
                 neighbours: Neighbours) -> str:
        context = self.context(self.filters(params))
        return reverse("gallery:timeline") + "?" + urlencode([*context.params, ("near", photo.pk)])
