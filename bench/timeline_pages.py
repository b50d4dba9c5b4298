"""Timeline pages by keyset against the OFFSET pages they replaced, at the top and deep down, plus the month list,
the viewer's neighbours and the "On this day" row (with its index and without it, dropped inside a transaction that
is rolled back), on a throwaway database of N photo rows (two families, the user in both).

    .venv/bin/python bench/timeline_pages.py [--photos 100000] [--repeats 15]

Prints p50 milliseconds per call (the selector's queries, rows built, no template), and the ratio deep/top: keyset
pages should cost the same at any depth, OFFSET pages grow with it; and the ratio of "On this day" without its
index to with it.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
from datetime import datetime, timedelta, timezone as dt_timezone

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
from bench.common import log, median_ms, setup_django, throwaway_database  # noqa: E402

setup_django()



def _load(n: int):
    from django.contrib.auth import get_user_model
    from django.db import connection

    from gallery.models import Family, Membership, Photo

    user = get_user_model().objects.create(username="bench")
    families = [Family.objects.create(name=f"bench {i}") for i in range(2)]
    for family in families:
        Membership.objects.create(family=family, user=user)
    start = datetime(2024, 12, 31, 20, tzinfo=dt_timezone.utc)
    batch = []
    for i in range(n):
        batch.append(Photo(
            family=families[i % 2], uploaded_by=user, original=f"o/{i}.jpg", thumbnail=f"t/{i}.jpg",
            original_filename=f"IMG_{i}.jpg", mime_type="image/jpeg", file_size=1, width=1, height=1,
            taken_at=start - timedelta(minutes=37 * i), taken_at_source="exif", sha256=f"{i:064x}",
            taken_tz="Europe/Lisbon" if i % 3 else "",
        ))
        if len(batch) == 5000:
            Photo.objects.bulk_create(batch)
            batch = []
    Photo.objects.bulk_create(batch)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Photo._meta.db_table}")
    return user


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()

    from django.http import QueryDict

    from datetime import date

    from django.db import connection, transaction

    from gallery.memories import memories
    from gallery.models import Photo
    from gallery.photo_lists import photo_viewer
    from gallery.selectors import photo_list
    from gallery.timeline import (Cursor, Start, TimelineEntry, TimelineFilters, _month_counts, timeline_months,
                                  timeline_page)

    size = 48
    with throwaway_database("bench_timeline"):
        log(f"loading {args.photos} photos")
        user = _load(args.photos)
        deep_photo = photo_list(user=user)[args.photos - 2 * size]
        deep = Cursor.of(TimelineEntry(deep_photo, deep_photo.taken_at_local.date(), False, False))
        filters = TimelineFilters()
        rows = {
            "keyset page, top": lambda: timeline_page(user=user, filters=filters, start=Start(), size=size),
            "keyset page, deep": lambda: timeline_page(user=user, filters=filters, start=Start(after=deep), size=size,
                                                       continuing=True),
            "OFFSET page, top (before)": lambda: list(photo_list(user=user)[:size]),
            "OFFSET page, deep (before)": lambda: list(photo_list(user=user)[args.photos - size - 1:args.photos - 1]),
            "month list, computed": lambda: _month_counts(user, filters),
            "month list, cached (page)": lambda: timeline_months(user=user, filters=filters),
            "viewer neighbours, deep": lambda: photo_viewer(user=user, photo=deep_photo, data=QueryDict()),
            "back near a photo 9 pages down": lambda: timeline_page(
                user=user, filters=filters, start=Start(near=photo_list(user=user)[9 * size].pk), size=size),
        }
        results = {name: median_ms(call, args.repeats) for name, call in rows.items()}
        today = date(2025, 3, 10)  # the photos go back about seven years from the end of 2024
        on_this_day = lambda: memories(user=user, filters=filters, today=today)  # noqa: E731
        results["On this day (index)"] = median_ms(on_this_day, args.repeats)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("DROP INDEX photo_family_month_day")
            results["On this day (no index: before)"] = median_ms(on_this_day, args.repeats)
            transaction.set_rollback(True)
        log(f"On this day: {len(on_this_day())} years, {sum(m.count for m in on_this_day())} photos")
        log(f"{Photo.objects.count()} photos, page size {size}, p50 of {args.repeats}")
        for name, ms in results.items():
            print(f"  {name:34s} {ms:8.2f} ms")
        print(f"  keyset deep/top ratio    {results['keyset page, deep'] / results['keyset page, top']:.2f}")
        print(f"  OFFSET deep/top ratio    {results['OFFSET page, deep (before)'] / results['OFFSET page, top (before)']:.2f}")
        print(f"  On this day, no index/index {results['On this day (no index: before)'] / results['On this day (index)']:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
