"""The timeline: a user's photos newest first by date taken, under month and day headings, read in keyset pages.

A page starts from a position, never an OFFSET: the top, after a cursor (the last photo shown: its taken_at and id,
"load more"), before one ("newer photos"), the end of a month (the jump) or around a photo (back from the viewer).
Each is one range on the (taken_at, id) order that the family timeline index serves, so a page deep in a large
library costs what the first one does, and photos arriving meanwhile never shift or repeat tiles.

Headings come from each photo's local day: the day in the zone it was taken in (Photo.taken_tz; the site's
TIME_ZONE when unknown). The order stays the instant it was taken, so photos from different zones can interleave
around midnight (22:00 in New York comes after 03:00 the next day in Lisbon); a day heading is only ever followed by
an earlier day, and such a photo stays under the heading it falls after, so no heading is shown twice. A cursor
carries the day it ended on, so the next page continues that day under the heading already shown (infinite
scroll), or names it again, "continued", when the page is a new one (the plain link without JavaScript).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from urllib.parse import urlencode

from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.urls import reverse
from django.utils import timezone

from gallery.models import Family, Photo
from gallery.photo_lists import ListContext, Neighbours, PhotoListKind
from gallery.selectors import family_list, photo_list

# Back from the viewer, the list is drawn from the top when the photo is within this many pages of it (as the
# person left it after scrolling); further down it starts at the photo, with a link to the newer ones.
NEAR_PAGES = 10
# What a tile shows (its link, picture and name): the page loads nothing else of a photo.
TILE_FIELDS = ("id", "family_id", "title", "original_filename", "taken_at", "taken_tz", "rotation")
_EPOCH = datetime(1970, 1, 1, tzinfo=dt_timezone.utc)
_CURSOR = re.compile(r"^(-?\d{1,17})_(\d{1,18})_(\d{8})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class TimelineFilters:
    family_id: int | None = None
    tag: str | None = None
    favourite: bool = False  # the user's favourites only


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
    def key(self) -> tuple[datetime, int]:
        return self.taken_at, self.photo_id


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
    return photo.taken_at_local.date()


def timeline_photos(*, user: AbstractBaseUser, filters: TimelineFilters) -> QuerySet[Photo]:
    """The photos of the timeline (the user's families, the filters), newest first, with only what tiles show (and
    `is_favourite`, the tile's heart)."""
    return (photo_list(user=user, family_id=filters.family_id, tag=filters.tag, favourite=filters.favourite)
            .select_related(None).prefetch_related(None).only(*TILE_FIELDS))


def older_than(key: tuple[datetime, int]) -> Q:
    """After `key` in the newest-first order. The plain `taken_at <=` lets the index seek; the rest breaks ties."""
    taken_at, pk = key
    return Q(taken_at__lte=taken_at) & (Q(taken_at__lt=taken_at) | Q(pk__lt=pk))


def newer_than(key: tuple[datetime, int]) -> Q:
    taken_at, pk = key
    return Q(taken_at__gte=taken_at) & (Q(taken_at__gt=taken_at) | Q(pk__gt=pk))


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
        above = list(photos.filter(newer_than(start.before.key)).order_by("taken_at", "id")[:size])
        if len(above) == size:
            return above[::-1], True
        start = Start()  # less than a page above: that is the top
    if start.near is not None:
        start, size = _near(photos, start.near, size)
    if start.after:
        photos = photos.filter(older_than(start.after.key))
    elif start.month and start.month < date(9999, 12, 1):
        photos = photos.filter(taken_at__lt=_month_end(start.month))
    rows = list(photos[: size + 1])
    return rows[:size], len(rows) > size


def _near(photos: QuerySet[Photo], photo_id: int, size: int) -> tuple[Start, int]:
    """The start and size of a page showing `photo_id`: from the top through the end of its page when it is at
    most NEAR_PAGES pages down (what the person had after scrolling), else from the photo itself.
    A photo that is not in the list (another family's, deleted) changes nothing: the top."""
    key = photos.filter(pk=photo_id).values_list("taken_at", "id").first()
    if key is None:
        return Start(), size
    above = photos.filter(newer_than(key)).order_by()[: NEAR_PAGES * size].count()
    if above < NEAR_PAGES * size:
        return Start(), (above // size + 1) * size
    # Inclusive of the photo: start after a position one microsecond newer than it (ties broken by id).
    return Start(after=Cursor(key[0], key[1] + 1, date.min)), size


def _starts_below_top(photos: QuerySet[Photo], start: Start, first: Photo) -> bool:
    if start.after is None and start.before is None and start.month is None and start.near is None:
        return False
    return photos.filter(newer_than((first.taken_at, first.pk))).exists()


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


def _month_end(month: date) -> datetime:
    """The first instant after `month` in the site's time zone."""
    following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return timezone.make_aware(datetime.combine(following, datetime.min.time()))


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
# user, filters and set of families (leaving a family changes the key), so Esc back and jumps don't pay it again.
# A new month shows up in the list at most this late; the photos themselves are always current.
MONTHS_CACHE_SECONDS = 60


def timeline_months(*, user: AbstractBaseUser, filters: TimelineFilters) -> list[YearMonths]:
    """The months that have photos in the timeline, newest first and grouped by year, with their counts (one
    aggregate query, cached briefly): what the jump list offers."""
    family_ids = sorted(Family.objects.filter(memberships__user=user).values_list("pk", flat=True))
    key = "timeline-months:" + hashlib.sha256(repr(
        (user.pk, family_ids, filters.family_id, filters.tag, filters.favourite, timezone.get_current_timezone_name())
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
    from dataclasses import replace

    shown = timeline_photos(user=user, filters=replace(filters, family_id=None)).order_by().values("pk")
    return list(family_list(user=user).annotate(
        timeline_count=Count("photos", distinct=True, filter=Q(photos__in=shown))))


def _month_counts(user: AbstractBaseUser, filters: TimelineFilters) -> list[tuple[date, int]]:
    rows = (timeline_photos(user=user, filters=filters).order_by()
            .annotate(month=TruncMonth("taken_at")).values_list("month").annotate(count=Count("id")).order_by("-month"))
    return [(timezone.localtime(month).date() if timezone.is_aware(month) else month.date(), count)
            for month, count in rows]


class TimelineList(PhotoListKind):
    """The timeline as a list the viewer walks: newest first, with the timeline's filters."""

    name = "timeline"
    params = ("family", "tag", "favourite")

    @staticmethod
    def filters(params: dict[str, str]) -> TimelineFilters:
        from gallery.forms import TimelineFilterForm

        cleaned = TimelineFilterForm(params).filters()
        return TimelineFilters(family_id=cleaned["family"], tag=cleaned["tag"], favourite=bool(cleaned["favourite"]))

    @classmethod
    def context(cls, filters: TimelineFilters) -> ListContext:
        """The list context of the timeline with these filters (what its tiles add to photo URLs)."""
        values = {"family": filters.family_id, "tag": filters.tag, "favourite": 1 if filters.favourite else None}
        return ListContext(cls.name, tuple((name, str(values[name])) for name in cls.params if values[name]))

    def label(self, *, user: AbstractBaseUser, params: dict[str, str]) -> str:
        filters = self.filters(params)
        photos = "your favourite photos" if filters.favourite else "photos"
        return f"{photos} tagged “{filters.tag}”" if filters.tag else photos

    def neighbours(self, *, user: AbstractBaseUser, photo: Photo, params: dict[str, str]) -> Neighbours:
        photos = timeline_photos(user=user, filters=self.filters(params))
        key = (photo.taken_at, photo.pk)
        newer = photos.filter(newer_than(key)).order_by("taken_at", "id").values_list("pk", flat=True).first()
        older = photos.filter(older_than(key)).values_list("pk", flat=True).first()
        return Neighbours(previous_id=newer, next_id=older)

    def list_url(self, *, user: AbstractBaseUser, photo: Photo, params: dict[str, str],
                 neighbours: Neighbours) -> str:
        context = self.context(self.filters(params))
        return reverse("gallery:timeline") + "?" + urlencode([*context.params, ("near", photo.pk)])
