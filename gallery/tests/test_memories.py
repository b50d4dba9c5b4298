"""On this day: earlier years' photos of today's date, on the timeline and through the API; each photo's own local
day, the timeline's filters, 29 February, and nothing of another family."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from gallery.memories import MEMORY_PHOTOS, memories
from gallery.models import Favourite, Photo
from gallery.services import photo_update
from gallery.correction_services import taken_days_refresh
from gallery.timeline import TimelineFilters
from gallery.trash_services import photos_trash
from tests.factories import api_token_key, photo_factory

pytestmark = pytest.mark.django_db


def taken(photo: Photo, day: date, hour: int = 10, zone: str = "UTC") -> Photo:
    when = datetime.combine(day, time(hour), tzinfo=ZoneInfo(zone))
    Photo.objects.filter(pk=photo.pk).update(taken_at=when, taken_tz=zone)
    taken_days_refresh([photo.pk])
    photo.refresh_from_db()
    return photo


def shot(family, user, day: date, **kwargs) -> Photo:
    return taken(photo_factory(family=family, user=user), day, **kwargs)


TODAY = date(2026, 12, 5)


def test_earlier_years_of_the_day_newest_first_each_with_its_first_photos(family, alice, other_family, mallory):
    late = [shot(family, alice, date(2023, 12, 5), hour=h) for h in (18, 9, 12, 15, 20, 7)]
    one = shot(family, alice, date(2016, 12, 5))
    shot(family, alice, TODAY)  # today itself is not a memory
    shot(family, alice, date(2023, 12, 4))
    shot(family, alice, date(2022, 5, 12))  # 12/5 the other way round
    binned = shot(family, alice, date(2020, 12, 5))
    photos_trash(user=alice, photo_ids=[binned.pk])
    shot(other_family, mallory, date(2024, 12, 5))
    found = memories(user=alice, filters=TimelineFilters(), today=TODAY)
    assert [(m.day, m.years_ago, m.count) for m in found] == [(date(2023, 12, 5), 3, 6), (date(2016, 12, 5), 10, 1)]
    by_time = sorted(late, key=lambda p: p.taken_at)
    assert [p.pk for p in found[0].photos] == [p.pk for p in by_time[:MEMORY_PHOTOS]]
    assert found[0].cover.pk == by_time[0].pk and found[1].photos == [one]
    assert found[0].newest_id == by_time[-1].pk and found[1].newest_id == one.pk  # the timeline's first of the day


def test_a_photo_counts_on_its_own_local_day(family, alice):
    # 23:30 on 5 December in Los Angeles is already the 6th in UTC: it is a memory of the 5th, where it was taken.
    there = shot(family, alice, date(2021, 12, 5), hour=23, zone="America/Los_Angeles")
    assert there.taken_at.astimezone(ZoneInfo("UTC")).date() == date(2021, 12, 6)
    assert [m.photos for m in memories(user=alice, filters=TimelineFilters(), today=TODAY)] == [[there]]
    assert memories(user=alice, filters=TimelineFilters(), today=date(2026, 12, 6)) == []


def test_29_february_shows_on_28_february_of_a_common_year(family, alice):
    leap = shot(family, alice, date(2024, 2, 29))
    eve = shot(family, alice, date(2024, 2, 28))
    assert [m.photos for m in memories(user=alice, filters=TimelineFilters(), today=date(2027, 2, 28))] == [[leap], [eve]]
    assert [m.photos for m in memories(user=alice, filters=TimelineFilters(), today=date(2028, 2, 28))] == [[eve]]
    assert [m.photos for m in memories(user=alice, filters=TimelineFilters(), today=date(2028, 2, 29))] == [[leap]]


def test_the_timelines_filters_apply(family, alice, other_family):
    from gallery.models import Membership

    Membership.objects.create(family=other_family, user=alice)
    ours = shot(family, alice, date(2024, 12, 5))
    theirs = shot(other_family, alice, date(2022, 12, 5))
    Favourite.objects.create(user=alice, photo=theirs)
    everything = memories(user=alice, filters=TimelineFilters(), today=TODAY)
    assert [m.photos for m in everything] == [[ours], [theirs]]
    assert [m.photos for m in memories(user=alice, filters=TimelineFilters(family_id=family.pk), today=TODAY)] == [[ours]]
    assert [m.photos for m in memories(user=alice, filters=TimelineFilters(favourite=True), today=TODAY)] == [[theirs]]


def test_one_query_whatever_the_years(family, alice):
    # (What the index photo_family_month_day saves is measured by bench/timeline_pages.py: on a test's few rows the
    # planner may rightly prefer another.)
    for year in range(2010, 2026):
        shot(family, alice, date(year, 12, 5))
    with CaptureQueriesContext(connection) as queries:
        found = memories(user=alice, filters=TimelineFilters(), today=TODAY)
    assert len(found) == 16 and len(queries) == 1


def _years_back(today: date, years: int) -> date:
    return today.replace(year=today.year - years)  # multiples of 4: 29 February too


def test_the_timeline_shows_the_row_at_its_top_only(client_for, family, alice, bob, mallory, other_family):
    today = timezone.localdate()
    old = shot(family, bob, _years_back(today, 4))
    photo_update(photo=old, tags=["beach"])  # a tag's and a place's timelines hold it, yet show no memories
    Photo.objects.filter(pk=old.pk).update(place_country_code="PT", place_country="Portugal")
    shot(family, bob, _years_back(today, 8))
    shot(other_family, mallory, _years_back(today, 12))
    body = client_for(alice).get(reverse("gallery:timeline")).content.decode()
    assert "On this day" in body and "4 years ago" in body and "8 years ago" in body and "12 years ago" not in body
    assert f'href="?near={old.pk}#day-{old.taken_day:%Y-%m-%d}"' in body
    assert f'href="?family={family.pk}&amp;near={old.pk}#day-{old.taken_day:%Y-%m-%d}"' in (
        client_for(alice).get(reverse("gallery:timeline") + f"?family={family.pk}").content.decode())
    for further in (f"?month={today:%Y-%m}", f"?near={old.pk}", "?tag=beach", "?country=PT"):
        assert "On this day" not in client_for(alice).get(reverse("gallery:timeline") + further).content.decode()
    theirs = client_for(mallory).get(reverse("gallery:timeline")).content.decode()
    assert "12 years ago" in theirs and "4 years ago" not in theirs and f"near={old.pk}" not in theirs


def test_the_api_answers_the_same_with_whole_photos(family, alice, other_family, mallory):
    first = shot(family, alice, date(2023, 12, 5), hour=8)
    shot(family, alice, date(2023, 12, 5), hour=9)
    shot(other_family, mallory, date(2023, 12, 5))
    api = Client(HTTP_AUTHORIZATION=f"Token {api_token_key(alice)}")
    answer = api.get(reverse("api_memories"), {"date": "2026-12-05"}).json()
    assert answer["date"] == "2026-12-05"
    [memory] = answer["memories"]
    assert (memory["day"], memory["years_ago"], memory["count"]) == ("2023-12-05", 3, 2)
    assert memory["photos"][0]["id"] == first.pk and "tags" in memory["photos"][0]
    assert api.get(reverse("api_memories"), {"date": "2026-12-06"}).json()["memories"] == []
    assert api.get(reverse("api_memories"), {"family": other_family.pk}).status_code == 404
    bad = api.get(reverse("api_memories"), {"date": "5 December"})
    assert bad.status_code == 400 and "date" in bad.json()
    assert re.search(r"\d{4}-\d{2}-\d{2}", api.get(reverse("api_memories")).json()["date"])
