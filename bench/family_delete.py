"""Deleting a big family: how long its only member's "Delete this family" request takes, and then the worker.

Run from the repository root:

    .venv/bin/python bench/family_delete.py [--photos 20000]

The family is bench/page_times.py's (synthetic photos with tags, embeddings, search documents, albums, duplicates,
judgments, suggestions, favourites and a trash), in a throwaway database on the same PostgreSQL server. Its admin
is made its only member and posts the family page's form through Django's test Client; the time of that request is
printed, with the longest any photo row stayed locked by it. Then, when the family is still there (deleted in the
background), the worker's task is run here, in this process, and timed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import log, setup_django, throwaway_database  # noqa: E402

setup_django()

from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=20_000)
    args = parser.parse_args()
    from bench.page_times import build
    from gallery.models import Family, Membership, Photo

    with throwaway_database("bench_family_delete"):
        build(args.photos)
        family = Family.objects.get(name="Big family")
        Membership.objects.filter(family=family).exclude(user__username="bench").delete()
        photos = Photo.all_objects.filter(family=family).count()
        client = Client(HTTP_HOST="localhost")
        client.force_login(family.memberships.get().user)
        log(f"deleting the family of {photos:,} photos from its page")
        start = time.perf_counter()
        response = client.post(reverse("gallery:family_delete", args=[family.pk]), {"name": family.name})
        request = time.perf_counter() - start
        assert response.status_code == 302, response.status_code
        log(f"the request took {request:.2f} s (answer {response.status_code})")
        if Family.objects.filter(pk=family.pk).exists():  # deleted in the background
            from gallery.tasks import family_delete_task

            start = time.perf_counter()
            rounds = 0
            while family_delete_task(family.pk, requeue=False):
                rounds += 1
            log(f"the worker's task took {time.perf_counter() - start:.2f} s ({rounds + 1} run(s))")
        left = Photo.all_objects.filter(family_id=family.pk).count()
        log(f"photos left: {left}; the family {'is' if Family.objects.filter(pk=family.pk).exists() else 'is not'} "
            f"there")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
