"""Near-duplicates at family scale: what the worker spends per embedding task looking for a batch's near-duplicates
(`search.duplicate_finder.duplicates_find`), the one-off scan of a whole family (`find_duplicates`), and what the review
page costs (`duplicate_groups` and GET /families/<id>/duplicates/), over `--photos` (10,000) photos of one family.

Run from the repository root:

    .venv/bin/python bench/duplicates.py [--photos 10000] [--batch 64]

Everything happens in a throwaway database on the same PostgreSQL server (dropped at the end). Photos are rows
only (no files): random 64-bit perceptual hashes and 768-dimensional unit vectors in topic clusters (same-topic
cosine ~0.55), plus `--planted` (2 %) near-duplicates of random photos: the hash with 0-4 bits flipped and the
vector with small noise (cosine ~0.97). Recall is the share of planted pairs found.

`--lookalikes` (600) photos of one more family share one perceptual hash and nearly one embedding (the same blank
scan, pocket shots: flat pictures): the pairs the scan stores for them and what their review page costs, first with
every photo paired with every other (what the finder stored before pairs were bounded, and what a family keeps until
migration search 0030 runs), then after that migration's pruning and after a scan, as ratios.
`--only-lookalikes` skips the large family.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timedelta, timezone as dt_timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import log, percentile_ms, setup_django, throwaway_database  # noqa: E402

setup_django()

import numpy as np  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

DIM = 768
MODEL = "bench/duplicates-model"


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def corpus(n: int, planted: int, rng: np.random.Generator):
    """Hashes, vectors and the planted pairs (copy index → original index) of n photos."""
    centroids = _unit(rng.standard_normal((max(8, n // 40), DIM)).astype(np.float32))
    topics = rng.integers(0, len(centroids), n)
    vectors = _unit(centroids[topics] * 1.0 + rng.standard_normal((n, DIM)).astype(np.float32) * 0.034)
    hashes = rng.integers(0, 2**63, n, dtype=np.int64).astype(np.uint64) * 2 + rng.integers(0, 2, n).astype(np.uint64)
    copies = rng.choice(np.arange(n // 2, n), planted, replace=False)
    pairs = {}
    for copy in copies:
        original = int(rng.integers(0, n // 2))
        flipped = int(hashes[original])
        for bit in rng.choice(64, int(rng.integers(0, 5)), replace=False):
            flipped ^= 1 << int(bit)
        hashes[copy] = np.uint64(flipped)
        vectors[copy] = _unit(vectors[original] + rng.standard_normal(DIM).astype(np.float32) * 0.0085)
        pairs[int(copy)] = original
    return [f"{int(h):016x}" for h in hashes], vectors, pairs


def load(family_id: int, user_id: int, hashes: list[str], vectors: np.ndarray, prefix: str = "") -> list[int]:
    import psycopg
    from pgvector.psycopg import register_vector

    from gallery.models import Photo
    from gallery.timezones import local

    now = datetime.now(dt_timezone.utc)
    columns = ["family_id", "uploaded_by_id", "original", "thumbnail", "original_filename", "title", "mime_type",
               "file_size", "width", "height", "taken_at", "taken_at_source", "sha256", "phash", "uploaded_at",
               "status", "taken_day"]
    rest = [f for f in Photo._meta.concrete_fields if f.column not in columns + ["id"] and not f.null]
    rest_values = tuple(f.get_db_prep_save(f.get_default(), connection) for f in rest)
    conn = psycopg.connect(**connection.get_connection_params())
    register_vector(conn)  # before the cursor: a cursor copies its connection's adapters
    with conn, conn.cursor() as cur:
        with cur.copy(f"COPY gallery_photo ({', '.join(columns + [f.column for f in rest])}) FROM STDIN") as copy:
            for i, phash in enumerate(hashes):
                copy.write_row((family_id, user_id, f"originals/{prefix}{i}.jpg", f"thumbnails/{prefix}{i}.jpg",
                                f"IMG_{i}.jpg", f"IMG {i}", "image/jpeg", 1_000_000 + i, 4000, 3000,
                                now - timedelta(minutes=i), "exif", f"{i:064x}", phash, now, "ready",
                                local(now - timedelta(minutes=i), "").date()) + rest_values)
        cur.execute("SELECT id FROM gallery_photo WHERE family_id = %s ORDER BY id", [family_id])
        ids = [row[0] for row in cur.fetchall()]
        with cur.copy("COPY search_photoembedding (photo_id, family_id, model_name, vector, created_at, trashed) "
                      "FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["bigint", "bigint", "varchar", "vector", "timestamptz", "bool"])
            for pk, vector in zip(ids, vectors):
                copy.write_row((pk, family_id, MODEL, vector, now, False))
        conn.commit()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE gallery_photo")
        cursor.execute("VACUUM ANALYZE search_photoembedding")
    return ids


def _page_p50(client, url: str, runs: int = 3) -> tuple[float, int]:
    """The review page's median time (seconds) and its size (bytes)."""
    times, size = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - start)
        assert response.status_code == 200
        size = len(response.content)
    return sorted(times)[len(times) // 2], size


def lookalikes(user, count: int, rng: np.random.Generator) -> None:
    """`count` photos of one hash and nearly one embedding: pairs stored and page time with every photo paired with
    every other (as stored before pairs were bounded), after migration search 0030's pruning, after a scan."""
    import importlib

    from django.apps import apps as django_apps
    from django.db import connection as db
    from gallery.services import family_create
    from search import vector_index
    from search.duplicate_finder import duplicates_scan
    from search.models import DuplicatePair

    family = family_create(name="Blank scans", admin=user)
    vectors = _unit(np.ones((count, DIM), dtype=np.float32) + rng.standard_normal((count, DIM)).astype(np.float32)
                    * 0.01)
    ids = load(family.pk, user.pk, ["8000000000000000"] * count, vectors, prefix="blank-")
    from gallery.models import Photo

    # One paper's shade, a level apart (as the upload reads them): the finder compares colours for every hash match.
    Photo.objects.filter(pk__in=ids[::2]).update(mean_colour="f4f2ed")
    Photo.objects.filter(pk__in=ids[1::2]).update(mean_colour="f5f2ec")
    with transaction.atomic():
        vector_index.ensure_index(model_name=MODEL, dim=DIM, family_id=family.pk)
    client = Client()
    client.force_login(user)
    url = f"/families/{family.pk}/duplicates/"

    with db.cursor() as cursor:  # every photo with every other, as the finder before bounded pairs stored them
        cursor.execute(
            "INSERT INTO search_duplicatepair (family_id, photo_a_id, photo_b_id, hash_distance, cosine, model_name, "
            "found_at) SELECT %s, a, b, 0, 0.99, %s, now() FROM unnest(%s::bigint[]) a, unnest(%s::bigint[]) b "
            "WHERE a < b", [family.pk, MODEL, ids, ids])
        cursor.execute("VACUUM ANALYZE search_duplicatepair")
    quadratic = DuplicatePair.objects.filter(family=family).count()
    log(f"{count} look-alikes: {quadratic} pairs stored as before; drawing the page")
    before, before_size = _page_p50(client, url)
    log(f"page with every pair: {before * 1000:.0f} ms, {before_size // 1024} KB")

    pruned = prune_seconds = None
    try:
        migration = importlib.import_module("search.migrations.0030_duplicate_pairs_bounded")
    except ImportError:
        log("no migration search 0030 in this checkout: no pruning measured")
    else:
        start = time.perf_counter()
        with transaction.atomic():
            migration.duplicate_pairs_bounded(django_apps, None)
        prune_seconds = time.perf_counter() - start
        pruned = DuplicatePair.objects.filter(family=family).count()
        log(f"migration 0030 pruned {quadratic} pairs to {pruned} in {prune_seconds:.2f} s")
    DuplicatePair.objects.filter(family=family).delete()
    start = time.perf_counter()
    duplicates_scan(family_id=family.pk)
    scan_seconds = time.perf_counter() - start
    scanned = DuplicatePair.objects.filter(family=family).count()
    after, after_size = _page_p50(client, url)

    print()
    print(f"look-alikes (one hash)        {count} photos")
    print(f"pairs stored                  every pair {quadratic}; after a scan {scanned} "
          f"({quadratic / max(scanned, 1):.0f}x fewer)"
          + (f"; migration 0030 leaves {pruned} in {prune_seconds:.2f} s" if pruned is not None else ""))
    print(f"find_duplicates (the family)  {scan_seconds:.2f} s")
    print(f"GET review page               every pair {before * 1000:.0f} ms, {before_size // 1024} KB; after a scan "
          f"{after * 1000:.0f} ms, {after_size // 1024} KB ({before / after:.1f}x faster, "
          f"{before_size / after_size:.1f}x smaller)")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=64, help="photos per embedding task (EMBED_TASK_SIZE)")
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--lookalikes", type=int, default=600, help="photos of one hash (0: none)")
    parser.add_argument("--only-lookalikes", action="store_true", help="skip the large family")
    args = parser.parse_args()
    planted = max(1, args.photos // 50)
    rng = np.random.default_rng(0)
    hashes, vectors, pairs = corpus(args.photos, planted, rng)
    from django.conf import settings

    # (static files as the tests serve them: the pages are drawn without a `collectstatic`)
    storages = {**settings.STORAGES,
                "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    with throwaway_database("bench_duplicates"), override_settings(SEARCH_MODEL=MODEL, ALLOWED_HOSTS=["testserver"],
                                                                   STORAGES=storages):
        from gallery.models import Family
        from gallery.services import family_create, user_create
        from search import vector_index
        from search.duplicate_finder import duplicates_find, duplicates_scan
        from search.duplicates import duplicate_groups
        from search.models import DuplicatePair

        user = user_create(username="bench", password="bench-password-123")
        if args.lookalikes:
            lookalikes(user, args.lookalikes, rng)
        if args.only_lookalikes:
            return 0
        family = family_create(name="Bench", admin=user)
        log(f"loading {args.photos} photos, {planted} planted near-duplicates")
        ids = load(family.pk, user.pk, hashes, vectors)
        start = time.perf_counter()
        with transaction.atomic():
            vector_index.ensure_index(model_name=MODEL, dim=DIM, family_id=family.pk)
        log(f"HNSW index built in {time.perf_counter() - start:.1f} s")

        batch_times = []
        for b in range(args.batches):
            batch = ids[-(b + 1) * args.batch:len(ids) - b * args.batch]
            start = time.perf_counter()
            duplicates_find(photo_ids=batch)
            batch_times.append(time.perf_counter() - start)
        from search import duplicate_finder

        batch = ids[:args.batch]
        apart = duplicate_finder._kept_apart(batch)
        parts = {}
        for name in ("_hash_candidates", "_embedding_candidates"):
            start = time.perf_counter()
            getattr(duplicate_finder, name)(batch, apart)
            parts[name] = time.perf_counter() - start
        log("parts of one batch: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in parts.items()))
        start = time.perf_counter()
        scanned = duplicates_scan(family_id=family.pk)
        scan_seconds = time.perf_counter() - start
        stored = {(p.photo_a_id, p.photo_b_id) for p in DuplicatePair.objects.all()}
        expected = {tuple(sorted((ids[copy], ids[original]))) for copy, original in pairs.items()}
        found = len(expected & stored) / len(expected)

        page_times, groups = [], []
        client = Client()
        client.force_login(user)
        for _ in range(5):
            start = time.perf_counter()
            groups = duplicate_groups(user=user, family=Family.objects.get(pk=family.pk))
            page_times.append(time.perf_counter() - start)
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            client.get(f"/families/{family.pk}/duplicates/")
        log(f"the review page ran {len(queries)} statements")
        get_times = []
        for _ in range(5):
            start = time.perf_counter()
            assert client.get(f"/families/{family.pk}/duplicates/").status_code == 200
            get_times.append(time.perf_counter() - start)

    print()
    print(f"photos in the family          {args.photos}")
    print(f"planted near-duplicate pairs  {len(pairs)}; found {found:.1%}; pairs stored {len(stored)}; "
          f"groups {len(groups)}")
    print(f"duplicates_find, {args.batch} photos   p50 {percentile_ms(batch_times, 50):.0f} ms "
          f"({percentile_ms(batch_times, 50) / args.batch:.1f} ms a photo; worker, after embedding)")
    print(f"find_duplicates (whole family) {scan_seconds:.1f} s for {scanned} photos")
    print(f"duplicate_groups (page data)  p50 {percentile_ms(page_times, 50):.0f} ms")
    print(f"GET review page               p50 {percentile_ms(get_times, 50):.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
