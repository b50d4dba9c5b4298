"""Near-duplicate pairs stored before they were bounded: the finder paired each photo with every photo of a near
hash, so 600 copies of one blank scan held 179,700 pairs. Each photo keeps what the finder stores now (search.
duplicates): by hash, its DUPLICATE_NEIGHBOURS nearest (ties to the photo the review page would keep: more pixels,
then bytes, then the earliest taken, then the smallest id), and by embedding, its DUPLICATE_NEIGHBOURS of highest
cosine; a pair stays when either of its photos keeps it, and a pair neither signal finds near under today's
settings is left as it was. Photos in the trash come last, as the finder no longer pairs them.

One DELETE over the pair table (each pair read twice, once from each end, and ranked by two window functions): the
179,700 pairs of 600 look-alikes go down to a few thousand in about 2 s on a 2-core machine (bench/duplicates.py), in
the migration's transaction; the worker's finds of new pairs wait for it. Running it again changes nothing.
Reversing it restores nothing: `find_duplicates` stores what the finder of the code running then stores."""

from django.conf import settings
from django.db import migrations


def duplicate_pairs_bounded(apps, schema_editor):
    pairs = apps.get_model("search", "DuplicatePair")._meta.db_table
    photos = apps.get_model("gallery", "Photo")._meta.db_table
    with (schema_editor.connection if schema_editor else _default()).cursor() as cursor:
        cursor.execute(
            f"""WITH ends AS (SELECT id, photo_a_id AS photo, photo_b_id AS other, hash_distance, cosine FROM {pairs}
                              UNION ALL
                              SELECT id, photo_b_id, photo_a_id, hash_distance, cosine FROM {pairs}),
                     ranked AS (
                         SELECT ends.id,
                                ends.hash_distance <= %(bits)s AS hash_near,
                                ends.cosine >= %(cosine)s AS cosine_near,
                                row_number() OVER (PARTITION BY ends.photo ORDER BY
                                    ends.hash_distance <= %(bits)s IS NOT TRUE, other.trashed_at IS NOT NULL,
                                    ends.hash_distance, other.width::bigint * other.height DESC,
                                    other.file_size DESC, other.taken_at, other.id) AS by_hash,
                                row_number() OVER (PARTITION BY ends.photo ORDER BY
                                    ends.cosine >= %(cosine)s IS NOT TRUE, other.trashed_at IS NOT NULL,
                                    ends.cosine DESC, other.id) AS by_cosine
                         FROM ends JOIN {photos} other ON other.id = ends.other),
                     kept AS (
                         SELECT id, bool_or((hash_near IS TRUE AND by_hash <= %(neighbours)s)
                                            OR (cosine_near IS TRUE AND by_cosine <= %(neighbours)s)
                                            OR (hash_near IS NOT TRUE AND cosine_near IS NOT TRUE)) AS keep
                         FROM ranked GROUP BY id)
                DELETE FROM {pairs} USING kept WHERE {pairs}.id = kept.id AND NOT kept.keep""",
            {"bits": settings.DUPLICATE_HASH_DISTANCE, "cosine": settings.DUPLICATE_COSINE - 1e-6,
             "neighbours": settings.DUPLICATE_NEIGHBOURS})


def _default():
    from django.db import connection

    return connection


class Migration(migrations.Migration):

    dependencies = [
        ("search", "0029_tag_concept_merged_into"),
    ]

    operations = [
        migrations.RunPython(duplicate_pairs_bounded, migrations.RunPython.noop),
    ]
