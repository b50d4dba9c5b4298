"""Every page's server time and query count for a big family: 100,000 photos (bench/search_latency.py's Corpus and
load_rows: synthetic rows, tags, 768-d embeddings and search documents, no model run) plus 2,000 tags, places, 500
albums (one of 5,000 photos), near-duplicate groups, judgments, open tag suggestions, favourites and a trash.

Run from the repository root:

    .venv/bin/python bench/page_times.py [--photos 100000] [--repeats 3] [--keep-database]
    .venv/bin/python bench/page_times.py --reuse bench_pages_1234    # a database kept by an earlier run

Each page is fetched through Django's test Client as a signed-in family admin (a superuser, for the admin), once
to warm up and then `--repeats` times: the median server time and the query count of one fetch are printed, and
pages over 300 ms are marked. Where a page was fixed, its old code path (kept below as the baseline, measured in the
same run on the same data) is timed too and the before/after ratio printed.

Everything happens in a throwaway database on the same PostgreSQL server, dropped at the end unless
`--keep-database` (then drop it by hand, or `--reuse` it).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import cpu_snapshot, log, others_cores, setup_django, throwaway_database  # noqa: E402

setup_django()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402

SLOW_MS = 300.0
MODEL = "bench/page-times-model"


# --- the family ------------------------------------------------------------------------------------


def build(n: int) -> None:
    """The family of `n` photos and everything around it (see the module docstring)."""
    from django.contrib.auth import get_user_model

    from bench.search_latency import CONTEXTS, PLACES, SUBJECTS, Corpus, load_rows
    from gallery.models import Family, Membership, Tag

    User = get_user_model()
    user = User.objects.create_superuser(username="bench", password="x")
    other = User.objects.create_user(username="bench-other")
    family = Family.objects.create(name="Big family")
    Membership.objects.create(family=family, user=user, role=Membership.Role.ADMIN)
    Membership.objects.create(family=family, user=other, role=Membership.Role.MEMBER)
    words = sorted(set(SUBJECTS + PLACES + CONTEXTS))
    Tag.objects.bulk_create([Tag(family=family, name=w) for w in words])
    tag_ids = {(0, t.name): t.pk for t in Tag.objects.filter(family=family)}
    log(f"generating {n:,} synthetic photos")
    corpus = Corpus(n, 1, seed=3)
    start = time.perf_counter()
    load_rows(corpus, 0, n, family_ids=[family.pk], uploader_ids=[user.pk], tag_ids=tag_ids, model_name=MODEL)
    log(f"photos, tags, embeddings and documents loaded in {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    with connection.cursor() as cursor:
        for statement in _EXTRAS:
            cursor.execute(statement, {"family": family.pk, "user": user.pk, "other": other.pk, "n": n,
                                       "model": MODEL, "words": words})
        cursor.execute("VACUUM ANALYZE")
    log(f"tags, places, albums, duplicates, judgments, suggestions, favourites, trash in "
        f"{time.perf_counter() - start:.1f} s")


_EXTRAS = [
    # 2,000 more tags, each photo with one or two of them (a Zipf-like spread: a few big tags, many small ones).
    """INSERT INTO gallery_tag (family_id, name)
       SELECT %(family)s, 'tag ' || lpad(i::text, 4, '0') FROM generate_series(1, 2000) i""",
    """INSERT INTO gallery_photo_tags (photo_id, tag_id, source, added_at)
       SELECT p.id, t.id, 'member', now() FROM gallery_photo p
       JOIN gallery_tag t ON t.family_id = %(family)s
        AND t.name = 'tag ' || lpad((1 + (p.id * 7919) %% (1 + (p.id %% 2000)))::text, 4, '0')
       ON CONFLICT DO NOTHING""",
    # Places: 300 cities in 30 countries, on 80 % of the photos, with GPS.
    """UPDATE gallery_photo SET place_city = 'City ' || (id %% 300), place_region = 'Region ' || (id %% 60),
              place_country = 'Country ' || (id %% 30), place_country_code = chr((65 + id %% 26)::int) || chr((65 + (id %% 30) / 26)::int),
              latitude = 40 + (id %% 300) / 10.0, longitude = -8 + (id %% 300) / 10.0, place_checked = true,
              place_source = 'gps'
       WHERE id %% 5 <> 0""",
    """INSERT INTO search_familyplace (family_id, city, region, country, country_code)
       SELECT DISTINCT family_id, place_city, place_region, place_country, place_country_code FROM gallery_photo
       WHERE place_city <> ''""",
    # 500 albums: the first of 5,000 photos, the others of 20 to 400.
    """INSERT INTO gallery_album (family_id, name, description, kind, search, created_by_id, created_at, updated_at)
       SELECT %(family)s, 'Album ' || lpad(i::text, 3, '0'), '', 'manual', '{}', %(user)s, now(), now()
       FROM generate_series(1, 500) i""",
    """INSERT INTO gallery_albumphoto (album_id, photo_id, position, added_by_id, added_at)
       SELECT a.id, 1 + ((a.id * 104729 + k * 37) %% %(n)s), k, %(user)s, now()
       FROM gallery_album a, LATERAL generate_series(1, CASE WHEN a.name = 'Album 001' THEN 5000
                                                        ELSE 20 + (a.id * 31) %% 380 END) k
       ON CONFLICT DO NOTHING""",
    # Near-duplicates: 3,000 groups of two to four photos (pairs i < j, both in the family).
    """INSERT INTO search_duplicatepair (family_id, photo_a_id, photo_b_id, hash_distance, cosine, model_name, found_at)
       SELECT %(family)s, g * 30 + 1, g * 30 + 1 + m, CASE WHEN m %% 2 = 0 THEN m ELSE NULL END, 0.97, %(model)s, now()
       FROM generate_series(0, 2999) g, generate_series(1, 1 + g %% 3) m
       WHERE g * 30 + 1 + m <= %(n)s""",
    # Judgments: 200 queries of two of the corpus's words (as a family searches: its photos hold them), 100 photos
    # each, half and half by two members.
    """INSERT INTO search_judgment (user_id, family_id, photo_id, query, relevant, model_name, components,
                                    created_at, updated_at)
       SELECT CASE WHEN k %% 2 = 0 THEN %(user)s ELSE %(other)s END, %(family)s, 1 + (q * 997 + k * 13) %% %(n)s,
              w.words[1 + q %% w.n] || ' ' || w.words[1 + (q * 5 + q / w.n) %% w.n],
              (k %% 3 = 0), %(model)s,
              jsonb_build_object('probability_semantic', 0.5, 'probability_metadata', 0.1, 'score', 0.4,
                                 'cosine', 0.1), now(), now()
       FROM generate_series(1, 200) q, generate_series(1, 100) k,
            (SELECT %(words)s::text[] AS words, cardinality(%(words)s::text[]) AS n) w
       ON CONFLICT DO NOTHING""",
    # Open tag suggestions: 3 on every fourth photo, 60 concept names.
    """INSERT INTO gallery_tagsuggestion (photo_id, name, probability, model_name, state, created_at)
       SELECT p.id, 'concept ' || ((p.id + s * 17) %% 60), 0.5 + ((p.id * s) %% 50) / 100.0, %(model)s, 'open', now()
       FROM gallery_photo p, generate_series(1, 3) s WHERE p.id %% 4 = 0
       ON CONFLICT DO NOTHING""",
    """INSERT INTO gallery_favourite (user_id, photo_id, created_at)
       SELECT %(user)s, id, now() FROM gallery_photo WHERE id %% 50 = 0""",
    # The trash: 3,000 photos.
    """UPDATE gallery_photo SET trashed_at = now() - (id %% 20) * interval '1 day', trashed_by_id = %(user)s
       WHERE id %% 33 = 7""",
]


# --- timing ----------------------------------------------------------------------------------------


def timed(client: Client, url: str, repeats: int, headers: dict | None = None) -> tuple[float, int, int]:
    """(median ms, queries of one fetch, status) of GET url."""
    headers = headers or {}
    client.get(url, headers=headers)  # warm: templates, caches that a running server has
    durations = []
    for _ in range(repeats):
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            response = client.get(url, headers=headers)
            durations.append(time.perf_counter() - start)
    return statistics.median(durations) * 1000, len(queries), response.status_code


def timed_call(call, repeats: int) -> tuple[float, int]:
    call()
    durations = []
    for _ in range(repeats):
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            call()
            durations.append(time.perf_counter() - start)
    return statistics.median(durations) * 1000, len(queries)


def pages(family_id: int, deep_cursor: str, album_id: int, photo_id: int, judgment_query: str) -> dict[str, str]:
    from django.urls import reverse

    return {
        "gallery, first page": reverse("gallery:timeline"),
        "gallery, deep page": reverse("gallery:timeline") + f"?after={deep_cursor}",
        "gallery, one family": reverse("gallery:timeline") + f"?family={family_id}",
        "gallery, a tag": reverse("gallery:timeline") + "?tag=dog",
        "gallery, favourites": reverse("gallery:timeline") + "?favourite=1",
        "gallery, a city": reverse("gallery:timeline") + "?city=City+7",
        "explore": reverse("gallery:explore"),
        "API memories": reverse("api_memories"),
        "photo page": reverse("gallery:photo_detail", args=[photo_id]),
        "family page": reverse("gallery:family_detail", args=[family_id]),
        "places (API)": reverse("api_family_places", args=[family_id]),
        "albums index": reverse("gallery:albums"),
        "album of 5,000": reverse("gallery:album_detail", args=[album_id]),
        "album of 5,000, page 100": reverse("gallery:album_detail", args=[album_id]) + "?page=100",
        "duplicates": reverse("search:duplicates", args=[family_id]),
        "duplicates, page 100": reverse("search:duplicates", args=[family_id]) + "?page=100",
        "trash": reverse("gallery:family_trash", args=[family_id]),
        "indexing": reverse("search:indexing"),
        "quality index": reverse("search:quality_index"),
        "quality": reverse("search:quality", args=[family_id]),
        "suggestions": reverse("gallery:family_suggestions", args=[family_id]),
        "preferences": reverse("search:preferences"),
        "search": reverse("search:search") + "?q=dog+beach",
        "admin: photos": "/admin/gallery/photo/",
        "admin: photos, page 500": "/admin/gallery/photo/?p=500",
        "admin: tags": "/admin/gallery/tag/",
        "admin: tag suggestions": "/admin/gallery/tagsuggestion/",
        "admin: judgments": "/admin/search/judgment/",
        "admin: indexed photos": "/admin/search/indexedphoto/",
        "admin: indexed families": "/admin/search/indexedfamily/",
        "admin: embedding models": "/admin/search/embeddingmodel/",
        "API photos": reverse("api_photos"),
        "API photos, a family": reverse("api_photos") + f"?family={family_id}",
        "API albums": reverse("api_albums"),
        "API album photos": reverse("api_album_photos", args=[album_id]),
        "API trash": reverse("api_trash"),
        "API judgments": reverse("api_judgments"),
        "API duplicates": reverse("api_duplicates") + f"?family={family_id}",
        "API families": reverse("api_families"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep-database", action="store_true")
    parser.add_argument("--reuse", help="a database kept by an earlier run (--keep-database)")
    parser.add_argument("--only", help="only the pages whose name contains this")
    args = parser.parse_args()

    storages = {**settings.STORAGES,  # no collectstatic needed: plain static URLs
                "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    with override_settings(SEARCH_MODEL=MODEL, ALLOWED_HOSTS=["*"], STORAGES=storages), _database(args) as name:
        log(f"database {name}")
        measure(args)
    return 0


class _database:
    def __init__(self, args):
        self.args = args
        self.inner = None

    def __enter__(self) -> str:
        if self.args.reuse:
            connection.close()
            connection.settings_dict["NAME"] = self.args.reuse
            return self.args.reuse
        self.inner = throwaway_database("bench_pages", keep=self.args.keep_database)
        name = self.inner.__enter__()
        try:
            build(self.args.photos)
        except BaseException:
            self.inner.__exit__(*sys.exc_info())
            raise
        return name

    def __exit__(self, *exc):
        if self.inner is not None:
            if self.args.keep_database:
                log(f"kept the database {connection.settings_dict['NAME']}: --reuse it, or drop it by hand")
            return self.inner.__exit__(*exc)
        return False


def measure(args) -> None:
    from django.contrib.auth import get_user_model

    from gallery.models import Album, Family, Photo
    from search.models import Judgment

    user = get_user_model().objects.get(username="bench")
    family = Family.objects.get(name="Big family")
    album = Album.objects.get(family=family, name="Album 001")
    photo = Photo.objects.filter(family=family).order_by("-taken_at", "-id")[10]
    deep = Photo.objects.filter(family=family).order_by("-taken_at", "-id")[Photo.objects.count() - 100]
    from gallery.timeline import Cursor, TimelineEntry

    cursor = Cursor.of(TimelineEntry(deep, deep.taken_at_local.date(), False, False)).encode()
    query = Judgment.objects.filter(family=family).values_list("query", flat=True).first()
    client = Client()
    client.force_login(user)
    log(f"{Photo.objects.count():,} photos, {album.entries.count():,} in the big album; "
        f"median of {args.repeats} after a warm-up")
    slow = []
    pids = (_backend_pid(),)
    before = cpu_snapshot(pids)
    for name, url in pages(family.pk, cursor, album.pk, photo.pk, query).items():
        if args.only and args.only not in name:
            continue
        ms, count, status = timed(client, url, args.repeats)
        mark = "  SLOW" if ms > SLOW_MS else ""
        if ms > SLOW_MS:
            slow.append(name)
        print(f"  {name:30s} {ms:9.1f} ms {count:5d} queries  HTTP {status}{mark}", flush=True)
    others = others_cores(before, cpu_snapshot(pids))
    baselines(args, user=user, family=family)
    print(f"  over {SLOW_MS:.0f} ms: {', '.join(slow) or 'none'}")
    if others is not None:
        print(f"  cores other processes used while the pages were timed: {others:.2f} of {os.cpu_count()}"
              " (above ~0.25 every time is inflated)")


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


# --- baselines: the old code paths of the pages fixed, on the same data in the same run ------------


def baselines(args, *, user, family) -> None:
    rows = []
    for name, before, after in _baseline_pairs(user=user, family=family):
        if args.only and args.only not in name:
            continue
        before_ms, before_q = timed_call(before, args.repeats)
        after_ms, after_q = timed_call(after, args.repeats)
        rows.append((name, before_ms, before_q, after_ms, after_q))
    if rows:
        print("  before/after (old code path as the baseline, same data, same run):")
    for name, before_ms, before_q, after_ms, after_q in rows:
        print(f"    {name:40s} {before_ms:9.1f} ms {before_q:5d} q  ->  {after_ms:9.1f} ms {after_q:5d} q"
              f"   {before_ms / after_ms:6.1f}x faster")


def _baseline_pairs(*, user, family) -> list:
    """(name, before, after): each fixed page's old code path (as it was, kept here) and the one it uses now."""
    from django.contrib.admin.sites import site
    from django.test import RequestFactory

    from gallery.album_selectors import album_cover_id, album_list, album_tiles
    from gallery.explore import _explore
    from gallery.models import Family, Photo, Tag
    from django.db.models import Count

    from gallery.selectors import (family_known_places, family_status_counts, family_suggestions_on_full_photos,
                                   family_uploaders, place_countries, tag_list)
    from search.forms import search_form
    from gallery.services import MAX_TAGS
    from gallery.timeline import TimelineFilters, timeline_families
    from search.models import Judgment, PhotoEmbedding
    from search.duplicates import duplicate_groups

    size = settings.DUPLICATE_GROUPS_PAGE_SIZE
    admin_request = RequestFactory().get("/admin/gallery/tag/")
    admin_request.user = user
    tag_admin = site._registry[Tag]

    def tags_page_after():
        changelist = tag_admin.get_changelist_instance(admin_request)
        return [tag_admin.photo_count(tag) for tag in changelist.result_list]

    def tags_page_before():
        changelist = tag_admin.get_changelist_instance(admin_request)
        return [tag.photos.count() for tag in changelist.result_list]

    albums = list(album_list(user=user))
    from search.metadata import metadata_pass, metadata_passes, metadata_queries, metadata_query
    from search.model_comparison import previous_model
    from search.scope import Scope

    judged = [(query, ()) for query in Judgment.objects.filter(family=family).values_list("query", flat=True)
              .distinct().order_by("query")]
    judged_photos = defaultdict(list)
    for query, photo_id in Judgment.objects.filter(family=family).values_list("query", "photo_id"):
        judged_photos[query].append(photo_id)
    judged_metas = metadata_queries(judged, family_ids=[family.pk])

    def judged_passes():
        return [metadata_pass(meta, scope=Scope((family.pk,)), limit=0, also_ids=judged_photos[query])
                for (query, _), meta in zip(judged, judged_metas)]
    return [
        ("albums index: covers (page)", lambda: [album_cover_id(album=a) for a in album_list(user=user)],
         lambda: album_tiles(albums=list(album_list(user=user)), smart_counts=False)),
        ("albums API: covers and counts", lambda: _old_api_album_tiles(albums), lambda: album_tiles(albums=albums)),
        ("timeline family picker counts", _without_index("photo_live_family",
                                                              lambda: list(_old_family_list(user))),
         lambda: timeline_families(user=user, filters=TimelineFilters())),
        ("tags in use (gallery, search)", lambda: list(_old_tag_list(user)), lambda: list(tag_list(user=user))),
        ("explore: places and tags (uncached)", lambda: _old_explore(user),
         lambda: _explore(sorted(Family.objects.filter(memberships__user=user).values_list("pk", flat=True)))),
        ("admin tag list: photo counts", tags_page_before, tags_page_after),
        ("duplicates: a page of groups", lambda: _old_duplicate_groups(family)[size * 99:size * 100],
         lambda: duplicate_groups(user=user, family=family)[size * 99:size * 100]),
        ("search form: uploaders", lambda: list(_old_uploaders(user)), lambda: list(family_uploaders(user=user))),
        ("search form: countries", lambda: _old_countries(user), lambda: place_countries(user=user)),
        ("search form, as one types (q only)", lambda: _old_search_form(user, {"q": "dog"}).is_valid(),
         lambda: search_form(user=user, data={"q": "dog"}).is_valid()),
        ("family/index: counts by status", _without_index("photo_live_family", lambda: list(
            family.photos.values("status").annotate(n=Count("id")))), lambda: family_status_counts(family=family)),
        ("index: the model's embeddings", _without_index("embedding_family_model", lambda: PhotoEmbedding.objects
                                                          .filter(family=family, model_name=MODEL).count()),
         lambda: PhotoEmbedding.objects.filter(family=family, model_name=MODEL).count()),
        ("admin judgments: the first page", _without_index("judgment_recent", lambda: list(
            Judgment.objects.select_related("user", "family", "photo").order_by("-updated_at", "-id")[:100])),
         lambda: list(Judgment.objects.select_related("user", "family", "photo").order_by("-updated_at", "-id")[:100])),
        ("photo page, places API: the family's places", _without_index(
            "photo_family_places", lambda: family_known_places(family_id=family.pk)),
         lambda: family_known_places(family_id=family.pk)),
        ("quality: the previous model", lambda: (PhotoEmbedding.objects.filter(family=family).exclude(
            model_name=MODEL).values("model_name").annotate(n=Count("id")).order_by("-n", "model_name").first()),
         lambda: previous_model(family_id=family.pk)),
        (f"quality: {len(judged)} judged queries' words", lambda: [
            metadata_query(query=query, family_ids=[family.pk]) for query, _ in judged],
         lambda: metadata_queries(judged, family_ids=[family.pk])),
        (f"quality: {len(judged)} judged queries' metadata of their photos", judged_passes,
         lambda: metadata_passes(judged_metas, [judged_photos[query] for query, _ in judged], family_ids=[family.pk])),
        ("suggestions: photos at the tag limit", lambda: _old_suggestions_on_full_photos(family),
         lambda: family_suggestions_on_full_photos(family=family, min_probability=0.9, max_tags=MAX_TAGS)),
        ("trash page: rows read", lambda: list(Photo.all_objects.filter(family=family, trashed_at__isnull=False)
                                               .select_related("family", "uploaded_by", "trashed_by")),
         lambda: list(Photo.all_objects.filter(family=family, trashed_at__isnull=False)
                      .select_related("family", "uploaded_by", "trashed_by")
                      .order_by("-trashed_at", "-id")[:settings.GALLERY_PAGE_SIZE])),
    ]


