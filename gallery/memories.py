"""On this day: the photos taken on today's date in earlier years, a row at the top of the timeline (and
GET /api/v1/memories/), one card per year, newest first.

A photo counts on its own local day (Photo.taken_day: where it was taken), as everywhere in the gallery; "today"
is the site's (TIME_ZONE). In a year without 29 February, 28 February also shows the photos of 29 February. The
timeline's filters apply (a family, a tag, your favourites), so "Favourites only" shows favourite memories.
One query, served by the photo_family_month_day index: only those days' rows are read, and only the first
MEMORY_PHOTOS of each day come back (the rest are counted)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, F, Q, Window
from django.db.models.functions import ExtractDay, ExtractMonth, FirstValue, RowNumber

from gallery.models import Photo
from gallery.timeline import TimelineFilters, timeline_photos

MEMORY_PHOTOS = 4  # photos each card shows (its cover first)
MEMORY_YEARS = 20  # cards at most: the twenty latest years that have photos on the day


@dataclass(frozen=True)
class Memory:
    """One earlier year's photos of the day: the day itself, how many years ago, how many photos, the first few, and
    the day's newest photo (the first the timeline shows of it: where its link starts the timeline)."""

    day: date
    years_ago: int
    count: int
    photos: list[Photo]
    newest_id: int

    @property
    def cover(self) -> Photo:
        return self.photos[0]


def same_day(today: date) -> Q:
    """Photos taken on today's month and day (and on 29 February when today is 28 February of a common year)."""
    q = Q(month=today.month, day=today.day)
    if (today.month, today.day) == (2, 28) and not calendar.isleap(today.year):
        q |= Q(month=2, day=29)
    return q


def memories(*, user: AbstractBaseUser, filters: TimelineFilters, today: date) -> list[Memory]:
    """The photos of the timeline (`filters`) taken on today's date in earlier years, a Memory per day, newest first;
    in each, the day's first photos by time taken."""
    rows = list(
        timeline_photos(user=user, filters=filters)
        .annotate(month=ExtractMonth("taken_day"), day=ExtractDay("taken_day"))
        .filter(same_day(today), taken_day__lt=date(today.year, 1, 1))
        .exclude(taken_at_source__in=Photo.DAYLESS_DATES)  # (the 1st stands for a month or a year: no day to recall)
        .annotate(n=Window(RowNumber(), partition_by=F("taken_day"), order_by=(F("taken_at").asc(), F("id").asc())),
                  day_count=Window(Count("id"), partition_by=F("taken_day")),
                  newest_id=Window(FirstValue("id"), partition_by=F("taken_day"),
                                   order_by=(F("taken_at").desc(), F("id").desc())))
        .filter(n__lte=MEMORY_PHOTOS)
        .order_by("-taken_day", "n")
    )
    found: dict[date, Memory] = {}
    for photo in rows:
        day = photo.taken_day
        if day not in found:
            if len(found) == MEMORY_YEARS:
                break
            found[day] = Memory(day=day, years_ago=today.year - day.year, count=photo.day_count, photos=[],
                                newest_id=photo.newest_id)
        found[day].photos.append(photo)
    return list(found.values())
