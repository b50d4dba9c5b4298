"""Finding near-duplicates: which photos of a family are the same picture (re-encoded, resized, sent twice) or nearly
so (a burst, a crop), stored as `DuplicatePair` rows for search.duplicates to group for review.

Two signals, each said on the review page:
- the perceptual hash stored at upload (`Photo.phash`, imagehash's 64-bit DCT hash of the grey picture): a copy
  re-encoded or resized differs by 0-6 bits, different pictures by 18 or more (measured on the toy shapes of
  scripts/shapes.py); taken of the grey picture, so every flat picture (a blank scan, a red or a green square) has
  one hash: a hash match counts only when the photos' mean colours (`Photo.mean_colour`) agree too (hash_near);
- the cosine of the image embeddings of the family's search model (at least DUPLICATE_COSINE): sees through crops
  and small edits the hash misses.

Finding pairs is the worker's job, after each photo is embedded and after photos are restored from the trash
(`duplicates_find`: one statement over the family's hashes, one HNSW walk per photo): each photo is paired with at
most its DUPLICATE_NEIGHBOURS nearest by each signal, so the pairs grow with the photos, however many share one hash
(600 copies of a blank scan are a few thousand pairs, not 179,700). `duplicates_scan` finds them for photos stored
before (command `find_duplicates`); migration search 0030 shrank the pairs stored before they were bounded.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import timedelta
from typing import NamedTuple

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from psycopg import sql

from gallery.colour_services import photos_mean_colour_fill
from gallery.models import Photo
from search.models import DuplicateDismissal, DuplicateFindPending, DuplicatePair, PhotoEmbedding
from search.scope import id_array
from search.selectors import family_search_model

PHOTOS = Photo._meta.db_table
EMBEDDINGS = PhotoEmbedding._meta.db_table
# Photos per statement when scanning a whole family (`duplicates_scan`).
SCAN_BATCH = 200
# A restore queues a find of the restored photos' near-duplicates once it commits; the sweep takes a photo still
# waiting this long after (the broker did not answer, the task was lost), not one whose task is on its way.
PENDING_GRACE = timedelta(minutes=5)
# Photos given their mean colour a sweep (each a thumbnail read, a few ms), then looked at again: a library stored
# before mean colours were kept is done at this rate (the sweep runs every 5 minutes).
COLOUR_SWEEP = 1000
# The hash as 64 bits ('x' + its 16 hex digits read as bit(64)); two hashes' distance is the bit_count (PostgreSQL
# 14) of their XOR.
_BITS = "('x' || phash)::bit(64)"
_DISTANCE = "bit_count(('x' || {a}.phash)::bit(64) # ('x' || {b}.phash)::bit(64))"
# The mean colour ("rrggbb", Photo.mean_colour) as its three channels r, g, b (0-255), NULL when a photo has none
# yet (stored before it was kept, or its thumbnail unreadable: "-").
_CHANNELS = ", ".join(f"CASE WHEN length(mean_colour) = 6 THEN ('x' || substr(mean_colour, {start}, 2))::bit(8)::int "
                      f"END AS {name}" for name, start in (("r", 1), ("g", 3), ("b", 5)))
# Two photos' colour distance: the largest difference of their channels (`{a}`, `{b}`: relations with r, g, b).
_COLOUR_DISTANCE = "greatest(abs({a}.r - {b}.r), abs({a}.g - {b}.g), abs({a}.b - {b}.b))"


def duplicates_find(*, photo_ids: Iterable[int]) -> int:
    """Find (again) the near-duplicates of these photos in their families and store them, replacing what was
    stored for them (a rotated photo is re-embedded, and its pairs change). Returns how many pairs are stored."""
    ids = sorted({int(pk) for pk in photo_ids})
    if not ids:
        return 0
    started = timezone.now()
    # A stored pair of one of these photos may be the other end's choice (a photo whose only near one is this one,
    # which has closer ones): its partners choose again too, or deleting their pairs would lose them.
    looked_at = sorted(set(ids) | _partners(ids))
    apart = _kept_apart(looked_at)
    candidates = _hash_candidates(looked_at, apart) | _embedding_candidates(looked_at, apart)
    with transaction.atomic():
        # A pair a member dismissed stays as it is (the finder no longer chooses it): deleting the dismissal in the
        # admin brings the group back.
        dismissed = DuplicateDismissal.objects.filter(photo_a_id=OuterRef("photo_a_id"),
                                                      photo_b_id=OuterRef("photo_b_id"))
        DuplicatePair.objects.filter(Q(photo_a_id__in=ids) | Q(photo_b_id__in=ids)).exclude(Exists(dismissed)).delete()
        rows = _measured(candidates)
        DuplicatePair.objects.bulk_create(rows, ignore_conflicts=True)
        # Looked for: not again by the sweep (a restore committed since is still to do).
        DuplicateFindPending.objects.filter(photo_id__in=ids, since__lte=started).delete()
    return len(rows)


def _partners(ids: list[int]) -> set[int]:
    """The photos paired with these now."""
    pairs = DuplicatePair.objects.filter(Q(photo_a_id__in=ids) | Q(photo_b_id__in=ids)).values_list(
        "photo_a_id", "photo_b_id")
    return {pk for pair in pairs for pk in pair}


class _Apart(NamedTuple):
    """Photos members said are not duplicates, each with a label per "keep all" it was kept in (its action)."""

    photo_ids: str  # id_array texts, for an unnest(%s::bigint[], %s::bigint[]) AS apart(photo_id, label)
    labels: str


# Whether the photos `{a}` and `{b}` were kept apart (`apart`: the unnest of an _Apart).
_KEPT_APART = ("EXISTS (SELECT 1 FROM apart x JOIN apart y ON y.label = x.label "
               "WHERE x.photo_id = {a} AND y.photo_id = {b})")


def _kept_apart(ids: list[int]) -> _Apart:
    """The photos of these photos' families that "Not duplicates" kept apart, labelled by the action that kept them
    (a photo kept twice has two labels). The finder leaves out a candidate sharing a label with the photo, so a
    dismissed pair never takes a neighbour slot and a rescan never pairs two photos of a group kept (the dismissal
    rows name the pairs stored then, the few nearest of each photo; trashing one of them, or new thresholds, made
    the rest each other's nearest: the group came back). Two actions sharing a photo keep apart only their own
    photos: A~B kept, then B~C, leaves A and C free to pair (nobody looked at them together)."""
    families = Photo.all_objects.filter(pk__in=ids).values("family_id")
    labels: dict[uuid.UUID, int] = {}
    kept = sorted({(pk, labels.setdefault(action, len(labels)))
                   for action, *pair in DuplicateDismissal.objects.filter(family_id__in=families).values_list(
                       "action", "photo_a_id", "photo_b_id")
                   for pk in pair})
    return _Apart(id_array(pk for pk, _ in kept), id_array(label for _, label in kept))


def _hash_candidates(ids: list[int], apart: _Apart) -> set[tuple[int, int]]:
    """Pairs (smaller id first) of each of these photos with its DUPLICATE_NEIGHBOURS nearest photos of its family
    whose hash is near enough and whose mean colour too (hash_near; either without a colour yet: the hash alone), so
    flat pictures of other colours never take a copy's neighbour slot: one statement, each hash turned into bits once
    (a sequential read of the family's hashes, by the worker). Photos in the trash come after every one out of it: a
    copy uploaded while its original is in the trash is paired with it when nothing else is near, so restoring the
    original groups them at once (the pages leave trashed photos out of groups). Cheap here (bit counts over the read
    the statement makes anyway); the embedding walk leaves them out, and the find a restore queues pairs what only the
    embeddings see. Bounded as the embedding walk is: 600 photos of one hash (a blank scan, pocket shots) were each
    paired with every other, 179,700 pairs. Ties (photos of one hash) go to the photo the review page would keep
    (more pixels, then bytes, then the earliest taken, then the smallest id): every copy is paired with the likely
    keeper, so trashing the others leaves the group joined."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH batch AS (SELECT id, family_id, {_BITS} AS h, {_CHANNELS} FROM {PHOTOS} "
            "                WHERE id = ANY(%s::bigint[]) AND length(phash) = 16), "
            "apart AS (SELECT * FROM unnest(%s::bigint[], %s::bigint[]) AS x(photo_id, label)), "
            f"family AS MATERIALIZED (SELECT id, family_id, {_BITS} AS h, {_CHANNELS}, "
            "                width::bigint * height AS pixels, "
            f"                file_size, taken_at, trashed_at IS NOT NULL AS trashed FROM {PHOTOS} "
            "                WHERE family_id IN (SELECT family_id FROM batch) AND length(phash) = 16), "
            "near AS (SELECT batch.id AS a, family.id AS b, row_number() OVER (PARTITION BY batch.id "
            "                ORDER BY family.trashed, bit_count(batch.h # family.h), family.pixels DESC, "
            "                family.file_size DESC, "
            "                family.taken_at, family.id) AS nearness "
            "         FROM batch JOIN family ON family.family_id = batch.family_id AND family.id <> batch.id "
            "         WHERE bit_count(batch.h # family.h) <= %s "
            "         AND (batch.r IS NULL OR family.r IS NULL "
            f"             OR {_COLOUR_DISTANCE.format(a='batch', b='family')} <= %s) "
            f"        AND NOT {_KEPT_APART.format(a='batch.id', b='family.id')}) "
            "SELECT a, b FROM near WHERE nearness <= %s",
            [id_array(ids), apart.photo_ids, apart.labels, settings.DUPLICATE_HASH_DISTANCE,
             settings.DUPLICATE_COLOUR_DISTANCE, settings.DUPLICATE_NEIGHBOURS])
        return {(min(a, b), max(a, b)) for a, b in cursor.fetchall()}


def _embedding_candidates(ids: list[int], apart: _Apart) -> set[tuple[int, int]]:
    """Pairs of these photos with their DUPLICATE_NEIGHBOURS nearest neighbours in the family's HNSW index (the walk
    of "similar photos"), the cosine threshold applied later: one statement per family and model, each photo's
    walk a LATERAL subquery that repeats the index's cast and predicate as literals (search.vector_index). Photos in
    the trash are left out: a restore looks for the restored photos' near-duplicates again (a task queued by
    search.receivers.on_photos_restored), so a look-alike uploaded while its original was in the trash is grouped
    with it then. (Reading every trashed embedding exactly, per photo looked at, made a find of 64 photos 4 times
    slower with 8,000 photos in the trash.)"""
    pairs: set[tuple[int, int]] = set()
    rows = (PhotoEmbedding.objects.filter(photo_id__in=ids, trashed=False)
            .values_list("family_id", "model_name").distinct())
    for family_id, model_name in sorted(set(rows)):
        if model_name != family_search_model(family_id=family_id):
            continue
        dim = PhotoEmbedding.objects.filter(family_id=family_id, model_name=model_name).extra(
            select={"dim": "vector_dims(vector)"}).values_list("dim", flat=True).first()
        statement = sql.SQL(
            "WITH apart AS (SELECT * FROM unnest(%s::bigint[], %s::bigint[]) AS x(photo_id, label)) "
            "SELECT b.photo_id, n.photo_id FROM {table} b CROSS JOIN LATERAL ("
            " SELECT e.photo_id FROM {table} e WHERE e.model_name = {model} AND e.family_id = {family} "
            " AND NOT e.trashed AND e.photo_id <> b.photo_id AND NOT {kept_apart} "
            " ORDER BY (e.vector::vector({dim})) <=> (b.vector::vector({dim})) LIMIT {limit}) n "
            "WHERE b.model_name = {model} AND b.family_id = {family} AND b.photo_id = ANY(%s::bigint[])"
        ).format(table=sql.Identifier(EMBEDDINGS), model=sql.Literal(model_name), family=sql.Literal(int(family_id)),
                 dim=sql.Literal(int(dim)), limit=sql.Literal(int(settings.DUPLICATE_NEIGHBOURS)),
                 kept_apart=sql.SQL(_KEPT_APART.format(a="b.photo_id", b="e.photo_id")))
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT set_config('hnsw.ef_search', %s, true)", [str(max(40, settings.DUPLICATE_NEIGHBOURS))])
            cursor.execute(statement.as_string(cursor.connection), [apart.photo_ids, apart.labels, id_array(ids)])
            pairs.update((min(a, b), max(a, b)) for a, b in cursor.fetchall())
    return pairs


def _measured(candidates: set[tuple[int, int]]) -> list[DuplicatePair]:
    """Both signals of each candidate pair (the hash with the mean colours), measured in one statement; the pairs
    either signal keeps."""
    if not candidates:
        return []
    pairs = sorted(candidates)
    distance = _DISTANCE.format(a="pa", b="pb")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT x.a, x.b, pa.family_id, CASE WHEN length(pa.phash) = 16 AND length(pb.phash) = 16 "
            f"THEN {distance} END, pa.mean_colour, pb.mean_colour, 1 - (ea.vector <=> eb.vector), ea.model_name "
            "FROM unnest(%s::bigint[], %s::bigint[]) AS x(a, b) "
            f"JOIN {PHOTOS} pa ON pa.id = x.a JOIN {PHOTOS} pb ON pb.id = x.b AND pb.family_id = pa.family_id "
            f"LEFT JOIN {EMBEDDINGS} ea ON ea.photo_id = x.a AND ea.model_name = %s "
            f"LEFT JOIN {EMBEDDINGS} eb ON eb.photo_id = x.b AND eb.model_name = ea.model_name",
            [id_array(a for a, _ in pairs), id_array(b for _, b in pairs), settings.SEARCH_MODEL])
        rows = cursor.fetchall()
    now = timezone.now()
    measured = [(a, b, family_id, hamming, colour_distance(colour_a, colour_b), cosine, model_name)
                for a, b, family_id, hamming, colour_a, colour_b, cosine, model_name in rows]
    return [DuplicatePair(photo_a_id=a, photo_b_id=b, family_id=family_id, hash_distance=hamming,
                          colour_distance=colour, cosine=cosine, model_name=model_name or "", found_at=now)
            for a, b, family_id, hamming, colour, cosine, model_name in measured
            if hash_near(hamming, colour) or cosine_near(cosine)]