# The old code paths, as they were before the fixes (for the baselines above).


def _without_index(name: str, call):
    """`call` as it ran before the index `name` existed: dropped in a transaction that is rolled back (PostgreSQL's
    DDL is transactional; the table is locked meanwhile, which only this benchmark's database notices)."""
    from django.db import transaction

    def run():
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f'DROP INDEX "{name}"')
            try:
                return call()
            finally:
                transaction.set_rollback(True)
    return run


def _old_suggestions_on_full_photos(family):
    """The suggestions page's count of what stays open on photos at the tag limit, every photo's tags counted."""
    from gallery.models import PhotoTag
    from django.db.models import Count

    from gallery.selectors import open_suggestions
    from gallery.services import MAX_TAGS

    full = (PhotoTag.objects.filter(photo__family=family).order_by().values("photo_id")
            .annotate(tags=Count("pk")).filter(tags__gte=MAX_TAGS).values("photo_id"))
    return open_suggestions().filter(photo__family=family, probability__gte=0.9, photo_id__in=full).count()


def _old_search_form(user, data):
    """The search form as it was: its uploaders and countries read for every search, drawn or not."""
    from gallery.selectors import family_list, family_uploaders, place_countries
    from search.forms import SearchForm

    return SearchForm(data, families=family_list(user=user), uploaders=list(family_uploaders(user=user)),
                      countries=place_countries(user=user))


