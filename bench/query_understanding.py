"""What understanding the query box costs per search: the pure parse, and the whole step before the engine
(`search.understanding.understand_search`: the family's places, concepts and defaults, the parse, the merge),
for a family that took photos in PLACES places and has TAGS tags, on a throwaway database.

    .venv/bin/python bench/query_understanding.py [--places 2000] [--tags 5000] [--rounds 300]

Prints p50/p95 in ms; search-as-you-type runs this once per pause in typing, beside `search_photos`.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
from bench.common import percentile_ms, setup_django, throwaway_database  # noqa: E402

QUERIES = ("red circle in Lisbon 2023", "kids on the beach last summer -dog", "christmas 2019 at grandma's",
           "town 17 between 2019 and 2021", "jersey", "a very long query " * 12)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--places", type=int, default=2000)
    parser.add_argument("--tags", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()
    setup_django()
    with throwaway_database("bench_query"):
        run(args)


def run(args) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection

    from gallery.models import Family, Membership, Tag
    from search.engine import SearchParams
    from search.models import FamilyPlace
    from search.query_parser import ParserContext, parse_query
    from search.understanding import parser_context, understand_search

    family = Family.objects.create(name="Bench", default_country="PT")
    user = get_user_model().objects.create_user("bench", password="x")
    Membership.objects.create(family=family, user=user)
    FamilyPlace.objects.bulk_create(
        [FamilyPlace(family=family, city=f"Town {n}", region=f"Region {n % 50}", country="Portugal",
                     country_code="PT") for n in range(args.places)]
        + [FamilyPlace(family=family, city="Lisbon", region="Lisbon", country="Portugal", country_code="PT")])
    Tag.objects.bulk_create([Tag(family=family, name=f"tag {n}") for n in range(args.tags)])

    context = parser_context(family_ids=[family.pk], query=" ".join(QUERIES))
    pure, whole = [], []
    for _ in range(args.rounds):
        for query in QUERIES:
            start = time.perf_counter()
            parse_query(query, ParserContext(today=context.today, places=context.places, concepts=context.concepts,
                                             holiday_country="PT"))
            pure.append(time.perf_counter() - start)
            start = time.perf_counter()
            understand_search(user=user, params=SearchParams(query=query))
            whole.append(time.perf_counter() - start)
    trip = []
    with connection.cursor() as cursor:
        for _ in range(args.rounds):
            start = time.perf_counter()
            cursor.execute("SELECT 1")
            cursor.fetchone()
            trip.append(time.perf_counter() - start)
    print(f"{args.places} family places, {args.tags} tags, {len(pure)} parses")
    print(f"parse_query alone:      p50 {percentile_ms(pure, 50):.3f} ms  p95 {percentile_ms(pure, 95):.3f} ms")
    print(f"understand_search:      p50 {percentile_ms(whole, 50):.3f} ms  p95 {percentile_ms(whole, 95):.3f} ms")
    print(f"one round trip (SELECT 1): p50 {percentile_ms(trip, 50):.3f} ms  (understanding makes 1 to 3)")


if __name__ == "__main__":
    main()