def colour_distance(colour_a: str, colour_b: str) -> int | None:
    """The largest difference of two mean colours' channels ("rrggbb", 0-255 each); None when either photo has none
    (as _COLOUR_DISTANCE reads them in SQL)."""
    if len(colour_a) != 6 or len(colour_b) != 6:
        return None
    try:
        a, b = bytes.fromhex(colour_a), bytes.fromhex(colour_b)
    except ValueError:
        return None
    return max(abs(x - y) for x, y in zip(a, b))


def hash_near(hamming: int | None, colour: int | None) -> bool:
    """Whether the hash says two photos are the same picture: their hashes within DUPLICATE_HASH_DISTANCE bits and
    their mean colours within DUPLICATE_COLOUR_DISTANCE (the hash is of the grey picture: every flat picture, a red
    square or a green one, has one hash). `colour` None: a photo has no mean colour yet (stored before it was kept,
    until the sweep fills it), the hash alone then, as before."""
    return hamming is not None and hamming <= settings.DUPLICATE_HASH_DISTANCE and \
        (colour is None or colour <= settings.DUPLICATE_COLOUR_DISTANCE)


def cosine_near(cosine: float | None) -> bool:
    return cosine is not None and cosine >= settings.DUPLICATE_COSINE - 1e-6


def duplicates_scan(*, family_id: int | None = None) -> int:
    """Find the near-duplicates of every photo (of one family), a batch at a time: for photos stored before
    duplicates were looked for, or after changing the thresholds. Returns how many photos were looked at."""
    photos = Photo.objects.order_by("pk")
    if family_id is not None:
        photos = photos.filter(family_id=family_id)
    last, seen = 0, 0
    while batch := list(photos.filter(pk__gt=last).values_list("pk", flat=True)[:SCAN_BATCH]):
        duplicates_find(photo_ids=batch)
        last, seen = batch[-1], seen + len(batch)
    return seen