def _old_api_album_tiles(albums):
    from django.db.models import F

    from gallery.album_selectors import album_cover_id
    from gallery.models import Photo

    plain = [album for album in albums if not album.is_smart]
    ids = {album.pk: [] for album in plain}
    rows = (Photo.objects.filter(album_entries__album__in=plain, family_id=F("album_entries__album__family_id"))
            .order_by("album_entries__album_id", "album_entries__position", "album_entries__id")
            .values_list("album_entries__album_id", "pk"))
    for album_id, photo_id in rows:
        ids[album_id].append(photo_id)
    return {album.pk: (album_cover_id(album=album, photo_ids=ids[album.pk]), len(ids[album.pk])) for album in plain}


def _old_family_list(user):
    from django.db.models import Count, Q

    from gallery.models import Family, Favourite

    return (Family.objects.filter(memberships__user=user)
            .annotate(photo_count=Count("photos", distinct=True, filter=Q(photos__trashed_at__isnull=True)))
            .annotate(favourite_count=Count("photos", distinct=True, filter=Q(
                photos__trashed_at__isnull=True, photos__in=Favourite.objects.filter(user_id=user.pk).values("photo_id"))))
            .order_by("name", "pk"))


def _old_uploaders(user):
    from django.contrib.auth import get_user_model

    from gallery.models import Family

    families = Family.objects.filter(memberships__user=user)
    return (get_user_model().objects.filter(photos__family__in=families, photos__trashed_at__isnull=True)
            .distinct().order_by("username"))


