import django.contrib.postgres.indexes
import django.db.models.deletion
from django.db import migrations, models

VOCABULARY = """
    INSERT INTO search_searchword (family_id, word)
    SELECT DISTINCT d.family_id, w FROM search_photodocument d
    CROSS JOIN LATERAL regexp_split_to_table(d.words, '[^[:alnum:]]+') w
    WHERE length(w) BETWEEN 3 AND 64
    ON CONFLICT (family_id, word) DO NOTHING
"""


class Migration(migrations.Migration):
    """Search documents carry their photo's family, and each family gets a vocabulary for typo matching.

    Before, a query of up to three words compared itself by trigram similarity with the words of every
    photo of every family (200 ms at 100,000 photos, bench/search_latency.py). Now only the query's
    unknown words are looked up in the family's vocabulary, and only the family's documents are read."""

    dependencies = [
        ("gallery", "0002_photo_status_changed_at"),
        ("search", "0006_embedding_family_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="photodocument",
            name="family",
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.CASCADE, related_name="+",
                                    to="gallery.family"),
        ),
        migrations.RunSQL(
            "UPDATE search_photodocument d SET family_id = p.family_id FROM gallery_photo p WHERE p.id = d.photo_id",
            migrations.RunSQL.noop,
        ),
        migrations.AlterField(
            model_name="photodocument",
            name="family",
            field=models.ForeignKey(help_text="The photo's family, so a search reads only its own families' documents.",
                                    on_delete=django.db.models.deletion.CASCADE, related_name="+", to="gallery.family"),
        ),
        migrations.AlterField(
            model_name="photodocument",
            name="words",
            field=models.TextField(help_text="The plain words of the document, for the family's vocabulary."),
        ),
        migrations.RemoveIndex(model_name="photodocument", name="photodocument_trgm"),
        migrations.CreateModel(
            name="SearchWord",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("word", models.CharField(max_length=64)),
                ("family", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+",
                                             to="gallery.family")),
            ],
            options={
                "indexes": [django.contrib.postgres.indexes.GinIndex(fields=["word"], name="searchword_trgm",
                                                                      opclasses=["gin_trgm_ops"])],
                "constraints": [models.UniqueConstraint(fields=("family", "word"), name="unique_family_word")],
            },
        ),
        migrations.RunSQL(VOCABULARY, migrations.RunSQL.noop),
    ]