def duplicates_find_pending_add(*, photo_ids: Iterable[int]) -> None:
    """Record that these photos' near-duplicates are to be looked for (photos restored from the trash), in the
    caller's transaction: the sweep does it when the task queued for it never ran (duplicates_pending_find)."""
    DuplicateFindPending.objects.bulk_create([DuplicateFindPending(photo_id=pk) for pk in sorted(set(photo_ids))],
                                             ignore_conflicts=True)  # (restored twice before it ran: once)


def duplicates_pending_find(*, limit: int | None = None) -> int:
    """The periodic sweep's share: give up to COLOUR_SWEEP photos stored before mean colours were kept theirs and
    look for their near-duplicates again (their hash matches are now checked against their colours), and do the
    finds still waiting PENDING_GRACE after a restore (DuplicateFindPending): those photos only, never the whole
    family. Returns how many photos were looked at."""
    limit = settings.EMBED_SWEEP_LIMIT if limit is None else limit
    filled = photos_mean_colour_fill(limit=COLOUR_SWEEP)
    duplicates_find_pending_add(photo_ids=filled)
    due = list(DuplicateFindPending.objects.filter(Q(since__lt=timezone.now() - PENDING_GRACE) | Q(photo_id__in=filled))
               .order_by("since", "photo_id").values_list("photo_id", flat=True)[:limit])
    for start in range(0, len(due), SCAN_BATCH):
        duplicates_find(photo_ids=due[start:start + SCAN_BATCH])
    return len(due)