def _old_countries(user):
    from gallery.models import Family, Photo

    families = Family.objects.filter(memberships__user=user)
    rows = (Photo.objects.filter(family__in=families).exclude(place_country_code="")
            .values_list("place_country_code", "place_country").distinct())
    return sorted(set(rows), key=lambda row: row[1])


def _old_explore(user):
    """Explore's counts as first written: aggregates over the photos joined to the user's memberships (a read of
    every placed photo's row), and a DISTINCT count of each tag's photos over a join with every tagged photo."""
    from django.db.models import Count, Max, Min
    from django.db.models.functions import Lower

    from gallery.models import Photo, PhotoTag

    photos = Photo.objects.filter(family__memberships__user=user).order_by()
    return (list(photos.exclude(place_city="").values_list("place_city", "place_country_code")
                 .annotate(n=Count("id"), cover=Max("id")).order_by("-n")),
            list(photos.exclude(place_country_code="").values_list("place_country_code")
                 .annotate(n=Count("id"), cover=Max("id")).order_by("-n")),
            list(PhotoTag.objects.filter(photo__in=photos).order_by().values_list(Lower("tag__name"))
                 .annotate(name=Min("tag__name"), n=Count("photo_id", distinct=True), cover=Max("photo_id"))
                 .order_by("-n")))


