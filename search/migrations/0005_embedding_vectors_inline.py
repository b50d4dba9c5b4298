from django.db import migrations


class Migration(migrations.Migration):
    """Keep embedding vectors inside the table row instead of TOAST storage.

    A 768-d vector is ~3 KB, over PostgreSQL's 2 KB TOAST threshold, so by default every vector is
    moved out of line and each exact scan de-TOASTs them one by one (most of the scan's time,
    measured by bench/search_latency.py). Float vectors don't compress, so MAIN simply keeps them
    inline; a vector too big for a page still goes out of line as a last resort."""

    dependencies = [("search", "0004_seed_synonyms")]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE search_photoembedding ALTER COLUMN vector SET STORAGE MAIN",
            "ALTER TABLE search_photoembedding ALTER COLUMN vector SET STORAGE EXTENDED",
        ),
    ]
