"""Whether a family's photos tell the day they were taken (search.query_notes.family_photo_dates: the search page's
note under "summer" or "christmas" in a family of scans), for families of PHOTOS photos each, on a throwaway database:
one whose photos are all dated by their upload (none tells its day: the worst case, read whole without an index), one
of camera dates, and one of upload dates but its newest photo.

    .venv/bin/python bench/photo_dates.py [--photos 100000] [--repeats 20]

Prints the median ms per family, with the partial index photo_family_day_told and without it (dropped in a
transaction that is rolled back), and the plan of the worst case. A search remembers the answer per family and photos
version (search.understanding._photo_dates), so this is what the first season or holiday searched after each upload
or edit of a family's photos costs.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
from bench.common import log, median_ms, setup_django, throwaway_database  # noqa: E402

INDEX = "photo_family_day_told"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    setup_django()
    with throwaway_database("bench_photo_dates"):
        run(args)


def _families(n: int) -> dict[str, int]:
    from django.contrib.auth import get_user_model
    from django.db import connection

    from gallery.models import Family, Photo

    user = get_user_model().objects.create(username="bench")
    start = datetime(2024, 12, 31, 20, tzinfo=dt_timezone.utc)
    families = {}
    for name, source in (("upload dates", "upload"), ("camera dates", "exif"), ("upload dates, newest exif", "upload")):
        family = Family.objects.create(name=name)
        families[name] = family.pk
        for first in range(0, n, 5000):
            Photo.objects.bulk_create([Photo(
                family=family, uploaded_by=user, original=f"o/{family.pk}/{i}.jpg", thumbnail=f"t/{i}.jpg",
                original_filename=f"IMG_{i}.jpg", mime_type="image/jpeg", file_size=1, width=1, height=1,
                taken_at=start - timedelta(minutes=37 * i), sha256=f"{i:064x}",
                taken_at_source="exif" if name.endswith("exif") and i == n - 1 else source)
                for i in range(first, min(first + 5000, n))])
        log(f"{name}: {n:,} photos")
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {Photo._meta.db_table}")
    return families



def _without_index(call):
    """`call` as it ran before the index existed: dropped in a transaction that is rolled back."""
    from django.db import connection, transaction

    def run():
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f'DROP INDEX IF EXISTS "{INDEX}"')
            try:
                return call()
            finally:
                transaction.set_rollback(True)
    return run


def _plan(family_id: int) -> str:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from search.query_notes import family_photo_dates

    with CaptureQueriesContext(connection) as captured:
        family_photo_dates(family_ids=[family_id])
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + captured.captured_queries[-1]["sql"])
        return "\n".join(row[0] for row in cursor.fetchall())


def run(args) -> None:
    from django.db import connection

    from search.query_notes import family_photo_dates

    families = _families(args.photos)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_indexes WHERE indexname = %s", [INDEX])
        indexed = cursor.fetchone() is not None
    print(f"{args.photos:,} photos a family; index {INDEX}: {'present' if indexed else 'absent'}")
    for name, family_id in families.items():
        def call(family_id=family_id):
            return family_photo_dates(family_ids=[family_id])
        with_index = median_ms(call, args.repeats)
        without = median_ms(_without_index(call), args.repeats)
        told = "none tells its day" if call()[1] else "some tell their day"
        print(f"{name:28} ({told:19}): with the index {with_index:8.2f} ms, without {without:8.2f} ms")
    print(f"plan, {list(families)[0]}:")
    print(_plan(families["upload dates"]))


if __name__ == "__main__":
    main()
