import hashlib

from django.db import migrations, models
import django.db.models.deletion


def _index_name(model_name, family_id):
    # Same names as search.vector_index.index_name (kept here so the migration never changes with the app).
    return f"photoembedding_hnsw_{hashlib.sha1(model_name.encode()).hexdigest()[:12]}_f{family_id}"


def _drop_indexes(cursor, pattern):
    cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'search_photoembedding' AND indexname ~ %s",
                   [pattern])
    for (name,) in cursor.fetchall():
        cursor.execute(f'DROP INDEX IF EXISTS "{name}"')


def per_family_indexes(apps, schema_editor):
    """Replace the one-index-per-model HNSW graphs by one per (model, family)."""
    with schema_editor.connection.cursor() as cursor:
        _drop_indexes(cursor, "^photoembedding_hnsw_[0-9a-f]{12}$")
        cursor.execute("SELECT DISTINCT model_name, family_id, vector_dims(vector) FROM search_photoembedding")
        for model_name, family_id, dim in cursor.fetchall():
            cursor.execute(
                f'CREATE INDEX IF NOT EXISTS "{_index_name(model_name, family_id)}" ON search_photoembedding '
                f"USING hnsw ((vector::vector({int(dim)})) vector_cosine_ops) "
                f"WHERE model_name = %s AND family_id = {int(family_id)}",
                [model_name],
            )


def per_model_indexes(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        _drop_indexes(cursor, "^photoembedding_hnsw_[0-9a-f]{12}_f[0-9]+$")
        cursor.execute("SELECT DISTINCT model_name, vector_dims(vector) FROM search_photoembedding")
        for model_name, dim in cursor.fetchall():
            name = "photoembedding_hnsw_" + hashlib.sha1(model_name.encode()).hexdigest()[:12]
            cursor.execute(
                f'CREATE INDEX IF NOT EXISTS "{name}" ON search_photoembedding '
                f"USING hnsw ((vector::vector({int(dim)})) vector_cosine_ops) WHERE model_name = %s",
                [model_name],
            )


class Migration(migrations.Migration):
    """Embeddings carry their photo's family, and each (model, family) gets its own HNSW graph.

    A search looks inside the user's families only. With one graph per model, a family holding a tenth of
    the photos made PostgreSQL either walk the shared graph skipping nine rows in ten (recall 0.90) or
    read the family's vectors exactly (118 ms per query at 100,000 photos; bench/search_latency.py)."""

    dependencies = [
        ("gallery", "0001_initial"),
        ("search", "0005_embedding_vectors_inline"),
    ]

    operations = [
        migrations.AddField(
            model_name="photoembedding",
            name="family",
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.CASCADE, related_name="+",
                                    to="gallery.family"),
        ),
        migrations.RunSQL(
            "UPDATE search_photoembedding e SET family_id = p.family_id FROM gallery_photo p WHERE p.id = e.photo_id",
            migrations.RunSQL.noop,
        ),
        migrations.AlterField(
            model_name="photoembedding",
            name="family",
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+",
                                    to="gallery.family"),
        ),
        migrations.RunPython(per_family_indexes, per_model_indexes),
    ]