def _old_tag_list(user):
    from gallery.models import Tag

    return (Tag.objects.filter(family__memberships__user=user, photos__isnull=False, photos__trashed_at__isnull=True)
            .distinct().order_by("name"))


def _old_duplicate_groups(family):
    from gallery.models import Photo
    from search.duplicates import DuplicateGroup, DuplicateMember, _closeness, _why
    from search.models import DuplicatePair

    pairs = list(DuplicatePair.objects.filter(family=family, photo_a__trashed_at__isnull=True,
                                              photo_b__trashed_at__isnull=True).order_by("pk"))
    parent: dict[int, int] = {}

    def root(pk: int) -> int:
        while parent.setdefault(pk, pk) != pk:
            parent[pk] = parent[parent[pk]]
            pk = parent[pk]
        return pk

    for pair in pairs:
        parent[root(pair.photo_a_id)] = root(pair.photo_b_id)
    photos = {photo.pk: photo for photo in Photo.objects.filter(pk__in=list(parent), family=family)}
    best = {}
    for pair in pairs:
        for pk in (pair.photo_a_id, pair.photo_b_id):
            if pk not in best or _closeness(pair) < _closeness(best[pk]):
                best[pk] = pair
    members: dict[int, list] = {}
    for pk, photo in photos.items():
        members.setdefault(root(pk), []).append(photo)
    groups = []
    for group_photos in members.values():
        if len(group_photos) < 2:
            continue
        group_photos.sort(key=lambda p: (-(p.width * p.height), -p.file_size, p.taken_at, p.pk))
        whys = [_why(best[photo.pk]) for photo in group_photos]
        groups.append(DuplicateGroup(
            members=[DuplicateMember(photo, index == 0, why[1]) for index, (photo, why) in
                     enumerate(zip(group_photos, whys))],
            signals=sorted({why[0] for why in whys})))
    groups.sort(key=lambda group: (-len(group.members), group.keep.taken_at, group.keep.pk))
    return groups


if __name__ == "__main__":
    sys.exit(main())
